# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Ollama ports the toolkit's own firewall rules close, read from the
live ruleset of a host (not from the files that should load it).

Pure parsers of ``nft -j list ruleset`` and ``iptables-save`` /
``ip6tables-save``, unit tested in tests/unit/test_ollama_netfilter.py, and
``read_closures``, which runs those commands through a ``run(argv) -> (rc,
out, err)`` callable (ollama_info passes AnsibleModule.run_command).

Only the rule shapes the ollama_firewall role writes count, in the chains
where they take effect:

- ``input``: traffic to the host's own sockets (Ollama's listener, and
  docker-proxy, which answers IPv6 for a published port): the nftables table
  ``inet ollama_exposure_toolkit`` (a chain hooked on input), the iptables
  chain ``OLLAMA-TOOLKIT`` jumped to from INPUT, ufw's ``ufw-user-input``
  (ufw enabled: INPUT jumps to ``ufw-before-input``), firewalld's zone chains
  (``table inet firewalld``, ``filter_IN_*``);
- ``forward``: Docker-published ports, which Docker's DNAT sends through
  FORWARD: the toolkit's ``DOCKER-USER`` rule (conntrack's original
  destination port, comment ``ollama-exposure-toolkit``) with FORWARD jumping
  to DOCKER-USER.

A rule for another port, in another chain, restricted to some sources, or
gone after a flush closes nothing. The result says which rule closes what:
``{"input": {"ipv4": {"11434": "..."}, "ipv6": {...}}, "forward": {...}}``.

