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
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_servers import SERVERS

OLLAMA_PORT = 11434
EVERY_ADDRESS = ("0.0.0.0", "::", "")


def _text(value):
    return value if isinstance(value, str) else ""


def container_entry(item):
    """id, name, image, state and published TCP ports of one item of ``GET
    /containers/json``: each port with the host address it is bound to;
    ``exposed`` says whether that is every address."""
    raw_ports = item.get("Ports")
    ports = [p for p in (raw_ports if isinstance(raw_ports, list) else []) if isinstance(p, dict)]
    names = [n for n in (item.get("Names") if isinstance(item.get("Names"), list) else []) if isinstance(n, str)]
    ident = _text(item.get("Id"))[:12]
    return {
        "id": ident,
        "name": (names[0] if names else ident).lstrip("/"),
        "image": _text(item.get("Image")),
        "state": _text(item.get("State")),
        "ports": [{"ip": _text(p.get("IP")), "private_port": p.get("PrivatePort"),
                   "public_port": p.get("PublicPort"), "type": _text(p.get("Type")) or "tcp",
                   "exposed": bool(p.get("PublicPort")) and _text(p.get("IP")) in EVERY_ADDRESS}
                  for p in ports if (_text(p.get("Type")) or "tcp") == "tcp"],
    }


def containers_from_api(items):
    """Ollama containers from ``GET /containers/json``.

    A container counts when its image or command names ollama, or when it
    exposes Ollama's port (container_entry says the rest).
    """
    found = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        image, command = _text(item.get("Image")), _text(item.get("Command"))
        raw_ports = item.get("Ports")
        ports = [p for p in (raw_ports if isinstance(raw_ports, list) else []) if isinstance(p, dict)]
        if "ollama" not in image and "ollama" not in command and \
                not any(p.get("PrivatePort") == OLLAMA_PORT for p in ports):
            continue
        found.append(container_entry(item))
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


def read_container_items(path, timeout):
    """``GET /containers/json`` of the engine at unix socket ``path``: (items, problem)."""
    status, body, problem = docker_get(path, "/containers/json", timeout)
    if problem:
        return [], problem
    if status != 200:
        return [], "the Docker API at %s answered %s" % (path, status)
    try:
        items = json.loads(body)
    except ValueError as exc:
        return [], "the Docker API at %s sent bad JSON: %s" % (path, exc)
    return (items if isinstance(items, list) else []), None


def read_containers(path, timeout):
    """Ask the engine at unix socket ``path``. Returns (containers, problem)."""
    items, problem = read_container_items(path, timeout)
    return containers_from_api(items), problem


def image_kind(image):
    """The SERVERS kind a container image is (SERVERS[kind].images: a
    repository, or repository:tag-prefix), or None."""
    image = (image or "").lower()
    repo = image.split("@")[0]
    for kind, facts in SERVERS.items():
        for prefix in facts["images"]:
            prefix = prefix.lower()
            if ":" in prefix.split("/")[-1]:
                if repo.startswith(prefix):
                    return kind
            elif repo == prefix or repo.startswith(prefix + ":") or image.startswith(prefix + "@"):
                return kind
    return None


def server_containers(items):
    """Containers of the other model servers and Open WebUI (by image), from
    ``GET /containers/json``: id, name, image, kind, state, ports (as
    containers_from_api)."""
    found = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("Image"), str):
            continue
        kind = image_kind(item["Image"])
        if kind is None:
            continue
        found.append(dict(container_entry(item), kind=kind))
    return found


def inspect_container(path, timeout, ident):
    """``GET /containers/{id}/json``: (inspect, problem). Its Config.Env
    holds the container's whole environment: the caller keeps only what
    SERVERS names."""
    status, body, problem = docker_get(path, "/containers/%s/json" % quote(ident, safe=""), timeout)
    if problem or status != 200:
        return None, problem or "the Docker API did not describe container %s (%s)" % (ident, status)
    try:
        data = json.loads(body)
    except ValueError as exc:
        return None, "the Docker API sent bad JSON for container %s: %s" % (ident, exc)
    return (data if isinstance(data, dict) else None), None


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
