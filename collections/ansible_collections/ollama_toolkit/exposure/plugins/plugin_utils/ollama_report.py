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
import hashlib
import ipaddress
import json
import re

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_finding import make_finding
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import join_host_port
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_servers import SERVERS
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


_UNCOMPARED = ("generated_at", "compared_to", "merged_from", "summary")
_UNCOMPARED_FINDING = ("first_seen", "last_seen", "status", "fixed_at", "swept_at")


def _comparable_value(key, value):
    """A top-level value of the report as compared: the discovery's sweep
    without its time (swept_at, elapsed)."""
    if key == "discovery" and isinstance(value, dict):
        return dict((k, v) for k, v in value.items() if k not in ("swept_at", "elapsed"))
    return value


def comparable(report):
    """The report without what changes on every run (for change detection)."""
    return "".join(comparable_chunks(report))


def comparable_chunks(report):
    """comparable(report), a host or a finding at a time: the same text
    (json.dumps with sorted keys), never held whole."""
    dumps = json.JSONEncoder(sort_keys=True).encode
    keys = sorted(set(k for k in report if k not in _UNCOMPARED) | set(["findings"]))
    yield "{"
    for index, key in enumerate(keys):
        yield "%s%s: " % (", " if index else "", dumps(key))
        if key == "findings":
            yield "["
            for position, finding in enumerate(report.get("findings", [])):
                yield "%s%s" % (", " if position else "", dumps(dict(
                    (k, v) for k, v in finding.items() if k not in _UNCOMPARED_FINDING)))
            yield "]"
        elif key == "hosts" and isinstance(report[key], dict):
            yield "{"
            for position, name in enumerate(sorted(report[key])):
                yield "%s%s: %s" % (", " if position else "", dumps(name), dumps(report[key][name]))
            yield "}"
        else:
            yield dumps(_comparable_value(key, report[key]))
    yield "}"


def comparable_digest(report):
    """A digest of comparable(report), a host or a finding at a time: two
    reports differ (times and life-cycle moves aside) when their digests do.
    Each of the report's keys hashed apart (_Digest), so that a findings.json
    read a line at a time (ollama_render.read_previous) gives the same."""
    digest = _Digest()
    for key in set(k for k in report if k not in _UNCOMPARED) | set(["findings"]):
        if key == "findings":
            for finding in report.get("findings", []):
                digest.finding(finding)
        elif key == "hosts" and isinstance(report[key], dict):
            digest.hosts()
            for name in sorted(report[key]):
                digest.host(name, report[key][name])
        else:
            digest.value(key, report[key])
    return digest.hexdigest()


class _Digest(object):
    """comparable_digest's state: one SHA-256 per key of the report (the
    findings without their times and life cycle, each host by name), then
    one over the keys, sorted."""

    def __init__(self):
        self.dumps = json.JSONEncoder(sort_keys=True).encode
        self.keys = {"findings": hashlib.sha256()}

    def _key(self, key):
        if key not in self.keys:
            self.keys[key] = hashlib.sha256()
        return self.keys[key]

    def finding(self, finding):
        self.keys["findings"].update(self.dumps(dict(
            (k, v) for k, v in finding.items() if k not in _UNCOMPARED_FINDING)).encode("utf-8", "surrogatepass") + b"\n")

    def hosts(self):
        """A mapping of hosts, empty or not (the hosts follow)."""
        self._key("hosts")

    def host(self, name, entry):
        self._key("hosts").update(("%s: %s\n" % (self.dumps(name), self.dumps(entry))).encode("utf-8", "surrogatepass"))

    def value(self, key, value):
        if key not in _UNCOMPARED:
            self._key(key).update(self.dumps(_comparable_value(key, value)).encode("utf-8", "surrogatepass"))

    def hexdigest(self):
        whole = hashlib.sha256()
        for key in sorted(self.keys):
            whole.update(("%s: %s\n" % (self.dumps(key), self.keys[key].hexdigest())).encode("utf-8"))
        return whole.hexdigest()


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
        # A discovered finding was seen by its sweep (audit.yml may join an earlier one).
        finding["first_seen"] = (old or {}).get("first_seen") or finding.get("swept_at") or now
        finding["last_seen"] = finding.get("swept_at") or now
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
    discovery = report.get("discovery")
    _keep_undiscovered_hosts(report, previous)
    for fingerprint_, old in sorted(earlier.items()):
        if fingerprint_ in seen:
            continue
        swept = old.get("id") in DISCOVERY_CONTROLS and in_discovery_scope(
            (old.get("location") or {}).get("address"), (old.get("location") or {}).get("port"), discovery)
        if old.get("host") in audited or swept:
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
    merged, missing, overlaps, catalogs, discovery = [], [], [], [], []
    for directory, report, problem in slices:
        if report is None:
            missing.append({"dir": directory, "reason": problem or "no readable findings.json"})
            continue
        names = sorted(report.get("hosts") or {})
        merged.append({"dir": directory, "generated_at": report.get("generated_at"), "hosts": len(names)})
        catalogs.append(report.get("catalog_updated") or "")
        if report.get("discovery"):
            discovery.append(report["discovery"])
        for name in names:
            if name in owner and (report["hosts"][name] or {}).get("status") == STATUS_UNMANAGED:
                continue  # every slice joined the same sweep: its unmanaged hosts once, from the first
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
        # The sweep the slices joined (one sweep for the fleet: the first slice's).
        **({"discovery": discovery[0]} if discovery else {})
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


