# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Assemble the fleet report, follow each finding across runs, write the files.

Pure functions: host records and probe results in, a report out
(``build_report``), or the reports of the slices of a sliced run in, one
fleet report out (``merge_slices``); ``apply_history`` compares with the
previous report and applies the exceptions. ``ollama_render.publish_report``
writes every document.

A finding's ``status`` is its life cycle: ``new`` (first seen this run),
``open`` (seen before, still there), ``fixed`` (seen last run on a host
audited again now, gone), ``excepted`` (an exception with a future expiry
covers it) or ``expired-exception`` (its exception expired: open again).
``host_status`` is the status of the host it was found on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_doors import joined_doors
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import (
    REACH_LOCAL, STATUS_ERROR, STATUS_NOT_AUDITED, STATUS_UNREACHABLE, STATUS_UNSUPPORTED, SEVERITIES,
    apply_mitigations, evaluate_host, severity_rank)

STATUS_NEW = "new"
STATUS_OPEN = "open"
STATUS_FIXED = "fixed"
STATUS_EXCEPTED = "excepted"
STATUS_EXPIRED = "expired-exception"
LIFECYCLE = (STATUS_NEW, STATUS_OPEN, STATUS_FIXED, STATUS_EXCEPTED, STATUS_EXPIRED)
# Statuses that still need work (tickets, fail_on, counts of open findings).
OPEN_STATUSES = (STATUS_NEW, STATUS_OPEN, STATUS_EXPIRED)
EXCEPTION_KEYS = ("id", "host", "subject", "reason", "owner", "expires")


_BECOME = (
    (re.compile(r"sudo: (command )?not found|sudo: No such file", re.I),
     "sudo is not installed on the host (install it, or set ansible_become_method / ansible_become=false)"),
    (re.compile(r"you must have a tty|requiretty", re.I),
     "sudo requires a tty (requiretty): set ansible_pipelining: false for the host, or drop requiretty"),
    (re.compile(r"incorrect (sudo |su )?password|sorry, try again|authentication failure", re.I),
     "sudo: incorrect password: the become password was refused (ansible_become_password)"),
    (re.compile(r"missing (sudo |su )?password|a password is required|password is required", re.I),
     "sudo asks for a password and none was given (ansible_become_password, or NOPASSWD)"),
    (re.compile(r"is not in the sudoers file|not allowed to execute", re.I),
     "the remote user may not use sudo (sudoers)"),
    (re.compile(r"timeout .* waiting for privilege escalation", re.I),
     "no answer to the privilege escalation prompt (timeout)"),
)
# An unreachable host: what ssh said, in the operator's words (the real
# texts: tests/unit/data/ssh_failures.json). With ProxyJump (or a
# ProxyCommand) the outer ssh ends with kex_exchange_identification or
# "Connection closed by UNKNOWN port 65535" after the jump's own error.
_PROXY = re.compile(r"kex_exchange_identification|UNKNOWN port 65535|stdio forwarding failed|"
                    r"administratively prohibited", re.I)
_SSH = (
    (re.compile(r"REMOTE HOST IDENTIFICATION HAS CHANGED|host key for \S+ has changed", re.I),
     r"Offending \S+ key in \S+|Host key for \S+ has changed",
     "host key changed: not the key known_hosts has; check the host, then ssh-keygen -R"),
    (re.compile(r"Host key verification failed", re.I), r"Host key verification failed",
     "host key unknown: not in known_hosts and host key checking is on; add it once checked (ssh-keyscan)"),
    (re.compile(r"stdio forwarding failed|administratively prohibited", re.I),
     r"stdio forwarding failed|open failed.*",
     "bastion refused: the jump host would not forward to the host (AllowTcpForwarding)"),
    (re.compile(r"Permission denied \(", re.I), r"\S+: Permission denied \([^)]*\)\.?",
     "SSH login refused: the key was not accepted (ansible_user, ansible_ssh_private_key_file)"),
    (re.compile(r"Could not resolve hostname", re.I), r"Could not resolve hostname .*",
     "the host name does not resolve (ansible_host)"),
    (re.compile(r"Connection refused", re.I), r"ssh: connect to host .*",
     "no SSH server answers (ansible_host, ansible_port)"),
    (re.compile(r"timed out|No route to host|Network is unreachable", re.I), r"ssh: connect to host .*",
     "no answer from the host (ansible_host, ansible_port; timeout)"),
    (re.compile(r"timeout .* waiting for privilege escalation", re.I), r"Timeout .*",
     "no answer to the privilege escalation prompt (timeout)"),
    # Nothing else said (under ControlMaster the jump's own line is lost):
    # closed before SSH began, as a ProxyJump that refuses leaves it.
    (re.compile(r"kex_exchange_identification: Connection closed", re.I), r"kex_exchange_identification: .*",
     "bastion refused, or the host closed the connection before SSH began (ProxyJump; sshd MaxStartups)"),
)
_SSH_NOISE = re.compile(r"^(Task failed: )?Data could not be sent to remote host \"[^\"]*\"\. "
                        r"Make sure this host can be reached over ssh: |^Task failed: |^Failed to connect to the host "
                        r"via ssh: ")


