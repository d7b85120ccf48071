# -*- coding: utf-8 -*-
"""The report's writers at fleet scale (issue 29, "Reports at discovery
scale"): the documents written a chunk at a time are what the whole-text
writers made (JUnit byte for byte what ElementTree writes, the comparison
text json.dumps's), findings.json one host or finding a line, report.html
split above HTML_PAGE_HOSTS hosts into an index and parts whose every link
and anchor resolves, and the tickets exchanged whole (or written one by one
where directories cannot be exchanged)."""

import copy
import json
import os
import re
from html.parser import HTMLParser
from urllib.parse import unquote
from xml.etree import ElementTree

import pytest
from conftest import without_unfixed
from test_ollama_render import _mitigated_report, run

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_render
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import (
    STATUS_ERROR, STATUS_NOT_AUDITED, STATUS_UNREACHABLE, STATUS_UNSUPPORTED)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_render import (
    html_documents, read_report, render_html, render_json, render_junit, render_ticket, write_report)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (
    OPEN_STATUSES, STATUS_FIXED, apply_history, build_report, comparable, comparable_digest, records_from_results)


@pytest.fixture(scope="module")
def catalog(catalog):
    return without_unfixed(catalog)


def reference_junit(report, catalog):
    """render_junit as it was (commit 2df4662): an ElementTree, serialized whole."""
    controls = (catalog or {}).get("controls") or {}
    suites = ElementTree.Element("testsuites", name="ollama-exposure")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    current = {}
    for finding in report["findings"]:
        if not finding.get("carried") and finding.get("status") != STATUS_FIXED:
            current.setdefault((finding["host"], finding["id"]), []).append(finding)
    for name, entry in sorted(report["hosts"].items()):
        suite = ElementTree.SubElement(suites, "testsuite", name=name)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for cid in sorted(controls):
            case = ElementTree.SubElement(suite, "testcase", classname="ollama-exposure.%s" % name,
                                          name="%s %s" % (cid, controls[cid].get("title", "")))
            counts["tests"] += 1
            mine = current.get((name, cid), [])
            if entry["status"] == STATUS_NOT_AUDITED:
                ElementTree.SubElement(case, "skipped", message="not audited: %s" % (entry.get("reason") or ""))
                counts["skipped"] += 1
            elif entry["status"] in (STATUS_UNREACHABLE, STATUS_UNSUPPORTED, STATUS_ERROR):
                error = ElementTree.SubElement(case, "error", message="host %s: %s" % (
                    entry["status"], entry.get("reason") or ""), type=entry["status"])
                error.text = entry.get("reason") or ""
                counts["errors"] += 1
            elif [f for f in mine if f["status"] in OPEN_STATUSES and not f.get("mitigated_by")]:
                failing = [f for f in mine if f["status"] in OPEN_STATUSES and not f.get("mitigated_by")]
                failure = ElementTree.SubElement(case, "failure", type=failing[0]["severity"],
                                                 message="; ".join(f["evidence"] for f in failing)[:500])
                failure.text = "\n".join("%s [%s] %s" % (f["fingerprint"], f["status"], f["evidence"])
                                         for f in failing)
                counts["failures"] += 1
            elif [f for f in mine if f.get("mitigated_by")]:
                ElementTree.SubElement(case, "skipped", message="mitigated, open until the service is fixed: %s" % (
                    "; ".join(f["mitigated_by"] for f in mine if f.get("mitigated_by"))[:500]))
                counts["skipped"] += 1
            elif mine:
                exc = mine[0].get("exception") or {}
                ElementTree.SubElement(case, "skipped", message="excepted until %s by %s: %s" % (
                    exc.get("expires"), exc.get("owner"), exc.get("reason")))
                counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        suites.set(key, str(value))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


def reference_comparable(report):
    """comparable() as it was (commit 2df4662): the whole text at once."""
    data = dict(report)
    for key in ("generated_at", "compared_to", "merged_from"):
        data.pop(key, None)
    data["findings"] = [dict((k, v) for k, v in f.items() if k not in ("first_seen", "last_seen", "status", "fixed_at"))
                        for f in report.get("findings", [])]
    data.pop("summary", None)
    return json.dumps(data, sort_keys=True)


def _every_kind(catalog):
    """A report with every kind of host and finding: exposed, secure, not
    installed, unreachable, left out (carried), excepted, expired, fixed,
    mitigated, failed; names and evidence with the characters XML escapes."""
    odd = 'we"b<&>\t1'
    first = run(catalog, "2026-11-01T10:00:00Z", {odd: "0.0.0.0", "db": "0.0.0.0", "fixme": "0.0.0.0",
                                                   "x": "127.0.0.1", "gone": "0.0.0.0"})
    exceptions = {odd: [{"id": "OLLAMA-BIND-002", "reason": "r & <d>", "owner": "o\"1", "expires": "2099-01-01"}],
                  "db": [{"id": "OLLAMA-BIND-002", "reason": "old", "owner": "o", "expires": "2020-01-01"}]}
    second = run(catalog, "2026-11-02T10:00:00Z", {odd: "0.0.0.0", "db": "0.0.0.0", "fixme": "127.0.0.1",
                                                    "x": None, "gone": False}, previous=first,
                 exceptions=exceptions)
    for finding in second["findings"]:
        if finding["host"] == odd:
            finding["evidence"] += "\r\nline two\t<tab> & \"quoted\""
    mitigated = _mitigated_report(catalog)
    second["hosts"].update(mitigated["hosts"])
    second["findings"] += mitigated["findings"]
    second["hosts"]["skipped"] = {"status": STATUS_NOT_AUDITED, "reason": "rollout <stopped>"}
    return second


