# -*- coding: utf-8 -*-
"""The outside probe: answer parsing, classification, targets, and live probes
against the stand-in and a closed port on loopback."""

import json
import socket

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_http import dechunk, parse_response
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_probe import (
    build_targets, classify, probe_one, run_probes, summarize, validate_targets)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import records_from_results


def test_parse_response_reads_status_headers_and_chunked_body():
    raw = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\n{\"a\":\r\n3\r\n 1}\r\n0\r\n\r\n")
    status, headers, body = parse_response(raw)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"a": 1}


def test_parse_response_of_garbage_has_no_status():
    assert parse_response(b"\x16\x03\x01 not http")[0] is None
    assert dechunk("zz\r\nabc") == ""


@pytest.mark.parametrize("status,body,path,state", [
    (200, '{"models": []}', "/api/tags", "exposed"),
    (200, '{"models": [{"name": "x"}]}', "/api/tags", "exposed"),
    (200, "Ollama is running", "/", "exposed"),
    (401, "", "/api/tags", "auth_required"),
    (403, "", "/api/tags", "auth_required"),
    (200, "<html>hello</html>", "/api/tags", None),
    (404, "404 page not found", "/api/tags", None),
])
def test_classify(status, body, path, state):
    assert classify(status, {}, body, path)[0] == state


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_probe_one_finds_the_unauthenticated_api(standin):
    server = standin(OLLAMA_HOST="127.0.0.1:0", OLLAMA_STANDIN_VERSION="0.1.33")
    result = probe_one("127.0.0.1", server.port, 3.0)
    assert result["state"] == "exposed"
    assert result["status_code"] == 200
    assert result["version"] == "0.1.33"
    assert "without credentials" in result["evidence"]


def test_probe_one_reports_a_closed_port():
    assert probe_one("127.0.0.1", free_port(), 2.0)["state"] == "closed"


def test_probe_one_reports_something_else_as_open_other():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        # Nobody answers: the request times out without an HTTP status.
        result = probe_one("127.0.0.1", port, 0.5)
    assert result["state"] == "open_other"


def test_run_probes_and_summarize_make_net_findings(standin, catalog):
    server = standin(OLLAMA_HOST="127.0.0.1:0")
    targets = [{"host": "a", "addresses": ["127.0.0.1"], "ports": [server.port, free_port()]},
               {"host": "b", "addresses": ["127.0.0.1"], "ports": [free_port()]}]
    hosts = summarize(targets, run_probes(targets, 2.0, 4), catalog, "test")
    assert hosts["a"]["state"] == "exposed"
    assert [f["id"] for f in hosts["a"]["findings"]] == ["OLLAMA-NET-001"]
    assert hosts["b"]["state"] == "closed" and hosts["b"]["findings"] == []


def test_build_targets_uses_reported_ports_and_skips_unreachable_hosts():
    results = {
        "web": {"addresses": ["192.0.2.1"], "listeners": [{"port": 8080}],
                "services": [{"bind": {"port": 80}}],
                "containers": [{"ports": [{"public_port": 11500}, {"public_port": None}]}]},
        "down": {"unreachable": True, "msg": "no route"},
        "broken": {"failed": True, "msg": "no python"},
        "noaddr": {"addresses": [], "listeners": []},
    }
    targets = build_targets(results, [11434], {})
    assert targets == [{"host": "web", "addresses": ["192.0.2.1"], "ports": [80, 8080, 11434, 11500]}]
    override = build_targets(results, [11434], {"web": ["198.51.100.7"]})
    assert override[0]["addresses"] == ["198.51.100.7"]


def test_validate_targets_names_the_bad_host():
    assert validate_targets([{"host": "x", "ports": [0, 22]}]) == ["targets[x].ports: [0] out of range 1-65535"]
    assert validate_targets([{"host": "x", "ports": [22]}]) == []


def test_records_from_results_classifies_each_outcome():
    records = records_from_results({
        "ok": {"status": "secure", "supported": True, "invocation": {"module_args": {"catalog": {}}}},
        "down": {"unreachable": True, "msg": "ssh: connect refused"},
        "nopy": {"failed": True, "msg": "interpreter not found"},
        "skipped": {},
    })
    by_host = {r["host"]: r for r in records}
    assert by_host["ok"]["facts"] == {"status": "secure", "supported": True}
    assert by_host["down"]["reachable"] is False and "refused" in by_host["down"]["error"]
    assert by_host["nopy"]["error"] == "interpreter not found"
    assert by_host["skipped"]["error"]