Which firewall the host has (``read_detection``, for the ollama_firewall
role's plan): the tools installed, the state of the firewall services, ufw's
status, default incoming policy and rules, firewalld's default zone. Pure
parsers (``unit_states``, ``parse_ufw``, ``first_line``) and a reader that
runs the commands through the same ``run`` callable.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import shlex


TABLE = "ollama_exposure_toolkit"
CHAIN = "OLLAMA-TOOLKIT"
COMMENT = "ollama-exposure-toolkit"
FAMILIES = ("ipv4", "ipv6")
# What the detection reads: the firewall tools, and the services that decide
# which firewall is in charge (docker.service: whether DOCKER-USER exists).
TOOLS = ("nft", "iptables", "ip6tables", "ufw", "firewall-cmd")
UNITS = ("nftables.service", "ufw.service", "firewalld.service", "netfilter-persistent.service", "docker.service")
UFW_DEFAULTS = "/etc/default/ufw"
# Matches that narrow a rule without restricting who it drops.
_NEUTRAL_KEYS = ("l4proto", "nfproto", "protocol")


def empty():
    return {"input": {"ipv4": {}, "ipv6": {}}, "forward": {"ipv4": {}, "ipv6": {}}, "errors": []}


def _add(result, path, family, port, text):
    result[path][family].setdefault(str(port), text)


# -- nftables ------------------------------------------------------------------------
def _dports(match):
    """Ports of a ``tcp dport`` match (==, or in a set), else None."""
    left, right, op = match.get("left") or {}, match.get("right"), match.get("op", "==")
    payload = left.get("payload") if isinstance(left, dict) else None
    if not payload or payload.get("protocol") != "tcp" or payload.get("field") != "dport":
        return None
    if op not in ("==", "in"):
        return None
    if isinstance(right, int):
        return [right]
    if isinstance(right, dict) and isinstance(right.get("set"), list):
        return [p for p in right["set"] if isinstance(p, int)]
    return None


def _neutral(match):
    """A match that does not restrict the sources (protocol, conntrack state)."""
    left = match.get("left") or {}
    if not isinstance(left, dict):
        return False
    if "ct" in left:
        return (left["ct"] or {}).get("key") == "state"
    if "meta" in left:
        return (left["meta"] or {}).get("key") in _NEUTRAL_KEYS
    return False


def nft_drops(rule):
    """Ports a nft rule (JSON) drops for every source, or []."""
    ports, verdict = None, None
    for expr in rule.get("expr") or []:
        if not isinstance(expr, dict):
            return []
        if "match" in expr:
            found = _dports(expr["match"])
            if found is not None:
                if ports is not None:
                    return []
                ports = found
            elif not _neutral(expr["match"]):
                return []
        elif "drop" in expr or "reject" in expr:
            verdict = "drop"
        elif "counter" in expr or "log" in expr:
            continue
        else:
            return []
    return ports if verdict and ports else []


def parse_nft_json(text):
    """Input closures from ``nft -j list ruleset``: {family: {port: text}}."""
    found = {"ipv4": {}, "ipv6": {}}
    try:
        items = json.loads(text or "{}").get("nftables") or []
    except (ValueError, AttributeError):
        return found
    hooked = set()
    for item in items:
        chain = item.get("chain") if isinstance(item, dict) else None
        if chain and chain.get("hook") == "input":
            hooked.add((chain.get("family"), chain.get("table"), chain.get("name")))
    for item in items:
        rule = item.get("rule") if isinstance(item, dict) else None
        if not rule:
            continue
        family, table, chain = rule.get("family"), rule.get("table"), rule.get("chain")
        if table == TABLE and family == "inet" and (family, table, chain) in hooked:
            label = "nftables table inet %s chain %s" % (TABLE, chain)
        elif table == "firewalld" and family == "inet" and str(chain).startswith("filter_IN_"):
            label = "firewalld rule in %s" % chain
        else:
            continue
        for port in nft_drops(rule):
            for fam in FAMILIES:
                found[fam].setdefault(str(port), "%s drops tcp/%s" % (label, port))
    return found


# -- iptables --------------------------------------------------------------------------
def _chains(text):
    """{chain: [argument lists]} of the filter table of an iptables-save dump."""
    chains, table = {}, None
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("*"):
            table = line[1:]
        elif table == "filter" and line.startswith("-A "):
            try:
                args = shlex.split(line)
            except ValueError:
                continue
            if len(args) > 1:
                chains.setdefault(args[1], []).append(args[2:])
    return chains


def _opt(args, name):
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else None


def _jumps(chains, parent, child):
    return any(_opt(a, "-j") == child and len(a) == 2 for a in chains.get(parent, []))


def _plain_drop(args):
    """Port of ``-p tcp [-m tcp] --dport N -j DROP|REJECT`` for every source, else None."""
    if _opt(args, "-j") not in ("DROP", "REJECT") or _opt(args, "-p") != "tcp":
        return None
    if any(flag in args for flag in ("-s", "-i", "!", "-d", "--sport")):
        return None
    port = _opt(args, "--dport")
    return int(port) if port and port.isdigit() else None


def parse_iptables_save(text, family):
    """(input, forward) closures of one family's iptables-save dump."""
    chains = _chains(text)
    tool = "iptables" if family == "ipv4" else "ip6tables"
    closed_in, closed_fwd = {}, {}
    if _jumps(chains, "INPUT", CHAIN):
        for args in chains.get(CHAIN, []):
            port = _plain_drop(args)
            if port:
                closed_in.setdefault(str(port), "%s chain %s (from INPUT) drops tcp/%s" % (tool, CHAIN, port))
    if _jumps(chains, "INPUT", "ufw-before-input"):
        for args in chains.get("ufw-user-input", []):
            port = _plain_drop(args)
            if port:
                closed_in.setdefault(str(port), "ufw (%s ufw-user-input) denies tcp/%s" % (tool, port))
    if _jumps(chains, "FORWARD", "DOCKER-USER"):
        for args in chains.get("DOCKER-USER", []):
            port = _opt(args, "--ctorigdstport")
            if (_opt(args, "-j") == "DROP" and _opt(args, "--comment") == COMMENT and port and port.isdigit()
                    and "-i" not in args and _opt(args, "-p") == "tcp"):
                # The only source match allowed: "! -s <loopback>".
                if "-s" in args and not (args[args.index("-s") - 1] == "!"):
                    continue
                closed_fwd.setdefault(port, "%s DOCKER-USER drops tcp/%s (Docker-published) from all but loopback"
                                      % (tool, port))
    return closed_in, closed_fwd


# -- on the host --------------------------------------------------------------------------
def read_closures(run, tools):
    """Read the live ruleset with the tools present ({name: path or None})."""
    result = empty()
    if tools.get("nft"):
        rc, out, err = run([tools["nft"], "-j", "list", "ruleset"])
        if rc == 0:
            for family, ports in parse_nft_json(out).items():
                result["input"][family].update(ports)
        else:
            result["errors"].append("nft -j list ruleset: %s" % (err or "").strip()[:200])
    for family, name in (("ipv4", "iptables-save"), ("ipv6", "ip6tables-save")):
        if not tools.get(name):
            continue
        rc, out, err = run([tools[name]])
        if rc != 0:
            result["errors"].append("%s: %s" % (name, (err or "").strip()[:200]))
            continue
        closed_in, closed_fwd = parse_iptables_save(out, family)
        for port, text in closed_in.items():
            result["input"][family].setdefault(port, text)
        result["forward"][family].update(closed_fwd)
    return result


# -- which firewall ---------------------------------------------------------------------
def unit_states(blocks):
    """{unit: {loaded, active, enabled}} from the blocks of a ``systemctl
    show`` (module_utils/ollama_systemd.py: parse_systemctl_show) with at
    least Id, LoadState, ActiveState and UnitFileState."""
    units = {}
    for block in blocks:
        if block.get("Id"):
            units[block["Id"]] = {
                "loaded": block.get("LoadState") == "loaded",
                "active": block.get("ActiveState") in ("active", "activating", "reloading"),
                "enabled": block.get("UnitFileState") in ("enabled", "enabled-runtime", "static", "alias"),
            }
    return units


def parse_ufw(status="", defaults="", added=""):
    """ufw's state: {active, default_incoming, rules}.

    ``status``: ``ufw status verbose``; ``defaults``: /etc/default/ufw (its
    DEFAULT_INPUT_POLICY, used when the status does not say, as for an
    inactive ufw); ``added``: ``ufw show added`` (the rules of an inactive
    ufw, as commands). ``rules`` are rule lines as ``ufw status`` prints them.
    """
    state = {"active": False, "default_incoming": None, "rules": []}
    policies = [line.strip() for line in (defaults or "").splitlines()
                if line.strip().startswith("DEFAULT_INPUT_POLICY=")]
    lines = (status or "").splitlines() + policies + (added or "").splitlines()
    for raw in lines:
        line = raw.rstrip()
        low = line.strip().lower()
        if low.startswith("status:"):
            state["active"] = low.split(":", 1)[1].strip() == "active"
        elif low.startswith("default:"):
            for part in low.split(":", 1)[1].split(","):
                words = part.split()
                if len(words) >= 2 and words[1] == "(incoming)":
                    state["default_incoming"] = words[0]
        elif low.startswith("default_input_policy="):
            policy = low.split("=", 1)[1].strip("\"' ")
            if state["default_incoming"] is None:
                state["default_incoming"] = {"drop": "deny", "accept": "allow"}.get(policy, policy)
        elif low.startswith("ufw "):
            words = line.split()[1:]
            if words and words[0] in ("allow", "limit") and words[1:2] == ["in"]:
                words = words[:1] + words[2:]
            if len(words) == 2 and words[0] in ("allow", "limit"):
                state["rules"].append("%s %s IN Anywhere" % (words[1], words[0].upper()))
        elif line.strip() and not low.startswith(("to ", "--", "logging:", "new profiles:", "added user rules",
                                                  "(none)")):
            state["rules"].append(line.strip())
    return state


def first_line(text):
    """The first non-empty line, stripped, or None."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return None


def detection(tools=None, units=None, ufw=None, firewalld_zone=None):
    """The detection's shape: tools ({name: path or ""}, every one of TOOLS),
    units, ufw, firewalld_zone."""
    found = dict((name, (tools or {}).get(name) or "") for name in TOOLS)
    return {"tools": found, "units": dict(units or {}),
            "ufw": ufw or {"active": False, "default_incoming": None, "rules": []},
            "firewalld_zone": firewalld_zone}


def read_detection(run, which, read_file, shown):
    """Which firewall the host has, read-only.

    ``run(argv) -> (rc, out, err)`` (LC_ALL=C), ``which(name) -> path or
    None``, ``read_file(path) -> text or None``; ``shown``: {Id: block} of
    the ``systemctl show`` the caller ran for UNITS among others
    (ollama_info: one for the whole read; empty where systemd does not run).
    A missing tool or a failing command leaves its part empty.
    """
    tools = dict((name, which(name) or "") for name in TOOLS)
    units = unit_states([shown[name] for name in UNITS if name in shown])
    ufw = None
    if tools["ufw"]:
        _rc, status, _err = run([tools["ufw"], "status", "verbose"])
        _rc, added, _err = run([tools["ufw"], "show", "added"])
        ufw = parse_ufw(status, read_file(UFW_DEFAULTS) or "", added)
    zone = None
    if tools["firewall-cmd"]:
        rc, _out, _err = run([tools["firewall-cmd"], "--state"])
        if rc == 0:
            _rc, out, _err = run([tools["firewall-cmd"], "--get-default-zone"])
            zone = first_line(out)
    return detection(tools, units, ufw, zone)
