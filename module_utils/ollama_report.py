# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Assemble the fleet report and render it as JSON, CSV and Markdown.

Pure functions (host records and probe results in, documents out), plus
``write_report``, which writes the three files atomically.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import json
import os
import tempfile

from ansible.module_utils.ollama_findings import (
    STATUS_EXPOSED, STATUS_UNREACHABLE, STATUS_UNSUPPORTED, SEVERITIES, severity_rank)

CSV_COLUMNS = ("host", "status", "id", "severity", "title", "subject", "evidence", "location",
               "remediation", "references", "fingerprint")


def _location_text(location):
    if not location:
        return ""
    if location.get("socket"):
        return location["socket"]
    if location.get("line"):
        return "%s:%s" % (location.get("file"), location["line"])
    return location.get("file") or ""


def records_from_results(results, errors=None):
    """Audit records from the registered ollama_info results of each host.

    An unreachable result keeps its message; a failed one (no Python, not
    Linux, a crash) and a host listed in ``errors`` are unsupported.
    """
    records = []
    for host in sorted(results):
        result = results[host] or {}
        error = (errors or {}).get(host) or None
        if result.get("unreachable"):
            records.append({"host": host, "reachable": False, "error": result.get("msg") or "unreachable"})
        elif error or result.get("failed") or not result:
            records.append({"host": host, "reachable": True,
                            "error": error or result.get("msg") or "the audit module did not run"})
        else:
            facts = dict((k, v) for k, v in result.items() if k != "invocation")
            records.append({"host": host, "reachable": True, "error": None, "facts": facts})
    return records


def build_report(records, probe_hosts, catalog, generated_at):
    """Merge per-host audit records with the outside probe into one report.

    ``records``: list of dicts with host, reachable (bool), error (str) and
    facts (ollama_info's result) where reachable.
    ``probe_hosts``: ollama_probe's ``hosts`` (may be empty).
    """
    exposure = set(catalog.get("exposure_controls") or [])
    hosts, findings = {}, []
    for record in sorted(records, key=lambda r: r["host"]):
        name = record["host"]
        facts = record.get("facts") or {}
        probe = (probe_hosts or {}).get(name) or {}
        entry = {"status": None, "reason": record.get("error") or facts.get("reason"),
                 "os": facts.get("os"), "systemd": facts.get("systemd"),
                 "listeners": facts.get("listeners", []),
                 "services": [_service_summary(s) for s in facts.get("services", [])],
                 "processes": [{"pid": p.get("pid"), "argv": p.get("argv"), "unit": p.get("unit"),
                                "listen": (p.get("bind") or {}).get("listen")} for p in facts.get("processes", [])],
                 "containers": facts.get("containers", []),
                 "installs": facts.get("installs", []),
                 "probe": probe.get("results", []),
                 "warnings": facts.get("warnings_detail", [])}
        if not record.get("reachable", True):
            entry["status"] = STATUS_UNREACHABLE
            entry["reason"] = (entry["reason"] or "unreachable").splitlines()[0][:200]
        elif record.get("error") or facts.get("supported") is False:
            entry["status"] = STATUS_UNSUPPORTED
        else:
            host_findings = list(facts.get("findings", [])) + list(probe.get("findings", []))
            host_findings.sort(key=lambda f: (-severity_rank(f["severity"]), f["id"], f["subject"]))
            status = facts.get("status")
            if any(f["id"] in exposure for f in host_findings):
                status = STATUS_EXPOSED
            entry["status"] = status
            for finding in host_findings:
                findings.append(dict(finding, host=name, status=status))
        hosts[name] = entry
    by_status, by_severity = {}, dict((s, 0) for s in SEVERITIES)
    for entry in hosts.values():
        by_status[entry["status"]] = by_status.get(entry["status"], 0) + 1
    for finding in findings:
        by_severity[finding["severity"]] = by_severity.get(finding["severity"], 0) + 1
    return {
        "generated_at": generated_at,
        "catalog_updated": catalog.get("updated"),
        "summary": {"hosts": len(hosts), "by_status": by_status, "by_severity": by_severity,
                    "findings": len(findings)},
        "hosts": hosts,
        "findings": findings,
    }


