# -*- coding: utf-8 -*-
"""Sliced runs make one fleet report: ollama_report with merge_from (the
action plugin as Ansible runs it, and playbooks/report.yml), merge_slices,
the life cycle across merged runs, and writers racing for one directory."""

import json
import multiprocessing
import os
import re
import time

import pytest
from conftest import without_unfixed
from playbook_run import ansible_playbook

from ansible.errors import AnsibleActionFail

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_render import (
    publish_report, read_report, read_slices)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (
    merge_slices, validate_merge_from)
from test_entry_report_action import action, tree
from test_ollama_render import run

T1, T2, T3 = "2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z", "2026-12-03T10:00:00Z"
SLICES = {"1": {"web": "0.0.0.0", "ok": "127.0.0.1"}, "2": {"db": "0.0.0.0:8080", "down": False, "bare": None}}


@pytest.fixture(scope="module")
def catalog(catalog):
    """Without OLLAMA-VER-003 (every install has it; test_ollama_findings.py tests it)."""
    return without_unfixed(catalog)


def make_slice(catalog, directory, when, hosts, exceptions=None):
    """A slice's report directory, as one audit slice writes it."""
    publish_report(str(directory), run(catalog, when, hosts, exceptions=exceptions), catalog)
    return str(directory)


@pytest.fixture
def slices(tmp_path, catalog):
    """Two slices of a fleet (slices/1, slices/2) audited at T1."""
    return [make_slice(catalog, tmp_path / "slices" / name, T1, hosts) for name, hosts in sorted(SLICES.items())]


def merge(dest, merge_from, catalog, when=T1, **extra):
    args = {"dest": str(dest), "merge_from": merge_from, "catalog": catalog, "generated_at": when}
    args.update(extra)
    return action(args).run(task_vars={})


def test_disjoint_slices_make_one_report_with_every_document(tmp_path, slices, catalog):
    dest = tmp_path / "fleet"
    result = merge(dest, slices, catalog)
    assert not result.get("failed") and result["missing_slices"] == []
    report = read_report(str(dest))
    assert sorted(report["hosts"]) == ["bare", "db", "down", "ok", "web"]
    assert {h: e["status"] for h, e in report["hosts"].items()} == {
        "web": "exposed", "ok": "secure", "db": "exposed", "down": "unreachable", "bare": "not_installed"}
    parts = [read_report(s) for s in slices]
    assert sorted(f["fingerprint"] for f in report["findings"]) == sorted(
        f["fingerprint"] for p in parts for f in p["findings"])
    assert {f["status"] for f in report["findings"]} == {"new"} and report["summary"]["hosts"] == 5
    assert [(m["dir"], m["hosts"]) for m in report["merged_from"]] == [(slices[0], 2), (slices[1], 3)]
    assert sorted(os.listdir(dest / "tickets")) == sorted("%s.md" % f["fingerprint"] for f in report["findings"])
    for name in ("findings.csv", "report.md", "junit.xml", "report.html"):
        assert (dest / name).stat().st_size > 0
    assert "Merged from 2 slice(s)" in (dest / "report.md").read_text()
    assert result["summary"] == report["summary"]


def test_a_host_in_two_slices_fails_naming_it_and_both_slices(tmp_path, slices, catalog):
    third = make_slice(catalog, tmp_path / "slices" / "3", T1, {"web": "127.0.0.1"})
    with pytest.raises(AnsibleActionFail) as err:
        merge(tmp_path / "fleet", slices + [third], catalog)
    assert "host web is in slice %s and in slice %s" % (slices[0], third) in str(err.value)
    assert not (tmp_path / "fleet").exists()


def test_a_missing_slice_fails_before_writing_unless_allowed(tmp_path, slices, catalog):
    dest = tmp_path / "fleet"
    merge(dest, slices, catalog)  # a complete fleet report first
    empty = tmp_path / "slices" / "3"
    empty.mkdir()
    gone = str(tmp_path / "slices" / "4")
    with pytest.raises(AnsibleActionFail) as err:
        merge(dest, [slices[0], str(empty), gone], catalog, when=T2)
    assert str(empty) in str(err.value) and gone in str(err.value) and "nothing written" in str(err.value)
    assert read_report(str(dest))["generated_at"] == T1  # the complete report is kept

    result = merge(dest, [slices[0], str(empty), gone], catalog, when=T2, merge_allow_missing=True)
    assert not result.get("failed") and [m["dir"] for m in result["missing_slices"]] == [str(empty), gone]
    report = read_report(str(dest))
    assert [m["dir"] for m in report["missing_slices"]] == [str(empty), gone]
    # The hosts of the missing slices stay listed, not audited, their findings carried (not fixed).
    assert {h: e["status"] for h, e in report["hosts"].items() if h in SLICES["2"]} == dict.fromkeys(
        SLICES["2"], "not_audited")
    db = [f for f in report["findings"] if f["host"] == "db"]
    assert db and all(f["carried"] and f["status"] == "open" for f in db)
    assert "Partial fleet report" in (dest / "report.md").read_text()
    assert 'id="missing-slices"' in (dest / "report.html").read_text()


