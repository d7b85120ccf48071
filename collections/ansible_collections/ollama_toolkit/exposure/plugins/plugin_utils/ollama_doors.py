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
the kinds the operator opted in to close.

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