# -- discovery: the model servers nobody put in the inventory (issue 29) -------
#
# The sweep (the module ollama_discover, playbooks/discover.yml) hands over
# one record per answering (address, port): address, port, scheme, kind,
# state (the probe's states), open, auth, version, models, fingerprint. An
# unmanaged address answering as a model server becomes a host of the report
# (status ``unmanaged``) with a finding of OLLAMA-DISC-001 (open without
# credentials) or OLLAMA-DISC-002 (asks for credentials, or hands out no
# model), subject ``kind:address:port``: the same server is the same finding
# every run. A managed address points to its audited host entry and adds no
# finding: discovery never moves an audited host's status.

DISCOVERY_OPEN = "OLLAMA-DISC-001"
DISCOVERY_CLOSED = "OLLAMA-DISC-002"
DISCOVERY_CONTROLS = (DISCOVERY_OPEN, DISCOVERY_CLOSED)
STATUS_UNMANAGED = "unmanaged"
# The kinds of a model server (or of the web UI in front of one): Ollama and
# module_utils/ollama_servers.py's SERVERS; "open_webui" is the sweep's name
# for SERVERS' "open-webui".
_KIND_ALIASES = {"open_webui": "open-webui"}
DISCOVERY_KINDS = ("ollama",) + tuple(sorted(SERVERS))


def discovery_kind(record):
    """The model server kind of a sweep record, or None (plain HTTP, nothing known)."""
    kind = (record or {}).get("kind")
    kind = _KIND_ALIASES.get(kind, kind)
    return kind if kind in DISCOVERY_KINDS else None


def discovery_subject(record):
    """``kind:address:port``: what makes a discovered server the same one across runs."""
    return "%s:%s:%s" % (discovery_kind(record), record.get("address"), record.get("port"))


def _discovery_open(record):
    return bool(record.get("open")) and not record.get("auth")


def discovery_findings(record, catalog, host_id):
    """The finding of one sweep record of an unmanaged address (a list: empty
    when what answers is no model server)."""
    kind = discovery_kind(record)
    if kind is None:
        return []
    title = (SERVERS.get(kind) or {}).get("title") or ("Ollama" if kind == "ollama" else kind)
    where = join_host_port(str(record.get("address")), record.get("port"))
    said = []
    if record.get("version"):
        said.append("version %s" % record["version"])
    if record.get("models") is not None:
        said.append("%s model(s)" % record["models"])
    if _discovery_open(record):
        control, how = DISCOVERY_OPEN, "without credentials"
    elif record.get("auth"):
        control, how = DISCOVERY_CLOSED, "and asks for credentials"
    else:
        control, how = DISCOVERY_CLOSED, "and hands out no model without credentials"
    # No time in the evidence: the same server gives the same finding, ticket and row every run.
    evidence = "%s://%s answers as %s%s %s (state %s); no inventory host has this address" % (
        record.get("scheme") or "http", where, title, " (%s)" % ", ".join(said) if said else "", how,
        record.get("state"))
    finding = make_finding(catalog, host_id, control, discovery_subject(record), evidence,
                           location={"socket": where, "address": record.get("address"), "port": record.get("port"),
                                     "scheme": record.get("scheme") or "http"})
    finding["kind"] = kind
    return [finding]


def validate_discovery(discovery, variable="discovery"):
    """Problems with a sweep's hand-off (``discover.json``), naming the variable."""
    if not isinstance(discovery, dict):
        return ["%s must be the sweep's result (a mapping with hosts), got %s" % (variable, type(discovery).__name__)]
    result = discovery.get("result") if isinstance(discovery.get("result"), dict) else discovery
    hosts = result.get("hosts")
    if not isinstance(hosts, list):
        return ["%s.hosts must be a list of {address, managed, ports}, got %r" % (variable, hosts)]
    problems = []
    for index, host in enumerate(hosts, 1):
        if not isinstance(host, dict) or not isinstance(host.get("address"), str) or not host.get("address"):
            problems.append("%s.hosts, entry %d: an address is required" % (variable, index))
            continue
        for item in host.get("ports") or []:
            if not isinstance(item, dict) or not isinstance(item.get("port"), int) or not 0 < item["port"] < 65536:
                problems.append("%s.hosts, entry %d (%s): a port record without a port 1-65535: %r" % (
                    variable, index, host["address"], item))
    return problems


