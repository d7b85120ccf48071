# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Firewall plan of a host: which ports to close, with which backend, and the
rules each backend gets. Pure functions (no I/O), unit tested in
tests/unit/test_ollama_firewall.py and test_firewall_wall_plan.py; the role
calls ``wall_plan`` through the collection's ``wall_plan`` filter (the
wall's contract: plugin_utils/ollama_wall.py).

Inputs are the audit's facts (``ollama_audit_facts`` of library/ollama_info.py),
which firewall the host has (ollama_info's ``firewall.detect``), what an
earlier run recorded and the role's variables. Every problem with the
variables is reported at once, naming the variable, before anything changes
on the host. The plan carries every decision the role's tasks take: the
rules of each backend, whether there is anything to do (``act``), the
containers to republish (``with_republish``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import ipaddress
import json
import posixpath

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_docker_republish as docker
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_wall as wall
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_doors import host_doors

BACKENDS = ("nftables", "iptables", "ufw", "firewalld")
TABLE = "ollama_exposure_toolkit"
CHAIN = "OLLAMA-TOOLKIT"
COMMENT = "ollama-exposure-toolkit"
ANYWHERE = {"ipv4": "0.0.0.0/0", "ipv6": "::/0"}
LOOPBACK = {"ipv4": "127.0.0.0/8", "ipv6": "::1/128"}
FAMILIES = ("ipv4", "ipv6")
DOCKER_STATE = "docker-republish.json"
DEFAULT_PYTHON = "/usr/bin/python3"
# What ollama_firewall_install installs on a host with no firewall tool:
# nftables, Debian's default (and what RHEL's firewalld runs on).
INSTALL_PACKAGES = ("nftables",)
DOCKER_REASON = "published by Docker container "


def _text(value):
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _port(value):
    """An int 1-65535, or None."""
    if isinstance(value, bool):
        return None
    try:
        port = int(_text(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        return None
    return port if 1 <= port <= 65535 else None


def _is_loopback(address):
    address = _text(address).strip("[]")
    if address.startswith("::ffff:"):
        address = address[7:]
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def as_bool(value):
    """True/False for a boolean or its usual spellings (what -e passes), else None."""
    if isinstance(value, bool):
        return value
    text = _text(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    return None


# -- detection ------------------------------------------------------------------
# Which firewall the host has is read on the host by ollama_info
# (``firewall.detect``, plugins/module_utils/ollama_netfilter.py:
# read_detection); the plan reads that structure.
def ufw_allows_port(rules, port):
    """Whether ``ufw status verbose`` rule lines allow TCP ``port`` in from anywhere."""
    for rule in rules:
        words = rule.split()
        if len(words) < 3 or words[1].upper() not in ("ALLOW", "LIMIT"):
            continue
        if len(words) >= 3 and words[2].upper() == "OUT":
            continue
        target = words[0]
        number, _sep, proto = target.partition("/")
        if proto and proto.lower() not in ("tcp",):
            continue
        ports = []
        for item in number.split(","):
            low, _sep, high = item.partition(":")
            if low.isdigit() and (high.isdigit() or not high):
                ports.append((int(low), int(high or low)))
        if not ports and number.lower() in ("openssh", "ssh") and port == 22:
            ports = [(22, 22)]
        source = " ".join(words[3:] if words[2].upper() == "IN" else words[2:])
        if any(low <= port <= high for low, high in ports) and source.startswith("Anywhere"):
            return True
    return False


# -- ports --------------------------------------------------------------------------
def ollama_ports(facts):
    """Every port an Ollama server of the host listens on or will listen on.

    Listening sockets of every scope (a loopback-only port is closed too: the
    rule keeps it closed if the service is rebound to the network later),
    services' next-start ports and hand-started processes' ports. Returns
    {port: [reasons]}.
    """
    found = {}

    def add(port, reason):
        port = _port(port)
        if port:
            reasons = found.setdefault(port, [])
            if reason not in reasons:
                reasons.append(reason)

    facts = facts if isinstance(facts, dict) else {}
    for sock in facts.get("listeners") or []:
        add(sock.get("port"), "listener %s port %s (pid %s)" % (sock.get("address"), sock.get("port"), sock.get("pid")))
    for svc in facts.get("services") or []:
        for key in ("bind", "running_bind"):
            bind = svc.get(key) or {}
            add(bind.get("port"), "service %s (%s)" % (svc.get("name"), bind.get("listen") or bind.get("port")))
    for proc in facts.get("processes") or []:
        if proc.get("container") or proc.get("unit"):
            continue
        bind = proc.get("bind") or {}
        add(bind.get("port"), "process %s started by hand" % proc.get("pid"))
    return found


def docker_ports(facts):
    """Published ports of Ollama containers reachable from the network (not on loopback)."""
    found = []
    for ctr in (facts or {}).get("containers") or []:
        for pub in ctr.get("ports") or []:
            port = _port(pub.get("public_port"))
            if not port or _is_loopback(pub.get("ip")):
                continue
            item = {"port": port, "container": ctr.get("name"), "private_port": pub.get("private_port"),
                    "ip": pub.get("ip") or ""}
            if not any(f["port"] == port for f in found):
                found.append(item)
    return sorted(found, key=lambda f: f["port"])


def conflicts(ports, facts, ignore=()):
    """Ports another (non-Ollama) service serves to the network: {port: [addresses]}."""
    found = {}
    for sock in (facts or {}).get("other_listeners") or []:
        port = _port(sock.get("port"))
        if port in ports and port not in ignore and not _is_loopback(sock.get("address")):
            found.setdefault(port, [])
            if sock.get("address") not in found[port]:
                found[port].append(sock.get("address"))
    return found


# -- doors (issue 26) -----------------------------------------------------------------
# The opt-in of each door category: (variable, what the door is).
DOOR_OPT_IN = {"forwarder": "ollama_firewall_close_forwarders", "server": "ollama_firewall_close_model_servers"}


def _door_name(door):
    """``nginx (process nginx, unit nginx.service, /etc/nginx/sites-enabled/x:3)``: who answers on a door."""
    where = []
    if door.get("process"):
        where.append("process %s" % door["process"])
    if door.get("unit"):
        where.append("unit %s" % door["unit"])
    if door.get("container"):
        where.append("container %s" % door["container"])
    location = door.get("location") or {}
    if location.get("file"):
        where.append("%s:%s" % (location["file"], location.get("line")) if location.get("line") else location["file"])
    return "%s%s" % (door.get("kind") or "unknown", " (%s)" % ", ".join(where) if where else "")


def door_decisions(facts, close_forwarders=False, close_model_servers=False, ssh_port=22, front_port=None):
    """Each door of the host (plugin_utils/ollama_doors.py: host_doors) with
    the firewall's decision: the door plus ``close`` (bool) and ``why`` (the
    reason either way, naming the variable that decides).

    A door is closed when its category's opt-in is on
    (``ollama_firewall_close_forwarders``, ``ollama_firewall_close_model_servers``)
    and the read does not show it asking for credentials (``credentials`` is
    not True). A forwarder is closed only where the read says it forwards to
    a model (``to_model``): a web server whose upstream the read cannot tell
    is left, named (``ollama_firewall_close_ports`` closes it). Never closed:
    the SSH port (``ollama_firewall_ssh_port``, and 22) and the front's port
    (``front_port``, when the front is enabled)."""
    decided = []
    for door in host_doors(facts if isinstance(facts, dict) else {}):
        port = _port(door.get("port"))
        if port is None:
            continue
        door = dict(door, port=port)
        category = door.get("category")
        variable = DOOR_OPT_IN.get(category)
        name = "%s %s" % (category, _door_name(door))
        model = door.get("to_model") or ("a model" if category == "server" else None)
        close = False
        if port in (ssh_port, 22):
            why = "%s on port %d: the SSH port is never closed (ollama_firewall_ssh_port)" % (name, port)
        elif front_port is not None and port == front_port:
            why = "%s on port %d: the front's port (ollama_firewall_front_port) is not closed" % (name, port)
        elif door.get("credentials") is True:
            why = "%s on port %d asks for credentials: not a door to close" % (name, port)
        elif category == "forwarder" and not door.get("to_model"):
            why = ("%s on port %d: the read cannot tell that it forwards to a model: left open "
                   "(list the port in ollama_firewall_close_ports to close it)" % (name, port))
        elif not variable:
            why = "%s on port %d: unknown door category %r, left open" % (name, port, category)
        else:
            credentials = "without credentials" if door.get("credentials") is False else "with no credentials the read can see"
            why = "%s on port %d serves %s %s" % (name, port, model, credentials)
            close = as_bool(close_forwarders if category == "forwarder" else close_model_servers) is True
            why += ": %s" % variable if close else ": left open (%s is off)" % variable
        door.update(close=close, why=why)
        decided.append(door)
    return decided


# -- validation ---------------------------------------------------------------------
def _count(value, name, low, high):
    """``value`` as an int in [low, high] (an int or its digits: -e gives
    strings), else (None, the error naming ``name``)."""
    if not isinstance(value, bool):
        try:
            number = value if isinstance(value, int) else int(_text(value).strip())
        except ValueError:
            number = None
        if number is not None and low <= number <= high:
            return number, None
    return None, "%s must be an integer %d-%d, got %r" % (name, low, high, value)


def normalize_sources(sources):
    """(networks by family, errors). Networks keep their written form normalized."""
    nets = {"ipv4": [], "ipv6": []}
    errors = []
    if not isinstance(sources, (list, tuple)):
        return nets, ["ollama_firewall_front_sources must be a list of CIDRs, got %r" % (sources,)]
    for source in sources:
        try:
            net = ipaddress.ip_network(_text(source).strip(), strict=False)
        except ValueError:
            errors.append("ollama_firewall_front_sources: %r is not a valid CIDR or address" % (source,))
            continue
        family = "ipv4" if net.version == 4 else "ipv6"
        if str(net) not in nets[family]:
            nets[family].append(str(net))
    return nets, errors


def normalize_exempt(exempt):
    """(networks by family, errors) of ``ollama_firewall_front_conn_limit_exempt``:
    each family's addresses and CIDRs collapsed (an entry inside another one
    goes, adjacent ones merge), so that the rules never hold overlapping
    intervals (nftables refuses them in a set)."""
    nets = {"ipv4": [], "ipv6": []}
    name = "ollama_firewall_front_conn_limit_exempt"
    if exempt is None or exempt == "":
        return nets, []
    if not isinstance(exempt, (list, tuple)):
        return nets, ["%s must be a list of addresses or CIDRs (its default is the front's "
                      "ollama_front_rate_exempt), got %r" % (name, exempt)]
    errors = []
    found = {"ipv4": [], "ipv6": []}
    for entry in exempt:
        try:
            if isinstance(entry, bool) or not isinstance(entry, str):
                raise ValueError(entry)
            net = ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            errors.append("%s: %r is not a valid address or CIDR (its default is the front's "
                          "ollama_front_rate_exempt)" % (name, entry))
            continue
        found["ipv4" if net.version == 4 else "ipv6"].append(net)
    for family in FAMILIES:
        nets[family] = [str(net) for net in ipaddress.collapse_addresses(found[family])]
    return nets, errors


def install_needed(requested, state):
    """Packages ollama_firewall_install installs before planning: nftables
    when ``requested`` is auto and the host has no firewall tool at all, or
    when it is nftables and ``nft`` is missing; else []."""
    tools = (state or {}).get("tools") or {}
    if requested == "auto" and not any(tools.get(t) for t in ("nft", "iptables", "ufw", "firewall-cmd")):
        return list(INSTALL_PACKAGES)
    if requested == "nftables" and not tools.get("nft"):
        return list(INSTALL_PACKAGES)
    return []


def choose_backend(requested, state, ufw_enable=False, install=False):
    """(backend, error). ``requested`` is auto or a backend name. With
    ``install`` (ollama_firewall_install), a host where install_needed()
    finds nftables missing gets nftables: the role installs it first (in
    check mode it is still missing, and the plan says what a run would do)."""
    tools, units = state.get("tools") or {}, state.get("units") or {}

    def active(unit):
        return (units.get(unit) or {}).get("active", False)

    def enabled(unit):
        return (units.get(unit) or {}).get("enabled", False)

    installed = {
        "nftables": bool(tools.get("nft")),
        "iptables": bool(tools.get("iptables")),
        "ufw": bool(tools.get("ufw")),
        "firewalld": bool(tools.get("firewall-cmd")),
    }
    if requested not in ("auto",) + BACKENDS:
        return None, "ollama_firewall_backend must be one of auto, %s; got %r" % (", ".join(BACKENDS), requested)
    if install and install_needed(requested, state):
        return "nftables", None
    if requested == "auto":
        if installed["firewalld"] and active("firewalld.service"):
            return "firewalld", None
        if installed["ufw"] and (state.get("ufw") or {}).get("active"):
            return "ufw", None
        if installed["nftables"] and (active("nftables.service") or enabled("nftables.service")):
            return "nftables", None
        if installed["iptables"] and (active("netfilter-persistent.service") or enabled("netfilter-persistent.service")):
            return "iptables", None
        for name in ("nftables", "iptables"):
            if installed[name]:
                return name, None
        return None, ("ollama_firewall_backend=auto: no firewall found on the host "
                      "(none of nft, iptables, ufw, firewall-cmd is installed); "
                      "set ollama_firewall_install=true to install nftables")
    if not installed[requested]:
        return None, "ollama_firewall_backend=%s: %s is not installed on the host%s" % (
            requested, {"nftables": "nft", "firewalld": "firewall-cmd"}.get(requested, requested),
            "; set ollama_firewall_install=true to install nftables" if requested == "nftables" else "")
    if requested == "firewalld" and not active("firewalld.service"):
        return None, "ollama_firewall_backend=firewalld: firewalld is installed but not running"
    if requested == "ufw" and not (state.get("ufw") or {}).get("active") and not ufw_enable:
        return None, ("ollama_firewall_backend=ufw: ufw is inactive, so its rules would not apply; "
                      "set ollama_firewall_ufw_enable=true to enable it")
    return requested, None


def plan(facts, state, backend="auto", ports=None, front_enabled=True, front_port=11443, front_sources=None,
         ssh_port=22, docker_user=True, ufw_enable=False, ssh_allow=False, docker_republish=False,
         install=False, before=None, state_file=None,
         firewalld_zone="", front_conn_limit=64, front_conn_limit_ipv6_prefix=64, front_conn_limit_exempt=None,
         close_forwarders=False, close_model_servers=False, close_ports=None):
    """The host's firewall plan, or ValueError naming every bad variable.

    Keys: backend, install (packages the role installs first, with
    ``install``: ollama_firewall_install), ports (sorted, closed to all but
    loopback in the backend's INPUT path: Docker-published ones included,
    see below), reasons,
    conflicts ({port: addresses}: left open and reported), docker (published
    ports for DOCKER-USER), front ({enabled, port, sources by family,
    anywhere by family}), ssh_port, ufw (enable, ssh_allow), docker_user,
    ufw's ``enable_unit`` (enabling ufw: ufw.service is disabled, so
    nothing would load its rules at boot: the role enables it),
    docker_republish (bool), before (what an earlier run recorded: ``before``,
    the role's state file), python (the host's interpreter, from the facts),
    docker_state_file (the republished containers' record, next to
    ``state_file``: ollama_firewall_state_file, whose default the role
    states; None without it), tools (the firewall tools found), systemd (whether
    systemd runs: a unit reapplies the rules), firewalld_zone (the zone of
    the rich rules: ``firewalld_zone``, else firewalld's default zone, else
    public; empty for another backend), front_conn_limit (``limit``: at most
    that many concurrent connections to the front's port per source, 0 off;
    ``ipv6_prefix``: IPv6 sources grouped by that prefix, IPv4 by /32;
    ``exempt``: the sources no limit counts, by family, from
    ``front_conn_limit_exempt`` (the role's default is the front's
    ``ollama_front_rate_exempt``): they still pass the front's sources;
    ``applied`` and ``why``: see ``conn_limit_status``), and what ``finish`` adds: the rules of each backend and
    ``act``.

    A Docker-published Ollama port (off loopback) is closed twice: in
    DOCKER-USER (IPv4 and, with Docker's ip6tables NAT, IPv6 traffic that
    Docker's DNAT sends through FORWARD) and in the backend's INPUT path:
    traffic Docker does not DNAT - IPv6 without ip6tables NAT, which the
    userland proxy (docker-proxy on ``[::]:PORT``) answers - goes through
    INPUT. DNATed traffic never reaches INPUT, so that rule changes nothing
    for it.

    The doors (issue 26): ``doors`` lists every door of the host's read with
    the decision (``close``) and its reason (``why``, see door_decisions);
    the ports of those closed join ``ports`` with that reason, and so does
    each port of ``close_ports`` (ollama_firewall_close_ports, closed
    whatever listens there). Another program's socket on a door port
    closed on purpose is not a conflict. A door of a Docker container (or
    docker-proxy) also gets its DOCKER-USER rule (``docker``, ``door``
    true). The SSH port and the front's port are never closed: listed in
    ``close_ports`` they are refused, naming the variable.
    """
    errors = []
    republish = as_bool(docker_republish)
    if republish is None:
        errors.append("ollama_firewall_docker_republish must be a boolean (true or false), got %r"
                      % (docker_republish,))
    install_flag = as_bool(install)
    if install_flag is None:
        errors.append("ollama_firewall_install must be a boolean (true or false), got %r" % (install,))
    close_fw = as_bool(close_forwarders)
    if close_fw is None:
        errors.append("ollama_firewall_close_forwarders must be a boolean (true or false), got %r"
                      % (close_forwarders,))
    close_srv = as_bool(close_model_servers)
    if close_srv is None:
        errors.append("ollama_firewall_close_model_servers must be a boolean (true or false), got %r"
                      % (close_model_servers,))
    facts = facts if isinstance(facts, dict) else {}
    state = state if isinstance(state, dict) else {}
    close = []
    close_ports = [] if close_ports is None else close_ports
    if not isinstance(close_ports, (list, tuple)):
        errors.append("ollama_firewall_close_ports must be a list of TCP ports 1-65535, got %r" % (close_ports,))
    else:
        for value in close_ports:
            port = _port(value)
            if port is None:
                errors.append("ollama_firewall_close_ports: %r is not a TCP port 1-65535" % (value,))
            elif port not in close:
                close.append(port)
    extra = []
    ports = [] if ports is None else ports
    if not isinstance(ports, (list, tuple)):
        errors.append("ollama_firewall_ports must be a list of TCP ports 1-65535, got %r" % (ports,))
    else:
        for value in ports:
            port = _port(value)
            if port is None:
                errors.append("ollama_firewall_ports: %r is not a TCP port 1-65535" % (value,))
            else:
                extra.append(port)
    fport = _port(front_port)
    if fport is None:
        errors.append("ollama_firewall_front_port must be a TCP port 1-65535, got %r" % (front_port,))
    sport = _port(ssh_port)
    if sport is None:
        errors.append("ollama_firewall_ssh_port must be a TCP port 1-65535, got %r" % (ssh_port,))
    climit, problem = _count(front_conn_limit, "ollama_firewall_front_conn_limit", 0, 1000000)
    if problem:
        errors.append(problem)
    cprefix, problem = _count(front_conn_limit_ipv6_prefix, "ollama_firewall_front_conn_limit_ipv6_prefix", 1, 128)
    if problem:
        errors.append(problem)
    exempt, problems = normalize_exempt(front_conn_limit_exempt)
    errors.extend(problems)
    nets, source_errors = normalize_sources(front_sources if front_sources is not None else
                                            [ANYWHERE["ipv4"], ANYWHERE["ipv6"]])
    errors.extend(source_errors)
    chosen, problem = choose_backend(backend, state, ufw_enable, install=bool(install_flag))
    if problem:
        errors.append(problem)
    if sport is not None and sport in close:
        errors.append("refused: ollama_firewall_close_ports holds %d, the SSH port Ansible uses "
                      "(ollama_firewall_ssh_port): closing it would cut this connection" % sport)
    if front_enabled and fport is not None and fport in close:
        errors.append("ollama_firewall_close_ports holds %d, the front's port (ollama_firewall_front_port): "
                      "the front must stay reachable" % fport)
    if errors:
        raise ValueError("; ".join(errors))

    found = ollama_ports(facts)
    for port in extra:
        found.setdefault(port, []).append("ollama_firewall_ports")
    published = docker_ports(facts) if docker_user else []
    if any(d["port"] == sport for d in published):
        raise ValueError("refused: a Docker-published Ollama port is the SSH port %d (ollama_firewall_ssh_port)" % sport)
    for pub in published:
        reason = "%s%s (%s:%d)" % (DOCKER_REASON, pub["container"], pub["ip"] or "*", pub["port"])
        found.setdefault(pub["port"], []).append(reason)
    # Docker's proxy listens on each published port (also the IPv6 one the
    # INPUT rule closes): its socket is not another program's.
    clash = conflicts(found, facts, ignore=[d["port"] for d in docker_ports(facts)])
    if sport in found:
        raise ValueError("refused: Ollama port %d is the SSH port Ansible uses (ollama_firewall_ssh_port=%d); "
                         "closing it would cut this connection" % (sport, sport))
    if front_enabled and fport in found:
        raise ValueError("ollama_firewall_front_port=%d is an Ollama port (%s): the front must listen elsewhere"
                         % (fport, "; ".join(found[fport])))
    if front_enabled and fport == sport and not all(nets[f] == [ANYWHERE[f]] for f in nets):
        raise ValueError("refused: ollama_firewall_front_port=%d is the SSH port Ansible uses and "
                         "ollama_firewall_front_sources would restrict it" % fport)
    # The doors the operator opted in to close, and the ports listed by
    # hand: closed whatever program listens there (no conflict).
    doors = door_decisions(facts, close_fw, close_srv, sport, fport if front_enabled else None)
    for door in doors:
        if door["close"]:
            found.setdefault(door["port"], []).append(door["why"])
            clash.pop(door["port"], None)
            if docker_user and (door.get("container") or door.get("kind") == "docker-proxy") \
                    and not any(d["port"] == door["port"] for d in published):
                # Docker's DNAT bypasses INPUT: DOCKER-USER closes it too.
                published.append({"port": door["port"], "container": door.get("container") or door.get("kind"),
                                  "private_port": None, "ip": "", "door": True})
    for port in close:
        found.setdefault(port, []).append("ollama_firewall_close_ports")
        clash.pop(port, None)
    published.sort(key=lambda d: d["port"])
    ufw = {"enable": False, "ssh_allow": False, "enable_unit": False}
    if chosen == "ufw":
        ufw_state = state.get("ufw") or {}
        if not ufw_state.get("active"):
            ufw["enable"] = True
            # `ufw enable` loads the rules now; ufw.service loads them at
            # boot, and may be disabled: enabled (and started) too.
            ufw["enable_unit"] = facts.get("systemd") is not False and not (
                (state.get("units") or {}).get("ufw.service") or {}).get("enabled", False)
            default = ufw_state.get("default_incoming") or "deny"
            if default in ("deny", "reject") and not ufw_allows_port(ufw_state.get("rules") or [], sport):
                if not ssh_allow:
                    raise ValueError(
                        "refused: enabling ufw (ollama_firewall_ufw_enable) with its default incoming policy %r "
                        "and no rule allowing the SSH port %d would cut the connection Ansible uses; set "
                        "ollama_firewall_ssh_allow=true to allow it first" % (default, sport))
                ufw["ssh_allow"] = True
    closed = sorted(p for p in found if p not in clash)
    anywhere = dict((f, ANYWHERE[f] in nets[f]) for f in nets)
    return finish({
        "backend": chosen,
        "install": install_needed(backend, state) if install_flag else [],
        "ports": closed,
        "reasons": dict((str(p), found[p]) for p in sorted(found)),
        "conflicts": dict((str(p), clash[p]) for p in sorted(clash)),
        "docker": published,
        "front": {"enabled": bool(front_enabled), "port": fport,
                  "sources": nets, "anywhere": anywhere},
        "front_conn_limit": {"limit": climit, "ipv6_prefix": cprefix, "exempt": exempt},
        "ssh_port": sport,
        "ufw": ufw,
        "docker_user": bool(docker_user),
        "docker_republish": republish,
        "before": dict(before) if isinstance(before, dict) else {},
        "python": _text(facts.get("python")) or DEFAULT_PYTHON,
        "systemd": facts.get("systemd") is not False,
        "tools": dict((k, _text(v)) for k, v in (state.get("tools") or {}).items()),
        "firewalld_zone": (_text(firewalld_zone) or _text(state.get("firewalld_zone")) or "public")
        if chosen == "firewalld" else "",
        "docker_state_file": docker_state_file(state_file) if state_file else None,
        "republish": [],
        "republish_refused": [],
        "doors": doors,
        "close": {"forwarders": bool(close_fw), "model_servers": bool(close_srv), "ports": sorted(close)},
    })


def drop_republished(p, facts, names):
    """The plan without DOCKER-USER rules for the containers ``names`` (the
    opt-in republishes them on loopback: a later run would no longer find
    them published, and would remove the rules again)."""
    names = set(names or [])
    facts = dict(facts) if isinstance(facts, dict) else {}
    facts["containers"] = [c for c in facts.get("containers") or [] if c.get("name") not in names]
    new = dict(p)
    new["docker"] = docker_ports(facts) if p.get("docker_user") else []
    # A door's DOCKER-USER rule (another program's container) stays.
    new["docker"] = sorted(new["docker"] + [d for d in p.get("docker") or [] if d.get("door")
                                            and not any(k["port"] == d["port"] for k in new["docker"])],
                           key=lambda d: d["port"])
    # Their INPUT rules go too, unless the port is an Ollama port for
    # another reason (or still published by another container).
    kept = set(d["port"] for d in new["docker"])
    reasons = {}
    for port, why in (p.get("reasons") or {}).items():
        why = [r for r in why if not (r.startswith(DOCKER_REASON) and int(port) not in kept)]
        if why:
            reasons[port] = why
    new["reasons"] = reasons
    new["ports"] = [port for port in p.get("ports") or [] if str(port) in reasons]
    return finish(new) if "front" in new else new


def docker_state_file(state_file):
    """The republished containers' record, next to the role's state file."""
    return posixpath.join(posixpath.dirname(_text(state_file)) or "/", DOCKER_STATE)


def finish(p):
    """The plan with what the tasks apply, rendered from it: ``nftables``
    (the table's file), ``iptables_chain`` (whether the OLLAMA-TOOLKIT chain
    is wanted) and ``iptables`` (its rules by family), ``docker_user_rules``
    (by family), ``ufw_rules`` and ``rich_rules`` (and ``ufw_stale``,
    ``rich_stale``: those of the earlier run no longer planned), ``act``
    (something to close, or rules of an earlier run to keep in step), ``persist`` (a unit reapplies
    the rules: nftables, iptables or DOCKER-USER rules), ``front_conn_limit``
    with ``applied`` and ``why``."""
    p = dict(p)
    before = p.get("before") or {}
    p["nftables"] = nftables_ruleset(p)
    p["iptables_chain"] = (bool(p["ports"]) or not all(p["front"]["anywhere"].values())
                           or bool(_conn_limit(p) and p["backend"] == "iptables"))
    p["iptables"] = dict((family, iptables_rules(p, family)) for family in FAMILIES)
    p["docker_user_rules"] = dict((family, docker_user_rules(p, family)) for family in FAMILIES)
    p["ufw_rules"] = ufw_rules(p)
    p["rich_rules"] = firewalld_rich_rules(p)
    p["ufw_stale"] = [r for r in before.get("ufw_rules") or [] if r not in p["ufw_rules"]]
    p["rich_stale"] = [r for r in before.get("firewalld_rules") or [] if r not in p["rich_rules"]]
    p["act"] = bool(p["ports"] or p["docker"] or before)
    p["front_conn_limit"] = conn_limit_status(p)
    # A unit reapplies the nftables table, the iptables chain and DOCKER-USER rules.
    p["persist"] = p["backend"] in ("nftables", "iptables") or bool(p["docker"])
    return p


UFW_NO_CONN_LIMIT = (
    "ufw has no per-source limit of concurrent connections: its `limit` rule caps the rate of new "
    "connections (6 in 30 s per address), not how many stay open; not applied (nothing is faked: "
    "raw iptables rules in /etc/ufw/before.rules could do it, the toolkit does not write them)")
FIREWALLD_NO_CONN_LIMIT = (
    "firewalld rich rules have no per-source limit of concurrent connections: their `limit value` caps a "
    "rate (of accepted new connections or of log messages), not how many stay open; not applied "
    "(nothing is faked)")


def _conn_limit(p):
    """The per-source connection limit the rules of the front's port carry
    (nftables and iptables), 0 when none: off, or no front."""
    settings = p.get("front_conn_limit") or {}
    if not p["front"]["enabled"] or not settings.get("limit"):
        return 0
    return settings["limit"]


def conn_limit_status(p):
    """``front_conn_limit`` of the plan: the settings (``limit``,
    ``ipv6_prefix``) with ``applied`` (the host's rules limit the
    concurrent connections each source opens to the front's port) and
    ``why`` (said either way, the role prints it)."""
    settings = dict(p.get("front_conn_limit") or {})
    limit = settings.setdefault("limit", 0)
    prefix = settings.setdefault("ipv6_prefix", 64)
    exempt = settings.setdefault("exempt", {"ipv4": [], "ipv6": []})
    applied = False
    if not p["front"]["enabled"]:
        why = "the front's port is not opened (ollama_firewall_front_enabled is false): no limit"
    elif not limit:
        why = "off (ollama_firewall_front_conn_limit is 0)"
    elif p["backend"] == "ufw":
        why = UFW_NO_CONN_LIMIT
    elif p["backend"] == "firewalld":
        why = FIREWALLD_NO_CONN_LIMIT
    elif not p["act"]:
        why = "no rule is added on this host (no Ollama port to close, no rule of an earlier run)"
    else:
        applied = True
        why = ("%s: at most %d concurrent connections to port %d per IPv4 address (/32) and per IPv6 /%d; "
               "a new one over that is reset" % (p["backend"], limit, p["front"]["port"], prefix))
        spared = exempt.get("ipv4", []) + exempt.get("ipv6", [])
        if spared:
            why += "; not counted (exempt): %s" % ", ".join(spared)
    settings.update(applied=applied, why=why)
    return settings


def with_republish(p, facts, read):
    """The plan with the republishing of Docker-published Ollama containers
    on 127.0.0.1 (the ``ollama_firewall_docker_republish`` opt-in).

    ``facts``: the facts the plan was made from (their ``containers``);
    ``read``: ollama_info's result with ``docker_inspect`` (each container's
    ``config`` and ``image_id``). Adds ``republish`` (the containers to
    recreate, with their docker_container options) and ``republish_refused``
    (left as they are, with the reason); the recreated containers' ports
    leave DOCKER-USER and INPUT (the next run would no longer see them
    published, and would remove the rules again).
    """
    inspects, images = {}, {}
    for ctr in ((read or {}).get("containers") or []) if isinstance(read, dict) else []:
        if not isinstance(ctr, dict) or not isinstance(ctr.get("config"), dict):
            continue
        inspects[ctr.get("id")] = ctr["config"]
        name = (ctr["config"].get("Config") or {}).get("Image")
        if isinstance(name, str) and name:
            images[name] = ctr.get("image_id")
    entries = docker.republish_plan((facts or {}).get("containers") or [], inspects, images)
    chosen = [e for e in entries if e["action"] == "republish"]
    new = drop_republished(p, facts, [e["name"] for e in chosen])
    new["republish"] = chosen
    new["republish_refused"] = [e for e in entries if e["action"] == "refuse"]
    if "record" in new:
        # wall_plan's record follows: the recreated containers' ports leave it.
        new.update(record(new))
    return new


# -- rendering --------------------------------------------------------------------
NFT_ADDR = {"ipv4": "ipv4", "ipv6": "ipv6"}
NFT_KEYWORD = {"ipv4": "ip", "ipv6": "ip6"}
NFT_CONN_SET = {"ipv4": "front_conn_ipv4", "ipv6": "front_conn_ipv6"}
# Sources tracked at once per family: when the set is full a new source is
# not counted (its connections pass the limit rule to the accept).
NFT_CONN_SET_SIZE = 65535


def _conn_mask(family, p):
    """The prefix length sources are grouped by: /32 for IPv4, the plan's for IPv6."""
    return 32 if family == "ipv4" else (p.get("front_conn_limit") or {}).get("ipv6_prefix", 64)


def _conn_exempt(family, p):
    """The family's sources the limit does not count (collapsed CIDRs)."""
    return list(((p.get("front_conn_limit") or {}).get("exempt") or {}).get(family) or [])


def _exempt_within(family, source, p):
    """(the whole ``source`` is exempt, the exempt networks inside it): CIDRs
    either nest or are apart, so this is the exact intersection."""
    if ANYWHERE[family] in _conn_exempt(family, p):
        return True, []
    if source == ANYWHERE[family]:
        return False, _conn_exempt(family, p)
    net = ipaddress.ip_network(source)
    inside = []
    for item in _conn_exempt(family, p):
        spared = ipaddress.ip_network(item)
        if net.subnet_of(spared):
            return True, []
        if spared.subnet_of(net):
            inside.append(item)
    return False, inside


def _nft_source_key(family, p):
    if family == "ipv4":
        return "ip saddr"
    mask = _conn_mask(family, p)
    if mask == 128:
        return "ip6 saddr"
    return "ip6 saddr and %s" % ipaddress.IPv6Network("::/%d" % mask).netmask


def nftables_ruleset(p):
    """The toolkit's own table (``inet ollama_exposure_toolkit``), loadable with
    ``nft -f``: it replaces only this table, atomically."""
    lines = [
        "#!/usr/sbin/nft -f",
        "# Managed by the Ollama exposure toolkit (role ollama_firewall): only loopback",
        "# reaches Ollama's ports. Remove with playbooks/rollback.yml, not by hand.",
        "table inet %s" % TABLE,
        "delete table inet %s" % TABLE,
        "table inet %s {" % TABLE,
    ]
    front = p["front"]
    limit = _conn_limit(p)
    limited = [f for f in FAMILIES if limit and front["sources"][f]]
    for family in limited:
        # One element per source (IPv6: per prefix), each counting its
        # connections in conntrack; an element goes when its count is 0.
        lines += ["\tset %s {" % NFT_CONN_SET[family],
                  "\t\ttype %s_addr" % NFT_ADDR[family],
                  "\t\tsize %d" % NFT_CONN_SET_SIZE,
                  "\t\tflags dynamic",
                  "\t}"]
    lines += [
        "\tchain input {",
        "\t\ttype filter hook input priority -10; policy accept;",
        "\t\tiif \"lo\" accept",
    ]
    for family in limited:
        # Before the accept: a new connection over the limit of its source is reset.
        match = "" if front["anywhere"][family] else " %s saddr { %s }" % (
            NFT_KEYWORD[family], ", ".join(front["sources"][family]))
        # An exempt source skips the limit, not the front's sources.
        spared = _conn_exempt(family, p)
        if spared:
            match += " %s saddr != { %s }" % (NFT_KEYWORD[family], ", ".join(spared))
        lines.append("\t\ttcp dport %d%s ct state new add @%s { %s ct count over %d } reject with tcp reset"
                     % (front["port"], match, NFT_CONN_SET[family], _nft_source_key(family, p), limit))
    if front["enabled"] and all(front["anywhere"].values()):
        lines.append("\t\ttcp dport %d accept" % front["port"])
    elif front["enabled"]:
        for family, keyword in (("ipv4", "ip"), ("ipv6", "ip6")):
            sources = front["sources"][family]
            if front["anywhere"][family]:
                lines.append("\t\tmeta nfproto %s tcp dport %d accept" % (family, front["port"]))
            elif sources:
                lines.append("\t\ttcp dport %d %s saddr { %s } accept" % (front["port"], keyword, ", ".join(sources)))
        lines.append("\t\ttcp dport %d drop" % front["port"])
    if p["ports"]:
        lines.append("\t\ttcp dport { %s } drop" % ", ".join(str(x) for x in p["ports"]))
    lines += ["\t}", "}", ""]
    return "\n".join(lines)


def iptables_rules(p, family):
    """Rules of the OLLAMA-TOOLKIT chain for ``family`` (ipv4/ipv6), in order.

    Each is a dict of ansible.builtin.iptables options plus ``line``: the rule
    as ``iptables -S`` prints it (to find stale rules), ``args`` (for the
    persistence script) and ``command``: true for a rule the module cannot
    express (the front's connlimit), which the tasks insert with the
    command at its place in this list.
    """
    rules = [{"in_interface": "lo", "jump": "RETURN", "line": "-A %s -i lo -j RETURN" % CHAIN,
              "args": "-i lo -j RETURN"}]
    front = p["front"]
    if front["enabled"]:
        sources = front["sources"][family]
        if front["anywhere"][family]:
            sources = [ANYWHERE[family]]
        limit = _conn_limit(p)
        for source in sources:
            src = "" if source == ANYWHERE[family] else "-s %s " % source
            whole, inside = _exempt_within(family, source, p) if limit else (False, [])
            for spared in inside:
                # An exempt source (within this one) is accepted before the
                # limit counts it.
                rules.append({"source": spared, "protocol": "tcp", "destination_port": str(front["port"]),
                              "jump": "ACCEPT",
                              "line": "-A %s -s %s -p tcp -m tcp --dport %d -j ACCEPT" % (CHAIN, spared, front["port"]),
                              "args": "-s %s -p tcp -m tcp --dport %d -j ACCEPT" % (spared, front["port"])})
            if limit and not whole:
                # Before the accept: a new connection over the limit of its
                # source (IPv6: its prefix) is reset. ansible.builtin.iptables
                # has no connlimit option: the tasks insert it with the
                # command (``command``), where the plan puts it.
                args = ("%s-p tcp -m tcp --dport %d -m conntrack --ctstate NEW -m connlimit --connlimit-above %d "
                        "--connlimit-mask %d --connlimit-saddr -j REJECT --reject-with tcp-reset"
                        % (src, front["port"], limit, _conn_mask(family, p)))
                rules.append({"source": None if not src else source, "protocol": "tcp",
                              "destination_port": str(front["port"]), "jump": "REJECT", "command": True,
                              "line": "-A %s %s" % (CHAIN, args), "args": args})
            rules.append({"source": None if not src else source, "protocol": "tcp", "destination_port": str(front["port"]),
                          "jump": "ACCEPT",
                          "line": "-A %s %s-p tcp -m tcp --dport %d -j ACCEPT" % (CHAIN, src, front["port"]),
                          "args": "%s-p tcp -m tcp --dport %d -j ACCEPT" % (src, front["port"])})
        if not front["anywhere"][family]:
            rules.append({"source": None, "protocol": "tcp", "destination_port": str(front["port"]), "jump": "DROP",
                          "line": "-A %s -p tcp -m tcp --dport %d -j DROP" % (CHAIN, front["port"]),
                          "args": "-p tcp -m tcp --dport %d -j DROP" % front["port"]})
    for port in p["ports"]:
        rules.append({"source": None, "protocol": "tcp", "destination_port": str(port), "jump": "DROP",
                      "line": "-A %s -p tcp -m tcp --dport %d -j DROP" % (CHAIN, port),
                      "args": "-p tcp -m tcp --dport %d -j DROP" % port})
    for rule in rules:
        rule.setdefault("command", False)
        rule.setdefault("source", None)
        rule.setdefault("in_interface", None)
        rule.setdefault("protocol", None)
        rule.setdefault("destination_port", None)
    return rules


def stale_chain(live_lines, rules):
    """Whether the live chain must be flushed before the rules are (re)appended:
    it holds a rule the plan does not, or the order differs."""
    live = [line.strip() for line in live_lines if line.strip().startswith("-A ")]
    wanted = [r["line"] for r in rules]
    return live != wanted[:len(live)]


def docker_user_rules(p, family):
    """DOCKER-USER rules (argument strings) dropping outside traffic to each
    published Ollama port: conntrack's original destination port, because
    Docker's DNAT has already rewritten the packet's own."""
    return ["! -s %s -p tcp -m conntrack --ctorigdstport %d --ctdir ORIGINAL -m comment --comment %s -j DROP"
            % (LOOPBACK[family], d["port"], COMMENT) for d in p["docker"]]


def ufw_rules(p):
    """community.general.ufw rules: deny each Ollama port (ufw's own before-rules
    accept loopback first), allow the front's port from its sources."""
    unique = []
    if p["front"]["enabled"]:
        if all(p["front"]["anywhere"].values()):
            unique.append({"rule": "allow", "port": str(p["front"]["port"]), "from_ip": "any"})
        else:
            for family in ("ipv4", "ipv6"):
                for source in p["front"]["sources"][family]:
                    unique.append({"rule": "allow", "port": str(p["front"]["port"]), "from_ip": source})
    if p["front"]["enabled"] and not all(p["front"]["anywhere"].values()):
        unique.append({"rule": "deny", "port": str(p["front"]["port"]), "from_ip": "any"})
    unique += [{"rule": "deny", "port": str(port), "from_ip": "any"} for port in p["ports"]]
    return unique


def firewalld_rich_rules(p):
    """Rich rules for ansible.posix.firewalld (firewalld accepts loopback before zones).

    The front's rules carry negative priorities: they run before the zone's
    own deny/allow chains, the source accepts before the drop of the rest."""
    rules = []
    if p["front"]["enabled"]:
        for family in ("ipv4", "ipv6"):
            for source in p["front"]["sources"][family]:
                if source == ANYWHERE[family]:
                    rules.append('rule priority="-2" family="%s" port port="%d" protocol="tcp" accept'
                                 % (family, p["front"]["port"]))
                else:
                    rules.append('rule priority="-2" family="%s" source address="%s" port port="%d" protocol="tcp" accept'
                                 % (family, source, p["front"]["port"]))
        if not all(p["front"]["anywhere"].values()):
            rules.append('rule priority="-1" port port="%d" protocol="tcp" drop' % p["front"]["port"])
    rules += ['rule port port="%d" protocol="tcp" drop' % port for port in p["ports"]]
    return rules


# The wall's contract (plugin_utils/ollama_wall.py): one call returns the plan.
# The role's constants (roles/ollama_firewall/vars/main.yml states them too:
# tests/unit/test_ollama_firewall.py keeps both in step).
STAMP = "ollama_firewall"
STAMP_VERSION = 1  # bump when the role's tasks change what they leave on a host
UNIT = "ollama-exposure-toolkit-firewall.service"
SCRIPT = "/usr/local/sbin/ollama-exposure-toolkit-firewall"
NFT_CONF = "/etc/nftables.conf"
# option name (without ollama_firewall_) -> plan()'s keyword
OPTIONS = ("backend", "ports", "front_enabled", "front_port", "front_sources", "front_conn_limit",
           "front_conn_limit_ipv6_prefix", "front_conn_limit_exempt", "ssh_port", "docker_user", "ufw_enable",
           "ssh_allow", "docker_republish", "install", "firewalld_zone", "state_file",
           "close_forwarders", "close_model_servers", "close_ports")
REQUIRED_OPTIONS = OPTIONS + ("nft_file",)


def _ran(result):
    """A registered result that holds a read (not skipped, not failed)."""
    return isinstance(result, dict) and not result.get("skipped") and not result.get("failed")


def previous_record(previous, stamp_read):
    """What an earlier run added (the state file the role slurped), else,
    where the slurp was skipped because the stamp shows no drift, the
    stamp's copy of it; {} on a host the role never changed."""
    if isinstance(previous, dict) and previous.get("content") is not None:
        try:
            value = json.loads(base64.b64decode(previous["content"]).decode("utf-8"))
        except (ValueError, TypeError) as exc:
            raise ValueError("ollama_firewall_state_file does not hold the role's JSON record: %s" % exc)
        return value if isinstance(value, dict) else {}
    if isinstance(previous, dict) and previous.get("skipped"):
        return dict((stamp_read or {}).get("data") or {})
    return {}


def record(p):
    """What the role added, written to ollama_firewall_state_file (for
    rollback) and kept in the stamp's data: ``record`` and its file's
    content ``record_content`` (JSON as to_nice_json writes it)."""
    before = p.get("before") or {}
    rec = {
        "backend": p["backend"],
        "ports": p["ports"],
        "docker": p["docker"],
        "unit": p["persist"],
        "ufw_rules": p["ufw_rules"] if p["backend"] == "ufw" else [],
        "ufw_enabled": bool(before.get("ufw_enabled") or p["ufw"]["enable"]),
        "ufw_ssh_allow": bool(before.get("ufw_ssh_allow") or p["ufw"]["ssh_allow"]),
        "ufw_unit_enabled": bool(before.get("ufw_unit_enabled") or p["ufw"]["enable_unit"]),
        "ssh_port": p["ssh_port"],
        "firewalld_zone": p["firewalld_zone"],
        "firewalld_rules": p["rich_rules"] if p["backend"] == "firewalld" else [],
    }
    content = json.dumps(rec, indent=4, sort_keys=True, separators=(",", ": ")) + "\n"
    return {"record": rec, "record_content": content}


def stampable(p, facts):
    """The stamp covers the nftables table: iptables, ufw, firewalld and
    DOCKER-USER rules are not stamped (the normal path reads them each
    run), nor a host the role installs nftables on, nor one with containers."""
    return (p["backend"] == "nftables" and not p["install"]
            and not (p["docker"] + list((p.get("before") or {}).get("docker") or []))
            and not (facts or {}).get("containers"))


def wall_plan(facts, options, context):
    """The firewall wall's plan (``wall_plan('firewall', options, context)``).

    ``facts``: the audit's read (``ollama_audit_facts``, {} without the
    audit); ``options``: every ``ollama_firewall_*`` variable by name;
    ``context``: the contract's keys plus ``read`` (the role's own
    ollama_info read, made where the audit's does not say which firewall the
    host has) and ``previous`` (the slurp of the state file, skipped where
    the stamp shows no drift). Returns plan()'s keys plus ``wall``,
    ``in_place``, ``stamp``, ``settled`` (no port conflict, OLLAMA-FW-002, and
    rules the stamp covers),
    ``record``/``record_content``, ``nft_reload`` (load the table even when
    its file did not change: the live chain drifted, or the first stamp) and
    ``republish_read``/``republish_facts`` (the containers the republish
    opt-in reads)."""
    missing = [o for o in ("ollama_firewall_" + k for k in REQUIRED_OPTIONS) if o not in options]
    if missing:
        raise ValueError("wall_plan('firewall'): options lack %s" % ", ".join(missing))
    audit = facts if isinstance(facts, dict) else {}
    read = context.get("read") if _ran(context.get("read")) else {}
    # What the plan starts from: the audit's read, else the role's own; which
    # firewall the host has: the role's own read when it made one.
    base = audit if audit else read
    detect = ((read.get("firewall") or {}).get("detect") if "detect" in (read.get("firewall") or {})
              else (audit.get("firewall") or {}).get("detect"))
    stamp_read = (audit.get("stamps") or {}).get(STAMP) or {}
    kwargs = dict((k, options["ollama_firewall_" + k]) for k in OPTIONS)
    kwargs["before"] = previous_record(context.get("previous"), stamp_read)
    p = plan(base, detect or {}, **kwargs)
    p.update(record(p))
    covered = stampable(p, base)
    wall_stamp = wall.stamp(
        STAMP, STAMP_VERSION,
        {"vars": options, "plan": dict((k, v) for k, v in p.items() if k not in ("before", "record", "record_content"))},
        audit, context, stampable=covered,
        files=[options["ollama_firewall_nft_file"], posixpath.dirname(_text(options["ollama_firewall_nft_file"])),
               options["ollama_firewall_state_file"], posixpath.dirname(_text(options["ollama_firewall_state_file"])),
               SCRIPT, "/etc/systemd/system/" + UNIT, NFT_CONF],
        units=[UNIT] if p["systemd"] else [], nft_chains=["inet %s input" % TABLE],
        data=p["record"] if p["act"] else {}, prefix="OLLAMA-FW")
    p.update({
        "wall": "firewall",
        "in_place": wall_stamp.pop("in_place"),
        "stamp": wall_stamp,
        # harden.yml counts on this wall only where its stamp covers the
        # rules and no port conflict is said each run.
        "settled": not p["conflicts"] and covered,
        "nft_reload": (any(str(d).startswith("nft chain ") for d in stamp_read.get("drift") or [])
                       or (wall_stamp["write"] and not stamp_read.get("present"))),
        "republish_read": bool(p["docker_republish"] and base.get("containers")),
        "republish_facts": {"containers": list(base.get("containers") or [])},
    })
    return p
