# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every way in, from a host's read: the doors (issue 26).

A door is a port on a network-reachable address through which a model is
served: a forwarder in front of a model port (nginx ``proxy_pass``, socat,
``ssh -L``, ...), another model server (vLLM, TGI, LocalAI, llama-server,
rpc-server, ComfyUI, LM Studio), or Open WebUI. ``host_doors`` lists them
from ollama_info's ``forwarders`` and ``servers`` alone; the findings join
the outside probe's answer on the same port (which proves a door open,
``auth_required`` or silent), and the firewall wall's plan takes the ports of
the kinds the operator opted in to close. ``joined_doors`` is that join (the
report's ``hosts.<name>.doors``; plugin_utils/ollama_findings.py
``door_findings`` decides the findings from the same join);
``render_doors_tables`` renders docs/doors.md's per-kind tables.

Shapes (ollama_info's return values):

- ``forwarders[]``: {kind, pid, unit, process, listen: [{address, port, scope}],
  upstream: [{host, port}], to_model: kind of what it forwards to (``ollama``
  or a SERVERS kind, None when unknown), auth: True / False / None (cannot
  tell), location: {file, line} or None, evidence}
- ``servers[]``: {kind, source: process / container, pid, unit, container,
  image, argv (secrets masked), listen: [{address, port, scope}],
  bind: {address, port, scope, exposed, origin}, key: {set, origin},
  env: {the kind's auth/upstream settings, never a secret}, version,
  rebind: {possible, env, value, why}}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import is_exposed_scope


def _wide(listen):
    return [s for s in listen or [] if is_exposed_scope(s.get("scope"))]


def host_doors(facts):
    """Doors of one host from its read, one per (port, what answers there).

    Each: {port, category: forwarder / server, kind, to_model, process, unit,
    container, location, credentials: True / False / None, listen: [...]}.
    ``credentials`` False means the read shows nothing asks for them (a
    forwarder without auth, a server without a key); None, that the read
    cannot tell (the probe decides). Open WebUI is a server whose
    credentials are its own accounts: None here, the probe's /api/config
    and its env tell the rest.
    """
    doors = []
    for fwd in (facts or {}).get("forwarders") or []:
        if fwd.get("kind") == "docker-proxy" and fwd.get("container"):
            # Docker's own proxy of a container the read knows: the container
            # is the door (OLLAMA-DOCKER-001, or its entry in servers[]).
            continue
        wide = _wide(fwd.get("listen"))
        for port in sorted(set(s.get("port") for s in wide if s.get("port"))):
            doors.append({
                "port": port, "category": "forwarder", "kind": fwd.get("kind"), "to_model": fwd.get("to_model"),
                "process": fwd.get("process") or fwd.get("kind"), "unit": fwd.get("unit"), "container": None,
                "location": fwd.get("location"), "credentials": fwd.get("auth"),
                "listen": [s for s in wide if s.get("port") == port]})
    for srv in (facts or {}).get("servers") or []:
        wide = _wide(srv.get("listen"))
        ports = sorted(set(s.get("port") for s in wide if s.get("port")))
        if not ports and (srv.get("bind") or {}).get("exposed") and (srv.get("bind") or {}).get("port"):
            # Configured wide but not listening now: its next start opens it.
            ports = [srv["bind"]["port"]]
        key = srv.get("key") or {}
        credentials = None if srv.get("kind") == "open-webui" else bool(key.get("set"))
        for port in ports:
            doors.append({
                "port": port, "category": "server", "kind": srv.get("kind"), "to_model": srv.get("kind"),
                "process": srv.get("process") or srv.get("kind"), "unit": srv.get("unit"),
                "container": srv.get("container"), "location": srv.get("location"),
                "credentials": credentials, "listen": [s for s in wide if s.get("port") == port]})
    doors.sort(key=lambda d: (d["port"], d["category"], d["kind"] or ""))
    return doors


# What closes a forwarder's door, by kind (FORWARDERS' keys): the evidence of
# OLLAMA-DOOR-001 names it, docs/doors.md lists it. Every one can also be
# closed by the toolkit's firewall (ollama_firewall_close_forwarders, or the
# port in ollama_firewall_close_ports); none of these settings is the
# toolkit's to write.
FORWARDER_FIX = {
    "nginx": "add auth_basic (or auth_request, ssl_verify_client) to the server block, or listen on "
             "127.0.0.1 only, or remove the site and serve remote clients through the toolkit's front",
    "caddy": "add basic_auth (or forward_auth) to the site, or bind it to 127.0.0.1",
    "traefik": "put a basicAuth (or forwardAuth) middleware on the router, or the entryPoint on 127.0.0.1",
    "haproxy": "add `http-request auth` to the frontend, or `bind 127.0.0.1:PORT`",
    "socat": "listen on loopback: TCP-LISTEN:PORT,bind=127.0.0.1 in its command (its unit's ExecStart)",
    "ssh": "forward on loopback only (-L 127.0.0.1:PORT:...) and set GatewayPorts no in sshd_config",
    "kubectl": "port-forward with --address 127.0.0.1 (its default)",
    "docker-proxy": "publish the container's port on 127.0.0.1 only (-p 127.0.0.1:PORT:...)",
}


# -- the doors joined with the outside probe (the findings, the report) ----------

# The probe's states, the loudest first (module_utils/ollama_probe.py
# STATE_ORDER, with ``model_open``: another kind answered without
# credentials). ``exposed`` is Ollama's API answering without credentials.
DOOR_STATES = ("exposed", "model_open", "auth_required", "open_other", "no_route", "filtered", "closed", "error")
# States that prove nothing answers (the port is shut or dropped) ...
SILENT_STATES = ("closed", "filtered")
# ... and states that prove nothing at all (no route from the scanner, a failure).
UNPROVEN_STATES = ("no_route", "error")


def ollama_ports(facts):
    """Ollama's own ports on the host: its listening sockets, the ports its
    services and hand-started processes are configured for, the ports its
    containers publish. A door is any other port."""
    facts = facts or {}
    ports = set(s.get("port") for s in facts.get("listeners") or [])
    ports.update((s.get("bind") or {}).get("port") for s in facts.get("services") or [])
    ports.update((p.get("bind") or {}).get("port") for p in facts.get("processes") or [])
    for ctr in facts.get("containers") or []:
        ports.update(p.get("public_port") for p in ctr.get("ports") or [])
    return set(p for p in ports if isinstance(p, int) and p > 0)


def port_owner(facts, port):
    """Who listens on ``port`` beyond Ollama, from the read's other_listeners
    (the socket's owner: process name, unit, kind) or its forwarders and
    servers: {process, unit, kind} or None when the read does not say."""
    facts = facts or {}
    for sock in facts.get("other_listeners") or []:
        if sock.get("port") == port and (sock.get("process") or sock.get("unit") or sock.get("kind")):
            return {"process": sock.get("process"), "unit": sock.get("unit"), "kind": sock.get("kind")}
    for item in list(facts.get("forwarders") or []) + list(facts.get("servers") or []):
        if any(s.get("port") == port for s in item.get("listen") or []):
            return {"process": item.get("process") or item.get("kind"), "unit": item.get("unit"),
                    "kind": item.get("kind")}
    return None


def probe_on_port(probe_results, port):
    """What the outside probe saw on ``port`` over every address: {state (the
    loudest), kind, open, answered (addresses that gave an HTTP answer),
    evidence, details} or None when the port was not probed."""
    mine = [r for r in probe_results or [] if r.get("port") == port]
    if not mine:
        return None
    rank = dict((s, i) for i, s in enumerate(DOOR_STATES))
    top = sorted(mine, key=lambda r: (rank.get(r.get("state"), len(DOOR_STATES)), not r.get("open")))[0]
    return {"state": top.get("state"), "kind": top.get("kind"), "open": bool(top.get("open")),
            "answered": [r.get("address") for r in mine if r.get("state") not in SILENT_STATES + UNPROVEN_STATES],
            "addresses": [r.get("address") for r in mine], "evidence": top.get("evidence"),
            "details": top.get("details") or {}}


def door_state(probe):
    """A door's state from outside: ``open`` (answered without credentials:
    Ollama's API or a model), ``auth_required`` (401/403), ``answers`` (some
    other answer), ``silent`` (closed or filtered on every address),
    ``unproven`` (no route, an error) or ``unprobed``."""
    if not probe:
        return "unprobed"
    state = probe["state"]
    if state in ("exposed", "model_open") or probe.get("open"):
        return "open"
    if state == "auth_required":
        return "auth_required"
    if state in SILENT_STATES:
        return "silent"
    if state in UNPROVEN_STATES:
        return "unproven"
    return "answers"


def joined_doors(facts, probe_results):
    """The host's doors (``host_doors``) joined with the outside probe on the
    same port, plus the ports only the probe shows as doors: a port that is
    none of Ollama's own and answered as Ollama or as another model server
    (``category`` ``probe``, its owner from other_listeners). Each door gains
    ``probe`` (``probe_on_port``) and ``state`` (``door_state``)."""
    doors = []
    for door in host_doors(facts):
        probe = probe_on_port(probe_results, door["port"])
        doors.append(dict(door, probe=probe, state=door_state(probe)))
    known = set(d["port"] for d in doors) | ollama_ports(facts)
    for port in sorted(set(r.get("port") for r in probe_results or [] if r.get("port") not in known)):
        probe = probe_on_port(probe_results, port)
        kind = probe.get("kind")
        if not (probe["state"] in ("exposed", "model_open") or (kind and kind != "http")):
            continue
        owner = port_owner(facts, port) or {}
        doors.append({"port": port, "category": "probe", "kind": owner.get("kind") or kind,
                      "to_model": "ollama" if probe["state"] == "exposed" else kind,
                      "process": owner.get("process"), "unit": owner.get("unit"), "container": None,
                      "location": None, "credentials": None, "listen": [], "probe": probe,
                      "state": door_state(probe)})
    doors.sort(key=lambda d: (d["port"], d["category"], d["kind"] or ""))
    return doors


# -- docs/doors.md: the per-kind tables, rendered from SERVERS and FORWARDERS -------

DOORS_BEGIN = "<!-- BEGIN generated from module_utils/ollama_servers.py by `make docs`: edit the table there -->"
DOORS_END = "<!-- END generated -->"


def _cell(text):
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def _codes(items):
    return ", ".join("`%s`" % i for i in items or []) or "-"


def render_doors_tables(servers, forwarders):
    """The per-kind tables of docs/doors.md (between DOORS_BEGIN and DOORS_END):
    each model server with its default bind, how the read recognises it, the
    settings that close it, what the toolkit does and what it leaves to the
    operator; each forwarder with how the read finds it and what closes it."""
    lines = [DOORS_BEGIN, "", "### Model servers and Open WebUI", "",
             "| kind | default | found by (argv, image) | loopback setting | credentials | open even with a key |"
             " the toolkit | left to the operator | advisories |",
             "|---|---|---|---|---|---|---|---|---|"]
    for kind in sorted(servers):
        spec = servers[kind]
        rebind = spec.get("rebind")
        toolkit = ["firewall: `ollama_firewall_close_model_servers`"]
        if rebind:
            toolkit.insert(0, "bind: `%s=%s` in a drop-in of its systemd unit (`ollama_bind_other_servers`, "
                              "when its ExecStart does not pass %s)" % (
                                  rebind["env"], str(rebind["value"]).replace("{port}", str(spec["port"])),
                                  " or ".join("`%s`" % f for f in spec.get("bind_flags") or []) or "a flag"))
        left = spec.get("refuse") or "a container's `-p 127.0.0.1:...`; a unit whose ExecStart passes the flag"
        if kind == "open-webui":
            left += "; its accounts (`WEBUI_AUTH`, `ENABLE_SIGNUP`, `DEFAULT_USER_ROLE`, the first admin)"
        elif spec.get("key_flags") or spec.get("key_env"):
            left += "; its key"
        credentials = _codes(list(spec.get("key_flags") or []) + list(spec.get("key_env") or []))
        if kind == "open-webui":
            credentials = "its own accounts: %s" % ", ".join(
                "`%s` (default %s)" % (k, v) for k, v in sorted((spec.get("auth_env") or {}).items()))
        elif credentials == "-":
            credentials = "none"
        lines.append("| %s (`%s`) | %s :%s | %s; %s | %s | %s | %s | %s | %s | %s |" % (
            _cell(spec["title"]), kind, spec["default_bind"], spec["port"], _codes(spec.get("argv")),
            _codes(spec.get("images")), _codes(list(spec.get("bind_flags") or []) + list(spec.get("bind_env") or [])),
            _cell(credentials), _codes(spec.get("open_paths")), "; ".join(toolkit), _cell(left),
            _cell(", ".join("%s (fixed in %s)" % (a["cve"], a["fixed_in"]) for a in spec.get("advisories") or [])
                  or "-")))
    lines += ["", "### Forwarders", "",
              "| kind | found by (socket owner's process) | configuration read | credentials recognised |"
              " what closes it | the toolkit |", "|---|---|---|---|---|---|"]
    for kind in sorted(forwarders):
        spec = forwarders[kind]
        lines.append("| `%s` | %s | %s | %s | %s | firewall: `ollama_firewall_close_forwarders` or the port in "
                     "`ollama_firewall_close_ports` |" % (
                         kind, _codes(spec.get("comm")), _codes(spec.get("config")) if spec.get("config") else "argv",
                         _codes(spec.get("auth")) if spec.get("auth") else "none (the probe's 401/403 decides)",
                         _cell(FORWARDER_FIX.get(kind, "-"))))
    lines += ["", DOORS_END]
    return "\n".join(lines)


def render_doors_page(page, servers, forwarders):
    """``page`` (docs/doors.md) with its generated block replaced; ValueError
    when the page has no block."""
    start, end = page.find(DOORS_BEGIN), page.find(DOORS_END)
    if start < 0 or end < start:
        raise ValueError("docs/doors.md has no generated block (%s ... %s)" % (DOORS_BEGIN, DOORS_END))
    return page[:start] + render_doors_tables(servers, forwarders) + page[end + len(DOORS_END):]