def _networks(items):
    nets = []
    for item in items or []:
        try:
            nets.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            continue
    return nets


def discovery_scope(discovery):
    """(networks swept, networks excluded, ports swept) of a sweep's hand-off:
    the inputs the playbook gave the module (``ranges``, ``exclude``, ``ports``)."""
    return (_networks(discovery.get("ranges")), _networks(discovery.get("exclude")),
            set(p for p in discovery.get("ports") or [] if isinstance(p, int)))


def in_discovery_scope(address, port, discovery):
    """True when this sweep asked ``address`` on ``port``: a discovered
    finding there that it did not see again is fixed (not carried)."""
    if not discovery:
        return False
    ranges, excluded, ports = discovery_scope(discovery)
    try:
        ip = ipaddress.ip_address(str(address))
    except ValueError:
        return False
    if port not in ports:
        return False
    if any(ip.version == n.version and ip in n for n in excluded):
        return False
    return any(ip.version == n.version and ip in n for n in ranges)


def join_discovery(report, discovery, catalog, discovery_only=False):
    """Join a sweep's hand-off into ``report`` (build_report's), in place.

    ``discovery``: {swept_at, ranges, ports, exclude, inventory (address ->
    inventory name of the managed hosts), result: the module's {hosts,
    scanned, excluded, elapsed}} (the result's keys may also be at the top).
    Unmanaged addresses answering as a model server become hosts of status
    ``unmanaged`` with their findings; managed ones are listed in
    ``report["discovery"]["hosts"]`` with the name of their audited entry
    (``host``) and no finding. ``discovery_only``: no host was audited in
    this run (playbooks/discover.yml alone): the hosts of the previous report
    are listed as not audited (apply_history). Returns the report.
    """
    result = discovery.get("result") if isinstance(discovery.get("result"), dict) else discovery
    inventory = discovery.get("inventory") or {}
    swept_at = discovery.get("swept_at")
    pointers = []
    counts = {"addresses": 0, "managed": 0, "unmanaged": 0, "unmanaged_open": 0, "not_model_servers": 0}
    for host in sorted(result.get("hosts") or [], key=lambda h: _address_key(h.get("address"))):
        address = host["address"]
        records = sorted((r for r in host.get("ports") or [] if isinstance(r, dict)), key=lambda r: r.get("port"))
        models = [r for r in records if discovery_kind(r)]
        counts["addresses"] += 1
        seen = [{"port": r.get("port"), "scheme": r.get("scheme"), "kind": r.get("kind"), "state": r.get("state"),
                 "open": bool(r.get("open")), "auth": bool(r.get("auth")), "version": r.get("version"),
                 "models": r.get("models"), "fingerprint": r.get("fingerprint") or discovery_subject(r)}
                for r in records]
        managed = bool(host.get("managed")) or address in inventory
        pointer = {"address": address, "managed": managed, "ports": seen}
        if managed:
            counts["managed"] += 1
            name = inventory.get(address)
            pointer.update(host=name, audited=name in report["hosts"])
            if name in report["hosts"]:
                # What the sweep saw of an audited host, beside the audit's
                # own probe: shown, never a finding, never its status.
                report["hosts"][name]["discovered"] = seen
        elif not models:
            counts["not_model_servers"] += 1
            pointer["host"] = None
        else:
            name = address if address not in report["hosts"] else "unmanaged:%s" % address
            findings = []
            for record in models:
                findings += discovery_findings(record, catalog, name)
            is_open = any(f["id"] == DISCOVERY_OPEN for f in findings)
            counts["unmanaged"] += 1
            counts["unmanaged_open"] += 1 if is_open else 0
            report["hosts"][name] = {
                "status": STATUS_UNMANAGED, "managed": False, "address": address,
                # No time here either (the sweep's is report["discovery"]["swept_at"]).
                "reason": "not in the inventory: %s, found by discovery" % (
                    "answers as a model server without credentials" if is_open else "a model server asking for "
                    "credentials or handing out no model"),
                "os": None, "systemd": None, "listeners": [], "services": [], "processes": [], "containers": [],
                "installs": [], "probe": seen, "warnings": [], "discovered": seen,
                "doors": [{"port": r.get("port"), "category": "discovered", "kind": discovery_kind(r),
                           "state": r.get("state"), "credentials": bool(r.get("auth"))} for r in models]}
            pointer["host"] = name
            for finding in findings:
                report["findings"].append(dict(finding, host=name, host_status=STATUS_UNMANAGED, status=STATUS_NEW,
                                               swept_at=swept_at, first_seen=report["generated_at"],
                                               last_seen=report["generated_at"]))
        pointers.append(pointer)
    report["findings"].sort(key=lambda f: (f["host"], -severity_rank(f["severity"]), f["id"], f.get("subject", "")))
    report["discovery"] = {
        "swept_at": swept_at, "ranges": list(discovery.get("ranges") or []),
        "ports": list(discovery.get("ports") or []), "exclude": list(discovery.get("exclude") or []),
        "scanned": result.get("scanned"), "excluded": result.get("excluded"), "elapsed": result.get("elapsed"),
        "only": bool(discovery_only), "summary": counts, "hosts": pointers}
    report["summary"] = summarize_report(report["hosts"], report["findings"])
    return report


