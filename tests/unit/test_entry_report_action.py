# -*- coding: utf-8 -*-
"""The ollama_report action plugin's run(), as Ansible calls it: the plugin
is found by Ansible's action loader and given a task, connection, play
context, loader and templar (mocks where the plugin does not use them, as in
ansible-core's own unit tests of action plugins)."""

import json
import os

import pytest
from conftest import load_action, without_unfixed

from ansible.errors import AnsibleActionFail

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import (
    evaluate_host, host_status)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import parse_ollama_host

GENERATED_AT = "2026-11-25T18:00:00Z"
OVERRIDE = "/etc/systemd/system/ollama.service.d/override.conf"
REPORT_FILES = ["findings.csv", "findings.json", "junit.xml", "report.html", "report.md"]


@pytest.fixture(scope="module")
def catalog(catalog):
    """Without OLLAMA-VER-003 (every install has it; test_ollama_findings.py tests it)."""
    return without_unfixed(catalog)


def audited(catalog, host, value, address, scope, version):
    """One host's ollama_info result, as the role hands it to ollama_report (audit_inputs part results)."""
    facts = {"changed": False, "supported": True, "systemd": True, "host_id": host,
             "os": {"ID": "debian", "VERSION_ID": "12"}, "processes": [], "containers": [],
             "services": [{"name": "ollama.service", "fragment": "/etc/systemd/system/ollama.service",
                           "dropins": [OVERRIDE], "masked": False, "env": {"OLLAMA_HOST": value},
                           "env_origin": {"OLLAMA_HOST": {"file": OVERRIDE, "line": 2, "via": "Environment"}},
                           "bind": parse_ollama_host(value), "origins_wildcards": [], "errors": [],
                           "active_state": "active"}],
             "listeners": [{"address": address, "port": 11434, "family": "ipv4", "scope": scope, "pid": 10,
                            "unit": "ollama.service", "inferred": False}],
             "installs": [{"subject": "ollama.service", "version": version}],
             "addresses": ["10.0.0.2"], "other_listeners": [], "warnings_detail": [],
             "invocation": {"module_args": {"host_id": host}}}
    facts["findings"] = evaluate_host(facts, catalog, host)
    facts["status"] = host_status(facts, facts["findings"], catalog)
    return facts


@pytest.fixture
def fleet(catalog):
    return {"web-1": audited(catalog, "web-1", "0.0.0.0:11434", "0.0.0.0", "wildcard", "0.1.28"),
            "db-2": audited(catalog, "db-2", "127.0.0.1", "127.0.0.1", "loopback", "0.17.1"),
            "gone-3": {"unreachable": True, "msg": "UNREACHABLE: ssh timed out"}}


def action(args, check_mode=False):
    """The plugin as the task executor gets it from the action loader."""
    return load_action("ollama_report", args, check_mode)[0]


def report_args(dest, fleet, catalog, **extra):
    args = {"dest": str(dest), "results": fleet, "skipped": {}, "catalog": catalog,
            "generated_at": GENERATED_AT}
    args.update(extra)
    return args


def test_run_writes_every_report_file_and_returns_the_summary(tmp_path, fleet, catalog):
    dest = tmp_path / "reports"
    result = action(report_args(dest, fleet, catalog)).run(task_vars={})
    assert result["changed"] is False and not result.get("failed")
    assert result["differs"] is True  # nothing in dest before
    tickets = sorted(os.listdir(dest / "tickets"))
    assert sorted(p for p in os.listdir(dest) if os.path.isfile(dest / p)) == [".lock"] + REPORT_FILES
    assert sorted(result["files"]) == sorted([str(dest / name) for name in REPORT_FILES] +
                                             [str(dest / "tickets" / name) for name in tickets])
    assert dict((h, e["status"]) for h, e in result["hosts"].items()) == {
        "web-1": "exposed", "db-2": "secure", "gone-3": "unreachable"}
    assert result["hosts"]["web-1"]["findings"] and result["hosts"]["db-2"]["findings"] == []
    assert len(tickets) == result["summary"]["open"] == len(result["hosts"]["web-1"]["findings"])  # one per finding
    written = json.loads((dest / "findings.json").read_text())
    assert written["generated_at"] == GENERATED_AT
    assert sorted(written["hosts"]) == ["db-2", "gone-3", "web-1"]
    assert result["summary"] == written["summary"]
    assert result["failing"] == []  # fail_on defaults to never


