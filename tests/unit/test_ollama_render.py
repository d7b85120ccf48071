# -*- coding: utf-8 -*-
"""Findings across runs (new, open, fixed, excepted, expired-exception) and
every document of the report directory: CSV for tickets, ticket bodies,
JUnit XML, HTML."""

import copy
import csv
import io
import json
import os
from xml.etree import ElementTree

import pytest
from conftest import without_unfixed

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import evaluate_host, host_status
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import parse_ollama_host
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_render import (
    CSV_COLUMNS, read_report, render_csv, render_html, render_junit, render_ticket, write_report)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (
    apply_history, build_report, open_at_or_above, records_from_results, validate_exceptions)

OVERRIDE = "/etc/systemd/system/ollama.service.d/override.conf"


@pytest.fixture(scope="module")
def catalog(catalog):
    """Without OLLAMA-VER-003 (every install has it; test_ollama_findings.py tests it)."""
    return without_unfixed(catalog)


def _facts(catalog, host, value=None, listen=None):
    services, listeners = [], []
    if value is not None:
        services = [{"name": "ollama.service", "fragment": "/etc/systemd/system/ollama.service",
                     "dropins": [OVERRIDE], "masked": False, "env": {"OLLAMA_HOST": value},
                     "env_origin": {"OLLAMA_HOST": {"file": OVERRIDE, "line": 2, "via": "Environment"}},
                     "bind": parse_ollama_host(value), "origins_wildcards": [], "errors": [],
                     "active_state": "active"}]
        bind = parse_ollama_host(listen or value)
        listeners = [{"address": "::" if bind["scope"] == "wildcard" else "127.0.0.1", "port": bind["port"],
                      "family": "ipv6", "scope": bind["scope"], "pid": 10, "unit": "ollama.service",
                      "inferred": False}]
    facts = {"supported": True, "systemd": True, "os": {"ID": "debian"}, "services": services,
             "listeners": listeners, "processes": [], "containers": [],
             "installs": [{"subject": "ollama.service", "version": "0.17.1"}] if value is not None else [],
             "warnings_detail": []}
    facts["findings"] = evaluate_host(facts, catalog, host)
    facts["status"] = host_status(facts, facts["findings"], catalog)
    return facts


def run(catalog, when, hosts, previous=None, exceptions=None):
    """One audit run: hosts maps a name to OLLAMA_HOST (None: not installed, False: unreachable)."""
    results = {}
    for name, value in hosts.items():
        results[name] = {"unreachable": True, "msg": "ssh: timed out"} if value is False else \
            _facts(catalog, name, value)
    report = build_report(records_from_results(results), {}, catalog, when)
    return apply_history(report, previous, exceptions)


def by_id(report, host):
    return dict((f["id"], f) for f in report["findings"] if f["host"] == host)


def test_first_run_everything_is_new_then_open_with_the_same_fingerprints(catalog):
    first = run(catalog, "2026-11-01T10:00:00Z", {"web": "0.0.0.0", "db": "127.0.0.1"})
    assert {f["status"] for f in first["findings"]} == {"new"}
    assert "OLLAMA-BIND-001" in by_id(first, "web")
    second = run(catalog, "2026-11-02T10:00:00Z", {"web": "0.0.0.0", "db": "127.0.0.1"}, previous=first)
    assert {f["status"] for f in second["findings"]} == {"open"}
    assert [f["fingerprint"] for f in second["findings"]] == [f["fingerprint"] for f in first["findings"]]
    web = by_id(second, "web")["OLLAMA-BIND-001"]
    assert web["first_seen"] == "2026-11-01T10:00:00Z" and web["last_seen"] == "2026-11-02T10:00:00Z"
    assert second["compared_to"] == "2026-11-01T10:00:00Z"
    assert second["summary"]["by_lifecycle"]["open"] == len(second["findings"]) == second["summary"]["open"]


def test_a_finding_gone_from_an_audited_host_is_fixed_once(catalog):
    first = run(catalog, "2026-11-01T10:00:00Z", {"web": "0.0.0.0"})
    second = run(catalog, "2026-11-02T10:00:00Z", {"web": "127.0.0.1"}, previous=first)
    fixed = [f for f in second["findings"] if f["status"] == "fixed"]
    assert {f["id"] for f in fixed} == set(by_id(first, "web"))
    assert all(f["fixed_at"] == "2026-11-02T10:00:00Z" and f["last_seen"] == "2026-11-01T10:00:00Z"
               for f in fixed)
    assert second["summary"]["by_lifecycle"]["fixed"] == len(fixed) and second["summary"]["open"] == 0
    assert open_at_or_above(second, "info") == []
    third = run(catalog, "2026-11-03T10:00:00Z", {"web": "127.0.0.1"}, previous=second)
    assert third["findings"] == []  # reported fixed once, then gone


