# -*- coding: utf-8 -*-
"""The ollama_toolkit.exposure.discover inventory plugin, end to end through
ansible-inventory, on loopback only (127.0.0.1 and 127.0.0.2, servers this
test starts): groups, host variables, managed naming, the cache (the second
parse connects to nothing) and a refusal named before anything is sent."""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
INVENTORY_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")


class OllamaOpen(BaseHTTPRequestHandler):
    """Answers as Ollama's API without credentials (server/routes.go: /api/tags, /api/version)."""

    def do_GET(self):
        body = {"/api/tags": b'{"models": [{"name": "a"}, {"name": "b"}]}',
                "/api/version": b'{"version": "0.20.0"}'}.get(self.path, b"Ollama is running")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class OllamaFront(OllamaOpen):
    """Asks as the toolkit's front does (auth_basic, realm "Ollama")."""

    def do_GET(self):
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="Ollama"')
        self.send_header("Content-Length", "0")
        self.end_headers()


class Counting(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args):
        ThreadingHTTPServer.__init__(self, *args)
        self.accepted = 0

    def verify_request(self, request, client_address):
        self.accepted += 1
        return True


@pytest.fixture
def servers():
    started = []
    first = Counting(("127.0.0.1", 0), OllamaOpen)
    port = first.server_address[1]
    try:
        second = Counting(("127.0.0.2", port), OllamaFront)
    except OSError:
        first.server_close()
        pytest.skip("127.0.0.2:%d is taken" % port)
    for server in (first, second):
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    yield port, first, second
    for server in started:
        server.shutdown()
        server.server_close()


def run_inventory(tmp_path, sources, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_INVENTORY_UNPARSED_FAILED="1")
    args = [INVENTORY_BIN, "--list", "--export"] + [a for s in sources for a in ("-i", str(s))] + list(extra)
    proc = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    return proc


def plain(value):
    """ansible-inventory's JSON without its {"__ansible_unsafe": ...} wrappers."""
    if isinstance(value, dict):
        if list(value) == ["__ansible_unsafe"]:
            return value["__ansible_unsafe"]
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def config(tmp_path, port, **extra):
    lines = ["plugin: ollama_toolkit.exposure.discover", "ranges: [127.0.0.0/30]", "ports: [%d]" % port,
             "exclude: [127.0.0.3]", "cache: true", "cache_plugin: ansible.builtin.jsonfile",
             "cache_connection: %s" % (tmp_path / "cache")]
    lines += ["%s: %s" % (k, json.dumps(v)) for k, v in extra.items()]
    return write(tmp_path, "lab.discover.yml", "\n".join(lines) + "\n")


def test_groups_vars_managed_naming_and_the_cache(tmp_path, servers):
    port, first, second = servers
    managed = write(tmp_path, "managed.yml", "all:\n  hosts:\n    box1:\n      ansible_host: 127.0.0.1\n")
    source = config(tmp_path, port, managed_inventory=[str(managed)])
    proc = run_inventory(tmp_path, [source])
    assert proc.returncode == 0, proc.stderr
    inv = plain(json.loads(proc.stdout))
    groups = dict((g, sorted(v.get("hosts", []))) for g, v in inv.items() if g.startswith("discovered"))
    assert groups == {
        "discovered": ["127.0.0.2", "box1"],
        "discovered_managed": ["box1"],
        "discovered_unmanaged": ["127.0.0.2"],
        "discovered_ollama": ["127.0.0.2", "box1"],
        "discovered_ollama_open": ["box1"],
        "discovered_ollama_auth": ["127.0.0.2"],
    }
    hostvars = inv["_meta"]["hostvars"]
    assert hostvars["box1"]["ansible_host"] == "127.0.0.1"
    assert hostvars["box1"]["ollama_discover_managed"] is True
    assert hostvars["box1"]["ollama_discover_port"] == port
    assert hostvars["box1"]["ollama_discover"] == [{
        "address": "127.0.0.1", "port": port, "scheme": "http", "kind": "ollama", "state": "exposed",
        "open": True, "auth": False, "version": "0.20.0", "models": 2,
        "fingerprint": "ollama:127.0.0.1:%d" % port,
        "evidence": hostvars["box1"]["ollama_discover"][0]["evidence"]}]
    other = hostvars["127.0.0.2"]
    assert (other["ansible_host"], other["ollama_discover_managed"], other["ollama_discover_ports"]) == (
        "127.0.0.2", False, [port])
    assert other["ollama_discover_fingerprints"] == ["ollama:127.0.0.2:%d" % port]
    assert other["ollama_discover"][0]["state"] == "auth_required" and other["ollama_discover"][0]["auth"] is True
    swept = (first.accepted, second.accepted)
    assert swept[0] >= 2 and swept[1] >= 2

    # The second parse reads the cache: no connection at all. The managed
    # naming is made again: without the managed inventory box1 is unmanaged.
    unmanaged_config = config(tmp_path, port)
    os.rename(str(unmanaged_config), str(source))
    again = run_inventory(tmp_path, [source])
    assert again.returncode == 0, again.stderr
    assert (first.accepted, second.accepted) == swept
    assert sorted(json.loads(again.stdout)["discovered_unmanaged"]["hosts"]) == ["127.0.0.1", "127.0.0.2"]

    # --flush-cache sweeps again.
    assert run_inventory(tmp_path, [source], "--flush-cache").returncode == 0
    assert first.accepted > swept[0]


def test_a_host_of_the_same_run_is_managed_under_its_name(tmp_path, servers):
    port, _first, _second = servers
    hosts = write(tmp_path, "hosts.yml", "all:\n  hosts:\n    gpu-under-desk:\n      ansible_host: 127.0.0.2\n")
    source = config(tmp_path, port, cache=False)
    proc = run_inventory(tmp_path, [hosts, source])
    assert proc.returncode == 0, proc.stderr
    inv = plain(json.loads(proc.stdout))
    assert inv["discovered_managed"]["hosts"] == ["gpu-under-desk"]
    assert inv["discovered_ollama_auth"]["hosts"] == ["gpu-under-desk"]
    assert inv["discovered_unmanaged"]["hosts"] == ["127.0.0.1"]


@pytest.mark.parametrize("extra,words", [
    ({"rate": 0}, "ollama_toolkit.exposure.discover: rate: 0.0 out of range"),
    ({"managed_inventory": ["other.discover.yml"]}, "managed_inventory: ['other.discover.yml'] would sweep again"),
])
def test_bad_input_fails_the_source_by_name_and_sends_nothing(tmp_path, servers, extra, words):
    port, first, second = servers
    source = config(tmp_path, port, cache=False, **extra)
    proc = run_inventory(tmp_path, [source])
    assert proc.returncode != 0
    assert words in proc.stderr
    assert (first.accepted, second.accepted) == (0, 0)


def test_other_ranges_or_ports_never_read_an_older_sweep(tmp_path, servers):
    port, first, _second = servers
    source = config(tmp_path, port)
    assert run_inventory(tmp_path, [source]).returncode == 0
    swept = first.accepted
    config(tmp_path, port, exclude=["127.0.0.2"])
    proc = run_inventory(tmp_path, [source])
    assert proc.returncode == 0, proc.stderr
    assert first.accepted > swept
    assert plain(json.loads(proc.stdout))["discovered"]["hosts"] == ["127.0.0.1"]
