# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every document made from a fleet report, and the writing of them.

In the report directory:

- ``findings.json``: the report (hosts, findings with their life cycle);
- ``findings.csv``: one row per host and finding, shaped for a ticket
  system's import (stable ``fingerprint``, ``first_seen``, ``last_seen``);
- ``report.md``: a summary for people;
- ``tickets/<fingerprint>.md``: one ticket body per open finding (stale
  ones are removed, so the folder is the set of open tickets);
- ``junit.xml``: one test case per host and control, for CI dashboards;
- ``report.html``: a static page (no script, no network) with the fleet
  counts, severities and open findings by control first, then, given a
  baseline report, the status of each host before and after, then every host
  grouped by status (the worst first, secure last) with its findings
  collapsed, and each control's remediation once.

``render_controls_markdown`` makes docs/controls.md from the catalog.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import csv
import errno
import fcntl
import io
import json
import os
import re
import shutil
import tempfile
from html import escape
from xml.etree import ElementTree

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import (
    REACH_LOCAL, SEVERITIES, STATUS_ERROR, STATUS_NOT_AUDITED, STATUS_UNREACHABLE, STATUS_UNSUPPORTED, severity_rank)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (
    DISCOVERY_CONTROLS, OPEN_STATUSES, STATUS_FIXED, _Digest, apply_history, comparable_digest)

CSV_COLUMNS = ("host", "host_status", "status", "id", "severity", "title", "subject", "evidence", "location",
               "remediation", "references", "fingerprint", "first_seen", "last_seen", "exception_owner",
               "exception_expires", "exception_reason", "mitigated_by")
HOST_STATUS_ORDER = ("exposed", "at_risk", "mitigated", "secure", "not_installed", "unreachable", "unsupported",
                     "error", "not_audited")
# The hosts table of report.html: what needs someone first, secure last.
HTML_GROUP_ORDER = ("exposed", "at_risk", "error", "unreachable", "unsupported", "mitigated", "not_audited",
                    "not_installed", "secure")


def location_text(location):
    if not location:
        return ""
    if location.get("socket"):
        return location["socket"]
    if location.get("line"):
        return "%s:%s" % (location.get("file"), location["line"])
    return location.get("file") or ""


def _finding_status(finding):
    """The life cycle status, with "mitigated" when the toolkit's firewall closes it and
    "local users only" when only the host's own users reach it (counted apart: open_local)."""
    status = finding.get("status", "")
    if status not in OPEN_STATUSES:
        return status
    if finding.get("mitigated_by"):
        status = "%s, mitigated" % status
    return "%s, local users only" % status if finding.get("reach") == REACH_LOCAL else status


# Lines (or rows) gathered into one chunk of a document as it is written.
CHUNK = 2000


def _batched(lines, size=CHUNK):
    """The strings of ``lines`` joined ``size`` at a time: a document is
    written a chunk at a time, never held whole (a fleet of 100,000 hosts)."""
    batch = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def _json_lines(report):
    """findings.json: the report's keys sorted, one per line; a list or a
    mapping under them (findings, hosts, summary) one item per line, each
    item compact with its keys sorted. Plain JSON (``json.load`` reads it),
    one host or finding per line (grep, diff), encoded by json's C encoder:
    an indented dump goes through its Python encoder, ten times slower."""
    dumps = json.JSONEncoder(sort_keys=True).encode
    keys = sorted(report)
    yield "{\n"
    for index, key in enumerate(keys):
        value = report[key]
        end = ",\n" if index < len(keys) - 1 else "\n"
        if isinstance(value, (list, tuple)) and value:
            yield '  %s: [\n' % dumps(key)
            last = len(value) - 1
            for position, item in enumerate(value):
                yield "    %s%s" % (dumps(item), ",\n" if position < last else "\n")
            yield "  ]" + end
        elif isinstance(value, dict) and value:
            yield '  %s: {\n' % dumps(key)
            names = sorted(value)
            last = len(names) - 1
            for position, name in enumerate(names):
                yield "    %s: %s%s" % (dumps(name), dumps(value[name]), ",\n" if position < last else "\n")
            yield "  }" + end
        else:
            yield "  %s: %s%s" % (dumps(key), dumps(value), end)
    yield "}\n"


def json_chunks(report):
    return _batched(_json_lines(report))


def render_json(report):
    return "".join(json_chunks(report))


def _csv_rows(report):
    yield CSV_COLUMNS
    for finding in report["findings"]:
        exception = finding.get("exception") or {}
        yield [
            finding["host"], finding.get("host_status", ""), finding.get("status", ""), finding["id"],
            finding["severity"], finding["title"], finding.get("subject", ""), finding["evidence"],
            location_text(finding.get("location")), finding["remediation"],
            " ".join(finding.get("references") or []), finding["fingerprint"], finding.get("first_seen", ""),
            finding.get("last_seen", ""), exception.get("owner", ""), exception.get("expires", ""),
            exception.get("reason", ""), finding.get("mitigated_by") or "",
        ]


def csv_chunks(report):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    rows = _csv_rows(report)
    while True:
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
            if count >= CHUNK:
                break
        if out.tell():
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        if count < CHUNK:
            return


def render_csv(report):
    return "".join(csv_chunks(report))


def _md(text):
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def _listening(entry):
    """Ollama's sockets, then the host's other doors (issue 26): port, what
    listens there and its state from outside (open, auth_required, silent...)."""
    text = ", ".join("%s:%s" % ("[%s]" % s["address"] if ":" in s["address"] else s["address"], s["port"])
                     for s in entry.get("listeners") or [])
    doors = ", ".join("%s %s (%s)" % (d.get("port"), d.get("process") or d.get("kind") or "?", d.get("state"))
                      for d in entry.get("doors") or [])
    return "%s%sdoors: %s" % (text, "; " if text else "", doors) if doors else text


def render_markdown(report):
    return "".join(markdown_chunks(report))


def markdown_chunks(report):
    return _batched(line + "\n" for line in _markdown_lines(report))