def _service_summary(svc):
    bind = svc.get("bind") or {}
    return {"name": svc.get("name"), "fragment": svc.get("fragment"), "dropins": svc.get("dropins"),
            "active_state": svc.get("active_state"), "OLLAMA_HOST": (svc.get("env") or {}).get("OLLAMA_HOST"),
            "origin": (svc.get("env_origin") or {}).get("OLLAMA_HOST"), "listen": bind.get("listen"),
            "scope": bind.get("scope")}


def comparable(report):
    """The report without what changes on every run (for change detection)."""
    data = dict(report)
    data.pop("generated_at", None)
    return json.dumps(data, sort_keys=True)


def render_json(report):
    return json.dumps(report, indent=2, sort_keys=True) + "\n"


def render_csv(report):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for finding in report["findings"]:
        writer.writerow([
            finding["host"], finding.get("status", ""), finding["id"], finding["severity"], finding["title"],
            finding.get("subject", ""), finding["evidence"], _location_text(finding.get("location")),
            finding["remediation"], " ".join(finding.get("references") or []), finding["fingerprint"],
        ])
    return out.getvalue()


def _md(text):
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def render_markdown(report):
    summary = report["summary"]
    lines = [
        "# Ollama exposure audit",
        "",
        "Generated %s; control catalog of %s." % (report["generated_at"], report.get("catalog_updated")),
        "",
        "%d hosts: %s. %d findings: %s." % (
            summary["hosts"],
            ", ".join("%d %s" % (n, s) for s, n in sorted(summary["by_status"].items())),
            summary["findings"],
            ", ".join("%d %s" % (summary["by_severity"][s], s) for s in reversed(SEVERITIES)
                      if summary["by_severity"].get(s))),
        "",
        "## Hosts",
        "",
        "| host | status | listening | note |",
        "|---|---|---|---|",
    ]
    for name, entry in sorted(report["hosts"].items()):
        listening = ", ".join("%s:%s" % ("[%s]" % s["address"] if ":" in s["address"] else s["address"], s["port"])
                              for s in entry.get("listeners") or [])
        lines.append("| %s | %s | %s | %s |" % (_md(name), entry["status"], _md(listening) or "-",
                                                 _md(entry.get("reason") or "")))
    lines += ["", "## Findings", ""]
    if not report["findings"]:
        lines.append("None.")
    else:
        lines += ["| severity | control | host | evidence |", "|---|---|---|---|"]
        for finding in report["findings"]:
            lines.append("| %s | %s | %s | %s |" % (finding["severity"], finding["id"], _md(finding["host"]),
                                                  _md(finding["evidence"])))
        lines += ["", "## Remediation", ""]
        seen = set()
        for finding in report["findings"]:
            if finding["id"] in seen:
                continue
            seen.add(finding["id"])
            lines.append("- **%s** %s: %s" % (finding["id"], finding["title"], finding["remediation"]))
    return "\n".join(lines) + "\n"


def open_at_or_above(report, threshold):
    rank = severity_rank(threshold)
    if rank < 0:
        return []
    return [f for f in report["findings"] if severity_rank(f["severity"]) >= rank]


def blocked_hosts(report):
    return sorted(n for n, e in report["hosts"].items() if e["status"] in (STATUS_UNREACHABLE, STATUS_UNSUPPORTED))


def _write_atomic(path, content):
    handle, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(content)
        os.chmod(tmp, 0o640)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _previous_report(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def write_report(dest, report):
    """Write findings.json, findings.csv and report.md into ``dest``.

    Returns (changed, paths): changed when the content differs from the
    report already there (the generation time alone does not count).
    """
    if not os.path.isdir(dest):
        os.makedirs(dest, 0o750)
    old = _previous_report(os.path.join(dest, "findings.json"))
    changed = old is None or comparable(old) != comparable(report)
    paths = []
    for name, content in (("findings.json", render_json(report)), ("findings.csv", render_csv(report)),
                          ("report.md", render_markdown(report))):
        path = os.path.join(dest, name)
        _write_atomic(path, content)
        paths.append(path)
    return changed, paths
