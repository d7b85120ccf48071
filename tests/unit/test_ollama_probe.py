# -*- coding: utf-8 -*-
"""The outside probe: answer parsing, classification, targets, and live probes
against the stand-in and a closed port on loopback."""

import errno
import json
import socket

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils import ollama_probe
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import (
    apply_mitigations, mitigation)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_http import dechunk, parse_response
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_probe import (
    build_targets, classify, classify_error, probe_one, run_probes, summarize, validate_targets)
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


# -- what a failed connection proves (issue 25, item 9) -----------------------------------
def oserror(name):
    code = getattr(errno, name)
    return OSError(code, "%s from the test" % name)


@pytest.mark.parametrize("exc, state", [
    # The host (or its firewall) refused: RST.
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "closed"),
    # Silence until the timeout: dropped on the way or by the host.
    (socket.timeout("timed out"), "filtered"),
    (TimeoutError(errno.ETIMEDOUT, "Connection timed out"), "filtered"),
    # No route from here: says nothing of the host.
    (oserror("ENETUNREACH"), "no_route"),
    (oserror("ENETDOWN"), "no_route"),
    # Also an ICMP host-unreachable from a router, or a neighbour that never answered.
    (oserror("EHOSTUNREACH"), "no_route"),
    (oserror("EHOSTDOWN"), "no_route"),
    (oserror("EADDRNOTAVAIL"), "no_route"),
    # The scanner has no IPv6 at all.
    (oserror("EAFNOSUPPORT"), "no_route"),
    # ICMPv6 administratively prohibited anywhere on the path; the scanner's own firewall.
    (oserror("EACCES"), "no_route"),
    (oserror("EPERM"), "no_route"),
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "no_route"),
    # Something answered, then reset: not silence, not a route problem. The
    # probe's request reset after the connection opened: something listens
    # that speaks no HTTP (llama.cpp's rpc-server): open_other (issue 26).
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "error"),
    (oserror("EINVAL"), "error"),
])
def test_a_failed_connection_is_classified_by_what_it_proves(monkeypatch, exc, state):
    assert classify_error(exc, 1.5)[0] == state

    def fails(*_args, **_kw):
        raise exc
    monkeypatch.setattr(ollama_probe, "http_get", fails)
    result = probe_one("2001:db8::5", 11434, 1.5)
    if isinstance(exc, ConnectionResetError):
        state = "open_other"
    assert result["state"] == state, result
    if state == "no_route":
        assert "no route from here" in result["evidence"] and "unproven" in result["evidence"]
        name = errno.errorcode.get(getattr(exc, "errno", None))
        if name and not isinstance(exc, socket.gaierror):
            assert name in result["evidence"]


def test_a_host_with_an_address_not_reached_is_not_silent():
    targets = [{"host": "h", "addresses": ["192.0.2.5", "2001:db8::5"], "ports": [11434]}]
    results = [{"host": "h", "address": "192.0.2.5", "port": 11434, "state": "filtered"},
               {"host": "h", "address": "2001:db8::5", "port": 11434, "state": "no_route"}]
    assert summarize(targets, results, None, "test")["h"]["state"] == "no_route"
    results[1]["state"] = "closed"
    assert summarize(targets, results, None, "test")["h"]["state"] == "filtered"


RULE = "nftables table inet ollama_exposure_toolkit chain input drops tcp/11434"
CLOSURES = {"input": {"ipv4": {"11434": RULE}, "ipv6": {"11434": RULE}}, "forward": {}, "errors": []}
ADDRESSES = ["192.0.2.5", "2001:db8::5"]
FINDING = {"id": "OLLAMA-BIND-001", "port": 11434}


def test_no_route_is_never_proof_of_mitigation(monkeypatch):
    """The IPv6 path that cannot be reached from the scanner leaves the
    mitigation unproven, whatever the rules say; the IPv4 silence alone does not do."""
    def answer(address, *_args, **_kw):
        if ":" in address:
            raise oserror("ENETUNREACH")
        raise socket.timeout("timed out")
    monkeypatch.setattr(ollama_probe, "http_get", answer)
    results = [probe_one(address, 11434, 0.5) for address in ADDRESSES]
    assert [r["state"] for r in results] == ["filtered", "no_route"]
    text, why = mitigation(FINDING, CLOSURES, results, ADDRESSES)
    assert text is None
    assert why.startswith("tcp/11434 is unproven from outside on 2001:db8::5 (no_route: no route from here"), why
    # Positive control: the same host, silent over both families, is mitigated.
    silent = [dict(r, state="filtered") for r in results]
    assert mitigation(FINDING, CLOSURES, silent, ADDRESSES)[0].startswith(RULE)
    # A probe that failed (error) proves nothing either.
    failed = [results[0], dict(results[1], state="error", evidence="connection failed: ECONNRESET")]
    assert "unproven" in mitigation(FINDING, CLOSURES, failed, ADDRESSES)[1]


def test_the_report_says_unproven_and_keeps_the_host_exposed(catalog):
    findings = [dict(FINDING, fingerprint="f")]
    facts = {"firewall": CLOSURES, "addresses": ADDRESSES}
    results = [{"address": "192.0.2.5", "port": 11434, "state": "closed"},
               {"address": "2001:db8::5", "port": 11434, "state": "no_route", "evidence": "no route from here"}]
    assert apply_mitigations(findings, facts, results, catalog) == "exposed"
    assert "mitigated_by" not in findings[0]
    assert "unproven" in findings[0]["mitigation_unproven"]
    # An answer from outside is not "unproven": it is an answer.
    findings = [dict(FINDING, fingerprint="f")]
    results[1]["state"] = "exposed"
    assert apply_mitigations(findings, facts, results, catalog) == "exposed"
    assert "mitigation_unproven" not in findings[0]
