# -*- coding: utf-8 -*-
"""Docker Engine API parsing, and a read over a real unix socket."""

import json
import os
import socket
import threading

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_docker import (
    containers_from_api, read_containers)
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