def test_findings_of_an_unreachable_host_are_carried_not_fixed(catalog):
    first = run(catalog, "2026-11-01T10:00:00Z", {"web": "0.0.0.0"})
    second = run(catalog, "2026-11-02T10:00:00Z", {"web": False}, previous=first)
    assert second["hosts"]["web"]["status"] == "unreachable"
    carried = [f for f in second["findings"] if f["host"] == "web"]
    assert carried and all(f["carried"] and f["status"] == "open" for f in carried)
    assert open_at_or_above(second, "info") == []  # fail_on judges this run's findings only


def test_exception_then_expiry(catalog):
    exceptions = {"web": [{"id": "OLLAMA-BIND-001", "reason": "lab box behind a VPN", "owner": "secops",
                           "expires": "2026-12-31"}]}
    before = run(catalog, "2026-11-01T10:00:00Z", {"web": "0.0.0.0"}, exceptions=exceptions)
    excepted = by_id(before, "web")["OLLAMA-BIND-001"]
    assert excepted["status"] == "excepted" and excepted["exception"]["owner"] == "secops"
    assert "OLLAMA-BIND-001" not in [f["id"] for f in open_at_or_above(before, "critical")]
    assert by_id(before, "web")["OLLAMA-BIND-002"]["status"] == "new"  # only the named control
    after = run(catalog, "2027-01-01T10:00:00Z", {"web": "0.0.0.0"}, previous=before, exceptions=exceptions)
    expired = by_id(after, "web")["OLLAMA-BIND-001"]
    assert expired["status"] == "expired-exception"
    assert "OLLAMA-BIND-001" in [f["id"] for f in open_at_or_above(after, "critical")]
    assert after["summary"]["by_lifecycle"]["expired-exception"] == 1


def test_exception_narrowed_to_another_host_or_subject_does_not_apply(catalog):
    exceptions = {"web": [{"id": "OLLAMA-BIND-001", "host": "db", "reason": "r", "owner": "o", "expires": "2099-01-01"},
                          {"id": "OLLAMA-BIND-002", "subject": "other.service", "reason": "r", "owner": "o",
                           "expires": "2099-01-01"}]}
    report = run(catalog, "2026-11-01T10:00:00Z", {"web": "0.0.0.0"}, exceptions=exceptions)
    assert {f["status"] for f in report["findings"]} == {"new"}


@pytest.mark.parametrize("entry,message", [
    ({"id": "OLLAMA-NOPE-001", "reason": "r", "owner": "o", "expires": "2027-01-01"}, "is not a control"),
    ({"id": "OLLAMA-BIND-001", "owner": "o", "expires": "2027-01-01"}, "reason is required"),
    ({"id": "OLLAMA-BIND-001", "reason": "r", "owner": " ", "expires": "2027-01-01"}, "owner is required"),
    ({"id": "OLLAMA-BIND-001", "reason": "r", "owner": "o", "expires": "next year"}, "expires must be a date"),
    ({"id": "OLLAMA-BIND-001", "reason": "r", "owner": "o", "expires": "2027-02-30"}, "expires must be a date"),
    ({"id": "OLLAMA-BIND-001", "reason": "r", "owner": "o", "expires": "2027-01-01", "until": 1}, "unknown key"),
    ("OLLAMA-BIND-001", "must be a mapping"),
])
def test_bad_exceptions_are_named(catalog, entry, message):
    problems = validate_exceptions({"web": [entry]}, catalog)
    assert len(problems) >= 1 and message in problems[0]
    assert problems[0].startswith("ollama_audit_exceptions of web, entry 1")


def test_exception_dates_from_yaml_are_dates(catalog):
    import datetime
    exceptions = {"web": [{"id": "OLLAMA-BIND-001", "reason": "r", "owner": "o", "expires": datetime.date(2099, 1, 1)},
                          {"id": "OLLAMA-BIND-002", "reason": "r", "owner": "o",
                           "expires": datetime.datetime(2020, 1, 1, 0, 0)}]}
    assert validate_exceptions(exceptions, catalog) == []
    report = run(catalog, "2026-11-01T10:00:00Z", {"web": "0.0.0.0"}, exceptions=exceptions)
    assert by_id(report, "web")["OLLAMA-BIND-001"]["status"] == "excepted"
    assert by_id(report, "web")["OLLAMA-BIND-002"]["status"] == "expired-exception"
    assert by_id(report, "web")["OLLAMA-BIND-001"]["exception"]["expires"] == "2099-01-01"