def test_a_second_run_with_the_same_audit_does_not_differ(tmp_path, fleet, catalog):
    action(report_args(tmp_path, fleet, catalog)).run(task_vars={})
    again = action(report_args(tmp_path, fleet, catalog, generated_at="2026-11-26T18:00:00Z")).run(task_vars={})
    assert again["changed"] is False and again["differs"] is False


def test_write_false_writes_nothing(tmp_path, fleet, catalog):
    result = action(report_args(tmp_path / "none", fleet, catalog, write=False)).run(task_vars={})
    assert not (tmp_path / "none").exists()
    assert result["files"] == [] and result["hosts"]["web-1"]["status"] == "exposed"
    # The control: the same call with write on creates the directory.
    action(report_args(tmp_path / "none", fleet, catalog)).run(task_vars={})
    assert (tmp_path / "none" / "findings.json").exists()


def tree(root):
    """Every directory and file under ``root`` (root included): its path,
    kind, mode, mtime (ns) and, for a file, the SHA-256 of its content."""
    import hashlib
    found = {}
    if not os.path.lexists(root):
        return found
    for directory, _dirs, files in os.walk(root):
        for path in [directory] + [os.path.join(directory, name) for name in files]:
            info = os.lstat(path)
            digest = None
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            found[os.path.relpath(path, root)] = (info.st_mode, info.st_mtime_ns, digest)
    return found


def test_check_mode_writes_nothing_and_says_what_a_real_run_would(tmp_path, fleet, catalog):
    dest = tmp_path / "reports"
    action(report_args(dest, fleet, catalog)).run(task_vars={})
    # The next audit: db-2 now exposed (new findings, new tickets), web-1 fixed (its tickets go).
    later = dict(fleet, **{"web-1": audited(catalog, "web-1", "127.0.0.1", "127.0.0.1", "loopback", "0.17.1"),
                           "db-2": audited(catalog, "db-2", "0.0.0.0", "0.0.0.0", "wildcard", "0.17.1")})
    before = tree(dest)
    stale = sorted(str(dest / "tickets" / n) for n in os.listdir(dest / "tickets"))
    assert stale and before
    args = report_args(dest, later, catalog, generated_at="2026-11-26T18:00:00Z")
    checked = action(args, check_mode=True).run(task_vars={})
    assert tree(dest) == before  # no file, directory, content, mode or mtime moved
    assert checked["changed"] is False and checked["files"] == [] and checked["differs"] is True
    assert sorted(checked["would_remove"]) == stale
    assert str(dest / "findings.json") in checked["would_write"]
    assert checked["hosts"]["db-2"]["status"] == "exposed" and checked["hosts"]["web-1"]["status"] == "secure"
    # The positive control: the same call without check mode writes what check mode said it would.
    real = action(args).run(task_vars={})
    after = tree(dest)
    assert after != before
    assert sorted(real["files"]) == sorted(checked["would_write"])
    assert not any(os.path.exists(p) for p in stale)
    moved = set(p for p in after if p in before and after[p] != before[p])
    assert {"findings.json", "report.md", "report.html", "findings.csv", "junit.xml"} <= moved
    assert real["differs"] is True and real["summary"] == checked["summary"]


def test_check_mode_creates_no_directory_nor_lock(tmp_path, fleet, catalog):
    dest = tmp_path / "new" / "reports"
    before = tree(tmp_path)
    checked = action(report_args(dest, fleet, catalog), check_mode=True).run(task_vars={})
    assert tree(tmp_path) == before and not (tmp_path / "new").exists()
    assert checked["differs"] is True and str(dest / "findings.json") in checked["would_write"]
    assert checked["would_remove"] == []
    # The control: a real run creates it, lock included.
    action(report_args(dest, fleet, catalog)).run(task_vars={})
    assert (dest / ".lock").exists() and (dest / "findings.json").exists()


