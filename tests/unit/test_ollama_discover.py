# -*- coding: utf-8 -*-
"""The discovery sweep (issue 29): safe by construction, then what answers.

Every address here is loopback or a documentation range that is only
validated, never contacted (the sweep's connect and probe are replaced
where a test needs no traffic).
"""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils import ollama_discover as od
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils import ollama_probe


def opts(**kw):
    base = {"ranges": ["192.0.2.0/28"]}
    base.update(kw)
    return base


# (options, the words the refusal must contain)
BAD = [
    (opts(ranges=[]), "ranges: give at least one"),
    (opts(ranges=None), "ranges: give at least one"),
    (opts(ranges=["192.0.2.300/24"]), "ranges[0]: '192.0.2.300/24' is not an IPv4 or IPv6 network"),
    (opts(ranges=["192.0.2.0/33"]), "ranges[0]: '192.0.2.0/33' is not"),
    (opts(ranges=["192.0.2.0/24", "not-a-cidr"]), "ranges[1]: 'not-a-cidr' is not"),
    (opts(ranges=["example.com"]), "names are not resolved"),
    (opts(ranges=["192.0.2.7/24"]), "ranges[0]: '192.0.2.7/24' has host bits set (did you mean 192.0.2.0/24?)"),
    (opts(ranges=["2001:db8::1/64"]), "has host bits set"),
    (opts(ranges=["2001:db8::/129"]), "ranges[0]: '2001:db8::/129' is not"),
    (opts(ranges=[""]), "ranges[0]: '' is not"),
    (opts(ranges=[42]), "ranges[0]: 42 is not"),
    (opts(ranges=["224.0.0.0/24"]), "multicast, unspecified or broadcast"),
    (opts(ranges=["ff02::/120"]), "multicast, unspecified or broadcast"),
    (opts(ranges=["0.0.0.0/32"]), "multicast, unspecified or broadcast"),
    (opts(ranges=["255.255.255.255"]), "multicast, unspecified or broadcast"),
    (opts(ranges=["10.0.0.0/21"]), "ranges: 2048 addresses, more than 1024 (a /22 of IPv4, a /118 of IPv6): set allow_large"),
    (opts(ranges=["10.0.0.0/22", "10.1.0.0/30"]), "ranges: 1028 addresses, more than 1024"),
    (opts(ranges=["2001:db8::/117"]), "ranges: 2048 addresses, more than 1024"),
    (opts(ranges=["10.0.0.0/15"], allow_large=True), "more than the hard limit of 65536"),
    (opts(ranges=["2001:db8::/64"], allow_large=True), "more than the hard limit of 65536"),
    (opts(allow_large="yes"), "allow_large: 'yes' is not true or false"),
    (opts(ranges=["192.0.2.0/30"], exclude=["192.0.2.0/30"]), "ranges: no address left to scan (after exclude)"),
    (opts(exclude=["192.0.2.999"]), "exclude[0]: '192.0.2.999' is not"),
    (opts(ports=[0]), "ports: [0] out of range 1-65535"),
    (opts(ports=[65536]), "ports: [65536] out of range 1-65535"),
    (opts(ports=[-1, 80]), "ports: [-1] out of range"),
    (opts(ports=["80"]), "ports: ['80'] out of range"),
    (opts(ports=[True]), "ports: [True] out of range"),
    (opts(ports=[]), "ports: give at least one TCP port"),
    (opts(ports=list(range(1, 66))), "ports: 65 ports, more than 64"),
    (opts(rate=0), "rate: 0 out of range"),
    (opts(rate=-5), "rate: -5 out of range"),
    (opts(rate=20000), "rate: 20000 out of range"),
    (opts(rate="fast"), "rate: 'fast' is not a number"),
    (opts(concurrency=0), "concurrency: 0 out of range"),
    (opts(concurrency=2.5), "concurrency: 2.5 is not a whole number"),
    (opts(concurrency=5000), "concurrency: 5000 out of range"),
    (opts(connect_timeout=0), "connect_timeout: 0 out of range"),
    (opts(connect_timeout=60), "connect_timeout: 60 out of range"),
    (opts(timeout=0), "timeout: 0 out of range"),
    (opts(max_time=0), "max_time: 0 out of range"),
]