def explain_unreachable(msg):
    """The reason of a host Ansible could not reach, in the operator's words.

    ``msg`` is the unreachable result's message (ssh's own lines after
    Ansible's "Data could not be sent ..."). A failure behind a bastion
    (ProxyJump) names the bastion: refused (it would not log us in or
    forward) or unreachable (its own connection failed). The line ssh
    said follows in parentheses.
    """
    text = _SSH_NOISE.sub("", str(msg or "").replace("\r", "").strip())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("@")]
    behind = bool(_PROXY.search(text))
    for pattern, quote, meaning in _SSH:
        if not pattern.search(text):
            continue
        found = re.search(quote, text)
        said = found.group(0).strip() if found else (lines[0] if lines else "")
        if behind and meaning.startswith(("SSH login refused", "no SSH server", "no answer from", "the host name")):
            if meaning.startswith("SSH login refused"):
                meaning = "bastion refused: the jump host would not log in (ProxyJump user, its key)"
            else:
                meaning = "bastion unreachable: " + meaning
        return ("%s (%s)" % (meaning, said) if said else meaning)[:300]
    return (lines[0] if lines else "unreachable")[:300]


_INTERPRETER = re.compile(r"(\S*python\S*): (1: )?(\S+: )?(not found|No such file or directory)|"
                          r"interpreter discovery|you probably need to set the interpreter", re.I)


def _lines(*texts):
    out = []
    for text in texts:
        for line in (text or "").splitlines():
            line = line.strip()
            if line and not line.startswith(("{", "}")) and "warning" not in line.lower():
                out.append(line)
    return out


def explain_failure(result):
    """(status, reason) of a host whose audit module did not return facts.

    The reason is the real cause in the operator's words plus the line it
    comes from (become failed, no Python, SSH refused, the module crashed),
    never a parser message such as "Module result deserialization failed".
    """
    result = result or {}
    msg = str(result.get("msg") or "")
    if result.get("unreachable"):
        return STATUS_UNREACHABLE, explain_unreachable(msg)
    stderr = _lines(result.get("module_stderr"), result.get("stderr"))
    stdout = _lines(result.get("module_stdout"))
    everything = stderr + stdout + _lines(msg)
    for pattern, meaning in _BECOME:
        for line in everything:
            if pattern.search(line):
                return STATUS_ERROR, ("become failed: %s (%s)" % (meaning, _SSH_NOISE.sub("", line)))[:300]
    for line in everything:
        if _INTERPRETER.search(line):
            return STATUS_UNSUPPORTED, ("no usable Python on the host (ansible_python_interpreter): %s" % line)[:300]
    traceback = [line for line in stderr if re.match(r"^[A-Za-z_.]*(Error|Exception)\b", line)]
    if traceback or any(line.startswith("Traceback") for line in stderr):
        return STATUS_ERROR, ("the audit module crashed: %s" % (traceback[-1] if traceback else stderr[-1]))[:300]
    parser_noise = ("deserialization failed" in msg.lower() or msg.startswith("MODULE FAILURE")
                    or "no start of json" in msg.lower())
    if parser_noise and stderr:
        return STATUS_ERROR, ("the audit module did not run: %s" % stderr[-1])[:300]
    if parser_noise and stdout:
        return STATUS_ERROR, ("the audit module did not run: %s" % stdout[-1])[:300]
    if msg:
        return STATUS_UNSUPPORTED if "not Linux" in msg else STATUS_ERROR, (_lines(msg) or [msg])[0][:300]
    return STATUS_ERROR, "the audit module did not run"