def test_a_real_second_run_of_an_unchanged_audit_rewrites_but_does_not_differ(tmp_path, fleet, catalog):
    """generated_at moves: the files are rewritten (time, last_seen), `differs` stays false, `changed` too."""
    action(report_args(tmp_path, fleet, catalog)).run(task_vars={})
    first = json.loads((tmp_path / "findings.json").read_text())
    again = action(report_args(tmp_path, fleet, catalog, generated_at="2026-11-26T18:00:00Z")).run(task_vars={})
    second = json.loads((tmp_path / "findings.json").read_text())
    assert again["changed"] is False and again["differs"] is False
    assert (first["generated_at"], second["generated_at"]) == (GENERATED_AT, "2026-11-26T18:00:00Z")
    assert set(f["first_seen"] for f in second["findings"]) == {GENERATED_AT}


def test_fail_on_fails_the_task_naming_the_findings(tmp_path, fleet, catalog):
    result = action(report_args(tmp_path, fleet, catalog, fail_on="high")).run(task_vars={})
    assert result["failed"] is True and result["failing"]
    assert "at or above severity high" in result["msg"] and "on web-1" in result["msg"]
    assert "db-2" not in result["msg"]
    assert (tmp_path / "findings.json").exists()  # the report is written before the task fails


@pytest.mark.parametrize("bad,named", [
    ({"fail_on": "sometimes"}, "fail_on"),
    ({"probe_ports": [0]}, "probe_ports"),
    ({"probe_timeout": "soon"}, "probe_timeout"),
    ({"destination": "/tmp"}, "destination"),
])
def test_a_bad_argument_fails_naming_it(tmp_path, fleet, catalog, bad, named):
    with pytest.raises(AnsibleActionFail) as err:
        action(report_args(tmp_path, fleet, catalog, **bad)).run(task_vars={})
    assert named in str(err.value)
    assert not os.listdir(tmp_path)


def test_a_missing_required_argument_fails_naming_it(tmp_path, fleet, catalog):
    args = report_args(tmp_path, fleet, catalog)
    del args["generated_at"]
    with pytest.raises(AnsibleActionFail, match="generated_at"):
        action(args).run(task_vars={})


def closed_port():
    """A loopback port nothing listens on (bound, then closed)."""
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_probe_local_probes_each_host_and_returns_its_probe(tmp_path, fleet, catalog):
    port = closed_port()
    result = action(report_args(tmp_path / "r", fleet, catalog, probe_local=True, probe_ports=[port],
                                probe_addresses={"web-1": ["127.0.0.1"], "db-2": ["127.0.0.1"]},
                                probe_timeout=0.5)).run(task_vars={})
    assert sorted(result["probe"]) == ["db-2", "web-1"]  # not the unreachable host
    for name in ("db-2", "web-1"):
        seen = set((r["address"], r["port"]) for r in result["probe"][name]["results"])
        assert ("127.0.0.1", port) in seen
        assert result["probe"][name]["state"] == "closed"


def test_probe_reuse_gives_a_host_its_earlier_probe_without_probing_it(tmp_path, fleet, catalog):
    port = closed_port()
    earlier = {"state": "filtered", "findings": [],
               "results": [{"host": "web-1", "address": "192.0.2.1", "port": 11434, "state": "filtered"}]}
    result = action(report_args(tmp_path / "r", fleet, catalog, probe_local=True, probe_ports=[port],
                                probe_addresses={"web-1": ["127.0.0.1"], "db-2": ["127.0.0.1"]},
                                probe_timeout=0.5,
                                probe_reuse={"web-1": earlier, "not-in-results": earlier})).run(task_vars={})
    assert result["probe"]["web-1"] == earlier  # given back, not probed on 127.0.0.1
    assert "not-in-results" not in result["probe"]
    assert [r["address"] for r in result["probe"]["db-2"]["results"]] and \
        set(r["address"] for r in result["probe"]["db-2"]["results"]) == {"127.0.0.1"}
    # A probe from elsewhere (a scanner host) keeps its fresher result over the reused one.
    fresh = dict(earlier, state="refused")
    again = action(report_args(tmp_path / "s", fleet, catalog, probe={"web-1": fresh},
                               probe_reuse={"web-1": earlier})).run(task_vars={})
    assert again["probe"]["web-1"] == fresh