@pytest.mark.parametrize("options,words", BAD, ids=[w[:40] for _o, w in BAD])
def test_bad_input_is_refused_by_name_before_anything_is_sent(options, words, monkeypatch):
    sent = []
    monkeypatch.setattr(od, "tcp_connect", lambda *a: sent.append(a))
    problems, plan = od.validate(options)
    assert any(words in p for p in problems), problems
    assert plan["addresses"] == [] and sent == []


def test_several_problems_are_all_named():
    problems, _plan = od.validate({"ranges": ["x"], "ports": [0], "rate": 0, "concurrency": 0})
    assert [p.split(":")[0] for p in problems] == ["ranges[0]", "ports", "rate", "concurrency"]


def test_the_defaults_are_the_known_servers_ports_and_conservative_bounds():
    problems, plan = od.validate({"ranges": ["192.0.2.0/24"]})
    assert problems == []
    assert plan["ports"] == sorted([11434, 8000, 8080, 3000, 1234, 8188, 5000, 80, 443])
    assert (plan["rate"], plan["concurrency"], plan["connect_timeout"], plan["timeout"]) == (200.0, 64, 1.0, 1.5)
    # A /24 without its network and broadcast addresses.
    assert len(plan["addresses"]) == 254 and plan["addresses"][0] == "192.0.2.1" and plan["addresses"][-1] == "192.0.2.254"


def test_only_the_ranges_given_minus_exclusions_each_address_once():
    problems, plan = od.validate({"ranges": ["192.0.2.0/29", "192.0.2.4/30", "198.51.100.9", "2001:db8::/125"],
                                  "exclude": ["192.0.2.1", "2001:db8::4/126"], "ports": [80, 80, 11434]})
    assert problems == []
    assert plan["addresses"] == ["192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6",
                                 "198.51.100.9", "2001:db8::1", "2001:db8::2", "2001:db8::3"]
    assert plan["ports"] == [80, 11434]
    assert plan["excluded"] == ["192.0.2.1/32", "2001:db8::4/126"]


def test_the_bound_is_exactly_a_slash_22_and_a_slash_118_and_allow_large_lifts_it():
    assert od.validate({"ranges": ["10.0.0.0/22"]})[0] == []
    assert od.validate({"ranges": ["2001:db8::/118"]})[0] == []
    assert od.validate({"ranges": ["10.0.0.0/21"]})[0]
    problems, plan = od.validate({"ranges": ["10.0.0.0/16"], "allow_large": True})
    assert problems == [] and len(plan["addresses"]) == 65534


def fake_sweep(plan, open_ports=(), delay=0.0, **kw):
    """sweep with its connect and probe replaced (no traffic): connects counted."""
    log = {"connects": [], "probes": [], "live": 0, "peak": 0}
    lock = threading.Lock()

    def connect(address, port, timeout):
        with lock:
            log["connects"].append((time.monotonic(), address, port))
            log["live"] += 1
            log["peak"] = max(log["peak"], log["live"])
        time.sleep(delay)
        with lock:
            log["live"] -= 1
        return ((address, port) in open_ports), (None if (address, port) in open_ports else "closed")

    def probe(address, port, timeout):
        log["probes"].append((address, port))
        return {"address": address, "port": port, "state": "exposed", "evidence": "GET /api/tags -> 200",
                "status_code": 200, "version": "0.20.0", "tls": False, "kind": "ollama", "open": True,
                "details": {"models": 2, "version": None, "config": {}}}

    return od.sweep(plan, connect=connect, probe=probe, **kw), log


def test_the_rate_is_global_whatever_the_concurrency():
    _p, plan = od.validate({"ranges": ["192.0.2.0/28"], "ports": [80, 443], "rate": 100, "concurrency": 64})
    result, log = fake_sweep(plan)
    times = sorted(t for t, _a, _p in log["connects"])
    assert len(times) == 28 == result["scanned"]["connects"]
    # 28 connects at 100/s: the last starts no earlier than 27 gaps after the first.
    assert times[-1] - times[0] >= 27 / 100.0 - 0.01


def test_the_concurrency_cap_holds():
    _p, plan = od.validate({"ranges": ["192.0.2.0/27"], "ports": [80], "rate": 10000, "concurrency": 4})
    _result, log = fake_sweep(plan, delay=0.02)
    assert 1 <= log["peak"] <= 4


def test_max_time_stops_new_connections():
    _p, plan = od.validate({"ranges": ["192.0.2.0/24"], "ports": [80], "rate": 50, "max_time": 0.2})
    result, log = fake_sweep(plan)
    assert result["scanned"]["truncated"] is True
    assert len(log["connects"]) <= 0.2 * 50 + 2