def _address_key(address):
    try:
        ip = ipaddress.ip_address(str(address))
        return (ip.version, int(ip), "")
    except ValueError:
        return (9, 0, str(address))


def discovery_exceptions(exceptions, report):
    """The exceptions of the inventory (host -> entries) given to the
    unmanaged hosts of ``report`` too: an entry of a discovery control is
    read from any host's list (group_vars/all) and covers a discovered
    host when its ``host`` is the address (or it names no host)."""
    exceptions = dict(exceptions or {})
    entries, keys = [], set()
    for host in sorted(exceptions):
        for entry in exceptions[host] or []:
            if isinstance(entry, dict) and entry.get("id") in DISCOVERY_CONTROLS:
                key = json.dumps(entry, sort_keys=True, default=str)
                if key not in keys:
                    keys.add(key)
                    entries.append(entry)
    for name, entry in (report.get("hosts") or {}).items():
        if entry.get("status") == STATUS_UNMANAGED:
            exceptions[name] = [dict(e, host=name) if e.get("host") else e for e in entries
                                if not e.get("host") or e["host"] in (name, entry.get("address"))]
    return exceptions


def _keep_undiscovered_hosts(report, previous):
    """The hosts of the previous report a run with discovery does not list:
    an unmanaged one the sweep did not ask again (outside its ranges or
    ports) and, in a discovery-only run, every audited one, as not audited
    (their findings are carried). An unmanaged one the sweep asked again and
    found no model server on is left out: its findings are fixed."""
    discovery = report.get("discovery") or {}
    kept = 0
    for name, entry in sorted(((previous or {}).get("hosts") or {}).items()):
        if name in report["hosts"] or not isinstance(entry, dict):
            continue
        if entry.get("status") == STATUS_UNMANAGED or entry.get("managed") is False:
            ports = entry.get("discovered") or []
            asked = [p for p in ports if in_discovery_scope(entry.get("address"), p.get("port"), discovery)]
            if ports and len(asked) == len(ports):
                continue
            why = ("found by an earlier sweep, not in this sweep's ranges or ports" if discovery
                   else "found by an earlier sweep; no sweep joined in this run")
        elif discovery.get("only"):
            why = "discovery only (playbooks/discover.yml): not audited in this run"
        else:
            continue
        report["hosts"][name] = dict(entry, status=STATUS_NOT_AUDITED, reason=why)
        kept += 1
    if kept:
        report["summary"].update(summarize_report(report["hosts"], report["findings"]))


def _literal(text):
    try:
        return str(ipaddress.ip_address(str(text).strip().strip("[]")))
    except ValueError:
        return None


def inventory_addresses(hostvars, hosts):
    """The addresses of the inventory's hosts, address -> inventory name (the
    first host of ``hosts`` that has it): each host's ``ansible_host`` (its
    name when unset) and its ``ollama_discover_addresses`` and
    ``ollama_audit_probe_addresses``, IP literals only (names are not
    resolved, as the inventory plugin ollama_toolkit.exposure.discover does).
    The sweep names these ``managed``; the report points them to their host."""
    found = {}
    for host in hosts or []:
        values = hostvars[host]
        candidates = [values["ansible_host"] if "ansible_host" in values else host]
        for name in ("ollama_discover_addresses", "ollama_audit_probe_addresses"):
            extra = values[name] if name in values else []
            candidates += list(extra) if isinstance(extra, (list, tuple)) else []
        for address in (_literal(c) for c in candidates):
            if address:
                found.setdefault(address, host)
    return found
