# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker Engine API: which containers run Ollama and what they publish.

Docker's own NAT rules bypass ufw and the INPUT chain, so a port published
on every address (``-p 11434:11434``) stays reachable whatever the host
firewall says. ``read_containers`` asks the engine over its unix socket
(no Docker SDK needed); the rest is pure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket

try:
    from urllib.parse import quote
except ImportError:  # Python 2
    from urllib import quote  # type: ignore

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_http import parse_response

OLLAMA_PORT = 11434
EVERY_ADDRESS = ("0.0.0.0", "::", "")


def containers_from_api(items):
    """Ollama containers from ``GET /containers/json``.

    A container counts when its image or command names ollama, or when it
    exposes Ollama's port. Each published TCP port is kept with the host
    address it is bound to; ``exposed`` says whether that is every address.
    """
    def text(value):
        return value if isinstance(value, str) else ""

    found = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        image, command = text(item.get("Image")), text(item.get("Command"))
        raw_ports = item.get("Ports")
        ports = [p for p in (raw_ports if isinstance(raw_ports, list) else []) if isinstance(p, dict)]
        if "ollama" not in image and "ollama" not in command and \
                not any(p.get("PrivatePort") == OLLAMA_PORT for p in ports):
            continue
        names = [n for n in (item.get("Names") if isinstance(item.get("Names"), list) else []) if isinstance(n, str)]
        ident = text(item.get("Id"))[:12]
        found.append({
            "id": ident,
            "name": (names[0] if names else ident).lstrip("/"),
            "image": image,
            "state": text(item.get("State")),
            "ports": [{"ip": text(p.get("IP")), "private_port": p.get("PrivatePort"),
                       "public_port": p.get("PublicPort"), "type": text(p.get("Type")) or "tcp",
                       "exposed": bool(p.get("PublicPort")) and text(p.get("IP")) in EVERY_ADDRESS}
                      for p in ports if (text(p.get("Type")) or "tcp") == "tcp"],
        })
    return found


def recreate_config(inspect):
    """What the republish planner (plugin_utils/ollama_docker_republish.py)
    reads of ``GET /containers/{id}/json``: the configuration that recreates
    the container - Id, Name, Image, Config, HostConfig, Mounts and, of each
    network, its aliases and fixed addresses - without its run-time state.
    ``Config.Env`` holds the container's whole environment."""
    inspect = inspect if isinstance(inspect, dict) else {}
    networks = ((inspect.get("NetworkSettings") or {}).get("Networks") or {})
    kept = {}
    for name, net in (networks.items() if isinstance(networks, dict) else []):
        net = net if isinstance(net, dict) else {}
        kept[name] = {"Aliases": net.get("Aliases"), "IPAMConfig": net.get("IPAMConfig")}
    return {"Id": inspect.get("Id"), "Name": inspect.get("Name"), "Image": inspect.get("Image"),
            "Config": inspect.get("Config") or {}, "HostConfig": inspect.get("HostConfig") or {},
            "Mounts": inspect.get("Mounts") or [], "NetworkSettings": {"Networks": kept}}


def docker_get(path, url, timeout):
    """``GET url`` from the engine at unix socket ``path``: (status, body, problem)."""
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(("GET %s HTTP/1.0\r\nHost: docker\r\n\r\n" % url).encode("utf-8"))
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
        sock.close()
    except (socket.error, OSError) as exc:
        return None, None, "cannot read the Docker API at %s: %s" % (path, exc)
    status, _headers, body = parse_response(b"".join(chunks))
    return status, body, None


def read_containers(path, timeout):
    """Ask the engine at unix socket ``path``. Returns (containers, problem)."""
    status, body, problem = docker_get(path, "/containers/json", timeout)
    if problem:
        return [], problem
    if status != 200:
        return [], "the Docker API at %s answered %s" % (path, status)
    try:
        return containers_from_api(json.loads(body)), None
    except ValueError as exc:
        return [], "the Docker API at %s sent bad JSON: %s" % (path, exc)


def read_recreate_configs(path, timeout, containers):
    """Add to each container (as containers_from_api returns them) ``config``
    (recreate_config of ``GET /containers/{id}/json``, None when the engine
    does not describe it) and ``image_id`` (the image its image name points
    to now, ``GET /images/{name}/json``; None when the name points to none).
    Returns the problems met."""
    problems, images = [], {}
    for ctr in containers:
        ctr["config"], ctr["image_id"] = None, None
        status, body, problem = docker_get(path, "/containers/%s/json" % quote(ctr["id"], safe=""), timeout)
        if problem or status != 200:
            problems.append(problem or "the Docker API did not describe container %s (%s)" % (ctr["name"], status))
            continue
        try:
            ctr["config"] = recreate_config(json.loads(body))
        except ValueError as exc:
            problems.append("the Docker API sent bad JSON for container %s: %s" % (ctr["name"], exc))
            continue
        name = (ctr["config"]["Config"] or {}).get("Image")
        if not isinstance(name, str) or not name:
            continue
        if name not in images:
            status, body, problem = docker_get(path, "/images/%s/json" % quote(name, safe="/:@"), timeout)
            images[name] = None
            if problem:
                problems.append(problem)
            elif status == 200:
                try:
                    images[name] = json.loads(body).get("Id")
                except (ValueError, AttributeError):
                    pass
        ctr["image_id"] = images[name]
    return problems