def records_from_results(results, skipped=None):
    """Audit records from the registered ollama_info results of each host.

    An unreachable result keeps its message; a failed one is explained
    (``explain_failure``: become failed, no Python, a crash); a host without
    a result is an error; a host of ``skipped`` (host -> reason) was left out
    of this run on purpose.
    """
    records = []
    skipped = skipped or {}
    for host in sorted(set(results) | set(skipped)):
        result = results.get(host) or {}
        if host in skipped:
            records.append({"host": host, "reachable": True, "skipped": skipped[host] or "not audited in this run"})
        elif result.get("unreachable"):
            records.append({"host": host, "reachable": False, "error": explain_failure(result)[1]})
        elif result.get("failed") or not result:
            status, reason = explain_failure(result) if result else (STATUS_ERROR, "the audit module did not run")
            records.append({"host": host, "reachable": True, "status": status, "error": reason})
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
                 # Every way in (issue 26): the host's doors, each with what the probe saw on its port.
                 "doors": [_door_summary(d) for d in joined_doors(facts, probe.get("results", []))],
                 "warnings": facts.get("warnings_detail", [])}
        if not record.get("reachable", True):
            entry["status"] = STATUS_UNREACHABLE
            entry["reason"] = (entry["reason"] or "unreachable").splitlines()[0][:200]
        elif record.get("skipped"):
            entry["status"] = STATUS_NOT_AUDITED
            entry["reason"] = record["skipped"]
        elif record.get("error") or facts.get("supported") is False:
            entry["status"] = record.get("status") or STATUS_UNSUPPORTED
        else:
            host_findings = [dict(f) for f in host_read_findings(facts, catalog, name, probe.get("results", []))]
            host_findings += outside_findings(probe.get("findings", []), host_findings)
            host_findings.sort(key=lambda f: (-severity_rank(f["severity"]), f["id"], f["subject"]))
            status = apply_mitigations(host_findings, facts, probe.get("results", []), catalog)
            entry["status"] = status
            # What the toolkit's rules close (not which firewall the host has:
            # ollama_info's firewall.detect is for the firewall role's plan).
            entry["firewall"] = dict((k, v) for k, v in facts["firewall"].items() if k != "detect") \
                if isinstance(facts.get("firewall"), dict) else facts.get("firewall")
            for finding in host_findings:
                findings.append(dict(finding, host=name, host_status=status, status=STATUS_NEW,
                                     first_seen=generated_at, last_seen=generated_at))
        hosts[name] = entry
    return {
        "generated_at": generated_at,
        "catalog_updated": catalog.get("updated"),
        "summary": summarize_report(hosts, findings),
        "hosts": hosts,
        "findings": findings,
    }


def outside_findings(probe_findings, read_findings):
    """The prober's OLLAMA-NET-001 findings, but for a port the read's join
    already names as a door (OLLAMA-DOOR-001 on ``door:tcp/PORT``): one
    finding per way in, the one that names the process and the setting."""
    doors = set(f["subject"] for f in read_findings if f.get("id") == "OLLAMA-DOOR-001")
    kept = []
    for finding in probe_findings or []:
        socket = ((finding.get("location") or {}).get("socket") or "")
        port = socket.rsplit(":", 1)[-1] if ":" in socket else ""
        if finding.get("id") == "OLLAMA-NET-001" and "door:tcp/%s" % port in doors:
            continue
        kept.append(finding)
    return kept


def host_read_findings(facts, catalog, name, probe_results=None):
    """The findings of one host's read (ollama_info's result), derived here:
    the catalog is never shipped to a host, the findings never come from one.
    Its doors are joined with the outside probe's ``probe_results`` by port."""
    return evaluate_host(facts, catalog, facts.get("host_id") or name, probe_results)


def _door_summary(door):
    """A door as the report lists it: what listens, where it is configured,
    whether it asks for credentials (the read) and what answered from outside."""
    probe = door.get("probe") or {}
    return {"port": door.get("port"), "category": door.get("category"), "kind": door.get("kind"),
            "to_model": door.get("to_model"), "process": door.get("process"), "unit": door.get("unit"),
            "container": door.get("container"), "location": door.get("location"),
            "credentials": door.get("credentials"), "state": door.get("state"),
            "probe": {"state": probe.get("state"), "kind": probe.get("kind"), "answered": probe.get("answered") or []}
            if probe else None}


def summarize_report(hosts, findings):
    """Host counts by status, finding counts by severity."""
    by_status, by_severity = {}, dict((s, 0) for s in SEVERITIES)
    for entry in hosts.values():
        by_status[entry["status"]] = by_status.get(entry["status"], 0) + 1
    for finding in findings:
        by_severity[finding["severity"]] = by_severity.get(finding["severity"], 0) + 1
    return {"hosts": len(hosts), "by_status": by_status, "by_severity": by_severity, "findings": len(findings)}