def test_valid_exceptions_and_none(catalog):
    good = {"web": [{"id": "OLLAMA-BIND-001", "reason": "r", "owner": "o", "expires": "2027-01-01"}], "db": []}
    assert validate_exceptions(good, catalog) == []
    assert validate_exceptions({"web": "OLLAMA-BIND-001"}, catalog)[0].endswith("must be a list of exceptions, got str")


def test_csv_rows_match_the_catalog_and_carry_ticket_fields(catalog):
    first = run(catalog, "2026-11-01T10:00:00Z", {"web": "0.0.0.0", "db": "127.0.0.1"})
    rows = list(csv.DictReader(io.StringIO(render_csv(first))))
    assert tuple(rows[0].keys()) == CSV_COLUMNS and len(rows) == len(first["findings"])
    for row in rows:
        control = catalog["controls"][row["id"]]
        assert row["severity"] == control["severity"] and row["title"] == control["title"]
        assert len(row["fingerprint"]) == 24 and row["first_seen"] and row["last_seen"]
        assert row["status"] == "new"
    assert len({(r["host"], r["fingerprint"]) for r in rows}) == len(rows)  # one row per host and finding


def test_junit_has_a_case_per_host_and_control(catalog):
    exceptions = {"db": [{"id": "OLLAMA-BIND-001", "reason": "r", "owner": "o", "expires": "2099-01-01"}]}
    report = run(catalog, "2026-11-01T10:00:00Z", {"web": "0.0.0.0", "db": "0.0.0.0", "ok": "127.0.0.1",
                                                   "down": False}, exceptions=exceptions)
    root = ElementTree.fromstring(render_junit(report, catalog))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 4 * len(catalog["controls"]) == int(root.get("tests"))
    suite = dict((s.get("name"), s) for s in root.findall("testsuite"))

    def case(host, cid):
        return [c for c in suite[host].findall("testcase") if c.get("name").startswith(cid + " ")][0]
    assert case("web", "OLLAMA-BIND-001").find("failure") is not None
    assert case("db", "OLLAMA-BIND-001").find("skipped") is not None
    assert case("ok", "OLLAMA-BIND-001").find("failure") is None and not list(case("ok", "OLLAMA-BIND-001"))
    assert case("down", "OLLAMA-NET-001").find("error").get("type") == "unreachable"
    assert int(root.get("errors")) == len(catalog["controls"])
    assert int(root.get("failures")) == len({(f["host"], f["id"]) for f in report["findings"]
                                             if f["status"] == "new"})


def test_ticket_body(catalog):
    report = run(catalog, "2026-11-01T10:00:00Z", {"web": "0.0.0.0"})
    finding = by_id(report, "web")["OLLAMA-BIND-002"]
    body = render_ticket(finding, catalog)
    assert body.startswith("# [HIGH] %s on web" % finding["title"])
    for text in (finding["fingerprint"], finding["evidence"], OVERRIDE + ":2", "`ollama_bind`",
                 catalog["controls"]["OLLAMA-BIND-002"]["verify"], "CWE-1327"):
        assert text in body


def test_html_is_escaped_and_compares_before_and_after(catalog):
    before = run(catalog, "2026-11-01T10:00:00Z", {"web": "0.0.0.0", "<b>x</b>": None})
    after = run(catalog, "2026-11-01T10:05:00Z", {"web": "127.0.0.1", "<b>x</b>": None}, previous=before)
    page = render_html(after, baseline=before)
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert '<tr data-host="web"><td>web</td><td><span class="h-exposed"' in page
    assert 'id="before-after"' in page and "<script" not in page and "http://" not in page
    assert '<div class="card" data-count="hosts"><div class="n">2</div>' in page
    assert render_html(after).count('id="before-after"') == 0


def test_write_report_writes_every_document_and_keeps_tickets_in_step(tmp_path, catalog):
    dest = str(tmp_path / "r")
    first = run(catalog, "2026-11-01T10:00:00Z", {"web": "0.0.0.0", "db": "127.0.0.1"})
    changed, paths = write_report(dest, first, catalog)
    names = sorted(os.path.relpath(p, dest) for p in paths)
    tickets = sorted("tickets/%s.md" % f["fingerprint"] for f in first["findings"])
    assert changed and names == sorted(["findings.json", "findings.csv", "report.md", "junit.xml",
                                        "report.html"] + tickets)
    assert read_report(dest)["generated_at"] == "2026-11-01T10:00:00Z"
    same = run(catalog, "2026-11-02T10:00:00Z", {"web": "0.0.0.0", "db": "127.0.0.1"}, previous=read_report(dest))
    assert write_report(dest, same, catalog)[0] is False  # only times and new -> open moved
    fixed = run(catalog, "2026-11-03T10:00:00Z", {"web": "127.0.0.1", "db": "127.0.0.1"},
                previous=read_report(dest))
    assert write_report(dest, fixed, catalog)[0] is True
    assert os.listdir(os.path.join(dest, "tickets")) == []  # every ticket closed
    with open(os.path.join(dest, "findings.json")) as handle:
        assert {f["status"] for f in json.load(handle)["findings"]} == {"fixed"}