def test_no_readable_slice_at_all_fails(tmp_path, catalog):
    with pytest.raises(AnsibleActionFail, match="no slice of merge_from"):
        merge(tmp_path / "fleet", [str(tmp_path / "nothing")], catalog, merge_allow_missing=True)
    assert not (tmp_path / "fleet").exists()


@pytest.mark.parametrize("bad,message", [
    ("slices/1,slices/2", "merge_from must be a list"),
    ([], "merge_from is empty"),
    (["slices/1", 3], "merge_from, entry 2 must be a directory path"),
    (["slices/1", ""], "merge_from, entry 2 must be a directory path"),
    (["slices/1", "slices/1"], "merge_from lists slices/1 more than once"),
    ({"a": "b"}, "merge_from must be a list"),
])
def test_bad_merge_from_is_named_before_anything_is_written(tmp_path, catalog, bad, message):
    with pytest.raises(AnsibleActionFail, match=message):
        merge(tmp_path / "fleet", bad, catalog)
    assert not (tmp_path / "fleet").exists()
    assert validate_merge_from(["a", "b"]) == []


def test_merge_from_and_results_exclude_each_other(tmp_path, slices, catalog):
    with pytest.raises(AnsibleActionFail, match="mutually exclusive"):
        merge(tmp_path / "fleet", slices, catalog, results={})


def test_the_life_cycle_continues_across_merged_runs(tmp_path, catalog):
    """new -> open -> fixed, first_seen kept, exceptions as the slices applied them."""
    dest = str(tmp_path / "fleet")
    exceptions = {"db": [{"id": "OLLAMA-BIND-001", "reason": "lab", "owner": "secops", "expires": "2099-01-01"}]}

    def merged_run(when, web, number):
        base = tmp_path / ("run%d" % number)
        parts = [make_slice(catalog, base / "1", when, {"web": web}),
                 make_slice(catalog, base / "2", when, {"db": "0.0.0.0"}, exceptions)]
        merge(dest, parts, catalog, when=when)
        return read_report(dest)

    first = merged_run(T1, "0.0.0.0", 1)
    web = {f["id"]: f for f in first["findings"] if f["host"] == "web"}
    assert web and {f["status"] for f in web.values()} == {"new"}
    assert {f["id"]: f["status"] for f in first["findings"] if f["host"] == "db"}["OLLAMA-BIND-001"] == "excepted"
    second = merged_run(T2, "0.0.0.0", 2)
    assert second["compared_to"] == T1
    again = {f["id"]: f for f in second["findings"] if f["host"] == "web"}
    assert {f["status"] for f in again.values()} == {"open"}
    assert all(again[i]["first_seen"] == T1 and again[i]["last_seen"] == T2 for i in web)
    third = merged_run(T3, "127.0.0.1", 3)
    fixed = {f["id"]: f for f in third["findings"] if f["host"] == "web"}
    assert set(fixed) == set(web) and {f["status"] for f in fixed.values()} == {"fixed"}
    assert {f["status"] for f in third["findings"] if f["host"] == "db"} == {"open", "excepted"}
    assert third["summary"]["by_lifecycle"]["fixed"] == len(web)


def test_merge_slices_leaves_the_slices_own_history_out(catalog):
    """A slice compared with its own earlier run: its fixed findings are not merged, its times are not kept."""
    before = run(catalog, T1, {"web": "0.0.0.0", "db": "0.0.0.0"})
    after = run(catalog, T2, {"web": "127.0.0.1", "db": "0.0.0.0"}, previous=before)
    report, _ = merge_slices([("s1", after, None)], T3)
    assert {f["host"] for f in report["findings"]} == {"db"}
    assert {(f["status"], f["first_seen"]) for f in report["findings"]} == {("new", T3)}


def _merge_many(dest, parts, catalog, hour, rounds, barrier, log):
    """One writer: ``rounds`` merges of ``parts`` into ``dest``, each timed
    (``run``: the whole merge; ``locked``: the time it held dest's lock,
    writing), after the other writer is ready too (``barrier``)."""
    from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_render

    write = ollama_render.write_report

    def timed_write(*args, **kwargs):
        start = time.monotonic()
        time.sleep(0.01)  # a slower disk: the other writer meets the lock
        try:
            return write(*args, **kwargs)
        finally:
            log.put((hour, "locked", start, time.monotonic()))

    ollama_render.write_report = timed_write  # this process only (forked)
    barrier.wait(60)
    for minute in range(rounds):
        when = "2026-12-01T%02d:%02d:00Z" % (hour, minute)
        start = time.monotonic()
        report, exceptions = merge_slices(read_slices(parts), when)
        publish_report(dest, report, catalog, exceptions)
        log.put((hour, "run", start, time.monotonic()))