def _service_summary(svc):
    bind = svc.get("bind") or {}
    return {"name": svc.get("name"), "fragment": svc.get("fragment"), "dropins": svc.get("dropins"),
            "active_state": svc.get("active_state"), "OLLAMA_HOST": (svc.get("env") or {}).get("OLLAMA_HOST"),
            "origin": (svc.get("env_origin") or {}).get("OLLAMA_HOST"), "listen": bind.get("listen"),
            "scope": bind.get("scope")}


def comparable(report):
    """The report without what changes on every run (for change detection)."""
    data = dict(report)
    for key in ("generated_at", "compared_to", "merged_from"):
        data.pop(key, None)
    data["findings"] = [dict((k, v) for k, v in f.items() if k not in ("first_seen", "last_seen", "status", "fixed_at"))
                        for f in report.get("findings", [])]
    data.pop("summary", None)
    return json.dumps(data, sort_keys=True)


# -- exceptions and history ----------------------------------------------------

def _date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}\Z", value):
        try:
            return datetime.datetime.strptime(value, "%Y-%m-%d").date()
        except ValueError:
            return None
    return None


def validate_exceptions(exceptions, catalog, variable="ollama_audit_exceptions"):
    """Problems with the exceptions of each host (host -> list), naming the variable.

    Each entry: ``id`` (a control of the catalog), ``reason``, ``owner``,
    ``expires`` (YYYY-MM-DD), optionally ``host`` and ``subject`` to narrow it.
    """
    problems = []
    controls = (catalog or {}).get("controls") or {}
    for host in sorted(exceptions or {}):
        entries = exceptions[host]
        if entries in (None, ""):
            continue
        where = "%s of %s" % (variable, host)
        if not isinstance(entries, list):
            problems.append("%s must be a list of exceptions, got %s" % (where, type(entries).__name__))
            continue
        for index, entry in enumerate(entries, 1):
            at = "%s, entry %d" % (where, index)
            if not isinstance(entry, dict):
                problems.append("%s must be a mapping (id, reason, owner, expires)" % at)
                continue
            unknown = sorted(set(entry) - set(EXCEPTION_KEYS))
            if unknown:
                problems.append("%s: unknown key(s) %s" % (at, ", ".join(unknown)))
            if entry.get("id") not in controls:
                problems.append("%s: id %r is not a control of the catalog" % (at, entry.get("id")))
            for key in ("reason", "owner"):
                if not isinstance(entry.get(key), str) or not entry.get(key).strip():
                    problems.append("%s: %s is required (a non-empty text)" % (at, key))
            if _date(entry.get("expires")) is None:
                problems.append("%s: expires must be a date YYYY-MM-DD (got %r)" % (at, entry.get("expires")))
    return problems


def find_exception(finding, entries):
    """The first exception entry covering ``finding`` (or None)."""
    for entry in entries or []:
        if entry.get("id") != finding["id"]:
            continue
        if entry.get("host") and entry["host"] != finding["host"]:
            continue
        if entry.get("subject") and entry["subject"] != finding.get("subject"):
            continue
        return entry
    return None