def test_junit_is_byte_for_byte_what_elementtree_wrote(catalog):
    report = _every_kind(catalog)
    statuses = set(f["status"] for f in report["findings"])
    assert {"new", "open", "fixed", "excepted", "expired-exception"} <= statuses
    assert any(f.get("carried") for f in report["findings"]) and any(f.get("mitigated_by") for f in report["findings"])
    assert render_junit(report, catalog) == reference_junit(report, catalog)
    empty = {"hosts": {}, "findings": []}
    assert render_junit(empty, catalog) == reference_junit(empty, catalog)
    assert render_junit(report, {"controls": {}}) == reference_junit(report, {"controls": {}})


def test_comparison_text_is_json_dumps_and_the_digest_follows_it(catalog):
    report = _every_kind(catalog)
    assert comparable(report) == reference_comparable(report)
    assert comparable({"hosts": {}}) == reference_comparable({"hosts": {}})
    again = copy.deepcopy(report)
    again["generated_at"] = "later"
    for finding in again["findings"]:
        finding["status"], finding["last_seen"] = "open", "later"
    assert comparable_digest(again) == comparable_digest(report)
    again["findings"][0]["evidence"] += "!"
    assert comparable_digest(again) != comparable_digest(report)


def test_findings_json_has_a_host_or_a_finding_a_line(catalog):
    report = _every_kind(catalog)
    text = render_json(report)
    assert json.loads(text) == json.loads(json.dumps(report))
    lines = text.splitlines()
    assert len([line for line in lines if line.startswith('    {"') and '"fingerprint": ' in line]) == \
        len(report["findings"])
    for name in report["hosts"]:
        assert sum(1 for line in lines if line.startswith("    %s: {" % json.dumps(name))) == 1
    assert render_json({"findings": [], "hosts": {}}) == '{\n  "findings": [],\n  "hosts": {}\n}\n'


