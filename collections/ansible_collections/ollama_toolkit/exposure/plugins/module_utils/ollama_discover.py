# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The discovery sweep (issue 29): which model servers answer in the ranges given.

Shared by the ollama_discover module and the ``ollama_toolkit.exposure.discover``
inventory plugin. Safe by construction, in this order:

1. ``validate`` checks every option and expands the ranges before anything
   is sent: CIDRs or single addresses, IPv4 and IPv6, never a name (no DNS);
   a range with host bits set, a multicast, unspecified or broadcast range,
   a port outside 1-65535, an empty range (after ``exclude``), a rate or a
   concurrency of 0 are refused, each message naming the option. More than
   ``LARGE`` addresses (a /22 of IPv4, a /118 of IPv6) needs ``allow_large``;
   more than ``HARD_LIMIT`` (a /16) is refused even then.
2. ``sweep`` opens one TCP connection per address and port, at most
   ``rate`` a second over the whole sweep (one pacer shared by every
   worker) and ``concurrency`` at a time, each bounded by
   ``connect_timeout``; no new connection once ``max_time`` has passed.
3. Each port that accepted is fingerprinted by the audit's own probe,
   ``ollama_probe.probe_one`` (not a copy): at most ``MAX_GETS`` GETs to
   the probe's fingerprint paths and one TLS retry of the first, never
   another method, never a route that loads or runs a model.

Each answering (address, port) becomes one record (``record``), the
contract the discover playbook, the report and the inventory plugin read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import socket
import threading
import time

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_probe import (
    MAX_GETS, STATE_ORDER, classify_error, probe_one)

# The known model servers' ports (Ollama, vLLM, LocalAI/Open WebUI/llama-server,
# TGI/Open WebUI's dev port, LM Studio, ComfyUI, a Flask/other front, HTTP, HTTPS).
DEFAULT_PORTS = (11434, 8000, 8080, 3000, 1234, 8188, 5000, 80, 443)
# Addresses a sweep takes without ``allow_large``: a /22 of IPv4, a /118 of IPv6.
LARGE = 1024
# Addresses a sweep never takes: a /16 of IPv4 (a /112 of IPv6).
HARD_LIMIT = 65536
# Ports a sweep takes at most (the probe's per-host bound).
MAX_PORTS = 64
DEFAULTS = {
    "ports": list(DEFAULT_PORTS),
    "exclude": [],
    "rate": 200.0,
    "concurrency": 64,
    "connect_timeout": 1.0,
    "timeout": 1.5,
    "max_time": 900.0,
    "allow_large": False,
}
# (low exclusive, high inclusive) of each number option.
LIMITS = {
    "rate": (0, 10000),
    "concurrency": (0, 1024),
    "connect_timeout": (0, 10),
    "timeout": (0, 10),
    "max_time": (0, 86400),
}


def _network(text, name):
    """(ip_network, None) or (None, message naming ``name``)."""
    if not isinstance(text, str) or not text.strip():
        return None, "%s: %r is not an IPv4 or IPv6 network (CIDR) or address" % (name, text)
    text = text.strip()
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            return None, "%s: %r has host bits set (did you mean %s?)" % (
                name, text, ipaddress.ip_network(text, strict=False))
        return None, "%s: %r is not an IPv4 or IPv6 network (CIDR) or address (names are not resolved)" % (
            name, text)
    if net.is_multicast or net.network_address.is_unspecified or (
            net.version == 4 and net.broadcast_address == ipaddress.IPv4Address("255.255.255.255")):
        return None, "%s: %r is a multicast, unspecified or broadcast range: never scanned" % (name, text)
    return net, None


def _addresses(net):
    """The addresses of a network a host can have: IPv4 without its network and
    broadcast addresses (a /31 or /32 whole), IPv6 without the Subnet-Router anycast."""
    if net.num_addresses == 1:
        return [net.network_address]
    return list(net.hosts())