def apply_history(report, previous=None, exceptions=None):
    """Give each finding its life cycle against the ``previous`` report.

    ``exceptions``: host -> list of exception entries (validated). Findings
    of the previous run gone from a host audited now are added as
    ``fixed``; those of hosts not audited now (unreachable, unsupported,
    left out of the run) are carried as they were (``carried``: true) so
    that their tickets stay open. Returns the report.
    """
    now = report["generated_at"]
    today = _date((now or "")[:10]) or datetime.date.today()
    if report.get("missing_slices"):
        _keep_unmerged_hosts(report, previous)
    earlier = {}
    for finding in (previous or {}).get("findings", []) or []:
        if isinstance(finding, dict) and finding.get("fingerprint") and finding.get("status") != STATUS_FIXED:
            earlier[finding["fingerprint"]] = finding
    seen = set()
    for finding in report["findings"]:
        old = earlier.get(finding["fingerprint"])
        finding["first_seen"] = (old or {}).get("first_seen") or now
        finding["last_seen"] = now
        entry = find_exception(finding, (exceptions or {}).get(finding["host"]))
        if entry:
            expires = _date(entry.get("expires"))
            finding["exception"] = {"reason": entry.get("reason"), "owner": entry.get("owner"),
                                    "expires": str(expires)}
            finding["status"] = STATUS_EXCEPTED if expires and expires >= today else STATUS_EXPIRED
        else:
            finding["status"] = STATUS_OPEN if old else STATUS_NEW
        seen.add(finding["fingerprint"])
    audited = set(name for name, entry in report["hosts"].items()
                  if entry["status"] not in (STATUS_UNREACHABLE, STATUS_UNSUPPORTED, STATUS_NOT_AUDITED))
    for fingerprint_, old in sorted(earlier.items()):
        if fingerprint_ in seen:
            continue
        if old.get("host") in audited:
            report["findings"].append(dict(old, status=STATUS_FIXED, fixed_at=now, carried=False))
        else:
            status = STATUS_OPEN if old.get("status") == STATUS_NEW else old.get("status")
            report["findings"].append(dict(old, status=status, carried=True))
    report["findings"].sort(key=lambda f: (f["host"], -severity_rank(f["severity"]), f["id"], f.get("subject", "")))
    report["compared_to"] = (previous or {}).get("generated_at")
    counts = dict((s, 0) for s in LIFECYCLE)
    for finding in report["findings"]:
        counts[finding["status"]] = counts.get(finding["status"], 0) + 1
    report["summary"]["by_lifecycle"] = counts
    report["summary"].update(open_counts(report["findings"]))
    return report


def open_counts(findings):
    """The headline: ``open``, the findings still open that someone on the
    network can use; ``open_local``, those only the host's local users can
    reach (reach ``local``: counted apart, listed and ticketed all the same)."""
    still = [f for f in findings if f.get("status") in OPEN_STATUSES]
    local = sum(1 for f in still if f.get("reach") == REACH_LOCAL)
    return {"open": len(still) - local, "open_local": local}


# -- sliced runs ---------------------------------------------------------------

# What a finding carries of its life cycle in a slice's report: the merged
# run gives it again (apply_history against the previous merged report).
_LIFECYCLE_KEYS = ("status", "first_seen", "last_seen", "exception", "carried", "fixed_at")


def validate_merge_from(merge_from, variable="merge_from"):
    """Problems with the list of slice report directories, naming the variable."""
    if not isinstance(merge_from, (list, tuple)):
        return ["%s must be a list of report directories (one per slice), got %s %r"
                % (variable, type(merge_from).__name__, merge_from)]
    if not merge_from:
        return ["%s is empty: give the report directory of every slice" % variable]
    problems = []
    for index, item in enumerate(merge_from, 1):
        if not isinstance(item, str) or not item.strip():
            problems.append("%s, entry %d must be a directory path (a non-empty string), got %r"
                            % (variable, index, item))
    twice = sorted(set(d for d in merge_from if isinstance(d, str) and merge_from.count(d) > 1))
    if twice:
        problems.append("%s lists %s more than once" % (variable, ", ".join(twice)))
    return problems


def merge_slices(slices, generated_at):
    """One fleet report from the reports of the slices of a sliced run.

    ``slices``: a list of (directory, report, problem), in merge_from's
    order; a slice whose report could not be read has report None and the
    reason in problem. Returns (report, exceptions): the report as
    ``build_report`` makes it (every finding ``new``, this run's times) with
    ``merged_from`` (directory, time, hosts of each slice) and
    ``missing_slices`` (directory, reason), and the exceptions the slices
    applied, by host, for ``apply_history``. A host in two slices raises
    ValueError naming the host and both directories.
    """
    hosts, findings, exceptions, owner = {}, [], {}, {}
    merged, missing, overlaps, catalogs = [], [], [], []
    for directory, report, problem in slices:
        if report is None:
            missing.append({"dir": directory, "reason": problem or "no readable findings.json"})
            continue
        names = sorted(report.get("hosts") or {})
        merged.append({"dir": directory, "generated_at": report.get("generated_at"), "hosts": len(names)})
        catalogs.append(report.get("catalog_updated") or "")
        for name in names:
            if name in owner:
                overlaps.append("host %s is in slice %s and in slice %s" % (name, owner[name], directory))
                continue
            owner[name] = directory
            hosts[name] = report["hosts"][name]
        for finding in report.get("findings") or []:
            if finding.get("status") == STATUS_FIXED or finding.get("carried") or owner.get(finding["host"]) != directory:
                continue  # the slice's own history: the merged run has its own
            if finding.get("exception"):
                exceptions.setdefault(finding["host"], []).append(dict(
                    finding["exception"], id=finding["id"], host=finding["host"], subject=finding.get("subject")))
            fresh = dict((k, v) for k, v in finding.items() if k not in _LIFECYCLE_KEYS)
            findings.append(dict(fresh, status=STATUS_NEW, first_seen=generated_at, last_seen=generated_at))
    if overlaps:
        raise ValueError("a host may be in one slice only (check the slices' --limit): %s" % "; ".join(overlaps))
    findings.sort(key=lambda f: (f["host"], -severity_rank(f["severity"]), f["id"], f.get("subject", "")))
    return {
        "generated_at": generated_at,
        "catalog_updated": max(catalogs) if catalogs else None,
        "summary": summarize_report(hosts, findings),
        "hosts": hosts,
        "findings": findings,
        "merged_from": merged,
        "missing_slices": missing,
    }, exceptions


