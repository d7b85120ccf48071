# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the toolkit's front is in place, read on the host from its site
file (ollama_info's ``front``); the controller decides from that whether
OLLAMA-VER-003 is mitigated (plugin_utils/ollama_findings.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# The toolkit's front (role ollama_front) writes its site here, on every
# supported family; the routes an advisory without a fixed release goes
# through (OLLAMA-VER-003), which the front must keep to admins.
FRONT_CONFIG = "/etc/nginx/conf.d/ollama-front.conf"
ADVISORY_ROUTES = ("/api/pull", "/api/push", "/api/create", "/api/blobs/")
_LOCATION = re.compile(r'^\s*location\s+(?:=\s+(\S+)|~\s+"([^"]+)")\s*\{')
_LISTEN = re.compile(r"^\s*listen\s+\S*?:?(\d+)\s+ssl\s*;", re.M)


def parse_front_config(text):
    """Ports (``listen ... ssl``) and, for each of ADVISORY_ROUTES that has a
    location, whether it is for admins (its location reads admins.htpasswd)."""
    ports = sorted(set(int(p) for p in _LISTEN.findall(text or "")))
    routes, current, depth, body = {}, None, 0, []
    for line in (text or "").splitlines():
        if current is None:
            match = _LOCATION.match(line)
            if not match:
                continue
            current, depth, body = match.group(1) or match.group(2), 0, []
        depth += line.count("{") - line.count("}")
        body.append(line)
        if depth <= 0:
            for route in ADVISORY_ROUTES:
                if current == route or (route.endswith("/") and route in current):
                    admin = any("admins.htpasswd" in b for b in body)
                    routes[route] = "admin" if admin and routes.get(route, "admin") == "admin" else "user"
            current = None
    return {"ports": ports, "routes": routes}


def front_state(text, other_listeners, path=FRONT_CONFIG):
    """Whether the toolkit's front is in place on the host: its site
    (``text``: the file's content, None when missing) listens on a port that
    a program other than Ollama serves (``other_listeners``), and none of
    ADVISORY_ROUTES is open to users (a route without a location gets 404)."""
    if text is None:
        return {"config": None, "in_place": False, "why": "no front of the toolkit (%s is missing)" % path}
    parsed = parse_front_config(text)
    listening = sorted(set(s.get("port") for s in other_listeners or [] if s.get("port") in parsed["ports"]))
    open_routes = sorted(r for r, role in parsed["routes"].items() if role != "admin")
    why = None
    if not parsed["ports"]:
        why = "%s has no TLS listen line" % path
    elif not listening:
        why = "nothing listens on the front's port %s" % ", ".join(str(p) for p in parsed["ports"])
    elif open_routes:
        why = "the front lets users call %s" % ", ".join(open_routes)
    return {"config": path, "ports": parsed["ports"], "listening": listening, "open_routes": open_routes,
            "in_place": why is None, "why": why}