def _number(options, key, integer):
    value = options.get(key, DEFAULTS[key])
    low, high = LIMITS[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        return None, "%s: %r is not a %s" % (key, value, "whole number" if integer else "number")
    if not low < value <= high:
        return None, "%s: %r out of range (more than %s, at most %s)" % (key, value, low, high)
    return value, None


def validate(options):
    """(problems, plan): every bad option named, or the plan of the sweep.

    ``plan``: {addresses: [str, in range order, each once], ports: [int],
    excluded: [str networks], rate, concurrency, connect_timeout, timeout,
    max_time}. Nothing is sent: pure.
    """
    problems = []
    ranges = options.get("ranges")
    if isinstance(ranges, str):
        ranges = [ranges]
    if not isinstance(ranges, list) or not ranges:
        problems.append("ranges: give at least one IPv4 or IPv6 network (CIDR) or address")
        ranges = []
    nets = []
    for index, text in enumerate(ranges):
        net, problem = _network(text, "ranges[%d]" % index)
        if problem:
            problems.append(problem)
        else:
            nets.append(net)
    exclude = options.get("exclude") or []
    if isinstance(exclude, str):
        exclude = [exclude]
    excluded = []
    for index, text in enumerate(exclude if isinstance(exclude, list) else [exclude]):
        net, problem = _network(text, "exclude[%d]" % index)
        if problem:
            problems.append(problem)
        else:
            excluded.append(net)
    ports = options.get("ports")
    ports = list(DEFAULT_PORTS) if ports is None else ports
    if not isinstance(ports, list) or not ports:
        problems.append("ports: give at least one TCP port (1-65535)")
        ports = []
    bad = [p for p in ports if isinstance(p, bool) or not isinstance(p, int) or not 0 < p < 65536]
    if bad:
        problems.append("ports: %s out of range 1-65535" % (bad,))
    ports = sorted(set(p for p in ports if p not in bad))
    if len(ports) > MAX_PORTS:
        problems.append("ports: %d ports, more than %d" % (len(ports), MAX_PORTS))
    plan = {}
    for key, integer in (("rate", False), ("concurrency", True), ("connect_timeout", False),
                         ("timeout", False), ("max_time", False)):
        value, problem = _number(options, key, integer)
        if problem:
            problems.append(problem)
        plan[key] = value
    allow_large = options.get("allow_large", False)
    if not isinstance(allow_large, bool):
        problems.append("allow_large: %r is not true or false" % (allow_large,))
        allow_large = False
    total = sum(net.num_addresses for net in nets)
    if total > HARD_LIMIT:
        problems.append("ranges: %d addresses, more than the hard limit of %d (a /16 of IPv4): never scanned; "
                        "split the sweep" % (total, HARD_LIMIT))
    elif total > LARGE and not allow_large:
        problems.append("ranges: %d addresses, more than %d (a /22 of IPv4, a /118 of IPv6): set allow_large "
                        "to scan them" % (total, LARGE))
    addresses = []
    if not problems:
        seen = set()
        for net in nets:
            for address in _addresses(net):
                if address in seen or any(address in ex for ex in excluded if ex.version == address.version):
                    continue
                seen.add(address)
                addresses.append(str(address))
        if not addresses:
            problems.append("ranges: no address left to scan (after exclude)")
    plan.update(addresses=addresses, ports=ports, excluded=[str(net) for net in excluded])
    return problems, plan


class Pacer(object):
    """One global rate: the n-th connection starts no earlier than n / rate
    seconds after the first, whichever worker opens it."""

    def __init__(self, rate, clock=time.monotonic, sleep=time.sleep):
        self.gap = 1.0 / rate
        self.clock, self.sleep = clock, sleep
        self.next = None
        self.lock = threading.Lock()

    def wait(self):
        """Sleep until this caller's slot; the slot's time."""
        with self.lock:
            now = self.clock()
            slot = now if self.next is None or self.next < now else self.next
            self.next = slot + self.gap
        if slot > now:
            self.sleep(slot - now)
        return slot


def tcp_connect(address, port, timeout):
    """(True, None) when the port accepted a connection, else (False, state)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
        return True, None
    except (OSError, socket.error) as exc:
        return False, classify_error(exc, timeout)[0]
    finally:
        sock.close()


def _ollama_realm(result):
    """True when a 401/403 to GET /api/tags named Ollama in its challenge
    (the toolkit's front asks with ``Basic realm="Ollama"``:
    roles/ollama_front/templates/ollama-front.conf.j2)."""
    evidence = (result.get("evidence") or "").lower()
    if evidence.startswith("tls: "):
        evidence = evidence[5:]
    return (result.get("state") == "auth_required" and result.get("kind") is None
            and evidence.startswith("get /api/tags -> 40") and 'realm="ollama' in evidence)


def record(result):
    """The contract's record of one probe_one result of a port that answered."""
    details = result.get("details") or {}
    kind = result.get("kind")
    if _ollama_realm(result):
        kind = "ollama"
    state = result.get("state")
    return {
        "address": result["address"],
        "port": result["port"],
        "scheme": "https" if result.get("tls") else "http",
        "kind": kind,
        "state": state,
        "open": bool(result.get("open")),
        "auth": state == "auth_required",
        "version": result.get("version") or details.get("version"),
        "models": details.get("models"),
        "fingerprint": "%s:%s:%s" % (kind or "none", result["address"], result["port"]),
        "evidence": result.get("evidence") or "",
    }


def _address_key(text):
    address = ipaddress.ip_address(text)
    return (address.version, address)


def sweep(plan, managed=(), connect=tcp_connect, probe=probe_one, clock=time.monotonic, sleep=time.sleep):
    """Run a validated ``plan``: the contract's {hosts, scanned, excluded, elapsed}.

    ``hosts``: [{address, managed, ports: [record]}] for each address where
    at least one port accepted, by address; ``scanned``: {addresses, ports,
    connects (connections the sweep opened, fingerprints aside), open,
    fingerprinted, truncated (max_time reached first)}.
    """
    started = clock()
    deadline = started + plan["max_time"]
    jobs = [(address, port) for address in plan["addresses"] for port in plan["ports"]]
    pacer = Pacer(plan["rate"], clock=clock, sleep=sleep)
    lock = threading.Lock()
    cursor = [0]
    counts = {"connects": 0, "open": 0, "truncated": False}
    found = []

    def worker():
        while True:
            with lock:
                if cursor[0] >= len(jobs) or counts["truncated"]:
                    return
                address, port = jobs[cursor[0]]
                cursor[0] += 1
            if pacer.wait() > deadline:
                with lock:
                    counts["truncated"] = True
                return
            accepted, _state = connect(address, port, plan["connect_timeout"])
            with lock:
                counts["connects"] += 1
                counts["open"] += 1 if accepted else 0
            if accepted:
                item = record(probe(address, port, plan["timeout"]))
                with lock:
                    found.append(item)

    threads = [threading.Thread(target=worker) for _ in range(max(1, min(plan["concurrency"], len(jobs))))]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join()
    wanted = canonical_addresses(managed)
    hosts = {}
    for item in found:
        hosts.setdefault(item["address"], []).append(item)
    out = []
    for address in sorted(hosts, key=_address_key):
        ports = sorted(hosts[address], key=lambda r: r["port"])
        out.append({"address": address, "managed": _canonical(address) in wanted, "ports": ports})
    return {
        "hosts": out,
        "scanned": {"addresses": len(plan["addresses"]), "ports": list(plan["ports"]),
                    "connects": counts["connects"], "open": counts["open"], "fingerprinted": len(found),
                    "truncated": counts["truncated"], "max_gets": MAX_GETS},
        "excluded": list(plan["excluded"]),
        "elapsed": round(clock() - started, 3),
    }


def _canonical(text):
    try:
        return str(ipaddress.ip_address(str(text).strip().strip("[]")))
    except ValueError:
        return None


def canonical_addresses(values):
    """The IP literals among ``values``, canonical (names are not resolved)."""
    return set(a for a in (_canonical(v) for v in values or ()) if a)


def best_record(records):
    """The record that says the most: the probe's state order, then the port."""
    rank = dict((state, index) for index, state in enumerate(STATE_ORDER))
    return sorted(records, key=lambda r: (rank.get(r["state"], len(rank)), r["port"]))[0]
