# -*- coding: utf-8 -*-
"""The scale lab's measuring (tests/bench/scale.py): paired runs against
ping, the kept run, the wait for the load to settle, the table's ratio."""

import importlib.util
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = importlib.util.spec_from_file_location("scale", os.path.join(HERE, "..", "bench", "scale.py"))
scale = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(scale)


def fake_measure(walls):
    """measure() giving the next wall of ``walls`` for each command, in order."""
    calls = []

    def measure(cmd, env=None):
        calls.append(cmd[0])
        return {"wall_s": walls.pop(0), "rc": 0, "cpu_s": 1.0, "peak_mib": 1.0}
    return measure, calls


def test_paired_runs_alternate_ping_and_the_playbook_and_keep_the_median_ratio(monkeypatch):
    # ping 2, audit 3 (1.5); ping 4, audit 4.4 (1.1); ping 2, audit 2.6 (1.3):
    # the machine slowed in the middle, each pair still compares like with like.
    measure, calls = fake_measure([2.0, 3.0, 4.0, 4.4, 2.0, 2.6])
    monkeypatch.setattr(scale, "measure", measure)
    ping, run = scale.paired_runs(["ansible"], ["ansible-playbook"], repeat=3)
    assert calls == ["ansible", "ansible-playbook"] * 3
    assert run["pair_ratios"] == [1.5, 1.1, 1.3]
    assert run["ratio"] == 1.3
    assert ping["wall_s"] == 2.0 and ping["walls_s"] == [2.0, 2.0, 4.0]
    assert run["wall_s"] == 3.0 and run["walls_s"] == [2.6, 3.0, 4.4]


def test_kept_run_is_the_median_wall_with_the_worst_rc():
    runs = [{"wall_s": 5.0, "rc": 0}, {"wall_s": 1.0, "rc": 2}, {"wall_s": 3.0, "rc": 0}]
    kept = scale.kept_run(runs)
    assert kept["wall_s"] == 3.0 and kept["walls_s"] == [1.0, 3.0, 5.0] and kept["rc"] == 2


def test_settle_waits_for_the_load_to_fall_below_the_cores(monkeypatch):
    loads = [9.0, 9.0, 5.0, 1.0, 1.0]
    monkeypatch.setattr(scale.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(scale.os, "getloadavg", lambda: (loads.pop(0), 0.0, 0.0))
    slept = []
    monkeypatch.setattr(scale.time, "sleep", slept.append)
    found = scale.settle(limit=60)
    assert found["load_before"] == 9.0 and found["load_after"] == 1.0
    assert slept == [5, 5]


def test_settle_gives_up_after_its_limit(monkeypatch):
    monkeypatch.setattr(scale.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(scale.os, "getloadavg", lambda: (30.0, 0.0, 0.0))
    clock = [0.0]
    monkeypatch.setattr(scale.time, "monotonic", lambda: clock[0])

    def sleep(seconds):
        clock[0] += seconds
    monkeypatch.setattr(scale.time, "sleep", sleep)
    found = scale.settle(limit=12)
    assert found["waited_s"] == 15.0 and found["load_after"] == 30.0


@pytest.mark.parametrize("run, ping, shown", [
    ({"wall_s": 3.0, "ratio": 1.3}, {"wall_s": 2.0}, "1.30"),
    ({"wall_s": 3.0}, {"wall_s": 2.0}, "1.50"),
    ({}, {"wall_s": 2.0}, "-"),
])
def test_the_table_gives_the_paired_ratio_and_falls_back_on_the_walls(run, ping, shown):
    assert scale.ratio_of(run, ping) == shown


def test_an_even_count_of_pairs_keeps_the_upper_middle_ratio(monkeypatch):
    measure, _calls = fake_measure([2.0, 2.2, 2.0, 2.6])
    monkeypatch.setattr(scale, "measure", measure)
    _ping, run = scale.paired_runs(["ansible"], ["ansible-playbook"], repeat=2)
    assert run["pair_ratios"] == [1.1, 1.3] and run["ratio"] == 1.3 and run["wall_s"] == 2.6