def test_two_merges_into_one_directory_at_once_leave_a_whole_report(tmp_path, slices, catalog):
    """Two writers merge into one directory at the same time: they provably
    overlap (one starts a merge while the other holds the lock), the lock
    keeps their writing apart, and no entry is lost (every finding of
    either slice is in the last report, fresh or carried)."""
    dest = str(tmp_path / "fleet")
    rounds = 15
    context = multiprocessing.get_context("fork")
    barrier, log = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_merge_many, args=(dest, parts, catalog, hour, rounds, barrier, log))
               for hour, parts in ((10, slices), (11, slices[:1]))]
    for worker in workers:
        worker.start()
    events = [log.get(timeout=120) for _ in range(2 * 2 * rounds)]
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    spans = dict(((hour, kind), sorted((s, e) for h, k, s, e in events if (h, k) == (hour, kind)))
                 for hour in (10, 11) for kind in ("run", "locked"))
    assert all(len(v) == rounds for v in spans.values())  # every round of both writers wrote
    # They overlapped: a merge of one writer began while the other held the lock.
    waited = [(h, s) for h, other in ((10, 11), (11, 10)) for s, _e in spans[(h, "run")]
              if any(ls < s < le for ls, le in spans[(other, "locked")])]
    assert waited, "the two writers never ran at the same time"
    # The lock kept them apart: no two writings overlap.
    writing = sorted(spans[(10, "locked")] + spans[(11, "locked")])
    assert all(end <= later for (_s, end), (later, _e) in zip(writing, writing[1:])), writing
    with open(os.path.join(dest, "findings.json")) as handle:
        report = json.load(handle)  # whole JSON, never a part
    assert report["generated_at"] in ("2026-12-01T10:14:00Z", "2026-12-01T11:14:00Z")
    # The documents are those of one run: the lock keeps a run's files together.
    assert report["generated_at"] in (tmp_path / "fleet" / "report.md").read_text()
    # No entry lost: every finding of both slices is there, still open (the hosts of
    # slice 2, absent from writer 11's merges, carried), none fixed.
    wanted = set(f["fingerprint"] for d in slices for f in read_report(d)["findings"])
    assert wanted and set(f["fingerprint"] for f in report["findings"]) == wanted
    assert {f["status"] for f in report["findings"]} == {"open"}
    assert sorted(os.listdir(os.path.join(dest, "tickets"))) == sorted(
        "%s.md" % f["fingerprint"] for f in report["findings"] if f["status"] in ("new", "open"))
    assert not [n for n in os.listdir(dest) if n.startswith(".tmp-")]


def test_the_playbook_merges_the_slices(tmp_path, slices):
    """playbooks/report.yml on localhost, as the AWX merge job runs it."""
    dest = str(tmp_path / "fleet")

    def playbook(*extra):
        return ansible_playbook(["playbooks/report.yml"] + list(extra))

    proc = playbook("-e", json.dumps({"merge_from": slices}), "-e", "report_dir=%s" % dest)
    assert proc.returncode == 0, proc.stdout
    report = read_report(dest)
    assert sorted(report["hosts"]) == ["bare", "db", "down", "ok", "web"] and len(report["merged_from"]) == 2
    assert "2 slice(s), 5 hosts" in proc.stdout
    bad = playbook("-e", "merge_from=%s" % ",".join(slices), "-e", "report_dir=%s" % (tmp_path / "bad"))
    assert bad.returncode != 0 and "merge_from must be a non-empty list" in bad.stdout
    assert not (tmp_path / "bad").exists()


def test_the_playbook_is_idempotent_and_writes_nothing_in_check_mode(tmp_path, slices):
    """A second merge of the same slices changes nothing (recap changed=0, the
    report does not move); --check writes nothing at all: the directory tree
    (names, contents, modes, mtimes) is the same after it, and a fleet
    directory that does not exist yet is not created. The control: the same
    run without --check rewrites the files (its time moves)."""
    dest = str(tmp_path / "fleet")

    def playbook(*extra, **kw):
        return ansible_playbook(["playbooks/report.yml", "-e", json.dumps({"merge_from": slices}),
                                 "-e", "report_dir=%s" % kw.get("dest", dest)] + list(extra), {"ANSIBLE_NOCOLOR": "1"})

    fresh = str(tmp_path / "never")
    checked = playbook("--check", dest=fresh)
    assert checked.returncode == 0, checked.stdout
    assert not os.path.exists(fresh), "--check created the report directory"
    first = playbook()
    assert first.returncode == 0, first.stdout
    before = read_report(dest)
    for extra in (["--check"], []):
        files = tree(dest)
        again = playbook(*extra)
        assert again.returncode == 0, again.stdout
        assert re.search(r"localhost\s+: ok=\d+\s+changed=0\s", again.stdout), again.stdout[-1500:]
        after = read_report(dest)
        assert sorted(after["hosts"]) == sorted(before["hosts"])
        assert {f["fingerprint"]: f["first_seen"] for f in after["findings"]} == \
            {f["fingerprint"]: f["first_seen"] for f in before["findings"]}
        if extra:
            assert tree(dest) == files, "--check wrote into the report directory"
        else:
            # The positive control: a real run rewrites (findings.json's time moves).
            moved = tree(dest)
            assert moved != files and moved["findings.json"] != files["findings.json"]
