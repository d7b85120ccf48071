# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe Ollama ports from outside: connect, ask, classify.

Shared by the ollama_probe module and by ollama_report, which runs the probe
in its own process when it runs on the same machine (one module start-up
fewer per audit). Contacts only the targets it is given, one connection per
request, each bounded by the timeout.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import socket
import ssl
import threading

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_finding import make_finding, unique
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_http import http_get

# ``no_route`` before ``filtered``: a host one of whose addresses could not be
# reached from here is not proven silent.
STATE_ORDER = ("exposed", "auth_required", "open_other", "no_route", "filtered", "closed", "error")

# What a failed connect says about the target (docs/firewall.md, "What the
# probe's states prove"):
# - refused (RST): ``closed``; the host answered, the port is shut.
# - no answer before the timeout (also the kernel's ETIMEDOUT): ``filtered``;
#   something on the way or the host drops it (the toolkit's rules drop).
# - these: ``no_route``: the probe could not reach the address from where it
#   runs, so nothing is known of the host; never proof that a port is closed.
#   ENETUNREACH, ENETDOWN (no route, no interface); EHOSTUNREACH, EHOSTDOWN
#   (no neighbour answered ARP/NDP, or an ICMP host-unreachable, which a router
#   sends as well as a host firewall rejecting with icmp-host-prohibited or
#   admin-prohibited: the same errno either way, so it cannot stand for the
#   host's refusal; the toolkit's own rules never reject with ICMP);
#   EACCES, EPERM (an ICMPv6 administratively-prohibited from anywhere on the
#   path, or the scanner's own firewall); EADDRNOTAVAIL, EAFNOSUPPORT (no
#   source address or no stack of that family here); a name not resolved.
# - anything else, e.g. a reset after the connection opened: ``error``
#   (something answered; not silence either).
NO_ROUTE_ERRNOS = tuple(getattr(errno, name) for name in (
    "ENETUNREACH", "ENETDOWN", "EHOSTUNREACH", "EHOSTDOWN", "EACCES", "EPERM", "EADDRNOTAVAIL", "EAFNOSUPPORT")
    if hasattr(errno, name))


def classify_error(exc, timeout):
    """(state, evidence) of a connection that failed with ``exc``."""
    if isinstance(exc, ConnectionRefusedError):
        return "closed", "connection refused"
    if isinstance(exc, socket.timeout) or getattr(exc, "errno", None) == errno.ETIMEDOUT:
        return "filtered", "no answer within %.1fs" % timeout
    if isinstance(exc, socket.gaierror):
        return "no_route", "no route from here: the name does not resolve (%s); unproven" % exc
    code = getattr(exc, "errno", None)
    if code in NO_ROUTE_ERRNOS:
        return "no_route", "no route from here: %s (%s); unproven" % (errno.errorcode.get(code, code), exc)
    return "error", "connection failed: %s%s" % (
        ("%s " % errno.errorcode[code]) if code in errno.errorcode else "", exc)


def classify(status, headers, body, path):
    """State and evidence for one HTTP answer."""
    ctype = headers.get("content-type", "")
    if status == 200 and path == "/api/tags":
        try:
            models = json.loads(body).get("models")
        except (ValueError, AttributeError):
            models = None
        if isinstance(models, list):
            return "exposed", "GET /api/tags -> 200 %s (%d model%s) without credentials" % (
                ctype or "json", len(models), "" if len(models) == 1 else "s")
    if status == 200 and "Ollama is running" in body:
        return "exposed", "GET %s -> 200 'Ollama is running' without credentials" % path
    if status in (401, 403):
        realm = headers.get("www-authenticate", "")
        return "auth_required", "GET %s -> %d%s" % (path, status, (" (WWW-Authenticate: %s)" % realm) if realm else "")
    return None, "GET %s -> %s" % (path, status)


