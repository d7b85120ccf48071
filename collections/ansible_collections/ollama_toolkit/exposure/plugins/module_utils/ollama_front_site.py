# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the toolkit's front is in place, read on the host from its site
file (ollama_info's ``front``); the controller decides from that whether
OLLAMA-VER-003 is mitigated (plugin_utils/ollama_findings.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_nginx import (
    parse_config, parse_listen)

# The toolkit's front (role ollama_front) writes its site here, on every
# supported family; the routes an advisory without a fixed release goes
# through (OLLAMA-VER-003), which the front must keep to admins.
FRONT_CONFIG = "/etc/nginx/conf.d/ollama-front.conf"
ADVISORY_ROUTES = ("/api/pull", "/api/push", "/api/create", "/api/blobs/")
# The upstream of Ollama in the site (templates/ollama-front.conf.j2); the
# site's other servers front other model servers (ollama_front_backends),
# each with an upstream of its own.
OLLAMA_UPSTREAM = "ollama_front_upstream"


def _directives(items):
    """Every directive of ``items``, nested blocks included."""
    for item in items or []:
        yield item
        for child in _directives(item["block"]):
            yield child


def _proxies_to_ollama(server):
    return any(d["name"] == "proxy_pass" and d["args"] and d["args"][0].split("://", 1)[-1].split("/", 1)[0]
               == OLLAMA_UPSTREAM for d in _directives(server["block"]))


def parse_front_config(text):
    """Ports (``listen ... ssl``) of the front of Ollama and, for each of
    ADVISORY_ROUTES that has a location there, whether it is for admins (its
    location reads admins.htpasswd). Only the server block that passes to
    Ollama's upstream counts: the site's servers for other model servers
    (ollama_front_backends) are not the front of Ollama."""
    tree, _files, _problems = parse_config(FRONT_CONFIG, lambda path: (text or "") if path == FRONT_CONFIG else None)
    ports, routes = set(), {}
    for server in (d for d in tree if d["name"] == "server" and d["block"] is not None):
        if not _proxies_to_ollama(server):
            continue
        for item in server["block"]:
            if item["name"] == "listen" and item["args"] and "ssl" in item["args"][1:]:
                listen = parse_listen(item["args"][0])
                if listen:
                    ports.add(listen["port"])
        for location in (d for d in _directives(server["block"]) if d["name"] == "location" and d["block"] is not None):
            if not location["args"]:
                continue
            current = location["args"][-1]
            admin = any("admins.htpasswd" in arg for d in _directives(location["block"]) for arg in d["args"])
            for route in ADVISORY_ROUTES:
                if current == route or (route.endswith("/") and route in current):
                    routes[route] = "admin" if admin and routes.get(route, "admin") == "admin" else "user"
    return {"ports": sorted(ports), "routes": routes}


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