def test_only_ports_that_accepted_are_fingerprinted_and_named_managed():
    _p, plan = od.validate({"ranges": ["192.0.2.0/29"], "ports": [80, 11434], "exclude": ["192.0.2.6"]})
    result, log = fake_sweep(plan, open_ports={("192.0.2.3", 11434), ("192.0.2.5", 80)},
                             managed=["192.0.2.5", "web1.example"])
    assert sorted(log["probes"]) == [("192.0.2.3", 11434), ("192.0.2.5", 80)]
    assert [(h["address"], h["managed"], [r["port"] for r in h["ports"]]) for h in result["hosts"]] == [
        ("192.0.2.3", False, [11434]), ("192.0.2.5", True, [80])]
    assert result["scanned"]["connects"] == 5 * 2 and result["scanned"]["open"] == 2
    assert result["excluded"] == ["192.0.2.6/32"]
    assert result["hosts"][0]["ports"][0] == {
        "address": "192.0.2.3", "port": 11434, "scheme": "http", "kind": "ollama", "state": "exposed",
        "open": True, "auth": False, "version": "0.20.0", "models": 2, "fingerprint": "ollama:192.0.2.3:11434",
        "evidence": "GET /api/tags -> 200"}


def test_the_sweep_uses_the_audits_probe_not_a_copy():
    import inspect
    assert inspect.signature(od.sweep).parameters["probe"].default is ollama_probe.probe_one
    assert od.classify_error is ollama_probe.classify_error


@pytest.mark.parametrize("result,kind,auth", [
    ({"state": "auth_required", "kind": None, "evidence": 'GET /api/tags -> 401 (WWW-Authenticate: Basic realm="Ollama")'},
     "ollama", True),
    ({"state": "auth_required", "kind": None, "tls": True,
      "evidence": 'TLS: GET /api/tags -> 401 (WWW-Authenticate: Basic realm="Ollama")'}, "ollama", True),
    ({"state": "auth_required", "kind": None, "evidence": 'GET /api/tags -> 401 (WWW-Authenticate: Basic realm="Jenkins")'},
     None, True),
    ({"state": "auth_required", "kind": "vllm", "evidence": "vllm asks for credentials"}, "vllm", True),
    ({"state": "open_other", "kind": None, "evidence": "open, no HTTP answer"}, None, False),
])
def test_a_record_names_ollama_behind_a_front_only_by_its_challenge(result, kind, auth):
    result = dict(result, address="192.0.2.9", port=80)
    rec = od.record(result)
    assert (rec["kind"], rec["auth"], rec["open"]) == (kind, auth, False)
    assert rec["fingerprint"] == "%s:192.0.2.9:80" % (kind or "none")
    assert rec["scheme"] == ("https" if result.get("tls") else "http")


class Recorder(BaseHTTPRequestHandler):
    """A loopback server recording every request; answers as Ollama's API."""
    seen = []

    def _any(self):
        Recorder.seen.append((self.command, self.path))
        body = b'{"models": [{"name": "a"}]}' if self.path == "/api/tags" else b'{"version": "0.20.0"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _any

    def log_message(self, *args):
        pass


def test_a_real_sweep_on_loopback_sends_nothing_but_gets_to_fingerprint_paths():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Recorder.seen = []
    try:
        port = server.server_address[1]
        problems, plan = od.validate({"ranges": ["127.0.0.1/32"], "ports": [port]})
        assert problems == []
        result = od.sweep(plan)
    finally:
        server.shutdown()
        server.server_close()
    assert [r["fingerprint"] for h in result["hosts"] for r in h["ports"]] == ["ollama:127.0.0.1:%d" % port]
    rec = result["hosts"][0]["ports"][0]
    assert (rec["state"], rec["open"], rec["models"], rec["version"]) == ("exposed", True, 1, "0.20.0")
    assert Recorder.seen and set(m for m, _p in Recorder.seen) == {"GET"}
    assert set(p for _m, p in Recorder.seen) <= {"/api/tags", "/api/version", "/", "/v1/models"}
    assert len(Recorder.seen) <= ollama_probe.MAX_GETS


def test_a_closed_port_is_counted_and_not_reported():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _p, plan = od.validate({"ranges": ["127.0.0.1"], "ports": [port]})
    result = od.sweep(plan)
    assert result["hosts"] == [] and result["scanned"]["connects"] == 1 and result["scanned"]["open"] == 0
