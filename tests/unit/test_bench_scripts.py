# -*- coding: utf-8 -*-
"""The benchmark scripts' verdicts (tests/bench/bench.py, report_scale.py,
front_bench.py): each goal comes from tests/bench/goals.yml and each miss
makes the script fail."""

import importlib.util
import os

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "..", "bench")


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(BENCH, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


with open(os.path.join(BENCH, "goals.yml")) as handle:
    GOALS = yaml.safe_load(handle)

bench = load("bench")


# ---------------------------------------------------------------- bench.py

def test_bench_reads_the_scale_goals():
    assert bench.TARGET == GOALS["scale"]["audit_over_ping"] == 1.5
    assert bench.HARDEN_TARGET == GOALS["scale"]["harden_again_over_ping"] == 3.0


def test_bench_passes_within_the_goals():
    assert bench.verdict(2.0, 2.9, []) == []
    assert bench.verdict(2.0, 2.9, [], 2.0, 5.9) == []


@pytest.mark.parametrize("args, expected", [
    ((2.0, 3.2, []), ["audit/ping 1.60 > 1.5"]),
    ((2.0, 2.9, ["lab-gone"]), ["hosts classified wrong: lab-gone"]),
    # 3.5x: the old goal of 4x let it pass, the goal is 3x (issue 27).
    ((2.0, 2.9, [], 2.0, 7.0), ["harden/ping 3.50 > 3.0"]),
])
def test_bench_names_each_miss(args, expected):
    assert bench.verdict(*args) == expected


# ---------------------------------------------------------------- report_scale.py

report_scale = load("report_scale")


@pytest.fixture(scope="module")
def catalog():
    with open(os.path.join(report_scale.ROOT, "roles", "ollama_audit", "files", "catalog.yml")) as handle:
        return yaml.safe_load(handle)


def write(catalog, results, probe, dest):
    for when in ("2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z"):
        report = report_scale.build_report(report_scale.records_from_results(results), probe, catalog, when)
        report_scale.publish_report(str(dest), report, catalog)


def test_report_reads_its_goals_from_goals_yml():
    assert (report_scale.GOAL_SECONDS, report_scale.GOAL_MIB) == (GOALS["report"]["seconds"], GOALS["report"]["mib"])


def test_the_synthetic_probe_result_has_the_real_probes_shape():
    # The real probe_one against a loopback port that refuses (bound, then
    # closed): the keys a probe result has.
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    real = report_scale.ollama_probe.probe_one("127.0.0.1", port, 1.0)
    assert real["state"] == "closed"
    for state in ("exposed", "filtered", "closed"):
        made = report_scale.probe_result("10.0.0.1", 11434, state)
        assert sorted(made) == sorted(real) and made["state"] == state and made["evidence"]
    assert report_scale.probe_result("10.0.0.1", 11434, "exposed")["evidence"].startswith("GET /api/tags -> 200 ")


def test_the_written_report_checks_out(catalog, tmp_path):
    results, probe, kinds = report_scale.fleet(catalog, 200)
    write(catalog, results, probe, tmp_path)
    assert "exposed" in kinds.values() and "mitigated" in kinds.values()
    assert report_scale.check_outputs(str(tmp_path), kinds, probe) == []


def test_probe_data_in_the_old_shape_is_caught(catalog, tmp_path):
    # The benchmark's data before: the key "detail" where the probe writes
    # "evidence", so every OLLAMA-NET-001 read "from controller: None".
    results, probe, kinds = report_scale.fleet(catalog, 200)
    for entry in probe.values():
        for item in entry["results"]:
            item["detail"] = item.pop("evidence")
        entry["findings"] = report_scale.ollama_probe.probe_findings(
            {"results": entry["results"], "scanner": "controller"}, catalog, "x") if entry["findings"] else []
    write(catalog, results, probe, tmp_path)
    problems = report_scale.check_outputs(str(tmp_path), kinds, probe)
    assert any("OLLAMA-NET-001 without the probe's evidence" in p and "None" in p for p in problems), problems


@pytest.mark.parametrize("damage, expected", [
    (lambda d: open(os.path.join(d, "report.html"), "w").close(), "report.html missing or empty"),
    (lambda d: os.remove(os.path.join(d, "junit.xml")), "junit.xml missing or empty"),
    (lambda d: os.remove(os.path.join(d, "tickets", sorted(os.listdir(os.path.join(d, "tickets")))[0])),
     "tickets/: "),
    (lambda d: open(os.path.join(d, "findings.csv"), "a").write("x,y\n"), "findings.csv: "),
])
def test_a_damaged_report_is_caught(catalog, tmp_path, damage, expected):
    results, probe, kinds = report_scale.fleet(catalog, 200)
    write(catalog, results, probe, tmp_path)
    damage(str(tmp_path))
    problems = report_scale.check_outputs(str(tmp_path), kinds, probe)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_host_with_the_wrong_status_is_caught(catalog, tmp_path):
    results, probe, kinds = report_scale.fleet(catalog, 200)
    write(catalog, results, probe, tmp_path)
    host = next(h for h, kind in kinds.items() if kind == "secure")
    kinds[host] = "exposed"
    problems = report_scale.check_outputs(str(tmp_path), kinds, probe)
    assert any("1 hosts with a status other than their kind's" in p for p in problems), problems


def test_report_verdict(monkeypatch):
    monkeypatch.setattr(report_scale, "GOAL_SECONDS", 30.0)
    monkeypatch.setattr(report_scale, "GOAL_MIB", 1024.0)
    monkeypatch.setattr(report_scale, "GOAL_OPEN_S", 3.0)
    assert report_scale.verdict(12.0, 300.0, []) == []
    assert report_scale.verdict(30.0, 300.0, []) == ["slowest run 30.00 s, goal < 30 s"]
    assert report_scale.verdict(12.0, 1100.0, ["x"]) == ["peak memory 1100 MiB, goal < 1024 MiB", "x"]
    assert report_scale.verdict(12.0, 300.0, [], {"report.html": (0.4, 2.0), "report-secure-1.html": (3.2, 5.0)}) \
        == ["report-secure-1.html opens in 3.20 s, goal < 3 s"]


def test_report_goals_are_issue_29s():
    assert (report_scale.GOAL_HOSTS, report_scale.GOAL_SECONDS, report_scale.GOAL_MIB, report_scale.GOAL_OPEN_S) == (
        100000, 60.0, 2048.0, 3.0)


@pytest.mark.parametrize("damage, expected", [
    (None, None),
    (lambda d: os.remove(os.path.join(d, "report-secure-2.html")), "report.html: "),
    (lambda d: open(os.path.join(d, "report-exposed-1.html"), "a").write('<a href="#host-nowhere">x</a>'),
     "report.html: 1 broken link(s), e.g. report-exposed-1.html -> #host-nowhere"),
])
def test_a_split_html_report_is_read_back_whole(catalog, tmp_path, monkeypatch, damage, expected):
    """Above HTML_PAGE_HOSTS hosts report.html is an index and parts: each
    host in one part with its status, every link resolving."""
    from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_render
    monkeypatch.setattr(ollama_render, "HTML_PAGE_HOSTS", 40)
    results, probe, kinds = report_scale.fleet(catalog, 200)
    write(catalog, results, probe, tmp_path)
    assert "report-secure-3.html" in os.listdir(str(tmp_path))
    if damage:
        damage(str(tmp_path))
    problems = report_scale.check_outputs(str(tmp_path), kinds, probe)
    assert (problems == []) if expected is None else any(p.startswith(expected) for p in problems), problems
    assert report_scale.html_pages_to_open(str(tmp_path))[0] == "report.html"


def test_a_page_opens_in_headless_chromium(tmp_path, monkeypatch):
    """The time to the load event, from a timing page framing the page (no
    DevTools); a browser that printed no DOM is an error, not a time."""
    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html><title>x</title><p>%s</p>" % ("row " * 1000))
    load_s, wall = report_scale.open_in_chromium(str(page), str(tmp_path))
    assert 0 < load_s < wall < 60
    monkeypatch.setattr(report_scale, "CHROMIUM", "/bin/true")
    with pytest.raises(RuntimeError, match="did not load"):
        report_scale.open_in_chromium(str(page), str(tmp_path))


# ---------------------------------------------------------------- front_bench.py

front_bench = load("front_bench")


def row(rps, p50, p99, non2xx=0):
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": non2xx}


def test_front_reads_its_goals_from_goals_yml():
    assert front_bench.GOALS == GOALS["front"]


def test_the_front_is_benchmarked_with_its_limits_on_and_no_exemption():
    assert front_bench.FRONT_VARS["ollama_front_rate_exempt"] == []
    assert front_bench.FRONT_VARS["ollama_front_upstream_port"] == front_bench.UPSTREAM_PORT != 11434


def rounds(*fronts):
    """Rounds whose direct runs are alike: 20,000 requests/s; one
    connection 0.05 and 0.20 ms; each front given as (rps, p50, p99) of its
    one-connection run and its throughput."""
    return [{"direct": row(20000.0, 0.3, 9.1), "front": row(rps, 0.9, 3.6),
             "direct_lat": row(9000.0, 0.05, 0.20), "front_lat": row(3000.0, p50, p99)} for rps, p50, p99 in fronts]


def test_front_figures_are_medians_of_each_rounds_added_latency_and_shares():
    found = front_bench.figures(rounds((8000.0, 0.30, 1.20), (2000.0, 0.25, 9.20), (8400.0, 0.40, 1.00)),
                                row(8000.0, 0.9, 3.6), row(7600.0, 1.0, 4.0))
    # The latency from the one-connection runs, the shares from the others.
    assert found["added_p50_ms"] == 0.25 and found["added_p99_ms"] == 1.0
    assert found["front_rps"] == 8000.0 and found["share"] == 0.4 and found["slowloris_share"] == 0.95
    assert [r["share"] for r in found["rounds"]] == [0.4, 0.1, 0.42]


def test_front_within_every_goal_misses_nothing():
    found = front_bench.figures(rounds((8000.0, 0.3, 1.2)), row(8000.0, 0.9, 3.6), row(7600.0, 1.0, 4.0))
    assert front_bench.verdict(found, {"front": row(8000.0, 0.9, 3.6)}, 1000, 1000) == []


@pytest.mark.parametrize("front, attacked, ready, runs, expected", [
    ((8000.0, 9.0, 1.2), 7600.0, 1000, {}, "the front adds 8.95 ms at p50, goal 5 ms"),
    ((8000.0, 0.3, 40.0), 7600.0, 1000, {}, "the front adds 39.80 ms at p99, goal 20 ms"),
    ((900.0, 0.3, 1.2), 7600.0, 1000, {}, "the front serves 900 requests/s, goal 1000"),
    ((8000.0, 0.3, 1.2), 900.0, 1000, {}, "the front under the slowloris serves 900 requests/s, goal 1000"),
    ((8000.0, 0.3, 1.2), 6000.0, 1000, {}, "under the slowloris the front keeps 75.0% of its throughput, goal 90%"),
    ((8000.0, 0.3, 1.2), 7600.0, 1000, {"front": row(8000.0, 0.9, 3.6, 12)},
     "front: 12 answers not 2xx (a limit throttled the benchmark?)"),
    ((8000.0, 0.3, 1.2), 7600.0, 412, {},
     "only 412 of 1000 slowloris connections were open: the measure is not under attack"),
])
def test_front_names_each_miss(front, attacked, ready, runs, expected):
    found = front_bench.figures(rounds(front), row(8000.0, 0.9, 3.6), row(attacked, 1.0, 4.0))
    assert expected in front_bench.verdict(found, runs, ready, 1000)


def test_front_waits_for_the_load_to_settle(monkeypatch):
    loads = [9.0, 9.0, 1.0, 1.0]
    monkeypatch.setattr(front_bench.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(front_bench.os, "getloadavg", lambda: (loads.pop(0), 0.0, 0.0))
    monkeypatch.setattr(front_bench.time, "sleep", lambda seconds: None)
    found = front_bench.benchlib.settle(60)
    assert found["load_before"] == 9.0 and found["load_after"] == 1.0 and not loads
    assert found["cores"] == 2


def test_front_medians_and_wrk_units():
    runs = [row(100.0, 1.0, 5.0), row(300.0, 3.0, 9.0, 1), row(200.0, 2.0, 7.0)]
    assert front_bench.medians(runs) == {"rps": 200.0, "p50": 2.0, "p99": 7.0, "non2xx": 1,
                                         "rps_runs": [100.0, 300.0, 200.0]}
    assert [front_bench.to_ms(t) for t in ("850.00us", "1.25ms", "2.00s")] == [0.85, 1.25, 2000.0]
