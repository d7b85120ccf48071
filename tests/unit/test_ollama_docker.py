# -*- coding: utf-8 -*-
"""Docker Engine API parsing, and reads over a real unix socket."""

import json
import os
import socket
import threading

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_docker import (
    containers_from_api, read_containers, read_recreate_configs, recreate_config)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_http import parse_response

API_SAMPLE = [
    {"Id": "3f4e1c2a9b8d7e6f", "Names": ["/ollama"], "Image": "ollama/ollama:0.5.7",
     "Command": "/bin/ollama serve", "State": "running",
     "Ports": [{"IP": "0.0.0.0", "PrivatePort": 11434, "PublicPort": 11434, "Type": "tcp"},
               {"IP": "::", "PrivatePort": 11434, "PublicPort": 11434, "Type": "tcp"}]},
    {"Id": "aaaabbbbccccdddd", "Names": ["/llm-local"], "Image": "registry.local/llm:1",
     "Command": "python3 /usr/local/bin/ollama serve", "State": "running",
     "Ports": [{"IP": "127.0.0.1", "PrivatePort": 11434, "PublicPort": 11434, "Type": "tcp"}]},
    {"Id": "1111222233334444", "Names": ["/custom"], "Image": "busybox", "Command": "sh",
     "Ports": [{"PrivatePort": 11434, "Type": "tcp"}]},
    {"Id": "5555666677778888", "Names": ["/nginx"], "Image": "nginx:1.25", "Command": "nginx",
     "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}]},
]


def test_containers_from_api_keeps_ollama_containers_and_their_ports():
    found = {c["name"]: c for c in containers_from_api(API_SAMPLE)}
    assert sorted(found) == ["custom", "llm-local", "ollama"]
    assert [p["exposed"] for p in found["ollama"]["ports"]] == [True, True]
    assert found["llm-local"]["ports"][0]["exposed"] is False
    # Exposed but not published: nothing reachable from outside.
    assert found["custom"]["ports"][0]["exposed"] is False
    assert found["ollama"]["id"] == "3f4e1c2a9b8d"


def test_containers_from_api_survives_odd_input():
    assert containers_from_api(None) == []
    assert containers_from_api([None, "x", {"Ports": None, "Image": "ollama"}])[0]["ports"] == []


def test_parse_http_response():
    assert parse_response(b"HTTP/1.0 200 OK\r\nA: b\r\n\r\n[]") == (200, {"a": "b"}, "[]")
    assert parse_response(b"garbage")[0] is None


def serve_once(path, payload):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def handle():
        conn, _addr = server.accept()
        request = conn.recv(65536)
        assert request.startswith(b"GET /containers/json ")
        conn.sendall(payload)
        conn.close()
        server.close()

    thread = threading.Thread(target=handle, daemon=True)
    thread.start()
    return thread


def test_read_containers_over_a_unix_socket(tmp_path):
    path = os.path.join(str(tmp_path), "docker.sock")
    body = json.dumps(API_SAMPLE).encode()
    thread = serve_once(path, b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + body)
    found, problem = read_containers(path, 5.0)
    thread.join(5)
    assert problem is None
    assert len(found) == 3


def test_read_containers_reports_errors(tmp_path):
    path = os.path.join(str(tmp_path), "docker.sock")
    thread = serve_once(path, b"HTTP/1.0 500 Internal Server Error\r\n\r\n{}")
    found, problem = read_containers(path, 5.0)
    thread.join(5)
    assert found == [] and "500" in problem
    found, problem = read_containers(os.path.join(str(tmp_path), "missing.sock"), 1.0)
    assert found == [] and "cannot read" in problem


# -- the configuration that recreates a container (docker_inspect) -------------------------
IMAGE_ID = "sha256:" + "a" * 64
INSPECT = {
    "Id": "3f4e1c2a9b8d7e6f" + "0" * 48, "Name": "/ollama", "Image": IMAGE_ID,
    "State": {"Status": "running", "Pid": 4242},
    "Config": {"Image": "ollama/ollama:0.5.7", "Env": ["OLLAMA_HOST=0.0.0.0:11434", "HF_TOKEN=secret"]},
    "HostConfig": {"PortBindings": {"11434/tcp": [{"HostIp": "", "HostPort": "11434"}]}},
    "Mounts": [{"Type": "volume", "Name": "ollama", "Destination": "/root/.ollama", "RW": True}],
    "NetworkSettings": {"Ports": {}, "Networks": {"llm": {"Aliases": ["ollama"], "IPAMConfig": None,
                                                           "IPAddress": "172.30.0.10", "MacAddress": "x"}}},
    "GraphDriver": {"Name": "overlay2"},
}


def test_recreate_config_keeps_the_configuration_not_the_run_time_state():
    kept = recreate_config(INSPECT)
    assert sorted(kept) == ["Config", "HostConfig", "Id", "Image", "Mounts", "Name", "NetworkSettings"]
    assert kept["Config"] == INSPECT["Config"] and kept["HostConfig"] == INSPECT["HostConfig"]
    assert kept["NetworkSettings"] == {"Networks": {"llm": {"Aliases": ["ollama"], "IPAMConfig": None}}}
    assert recreate_config(None) == {"Id": None, "Name": None, "Image": None, "Config": {}, "HostConfig": {},
                                     "Mounts": [], "NetworkSettings": {"Networks": {}}}


def serve_routes(path, routes, connections):
    """A Docker engine on unix socket ``path`` answering ``connections``
    requests: {request path: (status, JSON body)}, 404 for any other path.
    Returns (thread, the request paths seen)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    seen = []

    def handle():
        for _ in range(connections):
            conn, _addr = server.accept()
            request = conn.recv(65536).decode()
            url = request.split(" ")[1]
            seen.append(url)
            status, body = routes.get(url, (404, {"message": "no such thing"}))
            conn.sendall(("HTTP/1.0 %d X\r\nContent-Type: application/json\r\n\r\n" % status).encode()
                         + json.dumps(body).encode())
            conn.close()
        server.close()

    thread = threading.Thread(target=handle, daemon=True)
    thread.start()
    return thread, seen


def test_read_recreate_configs_inspects_each_container_and_its_image(tmp_path):
    path = os.path.join(str(tmp_path), "docker.sock")
    gone = {"id": "1111222233334444"[:12], "name": "gone"}
    ours = {"id": "3f4e1c2a9b8d", "name": "ollama"}
    thread, seen = serve_routes(path, {
        "/containers/3f4e1c2a9b8d/json": (200, INSPECT),
        "/images/ollama/ollama:0.5.7/json": (200, {"Id": IMAGE_ID}),
    }, 3)
    problems = read_recreate_configs(path, 5.0, [ours, gone])
    thread.join(5)
    assert seen == ["/containers/3f4e1c2a9b8d/json", "/images/ollama/ollama:0.5.7/json", "/containers/111122223333/json"]
    assert ours["config"] == recreate_config(INSPECT) and ours["image_id"] == IMAGE_ID
    assert gone["config"] is None and gone["image_id"] is None
    assert problems == ["the Docker API did not describe container gone (404)"]


def test_read_recreate_configs_image_name_pointing_nowhere(tmp_path):
    path = os.path.join(str(tmp_path), "docker.sock")
    ctr = {"id": "3f4e1c2a9b8d", "name": "ollama"}
    thread, _seen = serve_routes(path, {"/containers/3f4e1c2a9b8d/json": (200, INSPECT)}, 2)
    assert read_recreate_configs(path, 5.0, [ctr]) == []
    thread.join(5)
    assert ctr["config"]["Id"] == INSPECT["Id"] and ctr["image_id"] is None
    missing = [{"id": "3f4e1c2a9b8d", "name": "ollama"}]
    [problem] = read_recreate_configs(os.path.join(str(tmp_path), "missing.sock"), 1.0, missing)
    assert "cannot read" in problem and missing[0]["config"] is None