def _keep_unmerged_hosts(report, previous):
    """A merge with missing slices: the hosts of the previous report in no
    slice are listed as not audited (their findings are then carried)."""
    why = "in no slice of this merge (missing: %s)" % ", ".join(m["dir"] for m in report["missing_slices"])
    for name, entry in sorted(((previous or {}).get("hosts") or {}).items()):
        if name not in report["hosts"] and isinstance(entry, dict):
            report["hosts"][name] = dict(entry, status=STATUS_NOT_AUDITED, reason=why)
    report["summary"].update(summarize_report(report["hosts"], report["findings"]))


def open_at_or_above(report, threshold):
    """Findings of this run still open at or above a severity (not excepted, fixed, carried or
    mitigated: a port the toolkit's firewall closes, proven from outside, does not fail a run)."""
    rank = severity_rank(threshold)
    if rank < 0:
        return []
    return [f for f in report["findings"] if severity_rank(f["severity"]) >= rank
            and f.get("status", STATUS_NEW) in OPEN_STATUSES and not f.get("carried") and not f.get("mitigated_by")]


def blocked_hosts(report):
    return sorted(n for n, e in report["hosts"].items() if e["status"] in (STATUS_UNREACHABLE, STATUS_UNSUPPORTED, STATUS_ERROR))


# What the role ollama_audit hands the probe and report modules, by inventory
# name, from every host's variables (filter ollama_audit_inputs).
AUDIT_INPUTS = {
    # part: (variable, default, every play host rather than the audited ones)
    "results": ("ollama_audit_facts", {}, False),
    "addresses": ("ollama_audit_probe_addresses", [], False),
    "exceptions": ("ollama_audit_exceptions", [], True),
}


def option_sets(hostvars, hosts, names):
    """The hosts grouped by the values they give the options ``names`` of
    their own (inventory, host_vars, extra vars: what ``hostvars`` holds),
    as [{"hosts": [...], "options": {name: value}}], in the hosts' order.

    The audit checks its options once for the play (tasks/fleet.yml): the
    play's values once, then each distinct set of a host's own values, not
    one task per host. Hosts that set none of them share one entry whose
    options are empty; the play's values are checked for it."""
    groups, order = {}, []
    for host in hosts or []:
        values = hostvars[host]
        own = dict((name, values[name]) for name in names if name in values)
        key = json.dumps(own, sort_keys=True, default=str)
        if key not in groups:
            groups[key] = {"hosts": [], "options": own}
            order.append(key)
        groups[key]["hosts"].append(host)
    return [groups[key] for key in order]


def audited_hosts(play_hosts, skip=None):
    """The play's hosts less those of ``skip`` (their earlier findings are carried)."""
    skip = skip or {}
    hosts = []
    for host in play_hosts or []:
        if host not in skip and host not in hosts:
            hosts.append(host)
    return hosts


def audit_inputs(hostvars, play_hosts, skip, part):
    """One input of the audit's modules, by inventory name: ``results`` (each
    audited host's ollama_info result, a failed one whole), ``addresses`` (its
    probe addresses) or ``exceptions`` (every play host's accepted findings).
    ``hostvars``: a mapping of host to its variables."""
    if part not in AUDIT_INPUTS:
        raise ValueError("unknown part %r (one of: %s)" % (part, ", ".join(sorted(AUDIT_INPUTS))))
    name, default, every = AUDIT_INPUTS[part]
    hosts = list(play_hosts or []) if every else audited_hosts(play_hosts, skip)
    found = {}
    for host in hosts:
        values = hostvars[host]
        found[host] = values[name] if name in values else default
    return found