def test_read_report_of_nothing_or_garbage(tmp_path):
    assert read_report(str(tmp_path / "missing")) is None
    bad = tmp_path / "findings.json"
    bad.write_text("[1, 2")
    assert read_report(str(tmp_path)) is None
    bad.write_text("[1, 2]")
    assert read_report(str(bad)) is None


def test_previous_report_with_odd_entries_is_tolerated(catalog):
    previous = {"generated_at": "x", "findings": [None, {"no": "fingerprint"}, "text"]}
    report = run(catalog, "2026-11-01T10:00:00Z", {"web": "0.0.0.0"}, previous=copy.deepcopy(previous))
    assert {f["status"] for f in report["findings"]} == {"new"}


def test_a_host_left_out_on_purpose_is_not_audited_and_keeps_its_findings(catalog):
    """A rollout batch not reached yet: listed with its reason, findings carried, JUnit skipped."""
    first = run(catalog, "2026-11-01T10:00:00Z", {"web": "0.0.0.0", "db": "0.0.0.0"})
    results = {"web": _facts(catalog, "web", "127.0.0.1")}
    skipped = {"db": "rollout stopped before this host"}
    second = apply_history(build_report(records_from_results(results, skipped=skipped), {}, catalog,
                                        "2026-11-02T10:00:00Z"), first)
    assert second["hosts"]["db"]["status"] == "not_audited"
    assert second["hosts"]["db"]["reason"] == "rollout stopped before this host"
    db = [f for f in second["findings"] if f["host"] == "db"]
    assert db and all(f["carried"] and f["status"] == "open" for f in db)
    assert {f["status"] for f in second["findings"] if f["host"] == "web"} == {"fixed"}
    root = ElementTree.fromstring(render_junit(second, catalog))
    suite = [s for s in root if s.get("name") == "db"][0]
    assert int(suite.get("skipped")) == int(suite.get("tests")) > 0 and int(suite.get("failures")) == 0
    assert "h-not_audited" in render_html(second)


def _mitigated_report(catalog):
    facts = _facts(catalog, "m", "0.0.0.0")
    facts["addresses"] = ["10.1.2.3"]
    facts["firewall"] = {"input": {"ipv4": {"11434": "nftables table inet ollama_exposure_toolkit chain input "
                                                      "drops tcp/11434"}, "ipv6": {}},
                         "forward": {"ipv4": {}, "ipv6": {}}, "errors": []}
    probe = {"m": {"results": [{"address": "10.1.2.3", "port": 11434, "state": "filtered"}], "findings": []}}
    report = build_report(records_from_results({"m": facts, "e": {"failed": True, "msg": "MODULE FAILURE",
                                                                  "module_stderr": "/bin/sh: 1: sudo: not found"}}),
                          probe, catalog, "2026-11-29T00:00:00Z")
    return apply_history(report, None, None)


def test_a_mitigated_host_is_said_plainly_in_every_document(catalog):
    report = _mitigated_report(catalog)
    assert report["hosts"]["m"]["status"] == "mitigated" and report["hosts"]["e"]["status"] == "error"
    mitigated = [f for f in report["findings"] if f.get("mitigated_by")]
    assert {f["id"] for f in mitigated} == {"OLLAMA-BIND-001", "OLLAMA-BIND-002"}
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert {r["id"] for r in rows if r["mitigated_by"]} == {"OLLAMA-BIND-001", "OLLAMA-BIND-002"}
    assert "| mitigated by | nftables table inet" in render_ticket(mitigated[0], catalog)
    html = render_html(report, catalog)
    assert 'data-status="mitigated"' in html and "new, mitigated" in html
    junit = ElementTree.fromstring(render_junit(report, catalog).split("\n", 1)[1])
    suite = [s for s in junit if s.get("name") == "m"][0]
    assert suite.get("failures") == "0" and int(suite.get("skipped")) >= 2
    errors = [s for s in junit if s.get("name") == "e"][0]
    assert int(errors.get("errors")) > 0
    # fail_on does not fail a run over a mitigated host; the same finding unmitigated does.
    assert open_at_or_above(report, "critical") == []
    for finding in report["findings"]:
        finding.pop("mitigated_by", None)
    assert open_at_or_above(report, "critical")