def probe_one(address, port, timeout):
    result = {"address": address, "port": port, "state": "error", "evidence": "", "status_code": None,
              "version": None, "tls": False}
    try:
        status, headers, body = http_get(address, port, "/api/tags", timeout, False)
    except (OSError, socket.error) as exc:
        state, evidence = classify_error(exc, timeout)
        result.update(state=state, evidence=evidence)
        return result
    plain_http_refused = status == 400 and "HTTPS" in body
    if status is None or plain_http_refused:
        try:
            status, headers, body = http_get(address, port, "/api/tags", timeout, True)
            result["tls"] = True
        except (OSError, socket.error, ssl.SSLError):
            result.update(state="open_other", evidence="open, no HTTP answer" if status is None else
                          "open, plain HTTP refused and TLS failed")
            return result
    result["status_code"] = status
    state, evidence = classify(status, headers, body, "/api/tags")
    if state is None:
        try:
            status2, headers2, body2 = http_get(address, port, "/", timeout, result["tls"])
            state, evidence2 = classify(status2, headers2, body2, "/")
            evidence = "%s; %s" % (evidence, evidence2)
        except (OSError, socket.error, ssl.SSLError):
            pass
    if state == "exposed":
        try:
            vstatus, _h, vbody = http_get(address, port, "/api/version", timeout, result["tls"])
            if vstatus == 200:
                result["version"] = json.loads(vbody).get("version")
        except (OSError, socket.error, ssl.SSLError, ValueError, AttributeError):
            pass
    if result["tls"]:
        evidence = "TLS: " + evidence
    result.update(state=state or "open_other", evidence=evidence)
    return result


def run_probes(targets, timeout, workers):
    jobs = []
    for target in targets:
        for address in target["addresses"]:
            for port in sorted(set(target["ports"])):
                jobs.append((target["host"], address, port))
    results = [None] * len(jobs)
    lock = threading.Lock()
    cursor = [0]

    def worker():
        while True:
            with lock:
                index = cursor[0]
                cursor[0] += 1
            if index >= len(jobs):
                return
            host, address, port = jobs[index]
            item = probe_one(address, port, timeout)
            item["host"] = host
            results[index] = item

    threads = [threading.Thread(target=worker) for _ in range(max(1, min(workers, len(jobs))))]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join()
    return results


def probe_findings(probe, catalog, host_id):
    """OLLAMA-NET-001 findings from an outside probe result for one host."""
    findings = []
    for result in probe.get("results", []):
        if result.get("state") == "exposed":
            findings.append(make_finding(
                catalog, host_id, "OLLAMA-NET-001", "net:%s:%s" % (result["address"], result["port"]),
                "from %s: %s" % (probe.get("scanner", "the controller"), result.get("evidence")),
                location={"socket": "%s:%s" % (result["address"], result["port"])}))
    return unique(findings)


def summarize(targets, results, catalog, scanner):
    hosts = {}
    for target in targets:
        hosts[target["host"]] = {"state": "none", "results": [], "findings": []}
    for item in results:
        hosts[item["host"]]["results"].append(item)
    for name, entry in hosts.items():
        states = [r["state"] for r in entry["results"]]
        for state in STATE_ORDER:
            if state in states:
                entry["state"] = state
                break
        if catalog:
            entry["findings"] = probe_findings({"results": entry["results"], "scanner": scanner}, catalog, name)
    return hosts


def validate_targets(targets):
    """Messages naming each target whose ports are out of range."""
    problems = []
    for target in targets:
        bad = [p for p in target.get("ports", []) if not isinstance(p, int) or not 0 < p < 65536]
        if bad:
            problems.append("targets[%s].ports: %s out of range 1-65535" % (target.get("host"), bad))
    return problems


def build_targets(results, extra_ports=(11434,), address_overrides=None):
    """Probe targets from the hosts' ollama_info results.

    ``results``: {host: registered ollama_info result}. Each reachable host
    is probed on its own non-loopback addresses (or ``address_overrides[host]``)
    and on every port it reported (listeners, configured binds, published
    container ports) plus ``extra_ports``. Hosts without addresses are left
    out: nothing else is ever contacted.
    """
    targets = []
    overrides = address_overrides or {}
    for host in sorted(results):
        facts = results[host] or {}
        if facts.get("unreachable") or facts.get("failed"):
            continue
        addresses = list(overrides.get(host) or facts.get("addresses") or [])
        ports = set(int(p) for p in extra_ports)
        ports.update(s.get("port") for s in facts.get("listeners", []))
        ports.update((s.get("bind") or {}).get("port") for s in facts.get("services", []))
        for ctr in facts.get("containers", []):
            ports.update(p.get("public_port") for p in ctr.get("ports", []))
        ports = sorted(p for p in ports if isinstance(p, int) and 0 < p < 65536)
        if addresses and ports:
            targets.append({"host": host, "addresses": addresses, "ports": ports})
    return targets