def _markdown_lines(report):
    summary = report["summary"]
    lifecycle = summary.get("by_lifecycle") or {}
    lines = [
        "# Ollama exposure audit",
        "",
        "Generated %s; control catalog of %s%s." % (
            report["generated_at"], report.get("catalog_updated"),
            "; compared with the run of %s" % report["compared_to"] if report.get("compared_to") else ""),
        "",
        "%d hosts: %s. %d findings: %s." % (
            summary["hosts"],
            ", ".join("%d %s" % (n, s) for s, n in sorted(summary["by_status"].items())),
            summary["findings"],
            ", ".join("%d %s" % (summary["by_severity"][s], s) for s in reversed(SEVERITIES)
                      if summary["by_severity"].get(s))),
    ]
    if report.get("merged_from"):
        lines += ["", "Merged from %d slice(s): %s." % (len(report["merged_from"]), ", ".join(
            "%s (%s hosts)" % (m.get("dir"), m.get("hosts")) for m in report["merged_from"]))]
    if report.get("missing_slices"):
        lines += ["", "**Partial fleet report**: %d slice(s) missing, their hosts are not audited here: %s." % (
            len(report["missing_slices"]), "; ".join(
                "%s (%s)" % (m.get("dir"), m.get("reason")) for m in report["missing_slices"]))]
    if "open" in summary:
        lines += ["", "Open findings someone on the network can use: %d; open findings only the hosts' local "
                      "users reach: %d (listed below as \"local users only\")." % (
                          summary["open"], summary.get("open_local", 0))]
    if lifecycle:
        lines += ["", "Since the last run: %s." % ", ".join("%d %s" % (n, s) for s, n in lifecycle.items() if n)]
    lines += ["", "## Hosts", "", "| host | status | listening | note |", "|---|---|---|---|"]
    for line in lines:
        yield line
    for name in sorted(report["hosts"]):
        entry = report["hosts"][name]
        yield "| %s | %s | %s | %s |" % (_md(name), entry["status"], _md(_listening(entry)) or "-",
                                         _md(entry.get("reason") or ""))
    for line in ("", "## Findings", ""):
        yield line
    if not report["findings"]:
        yield "None."
    else:
        yield "| severity | control | host | status | evidence |"
        yield "|---|---|---|---|---|"
        for finding in report["findings"]:
            yield "| %s | %s | %s | %s | %s |" % (
                finding["severity"], finding["id"], _md(finding["host"]), _finding_status(finding),
                _md(finding["evidence"] + ((" (mitigated: %s)" % finding["mitigated_by"])
                                           if finding.get("mitigated_by") else "")))
        for line in ("", "## Remediation", ""):
            yield line
        seen = set()
        for finding in report["findings"]:
            if finding["id"] in seen or finding.get("status") == STATUS_FIXED:
                continue
            seen.add(finding["id"])
            yield "- **%s** %s: %s" % (finding["id"], finding["title"], finding["remediation"])


def open_findings(report):
    return [f for f in report["findings"] if f.get("status") in OPEN_STATUSES]


def ticket_name(finding):
    return "%s.md" % finding["fingerprint"]


def render_ticket(finding, catalog=None):
    """The body of one ticket (Markdown) for an open finding."""
    control = ((catalog or {}).get("controls") or {}).get(finding["id"]) or {}
    lines = [
        "# [%s] %s on %s" % (finding["severity"].upper(), finding["title"], finding["host"]),
        "",
        "| field | value |",
        "|---|---|",
        "| host | %s |" % _md(finding["host"]),
        "| control | %s |" % finding["id"],
        "| severity | %s |" % finding["severity"],
        "| status | %s |" % _finding_status(finding),
        "| mitigated by | %s |" % _md(finding.get("mitigated_by") or "-"),
        "| subject | %s |" % _md(finding.get("subject", "")),
        "| location | %s |" % _md(location_text(finding.get("location")) or "-"),
        "| first seen | %s |" % finding.get("first_seen", ""),
        "| last seen | %s |" % finding.get("last_seen", ""),
        "| fingerprint | `%s` |" % finding["fingerprint"],
        "",
        "## Evidence",
        "",
        finding["evidence"],
        "",
    ]
    if control.get("rationale"):
        lines += ["## Why it matters", "", control["rationale"], ""]
    lines += ["## Remediation", "", finding["remediation"], ""]
    if control.get("fixed_by"):
        lines += ["Fixed by the toolkit's role(s): %s (`playbooks/harden.yml`)." % ", ".join(
            "`%s`" % r for r in control["fixed_by"]), ""]
    if control.get("verify"):
        lines += ["## How to verify", "", control["verify"], ""]
    if finding.get("exception"):
        exc = finding["exception"]
        lines += ["## Exception", "", "Expired on %s (owner %s): %s" % (exc["expires"], exc["owner"], exc["reason"]), ""]
    if finding.get("references"):
        lines += ["## References", ""] + ["- %s" % r for r in finding["references"]] + [""]
    return "\n".join(lines)