class _Page(HTMLParser):
    def __init__(self):
        HTMLParser.__init__(self)
        self.ids, self.links, self.rows, self.scripts = set(), [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        if tag == "tr" and "data-host" in attrs:
            self.rows.append(attrs["data-host"])
        if tag == "script":
            self.scripts += 1


def check_html(dest):
    """{file: parsed page} of report.html and its parts in ``dest``; fails on
    a link to a file or an anchor that is not there, or a script."""
    pages = {}
    for name in os.listdir(dest):
        if name == "report.html" or re.match(r"^report-.+\.html\Z", name):
            page = _Page()
            with open(os.path.join(dest, name)) as handle:
                page.feed(handle.read())
            pages[name] = page
    for name, page in pages.items():
        assert page.scripts == 0, name
        for link in page.links:
            target, _, anchor = link.partition("#")
            target = target or name
            assert target in pages, "%s links to %s: no such file" % (name, link)
            assert not anchor or unquote(anchor) in pages[target].ids, "%s links to %s: no such anchor" % (name, link)
    return pages


def _fleet(catalog, count, when="2026-11-01T10:00:00Z", previous=None):
    values = ("0.0.0.0", "127.0.0.1", None, False)
    return run(catalog, when, dict(("h%03d" % i, values[i % 4]) for i in range(count)), previous=previous)


def test_a_small_fleet_keeps_one_page(tmp_path, catalog):
    report = _fleet(catalog, 12)
    assert [name for name, _chunks in html_documents(report, page_hosts=12)] == ["report.html"]
    write_report(str(tmp_path), report, catalog)
    pages = check_html(str(tmp_path))
    assert list(pages) == ["report.html"]
    assert sorted(pages["report.html"].rows) == sorted(report["hosts"])
    assert 'id="hosts"' in render_html(report)


def test_a_large_fleet_gets_an_index_and_bounded_parts_every_link_resolving(tmp_path, catalog, monkeypatch):
    monkeypatch.setattr(ollama_render, "HTML_PAGE_HOSTS", 5)
    monkeypatch.setattr(ollama_render, "HTML_WORST_HOSTS", 3)
    dest = str(tmp_path)
    first = _fleet(catalog, 23)
    write_report(dest, first, catalog)
    second = _fleet(catalog, 23, "2026-11-02T10:00:00Z", previous=read_report(dest))
    write_report(dest, second, catalog, baseline=first)
    pages = check_html(dest)
    index = pages.pop("report.html")
    # The summary first: the counts, the worst hosts (linked to their part), a link to every part.
    html = open(os.path.join(dest, "report.html")).read()
    assert html.index('data-count="hosts"') < html.index('id="worst"') < html.index('id="host-parts"')
    assert {"fleet", "severity", "worst", "host-parts", "before-after-parts", "remediation"} <= index.ids
    assert set(l.split("#")[0] for l in index.links if l.startswith("report-")) == set(pages)
    assert len(index.rows) == 3 and all(link.startswith("report-exposed-") for link in index.links
                                        if "#host-" in link)
    # Each host in exactly one part of its status, at most 5 a part.
    seen = {}
    for name, page in pages.items():
        kind = re.match(r"^report-(.+)-(\d+)\.html\Z", name).group(1)
        assert 0 < len(page.rows) <= 5
        if kind != "before-after":
            for host in page.rows:
                assert second["hosts"][host]["status"] == kind
                seen[host] = seen.get(host, 0) + 1
    assert seen == dict((host, 1) for host in second["hosts"])
    assert sum(len(p.rows) for n, p in pages.items() if n.startswith("report-before-after-")) == 23
    # A part's findings link to the remediation on the index.
    exposed = open(os.path.join(dest, "report-exposed-1.html")).read()
    assert 'href="report.html#fix-OLLAMA-BIND-002"' in exposed and "<script" not in exposed
    # The fleet shrinks under the split: the parts it no longer needs are removed.
    third = _fleet(catalog, 4, "2026-11-03T10:00:00Z", previous=read_report(dest))
    write_report(dest, third, catalog)
    assert list(check_html(dest)) == ["report.html"]


def test_a_failing_check_fails_on_a_broken_link(tmp_path, catalog, monkeypatch):
    monkeypatch.setattr(ollama_render, "HTML_PAGE_HOSTS", 5)
    write_report(str(tmp_path), _fleet(catalog, 12), catalog)
    os.unlink(str(tmp_path / "report-secure-1.html"))
    with pytest.raises(AssertionError, match="no such file"):
        check_html(str(tmp_path))


@pytest.mark.parametrize("exchange", [True, False])
def test_tickets_are_exactly_the_open_findings_run_after_run(tmp_path, catalog, monkeypatch, exchange):
    if not exchange:  # a file system that cannot exchange two directories: one file at a time
        monkeypatch.setattr(ollama_render, "_exchange", lambda first, second: False)
    dest = str(tmp_path)
    previous = None
    hosts = {"a": "0.0.0.0", "b": "0.0.0.0", "c": "127.0.0.1"}
    for day, change in enumerate(({}, {"b": "127.0.0.1"}, {"c": "0.0.0.0"}, {}), 1):
        hosts.update(change)
        report = run(catalog, "2026-11-0%dT10:00:00Z" % day, hosts, previous=previous)
        if day == 4:  # a shorter evidence: the body rewritten in place keeps no byte of the longer one
            for finding in report["findings"]:
                finding["evidence"] = "short"
        write_report(dest, report, catalog)
        wanted = dict(("%s.md" % f["fingerprint"], render_ticket(f, catalog))
                      for f in report["findings"] if f["status"] in OPEN_STATUSES)
        tickets = os.path.join(dest, "tickets")
        assert sorted(os.listdir(tickets)) == sorted(wanted)
        for name, body in wanted.items():
            with open(os.path.join(tickets, name)) as handle:
                assert handle.read() == body
        assert os.path.isdir(os.path.join(dest, ".tickets-next")) is exchange
        previous = read_report(dest)


def test_the_previous_report_read_a_line_at_a_time_is_the_one_written(tmp_path, catalog):
    """read_previous of a findings.json in json_chunks's layout: the same
    report (its hosts let go on request) and the same digest as the report
    in memory; one written whole (indent=2, before) is read whole, alike."""
    report = _every_kind(catalog)
    report["missing_slices"] = [{"dir": "s2", "reason": "gone"}]
    dest = str(tmp_path)
    (tmp_path / "findings.json").write_text(render_json(report))
    expected = json.loads(json.dumps(report))
    read, digest, problem = ollama_render.read_previous(dest)
    assert (read, digest, problem) == (expected, comparable_digest(report), None)
    lean = ollama_render.read_previous(dest, keep_hosts=False)
    assert lean[0] == dict(expected, hosts={}) and lean[1] == digest
    (tmp_path / "findings.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    assert ollama_render.read_previous(dest) == (expected, digest, None)
    (tmp_path / "findings.json").write_text(render_json(report)[:-3])  # cut short
    assert ollama_render.read_previous(dest)[0] is None
    moved = copy.deepcopy(report)
    moved["hosts"]["db"]["reason"] = "changed"
    assert comparable_digest(moved) != digest
    assert comparable_digest(dict(report, hosts={})) != comparable_digest(dict((k, v) for k, v in report.items()
                                                                              if k != "hosts"))


def test_ticket_bodies_written_by_threads_each_once_errors_raised():
    done = []
    ollama_render._each_in_threads(done.append, list(range(500)))
    assert sorted(done) == list(range(500))

    def fail(item):
        if item == 321:
            raise OSError(28, "No space left on device")
    with pytest.raises(OSError, match="No space left"):
        ollama_render._each_in_threads(fail, list(range(500)))
