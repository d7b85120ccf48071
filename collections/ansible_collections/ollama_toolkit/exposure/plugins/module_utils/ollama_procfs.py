# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers for what Linux shows under /proc: sockets, processes, addresses.

Pure functions over text (the I/O lives in the modules), so unit tests can
feed them captured lines and property tests can feed them garbage.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import re
import sys

TCP_LISTEN = "0A"
_HEX_RE = re.compile(r"^[0-9A-Fa-f]+\Z")


def _hex_to_ip(hexaddr, byteorder):
    """Turn the kernel's hex address (u32 words in host order) into an IP."""
    if not _HEX_RE.match(hexaddr) or len(hexaddr) not in (8, 32):
        raise ValueError("bad address %r" % hexaddr)
    raw = bytes.fromhex(hexaddr)
    words = [raw[i:i + 4] for i in range(0, len(raw), 4)]
    if byteorder == "little":
        words = [w[::-1] for w in words]
    packed = b"".join(words)
    addr = ipaddress.ip_address(packed)
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return "::ffff:%s" % addr.ipv4_mapped
    return str(addr)


def parse_proc_net_tcp(text, family="ipv4", byteorder=None, listen_only=True):
    """Parse /proc/net/tcp or /proc/net/tcp6.

    Returns a list of dicts: address, port, family, state, uid, inode.
    Malformed lines are skipped, never raised.
    """
    byteorder = byteorder or sys.byteorder
    sockets = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 10 or not fields[0].endswith(":") or not fields[0][:-1].isdigit():
            continue
        local, state = fields[1], fields[3].upper()
        if listen_only and state != TCP_LISTEN:
            continue
        addr_hex, _sep, port_hex = local.partition(":")
        try:
            address = _hex_to_ip(addr_hex, byteorder)
            port = int(port_hex, 16)
            uid = int(fields[7])
            inode = int(fields[9])
        except ValueError:
            continue
        if not 0 <= port <= 65535:
            continue
        sockets.append({
            "address": address,
            "port": port,
            "family": family,
            "state": state,
            "uid": uid,
            "inode": inode,
        })
    return sockets


def split_nul(data):
    """Split a NUL-separated /proc file (cmdline, environ) into strings."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return [part for part in (data or "").split("\0") if part != ""]


def parse_environ(data):
    """/proc/PID/environ (or any NUL-separated KEY=VALUE list) into a dict."""
    env = {}
    for item in split_nul(data):
        key, sep, value = item.partition("=")
        if sep and key:
            env[key] = value
    return env


def is_ollama_serve(argv):
    """True when argv runs ``ollama serve``.

    The binary is argv[0]; through an interpreter or wrapper (``sh``,
    ``python3``, ``/usr/bin/env``) it is argv[1]. Model runners
    (``ollama runner``) are not servers.
    """
    for index in (0, 1):
        if len(argv) > index + 1 and os.path.basename(argv[index]) == "ollama":
            return argv[index + 1] == "serve"
    return False


_UNIT_RE = re.compile(r"([A-Za-z0-9:_.\\@-]+\.service)(?:/|\Z)")


def unit_from_cgroup(text):
    """The systemd service a process belongs to, from /proc/PID/cgroup.

    Works for cgroup v2 (``0::/system.slice/x.service``) and v1 (the
    ``name=systemd`` line). Returns None for processes outside any service
    (a login session, a container's init, a shell).
    """
    candidates = []
    for line in (text or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" or "name=systemd" in controllers.split(","):
            candidates.append(path)
    for path in candidates:
        matches = _UNIT_RE.findall(path)
        if matches:
            # A scope under the user manager (a desktop terminal, tmux, ...)
            # sits in user@UID.service's tree but in no service of its own.
            return None if matches[-1].startswith("user@") else matches[-1]
    return None


def parse_fib_trie_local(text):
    """Local IPv4 addresses from /proc/net/fib_trie (entries marked LOCAL)."""
    found = []
    last = None
    for line in (text or "").splitlines():
        stripped = line.strip()
        if stripped.startswith("|--") or stripped.startswith("+--"):
            candidate = stripped[3:].strip().split(" ")[0]
            last = candidate if "/" not in candidate else None
            continue
        if last and stripped.startswith("/32 host LOCAL"):
            if last not in found:
                found.append(last)
            last = None
    return found


def parse_if_inet6(text):
    """Addresses from /proc/net/if_inet6: list of (address, interface, scope)."""
    found = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) != 6 or len(fields[0]) != 32 or not _HEX_RE.match(fields[0]):
            continue
        addr = str(ipaddress.ip_address(bytes.fromhex(fields[0])))
        found.append({"address": addr, "interface": fields[5], "scope": fields[3]})
    return found


def parse_os_release(text):
    """/etc/os-release into a dict (quotes removed)."""
    info = {}
    for line in (text or "").splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not key or key.startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        info[key] = value
    return info


# Interfaces that carry container or VM bridges: their addresses are the
# host's, but nobody outside reaches the host through them (the controller
# has its own docker0 at the same 172.17.0.1), so they are not probe targets.
VIRTUAL_BRIDGE_RE = re.compile(r"^(docker\d+|br-[0-9a-f]{6,}|veth|cni|flannel|cali|vxlan|virbr|lxcbr|lxdbr|podman|cilium|kube-)")


def parse_ip_addr_json(text):
    """``ip -j addr show`` into a list of {address, interface, family, scope}."""
    import json
    try:
        links = json.loads(text or "[]")
    except ValueError:
        return []
    found = []
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict):
            continue
        infos = link.get("addr_info")
        ifname = link.get("ifname")
        for info in infos if isinstance(infos, list) else []:
            if not isinstance(info, dict) or not isinstance(info.get("local"), str) or not info["local"]:
                continue
            found.append({"address": info["local"], "interface": ifname if isinstance(ifname, str) else "",
                          "family": "ipv6" if info.get("family") == "inet6" else "ipv4",
                          "scope": info.get("scope") if isinstance(info.get("scope"), str) else ""})
    return found


def split_probe_addresses(entries):
    """(addresses to probe from outside, [{address, interface, reason}] skipped)."""
    keep, skipped = [], []
    for entry in entries:
        address, interface = entry["address"], entry.get("interface", "")
        if entry.get("scope") in ("host", "link") or address.startswith("127.") or address == "::1" \
                or address.lower().startswith("fe80:"):
            continue
        if VIRTUAL_BRIDGE_RE.match(interface):
            skipped.append({"address": address, "interface": interface,
                            "reason": "container or VM bridge, not reachable from outside the host"})
            continue
        if address not in keep:
            keep.append(address)
    return keep, skipped