def _attr(text):
    """An attribute's value as ElementTree writes it (its _escape_attrib)."""
    text = str(text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if '"' in text:
        text = text.replace('"', "&quot;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    if "\n" in text:
        text = text.replace("\n", "&#10;")
    if "\t" in text:
        text = text.replace("\t", "&#09;")
    return text


def _cdata(text):
    """Text as ElementTree writes it (its _escape_cdata)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _element(tag, attrs, text=""):
    """One element as ElementTree.tostring writes it: attributes in order, an
    empty one closed short (``<tag a="v" />``)."""
    head = "<%s%s" % (tag, "".join(' %s="%s"' % (k, _attr(v)) for k, v in attrs))
    return "%s>%s</%s>" % (head, _cdata(text), tag) if text else head + " />"


def _junit_outcome(entry, mine):
    """What one test case says: (kind, attributes, text), kind one of
    failure, error, skipped or None (passed)."""
    if entry["status"] == STATUS_NOT_AUDITED:
        return "skipped", (("message", "not audited: %s" % (entry.get("reason") or "")),), ""
    if entry["status"] in (STATUS_UNREACHABLE, STATUS_UNSUPPORTED, STATUS_ERROR):
        return "error", (("message", "host %s: %s" % (entry["status"], entry.get("reason") or "")),
                         ("type", entry["status"])), entry.get("reason") or ""
    failing = [f for f in mine if f["status"] in OPEN_STATUSES and not f.get("mitigated_by")]
    if failing:
        return "failure", (("type", failing[0]["severity"]),
                           ("message", "; ".join(f["evidence"] for f in failing)[:500])), \
            "\n".join("%s [%s] %s" % (f["fingerprint"], f["status"], f["evidence"]) for f in failing)
    if [f for f in mine if f.get("mitigated_by")]:
        return "skipped", (("message", "mitigated, open until the service is fixed: %s" % (
            "; ".join(f["mitigated_by"] for f in mine if f.get("mitigated_by"))[:500])),), ""
    if mine:
        exc = mine[0].get("exception") or {}
        return "skipped", (("message", "excepted until %s by %s: %s" % (
            exc.get("expires"), exc.get("owner"), exc.get("reason"))),), ""
    return None, (), ""


_JUNIT_COUNT = {"failure": "failures", "error": "errors", "skipped": "skipped"}


def _junit_counts(entry, current, cids):
    """A host's suite counts (tests, failures, errors, skipped): the case of
    a control without a finding passes, so only the host's status and its
    findings' controls are looked at."""
    counts = {"tests": len(cids), "failures": 0, "errors": 0, "skipped": 0}
    if entry["status"] == STATUS_NOT_AUDITED:
        counts["skipped"] = len(cids)
    elif entry["status"] in (STATUS_UNREACHABLE, STATUS_UNSUPPORTED, STATUS_ERROR):
        counts["errors"] = len(cids)
    else:
        for cid, mine in current.items():
            if cid in cids:
                kind = _junit_outcome(entry, mine)[0]
                if kind:
                    counts[_JUNIT_COUNT[kind]] += 1
    return counts


def junit_chunks(report, catalog):
    """JUnit XML: a test suite per host, a test case per control of the
    catalog, written as it goes (the suites' counts first, the totals of
    every suite in the root's attributes), byte for byte what ElementTree
    writes for the same tree."""
    controls = (catalog or {}).get("controls") or {}
    cids = sorted(controls)
    case_names = [(cid, _attr("%s %s" % (cid, controls[cid].get("title", "")))) for cid in cids]
    current = {}
    for finding in report["findings"]:
        if not finding.get("carried") and finding.get("status") != STATUS_FIXED:
            current.setdefault(finding["host"], {}).setdefault(finding["id"], []).append(finding)
    names = sorted(report["hosts"])
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    known = frozenset(cids)
    # A host outside the inventory (discovery, issue 29) is tested only by the discovery controls.
    disc_cases = [(cid, case) for cid, case in case_names if cid in DISCOVERY_CONTROLS]
    disc_known = frozenset(cid for cid, _case in disc_cases)

    def host_cases(entry):
        return (disc_cases, disc_known) if entry.get("managed") is False else (case_names, known)

    for name in names:
        for key, value in _junit_counts(report["hosts"][name], current.get(name, {}),
                                        host_cases(report["hosts"][name])[1]).items():
            totals[key] += value
    order = ("tests", "failures", "errors", "skipped")
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="ollama-exposure"%s%s' % (
        "".join(' %s="%d"' % (key, totals[key]) for key in order), ">" if names else " />")

    def suites():
        for name in names:
            entry, mine = report["hosts"][name], current.get(name, {})
            cases, mine_known = host_cases(entry)
            counts = _junit_counts(entry, mine, mine_known)
            classname = _attr("ollama-exposure.%s" % name)
            parts = ['<testsuite name="%s"%s>' % (_attr(name), "".join(
                ' %s="%d"' % (key, counts[key]) for key in order)) if cases else '<testsuite name="%s"%s />' % (
                    _attr(name), "".join(' %s="%d"' % (key, counts[key]) for key in order))]
            head = '<testcase classname="%s" name="' % classname
            same = None  # a host not audited, or in error: every case alike
            if entry["status"] == STATUS_NOT_AUDITED or entry["status"] in (
                    STATUS_UNREACHABLE, STATUS_UNSUPPORTED, STATUS_ERROR):
                same = '">%s</testcase>' % _element(*_junit_outcome(entry, []))
            for cid, case_name in cases:
                if same is not None:
                    parts.append(head + case_name + same)
                elif cid not in mine:
                    parts.append(head + case_name + '" />')  # no finding of this control: passed
                else:
                    kind, attrs, text = _junit_outcome(entry, mine[cid])
                    parts.append('%s%s">%s</testcase>' % (head, case_name, _element(kind, attrs, text)) if kind
                                 else head + case_name + '" />')
            if cases:
                parts.append("</testsuite>")
            yield "".join(parts)
    for chunk in _batched(suites(), 200):
        yield chunk
    yield "</testsuites>\n" if names else "\n"


def render_junit(report, catalog):
    """JUnit XML: a test suite per host, a test case per control of the catalog."""
    return "".join(junit_chunks(report, catalog))


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d232a;background:#fff}
h1{margin-bottom:.2rem}.meta{color:#5b6570;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{border:1px solid #d5dbe1;border-radius:8px;padding:.6rem 1rem;min-width:7rem}
.card .n{font-size:1.8rem;font-weight:700}.card .l{color:#5b6570;font-size:.85rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border-bottom:1px solid #e3e7eb;padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f4f6f8}code{font-size:.85rem}
.s-critical{color:#fff;background:#b3261e}.s-high{color:#fff;background:#d9730d}.s-medium{background:#f2c94c}
.s-low{background:#cfe3f7}.s-info{background:#e6e9ed}
.h-exposed{color:#b3261e;font-weight:700}.h-at_risk{color:#d9730d;font-weight:700}.h-secure{color:#1e7b34}
.h-mitigated{color:#8a6d00;font-weight:700}
.h-unreachable,.h-unsupported,.h-error{color:#6b4fa0}.h-not_audited{color:#5f6368}
.badge{border-radius:4px;padding:0 .35rem;font-size:.8rem;white-space:nowrap}
tr.group th{background:#e9edf1;font-size:.95rem}details summary{cursor:pointer}details ul{margin:.3rem 0;padding-left:1rem}
.warn{border:2px solid #b3261e;border-radius:6px;padding:.5rem .8rem;color:#b3261e}
.nav,.parts{line-height:1.8}
"""


def _badge(severity):
    return '<span class="badge s-%s">%s</span>' % (escape(severity), escape(severity))


def _host_status(status):
    return '<span class="h-%s" data-status="%s">%s</span>' % (escape(str(status)), escape(str(status)),
                                                               escape(str(status)))


def _by_host(findings):
    found = {}
    for finding in findings:
        found.setdefault(finding["host"], []).append(finding)
    return found


def _html_head(report, part=None):
    title = "Ollama exposure report%s" % (": %s" % escape(part) if part else "")
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<title>%s</title><style>%s</style></head><body>' % (title, _CSS),
           '<h1>%s</h1>' % title,
           '<p class="meta">Generated %s &middot; control catalog of %s%s%s</p>' % (
               escape(str(report.get("generated_at"))), escape(str(report.get("catalog_updated"))),
               " &middot; compared with the run of %s" % escape(report["compared_to"])
               if report.get("compared_to") else "",
               " &middot; merged from %d slice(s)" % len(report["merged_from"]) if report.get("merged_from") else "")]
    if report.get("missing_slices"):
        out.append('<p class="warn" id="missing-slices"><strong>Partial fleet report</strong>: %d slice(s) '
                   'missing, their hosts are not audited here: %s</p>' % (
                       len(report["missing_slices"]), escape("; ".join(
                           "%s (%s)" % (m.get("dir"), m.get("reason")) for m in report["missing_slices"]))))
    return out


def _html_summary(report):
    """The fleet, severity and life-cycle cards."""
    summary = report["summary"]
    cards = [("hosts", summary["hosts"], "hosts")]
    for status in HOST_STATUS_ORDER + tuple(sorted(set(summary["by_status"]) - set(HOST_STATUS_ORDER))):
        if summary["by_status"].get(status):
            cards.append(("status-%s" % status, summary["by_status"][status], status))
    cards.append(("open", summary.get("open", len(open_findings(report))), "open findings (from the network)"))
    if summary.get("open_local"):
        cards.append(("open-local", summary["open_local"], "open, local users only"))
    out = ['<h2>Fleet</h2><div class="cards" id="fleet">']
    for key, number, label in cards:
        out.append('<div class="card" data-count="%s"><div class="n">%d</div><div class="l">%s</div></div>' % (
            escape(key), number, escape(label)))
    out.append('</div><h2>Severity</h2><div class="cards" id="severity">')
    for severity in reversed(SEVERITIES):
        out.append('<div class="card" data-severity="%s"><div class="n">%d</div><div class="l">%s</div></div>' % (
            escape(severity), summary["by_severity"].get(severity, 0), _badge(severity)))
    out.append('</div>')
    if summary.get("by_lifecycle"):
        out.append('<h2>Since the last run</h2><div class="cards" id="lifecycle">')
        for status, number in summary["by_lifecycle"].items():
            out.append('<div class="card" data-lifecycle="%s"><div class="n">%d</div><div class="l">%s</div></div>'
                       % (escape(status), number, escape(status)))
        out.append('</div>')
    return out


def _html_controls(report):
    """Open findings by control: how many, on how many hosts."""
    controls = {}
    for finding in open_findings(report):
        entry = controls.setdefault(finding["id"], {"finding": finding, "open": 0, "hosts": set()})
        entry["open"] += 1
        entry["hosts"].add(finding["host"])
    if not controls:
        return []
    out = ['<h2>Open findings by control</h2><table id="controls"><thead><tr><th>severity</th><th>control</th>'
           '<th>open</th><th>hosts</th></tr></thead><tbody>']
    for cid, entry in sorted(controls.items(), key=lambda i: (-severity_rank(i[1]["finding"]["severity"]), i[0])):
        out.append('<tr data-control="%s"><td>%s</td><td><a href="#fix-%s">%s</a> %s</td><td>%d</td><td>%d</td></tr>'
                   % (escape(cid), _badge(entry["finding"]["severity"]), escape(cid), escape(cid),
                      escape(entry["finding"]["title"]), entry["open"], len(entry["hosts"])))
    out.append('</tbody></table>')
    return out


def _html_findings(findings, index=""):
    """A host's findings, collapsed: the open ones' IDs in the summary line.
    ``index``: the page holding the remediation (a part links to report.html)."""
    if not findings:
        return "-"
    still = sorted(set(f["id"] for f in findings if f.get("status") in OPEN_STATUSES))
    items = []
    for finding in findings:
        items.append('<li data-fingerprint="%s" data-status="%s">%s <a href="%s#fix-%s">%s</a> <em>%s</em>, '
                     'first seen %s: %s</li>' % (
                         escape(finding["fingerprint"]), escape(finding.get("status", "")),
                         _badge(finding["severity"]), index, escape(finding["id"]), escape(finding["id"]),
                         escape(_finding_status(finding)), escape(finding.get("first_seen", "")),
                         escape(finding["evidence"] + ((" (mitigated: %s)" % finding["mitigated_by"])
                                                       if finding.get("mitigated_by") else ""))))
    label = "%d open: %s" % (len([f for f in findings if f.get("status") in OPEN_STATUSES]), ", ".join(still)) \
        if still else "%d closed" % len(findings)
    return '<details><summary>%s</summary><ul>%s</ul></details>' % (escape(label), "".join(items))


def _html_groups(report):
    """(order, groups): the hosts' statuses, the worst first, and each one's host names, sorted."""
    groups = {}
    for name, entry in report["hosts"].items():
        groups.setdefault(entry["status"], []).append(name)
    for names in groups.values():
        names.sort()
    return [s for s in HTML_GROUP_ORDER if s in groups] + sorted(set(groups) - set(HTML_GROUP_ORDER), key=str), groups


def _html_host_row(name, entry, findings, index="", anchor=False):
    return '<tr%s data-host="%s"><td>%s</td><td>%s</td><td><code>%s</code></td><td>%s</td><td>%s</td></tr>' % (
        ' id="host-%s"' % escape(name) if anchor else "", escape(name), escape(name), _host_status(entry["status"]),
        escape(_listening(entry) or "-"), _html_findings(findings, index), escape(entry.get("reason") or ""))


def _html_hosts(report):
    """Every host in one table, grouped by status (the worst first, secure last)."""
    findings = _by_host(report["findings"])
    order, groups = _html_groups(report)
    out = ['<h2>Hosts</h2><p class="groups">%s</p>' % " &middot; ".join(
        '<a href="#group-%s">%s (%d)</a>' % (escape(str(s)), escape(str(s)), len(groups[s])) for s in order),
        '<table id="hosts"><thead><tr><th>host</th><th>status</th><th>listening</th>'
        '<th>findings</th><th>note</th></tr></thead>']
    for status in order:
        out.append('<tbody id="group-%s"><tr class="group"><th colspan="5">%s: %d host(s)</th></tr>' % (
            escape(str(status)), escape(str(status)), len(groups[status])))
        for name in groups[status]:
            out.append(_html_host_row(name, report["hosts"][name], findings.get(name, [])))
        out.append('</tbody>')
    out.append('</table>')
    return out


def _html_remediation(report):
    seen = {}
    for finding in open_findings(report):
        seen.setdefault(finding["id"], finding)
    if not seen:
        return []
    out = ['<h2>Remediation</h2><dl id="remediation">']
    for cid, finding in sorted(seen.items()):
        out.append('<dt id="fix-%s">%s %s %s</dt><dd>%s</dd>' % (
            escape(cid), _badge(finding["severity"]), escape(cid), escape(finding["title"]),
            escape(finding["remediation"])))
    out.append('</dl>')
    return out


def _before_after_rows(report, baseline):
    before_open = _by_host(f for f in baseline.get("findings") or []
                           if isinstance(f, dict) and f.get("status", "new") in OPEN_STATUSES)
    after_open = _by_host(open_findings(report))
    for name in sorted(set(report["hosts"]) | set(baseline.get("hosts") or {})):
        before = (baseline.get("hosts") or {}).get(name) or {}
        after = report["hosts"].get(name) or {}
        yield name, before.get("status", "-"), after.get("status", "-"), '<tr data-host="%s"><td>%s</td><td>%s</td>' \
            '<td>%s</td><td>%d</td><td>%d</td></tr>' % (
                escape(name), escape(name), _host_status(before.get("status", "-")),
                _host_status(after.get("status", "-")), len(before_open.get(name, [])), len(after_open.get(name, [])))


_BEFORE_AFTER_HEAD = ('<table id="before-after"><thead><tr><th>host</th><th>before</th><th>after</th>'
                      '<th>findings before</th><th>findings after</th></tr></thead><tbody>')


def render_html(report, baseline=None):
    """A static HTML page, usable for thousands of hosts: the summary first,
    then the hosts grouped by status (the worst first) with their findings
    collapsed, then each control's remediation once. No script.
    ``baseline``: an earlier report (before hardening) to compare hosts with.
    Above HTML_PAGE_HOSTS hosts, the index page of the parts html_documents
    writes (the summary, the worst hosts, a link to each part)."""
    return "".join(html_documents(report, baseline)[0][1]())


def _single_page(report, baseline):
    out = _html_head(report) + _html_summary(report) + _html_controls(report)
    if baseline:
        out.append('<h2>Before and after</h2>' + _BEFORE_AFTER_HEAD)
        out += [row for _name, _before, _after, row in _before_after_rows(report, baseline)]
        out.append('</tbody></table>')
    out += _html_hosts(report) + _html_remediation(report)
    out.append('</body></html>')
    return "\n".join(out) + "\n"


# report.html holds every host on one page up to HTML_PAGE_HOSTS hosts; a
# larger fleet's report.html is an index (the counts, the open findings by
# control, the worst hosts, the remediation) linking to parts of at most
# HTML_PAGE_HOSTS hosts each: report-<status>-<n>.html (a status's hosts,
# sorted by name) and, given a baseline, report-before-after-<n>.html. Each
# part opens in a browser in well under 3 s at any fleet size (make
# bench-report measures them in headless Chromium).
HTML_PAGE_HOSTS = 500
# The worst hosts listed on the index of a split report.
HTML_WORST_HOSTS = 100
HTML_PART_PREFIX = "report-"


def html_part_name(kind, number):
    """The file of part ``number`` (from 1) of a status (or ``before-after``)."""
    return "%s%s-%d.html" % (HTML_PART_PREFIX, "".join(c if c.isalnum() or c in "_-" else "_" for c in str(kind)),
                             number)


def _pages(names, size):
    return [names[i:i + size] for i in range(0, len(names), size)] or [[]]


def _worst_hosts(report, limit):
    """The hosts with open findings someone on the network can use, the worst
    first: the highest severity open, then the most open findings, then the name."""
    worst = {}
    for finding in open_findings(report):
        if finding.get("reach") == REACH_LOCAL or finding.get("carried"):
            continue
        rank, count = worst.get(finding["host"], (-1, 0))
        worst[finding["host"]] = (max(rank, severity_rank(finding["severity"])), count + 1)
    ranked = sorted(worst.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))
    return ranked[:limit], len(ranked)


def _part_nav(kind, number, total, label):
    links = ['<a href="report.html">summary (report.html)</a>', "%s: part %d of %d" % (escape(label), number, total)]
    if number > 1:
        links.append('<a href="%s" rel="prev">previous</a>' % html_part_name(kind, number - 1))
    if number < total:
        links.append('<a href="%s" rel="next">next</a>' % html_part_name(kind, number + 1))
    return '<p class="nav">%s</p>' % " &middot; ".join(links)


def _page_links(kind, pages):
    return " ".join('<a href="%s" title="%s">%d</a>' % (
        html_part_name(kind, number), escape("%s ... %s" % (names[0], names[-1])) if names else "", number)
        for number, names in enumerate(pages, 1))


def html_documents(report, baseline=None, page_hosts=None):
    """[(file name, chunks)]: report.html and, above ``page_hosts`` hosts
    (HTML_PAGE_HOSTS), its parts; ``chunks()`` gives a page's text a chunk
    at a time (a part is made when it is written, never all at once)."""
    page_hosts = page_hosts or HTML_PAGE_HOSTS
    if len(report["hosts"]) <= page_hosts:
        return [("report.html", lambda: iter([_single_page(report, baseline)]))]
    order, groups = _html_groups(report)
    parts = dict((status, _pages(groups[status], page_hosts)) for status in order)
    findings = _by_host(report["findings"])
    documents = [("report.html", lambda: iter([_split_index(report, baseline, order, groups, parts, findings,
                                                            page_hosts)]))]
    for status in order:
        for number, names in enumerate(parts[status], 1):
            documents.append((html_part_name(status, number), (
                lambda status=status, number=number, names=names:
                _status_part(report, status, number, names, parts, groups, findings))))
    if baseline:
        rows = list(_before_after_rows(report, baseline))
        pages = _pages(rows, page_hosts)
        for number, chunk in enumerate(pages, 1):
            documents.append((html_part_name("before-after", number), (
                lambda number=number, chunk=chunk, total=len(pages): _before_after_part(report, number, chunk, total))))
    return documents


def _status_part(report, status, number, names, parts, groups, findings):
    total = len(parts[status])
    first = sum(len(p) for p in parts[status][:number - 1]) + 1
    out = _html_head(report, "%s hosts, part %d of %d" % (status, number, total))
    out += [_part_nav(status, number, total, "%s hosts" % status),
            '<table id="hosts"><thead><tr><th>host</th><th>status</th><th>listening</th><th>findings</th>'
            '<th>note</th></tr></thead>',
            '<tbody id="group-%s"><tr class="group"><th colspan="5">%s: %d host(s), %d to %d here</th></tr>' % (
                escape(str(status)), escape(str(status)), len(groups[status]), first, first + len(names) - 1)]
    out += [_html_host_row(name, report["hosts"][name], findings.get(name, []), "report.html", anchor=True)
            for name in names]
    out += ['</tbody></table>', _part_nav(status, number, total, "%s hosts" % status), '</body></html>']
    return iter(["\n".join(out) + "\n"])


def _before_after_part(report, number, rows, total):
    out = _html_head(report, "before and after, part %d of %d" % (number, total))
    out += [_part_nav("before-after", number, total, "before and after"), _BEFORE_AFTER_HEAD]
    out += [row for _name, _before, _after, row in rows]
    out += ['</tbody></table>', _part_nav("before-after", number, total, "before and after"), '</body></html>']
    return iter(["\n".join(out) + "\n"])


def _split_index(report, baseline, order, groups, parts, findings, page_hosts):
    out = _html_head(report) + _html_summary(report) + _html_controls(report)
    if baseline:
        moves = {}
        for _name, before, after, _row in _before_after_rows(report, baseline):
            moves[(before, after)] = moves.get((before, after), 0) + 1
        pages = _pages(sorted(set(report["hosts"]) | set(baseline.get("hosts") or {})), page_hosts)
        out.append('<h2>Before and after</h2><table id="before-after-moves"><thead><tr><th>before</th><th>after</th>'
                   '<th>hosts</th></tr></thead><tbody>')
        for (before, after), count in sorted(moves.items(), key=lambda item: (-item[1], str(item[0]))):
            out.append('<tr><td>%s</td><td>%s</td><td>%d</td></tr>' % (_host_status(before), _host_status(after),
                                                                      count))
        out.append('</tbody></table><p class="parts" id="before-after-parts">Each host, by name: %s</p>'
                   % _page_links("before-after", pages))
    worst, count = _worst_hosts(report, HTML_WORST_HOSTS)
    if worst:
        out.append('<h2>Worst hosts</h2><p>%s of the %d host(s) with open findings someone on the network can use, '
                   'the highest severity first, then the most findings.</p><table id="worst"><thead><tr>'
                   '<th>host</th><th>status</th><th>worst open</th><th>open</th><th>findings</th></tr></thead><tbody>'
                   % ("All" if len(worst) == count else "The first %d" % len(worst), count))
        where = {}
        for status in order:
            for number, names in enumerate(parts[status], 1):
                for name in names:
                    where[name] = html_part_name(status, number)
        for name, (rank, opened) in worst:
            entry = report["hosts"][name]
            out.append('<tr data-host="%s"><td><a href="%s#host-%s">%s</a></td><td>%s</td><td>%s</td><td>%d</td>'
                       '<td>%s</td></tr>' % (escape(name), where[name], escape(name), escape(name),
                                             _host_status(entry["status"]), _badge(SEVERITIES[rank]), opened,
                                             _html_findings(findings.get(name, []))))
        out.append('</tbody></table>')
    out.append('<h2>Hosts</h2><p class="groups">%s</p>' % " &middot; ".join(
        '<a href="#group-%s">%s (%d)</a>' % (escape(str(s)), escape(str(s)), len(groups[s])) for s in order))
    out.append('<p>%d hosts, in parts of at most %d hosts each: a status\'s hosts by name (a link\'s title '
               'names its first and last host).</p><table id="host-parts"><thead><tr><th>status</th><th>hosts</th>'
               '<th>parts</th></tr></thead>' % (len(report["hosts"]), page_hosts))
    for status in order:
        out.append('<tbody id="group-%s"><tr><td>%s</td><td>%d</td><td>%s</td></tr></tbody>' % (
            escape(str(status)), _host_status(status), len(groups[status]), _page_links(status, parts[status])))
    out.append('</table>')
    out += _html_remediation(report)
    out.append('</body></html>')
    return "\n".join(out) + "\n"


REACH_TEXT = (("network", "where the API is reachable from the network (an exposure open, or the toolkit's front)"),
              ("local", "where only the host's local users reach it (loopback, or closed from outside, and no "
                        "front; counted apart from the open findings, as `open_local`)"))


def _severity_by_reach(control):
    """The control's severity in context, as docs/controls.md says it."""
    by = control.get("severity_by_reach") or {}
    parts = ["%s %s" % (by[reach], text) for reach, text in REACH_TEXT if by.get(reach)]
    return "; in context: %s" % ", ".join(parts) if parts else ""


def render_controls_markdown(catalog):
    """docs/controls.md, generated from the catalog (`make docs`)."""
    lines = [
        "# Controls",
        "",
        "<!-- Generated from roles/ollama_audit/files/catalog.yml by `make docs`: edit the catalog, not this page. -->",
        "",
        "The catalog is data: `roles/ollama_audit/files/catalog.yml` (`lookup('ollama_toolkit.exposure.catalog')`, updated %s)," % (
            catalog.get("updated")),
        "with the table of vulnerable versions. A unit test checks that this page is",
        "what the catalog renders to. `make controls` prints every control",
        "`playbooks/harden.yml` can enforce, with its title (pick one with `--tags ID`).",
        "",
        "Fingerprints are `sha256(host | control id | subject)`, truncated to 24 hex",
        "digits. The subject names the unit, socket, file line, process command line",
        "or container port, never a PID or a time, so the same problem on the same",
        "host keeps its fingerprint across runs and tickets are updated, not duplicated.",
        "",
        "| id | severity | evidence | fires when | fixed by |",
        "|---|---|---|---|---|",
    ]
    controls = catalog.get("controls") or {}
    for cid in sorted(controls):
        control = controls[cid]
        lines.append("| %s | %s | %s | %s | %s |" % (
            cid, control["severity"], _md(control.get("evidence", "")), _md(control.get("fires_when", "")),
            ", ".join("`%s`" % r for r in control.get("fixed_by") or []) or "by hand"))
    for cid in sorted(controls):
        control = controls[cid]
        lines += ["", "## %s: %s" % (cid, control["title"]), "",
                  "- **Severity**: %s%s" % (control["severity"], _severity_by_reach(control)),
                  "- **Why**: %s" % " ".join(str(control.get("rationale", "")).split()),
                  "- **Verify**: %s" % control.get("verify", ""),
                  "- **Remediation**: %s" % " ".join(str(control["remediation"]).split()),
                  "- **Fixed by**: %s" % (", ".join("`%s`" % r for r in control.get("fixed_by") or []) or "by hand"),
                  "- **References**: %s" % (", ".join(control.get("references") or []) or "-")]
    versions = catalog.get("vulnerable_versions") or {}
    lines += ["", "## Vulnerable versions", "",
              "Checked %s, against upstream up to %s. Practical floor: %s. OLLAMA-VER-001 reports the" % (
                  versions.get("updated"), versions.get("checked_up_to"), versions.get("minimum_version")),
              "entries fixed in a later release than the one running. An entry with no fixed release (`-`)",
              "and a mitigation applies to every version: OLLAMA-VER-003 reports it, mitigated where only",
              "the toolkit's front reaches Ollama. The others with no fixed release are listed for",
              "reference; missing authentication is what OLLAMA-NET-001 and OLLAMA-BIND-001 report.",
              "", "| CVE | title | fixed in | mitigation | source |", "|---|---|---|---|---|"]
    for entry in versions.get("entries") or []:
        lines.append("| %s | %s | %s | %s | %s |" % (
            entry["cve"], _md(entry["title"]), entry.get("fixed_in") or "-",
            _md("OLLAMA-VER-003: %s" % entry["mitigation"]) if entry.get("mitigation") else "-",
            _md(entry.get("source") or "-")))
    return "\n".join(lines) + "\n"


# -- files ---------------------------------------------------------------------

LOCK_NAME = ".lock"


def _write_atomic(path, content, sync=False):
    """Write a whole file or nothing: a unique temporary file in the same
    directory, renamed over ``path`` (a reader, or a second writer, sees the
    old file or the new one, never a part). ``content``: a text, or its
    chunks. ``sync``: flushed to disk first (findings.json, which the next
    run reads, survives a crash whole)."""
    handle, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(handle, "w") as out:
            if isinstance(content, str):
                out.write(content)
            else:
                out.writelines(content)
            if sync:
                out.flush()
                os.fsync(out.fileno())
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def report_lock(dest):
    """Hold ``dest``'s lock (``dest/.lock``, flock): one run at a time reads
    the previous report and writes the new one there."""
    if not os.path.isdir(dest):
        os.makedirs(dest, 0o750, exist_ok=True)
    with open(os.path.join(dest, LOCK_NAME), "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def load_report(path):
    """(report, problem): a findings.json written earlier (or a directory
    holding one), or None and why it could not be read."""
    if not path or not os.path.exists(path):
        return None, "%s does not exist" % path
    if os.path.isdir(path):
        path = os.path.join(path, "findings.json")
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (IOError, OSError) as exc:
        return None, "cannot read %s: %s" % (path, exc.strerror or exc)
    except (ValueError, TypeError) as exc:
        return None, "%s is not JSON: %s" % (path, exc)
    if not isinstance(data, dict) or not isinstance(data.get("hosts"), dict):
        return None, "%s is not a report (no hosts)" % path
    return data, None


_TOP_LINE = re.compile(r'^  ("(?:[^"\\]|\\.)*"): (.*?)(,?)\n\Z')
_ITEM_LINE = re.compile(r'^    (.*?),?\n\Z')


def read_previous(path, keep_hosts=True):
    """(report, digest, problem) of a findings.json written earlier (or a
    directory holding one): the report, its comparable_digest, or None and
    why it could not be read. One written by json_chunks (a host or a
    finding a line) is read a line at a time, its hosts digested and, unless
    ``keep_hosts``, let go but for those outside the inventory (the life
    cycle needs the findings; a merge with missing slices or a
    discovery-only run, the hosts); any other JSON is
    read whole (load_report)."""
    if path and os.path.isdir(path):
        path = os.path.join(path, "findings.json")
    try:
        found = _read_lines(path, keep_hosts)
    except (IOError, OSError, ValueError, TypeError, UnicodeDecodeError):
        found = None
    if found is not None:
        return found[0], found[1], None
    report, problem = load_report(path)
    return report, None if report is None else comparable_digest(report), problem


def _read_lines(path, keep_hosts):
    """read_previous of a findings.json in json_chunks's layout, or None."""
    digest, report = _Digest(), {}
    with open(path) as handle:
        if handle.readline() != "{\n":
            return None
        for line in handle:
            if line == "}\n":
                break
            top = _TOP_LINE.match(line)
            if not top:
                return None
            key, rest = json.loads(top.group(1)), top.group(2)
            if rest not in ("[", "{"):
                report[key] = json.loads(rest)
                continue
            closer, items = "  ]" if rest == "[" else "  }", []
            for line in handle:
                if line.rstrip(",\n") == closer:
                    break
                item = _ITEM_LINE.match(line)
                if not item:
                    return None
                items.append(item.group(1))
            else:
                return None
            if rest == "[":
                report[key] = [json.loads(text) for text in items]
            elif key == "hosts":
                hosts = {}
                digest.hosts()
                for text in items:
                    for name, entry in json.loads("{%s}" % text).items():
                        digest.host(name, entry)
                        # Hosts outside the inventory are kept whatever keep_hosts
                        # says: the life cycle of discovery (ollama_report:
                        # _keep_undiscovered_hosts) needs them, and they are few.
                        if keep_hosts or (isinstance(entry, dict) and (
                                entry.get("managed") is False or entry.get("status") == "unmanaged")):
                            hosts[name] = entry
                report[key] = hosts
            else:
                report[key] = json.loads("{%s}" % ", ".join(items))
        else:
            return None
        if handle.read():
            return None
    if not isinstance(report.get("hosts"), dict):
        return None
    for key, value in report.items():
        if key == "findings" and isinstance(value, list):
            for finding in value:
                if not isinstance(finding, dict):
                    return None
                digest.finding(finding)
        elif key != "hosts":
            digest.value(key, value)
    return report, digest.hexdigest()


def read_report(path):
    """A findings.json written earlier (or a directory holding one); None when absent or unreadable."""
    return load_report(path)[0]


def read_slices(directories):
    """(directory, report, problem) of each slice's report directory, for merge_slices."""
    return [(directory,) + load_report(directory) for directory in directories]


def publish_report(dest, report, catalog, exceptions=None, baseline=None, write=True, check=False):
    """Give ``report`` its life cycle and write every document into ``dest``.

    New, still open, fixed: against ``baseline`` (the audit before
    hardening) when given, else the previous report in dest, read and
    replaced under dest's lock so that two runs writing into the same
    directory (two merges of a sliced run) follow each other. Returns
    (differs, paths); nothing is written when ``write`` is false.

    ``check`` (check mode): the same life cycle and comparison, but nothing
    is created, written or removed, not even dest or its lock; returns
    (differs, []) and sets ``report["would"]`` to what a real run would
    do: ``write`` (every path), ``remove`` (stale ticket bodies).
    """
    if not write:
        apply_history(report, baseline, exceptions)
        return False, []
    # _keep_unmerged_hosts and a discovery-only run (_keep_undiscovered_hosts) list the previous run's hosts.
    keep_hosts = bool(report.get("missing_slices") or (report.get("discovery") or {}).get("only"))
    if check:
        previous, digest, _problem = read_previous(dest, keep_hosts)
        apply_history(report, baseline if baseline is not None else previous, exceptions)
        differs, documents, stale = plan_report(dest, report, catalog, baseline, previous=digest)
        report["would"] = {"write": [os.path.join(dest, name) for name, _content in documents],
                           "remove": [os.path.join(dest, name) for name in stale]}
        return differs, []
    with report_lock(dest):
        # The previous report is read once: its findings give the life
        # cycle, its digest whether this one differs; then it is let go.
        previous, digest, _problem = read_previous(dest, keep_hosts)
        apply_history(report, baseline if baseline is not None else previous, exceptions)
        del previous
        return write_report(dest, report, catalog, baseline, previous=digest)


_UNREAD = object()


def plan_report(dest, report, catalog=None, baseline=None, previous=_UNREAD):
    """What write_report would do, read-only: (differs, documents, stale).

    ``differs``: the content differs from the report already in ``dest``
    (times and life-cycle moves alone do not count); ``documents``: (name
    under dest, chunks) of every file, ``chunks()`` giving its text a chunk
    at a time; ``stale``: ticket bodies in dest/tickets that no open finding
    wants any more, and parts of report.html no longer written.
    ``previous``: the comparable_digest of the report in dest (None: none
    there), when the caller read it already."""
    if previous is _UNREAD:
        previous = read_previous(os.path.join(dest, "findings.json"), keep_hosts=False)[1]
    differs = previous is None or previous != comparable_digest(report)
    documents = [("findings.json", lambda: json_chunks(report)), ("findings.csv", lambda: csv_chunks(report)),
                 ("report.md", lambda: markdown_chunks(report)), ("junit.xml", lambda: junit_chunks(report, catalog))]
    documents += html_documents(report, baseline)
    wanted = set(name for name, _chunks in documents)
    for finding in open_findings(report):
        name = ticket_name(finding)
        wanted.add(os.path.join("tickets", name))
        documents.append((os.path.join("tickets", name), lambda finding=finding: iter([render_ticket(finding, catalog)])))
    tickets_dir = os.path.join(dest, "tickets")
    stale = sorted(os.path.join("tickets", name) for name in (os.listdir(tickets_dir) if os.path.isdir(tickets_dir) else [])
                   if name.endswith(".md") and os.path.join("tickets", name) not in wanted)
    stale += sorted(name for name in (os.listdir(dest) if os.path.isdir(dest) else [])
                    if name.startswith(HTML_PART_PREFIX) and name.endswith(".html") and name not in wanted)
    return differs, documents, stale


def write_report(dest, report, catalog=None, baseline=None, previous=_UNREAD):
    """Write every document into ``dest``; stale ticket bodies (and parts of
    report.html) are removed.

    Returns (changed, paths): changed when the content differs from the
    report already there (times and life-cycle moves alone do not count).
    """
    if not os.path.isdir(dest):
        os.makedirs(dest, 0o750)
    changed, documents, stale = plan_report(dest, report, catalog, baseline, previous)
    tickets_dir = os.path.join(dest, "tickets")
    if not os.path.isdir(tickets_dir):
        os.makedirs(tickets_dir, 0o750)
    paths = []
    tickets = [(name, chunks) for name, chunks in documents if name.startswith("tickets" + os.sep)]
    for name, chunks in documents:
        if name.startswith("tickets" + os.sep):
            continue
        path = os.path.join(dest, name)
        _write_atomic(path, chunks(), sync=name == "findings.json")
        paths.append(path)
    if _write_tickets_whole(dest, tickets):
        stale = [name for name in stale if not name.startswith("tickets" + os.sep)]
    else:
        _each_in_threads(lambda item: _write_atomic(os.path.join(dest, item[0]), item[1]()), tickets)
    paths += [os.path.join(dest, name) for name, _chunks in tickets]
    for name in stale:
        os.unlink(os.path.join(dest, name))
    return changed, paths


# The ticket bodies of the next run are written here, then this directory
# and tickets/ are exchanged in one step (renameat2 RENAME_EXCHANGE): a
# reader of tickets/ sees the previous run's set or this run's, whole. The
# files of two runs ago are rewritten in place: at 100,000 hosts (150,000
# tickets) a rename over each of them costs more than the rest of the report
# (ext4 starts writing back a file renamed over another, auto_da_alloc).
TICKETS_NEXT = ".tickets-next"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first, second):
    """Swap two directories atomically (Linux renameat2 RENAME_EXCHANGE);
    False where the system or the file system cannot."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, ImportError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV, errno.EPERM):
        return False
    raise OSError(error, os.strerror(error), first)


# Ticket bodies are written by this many threads: creating a file is mostly
# a wait on the file system (a few milliseconds each on a busy machine), and
# the waits of several threads overlap (the GIL is let go in each system call).
WRITE_THREADS = 8


def _each_in_threads(work, items):
    """work(item) for every item, in WRITE_THREADS threads; the first error raised again."""
    if len(items) < 64:
        for item in items:
            work(item)
        return
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        for _done in pool.map(work, items, chunksize=1):
            pass


def _write_in_place(path, content):
    """Write ``path`` whole, over the file there without truncating it to
    nothing first (no new inode, no block freed when the size is alike)."""
    with io.open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o640), "w", closefd=True) as out:
        out.writelines(content)
        out.truncate()


def _write_tickets_whole(dest, tickets):
    """Every ticket body into dest/.tickets-next (the files not wanted there
    removed), then that directory exchanged with dest/tickets. False, with
    nothing changed in tickets/, where directories cannot be exchanged: the
    caller writes each body into tickets/ (_write_atomic) instead."""
    tickets_dir, spare = os.path.join(dest, "tickets"), os.path.join(dest, TICKETS_NEXT)
    if os.path.islink(tickets_dir) or os.path.islink(spare):
        return False
    probe = tempfile.mkdtemp(dir=dest, prefix=".tmp-")
    try:  # can this file system exchange two directories? (two empty ones)
        other = tempfile.mkdtemp(dir=dest, prefix=".tmp-")
        try:
            if not _exchange(probe, other):
                return False
        finally:
            os.rmdir(other)
    finally:
        os.rmdir(probe)
    if not os.path.isdir(spare):
        os.makedirs(spare, 0o750)
    wanted = dict((os.path.basename(name), chunks) for name, chunks in tickets)
    for name in os.listdir(spare):
        if name not in wanted:
            path = os.path.join(spare, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
    _each_in_threads(lambda item: _write_in_place(os.path.join(spare, item[0]), item[1]()), list(wanted.items()))
    os.chmod(spare, os.stat(tickets_dir).st_mode & 0o7777)
    return _exchange(spare, tickets_dir)


def _md_cell(text):
    return " ".join(str(text if text is not None else "").split()).replace("|", "\\|")


def render_remediation_markdown(catalog):
    """The remediation controls, how the IDs work as tags, and the sources."""
    controls = catalog.get("remediation_controls") or {}
    lines = [
        "",
        "## Remediation controls",
        "",
        "Steps of the firewall and front roles. They produce no audit finding (no",
        "severity; not in the reports, tickets or junit.xml): they are controls so",
        "that every task ID is a catalog entry and a tag.",
        "",
        "| id | role | mitigates | title |",
        "|---|---|---|---|",
    ]
    for cid in sorted(controls):
        control = controls[cid]
        lines.append("| %s | `%s` | %s | %s |" % (
            cid, control["role"], ", ".join(control.get("mitigates") or []) or "-", _md_cell(control["title"])))
    for cid in sorted(controls):
        control = controls[cid]
        lines += ["", "### %s: %s" % (cid, control["title"]), "",
                  "- **Why**: %s" % _md_cell(control["rationale"]),
                  "- **Verify**: %s" % _md_cell(control["verify"]),
                  "- **What the role does**: %s" % _md_cell(control["remediation"]),
                  "- **Role**: `%s`" % control["role"],
                  "- **Mitigates**: %s" % (", ".join(control.get("mitigates") or []) or "-"),
                  "- **References**: %s" % (", ".join(control.get("references") or []) or "-")]
    lines += [
        "",
        "## Tags",
        "",
        "Every task whose name starts with a control ID carries that ID as a tag",
        "(`tests/unit/test_tags.py` checks it), as do the includes that lead to it:",
        "",
        "```sh",
        "ansible-playbook -i inv playbooks/harden.yml --list-tags",
        "ansible-playbook -i inv playbooks/harden.yml --tags OLLAMA-BIND-002",
        "ansible-playbook -i inv playbooks/harden.yml -e harden_firewall=true --skip-tags OLLAMA-FW-004",
        "```",
        "",
        "The audit, the PRELIM steps (input checks, planning) and the firewall's",
        "record for rollback are tagged `always`: they run whatever is selected.",
        "Audit controls without tasks of their own are fixed by the tasks of another",
        "tag (the rebind, `OLLAMA-BIND-002`, also fixes OLLAMA-BIND-003, OLLAMA-CFG-002",
        "and OLLAMA-CORS-001; the firewall's tags, in the column above, fix others) or",
        "by hand (`fixed_by` is empty). `OLLAMA-BIND-001` selects the checks after the",
        "change: the host is not exposed, every service runs on loopback and answers.",
        "Role names are tags too",
        "(`ollama_bind`, `ollama_firewall`, `ollama_front`); `playbooks/rollback.yml`",
        "is selected by role only.",
        "",
        "Each fix role's normal path (`tasks/apply.yml`, skipped as one task where the",
        "role's stamp shows it in place) is a dynamic include tagged `always`: each task",
        "in it is selected by its own tags at run time, but `--list-tags` and",
        "`--list-tasks` do not see into it. A run limited by `--tags`, or skipping one",
        "of a role's tags, writes no stamp for that role.",
        "",
        "## Sources",
        "",
    ]
    lines += ["- %s" % source for source in catalog.get("sources") or []]
    return "\n".join(lines) + "\n"


def render_controls_page(catalog):
    """docs/controls.md whole: the audit controls, then the remediation controls, the tags and the sources."""
    return render_controls_markdown(catalog) + render_remediation_markdown(catalog)


def write_page(path, text, check, root):
    """A generated page (scripts/render-*.py, `make docs`): with ``check``,
    exit 1 naming it when the file on disk is not ``text``; else write it."""
    shown = os.path.relpath(path, root)
    if check:
        with open(path) as handle:
            if handle.read() != text:
                raise SystemExit("%s is out of date: run `make docs`" % shown)
        return
    with open(path, "w") as handle:
        handle.write(text)
    print("wrote %s" % shown)
