# -*- coding: utf-8 -*-
"""plugin_utils/ollama_harden.py: harden.yml's decisions (issue 27)."""

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_harden as h
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_stamp import digest

SERVICE = {"name": "ollama.service", "env": {"OLLAMA_HOST": "127.0.0.1"}, "cloud": {"enabled": False}}
READ = {"systemd": True, "services": [SERVICE], "processes": [], "containers": [], "stamps": {}}
CONTEXT = {"host": "h1", "options": "o1", "toolkit": "t1", "front": True, "firewall": "true", "upgrade": False}
REPORT = {"hosts": {"h1": {"status": "secure"}}, "probe": {"h1": {"ports": [11434]}}}


def with_stamps(read, **stamps):
    return dict(read, stamps=stamps)


def fine(inputs, expects=()):
    return {"present": True, "drift": [], "inputs": inputs, "data": {"expects": list(expects)}}


@pytest.mark.parametrize("settings, name", [
    ({"harden_serial": "0"}, "harden_serial"), ({"harden_serial": ["1", "101%"]}, "harden_serial"),
    ({"harden_serial": []}, "harden_serial"), ({"harden_max_fail_percentage": "101"}, "harden_max_fail_percentage"),
    ({"harden_front": "maybe"}, "harden_front"), ({"harden_firewall": "2"}, "harden_firewall"),
    ({"harden_upgrade": "on-ish"}, "harden_upgrade")])
def test_each_bad_rollout_variable_is_named(settings, name):
    errors = h.rollout_errors(settings)
    assert len(errors) == 1 and errors[0].startswith(name), errors


def test_good_rollout_variables_pass():
    assert h.rollout_errors({}) == []
    assert h.rollout_errors({"harden_serial": [1, "25%", "100%"], "harden_max_fail_percentage": 0,
                             "harden_front": "yes", "harden_firewall": True, "harden_upgrade": "false"}) == []


def test_the_options_digest_keeps_secrets_hashed_and_sees_what_matters():
    creds = [{"name": "alice", "role": "user", "password": "alice-Pa55word-4-front"}]
    base = {"harden_front": True, "ollama_front_credentials": creds, "ollama_front_tls_key": "KEY",
            "ollama_bind_adopt": True, "unrelated": 1}
    one = h.options_digest(base, "h1")
    assert one == h.options_digest(dict(base, unrelated=2, ollama_audit_probe=False), "h1")
    # The walls' own facts (a fact cache would keep them) are not options.
    assert one == h.options_digest(dict(base, ollama_bind_plan={"x": 1}, ollama_front_plan={}, ollama_firewall_plan=[],
                                        ollama_bind_verify_facts={}), "h1")
    assert one != h.options_digest(dict(base, ollama_bind_adopt=False), "h1")
    assert one != h.options_digest(dict(base, ollama_front_tls_key="KEY2"), "h1")
    moved = [dict(creds[0], password="another-Pa55word-4-front")]
    assert one != h.options_digest(dict(base, ollama_front_credentials=moved), "h1")
    with pytest.raises(ValueError):
        h.options_digest(dict(base, ollama_front_credentials=[{"name": "x"}]), "h1")


def test_untouched_only_when_harden_json_and_every_stamp_it_counts_on_hold():
    inputs = h.inputs_of(READ, CONTEXT)
    good = with_stamps(READ, harden=fine(inputs, ["ollama_front"]), ollama_front=fine("f"))
    assert h.host_plan(good, REPORT, CONTEXT)["untouched"] is True
    moved = with_stamps(READ, harden=fine(inputs, ["ollama_front"]), ollama_front=dict(fine("f"), drift=["x"]))
    assert h.host_plan(moved, REPORT, CONTEXT)["untouched"] is False
    gone = with_stamps(READ, harden=fine(inputs, ["ollama_front"]))
    assert h.host_plan(gone, REPORT, CONTEXT)["untouched"] is False
    other = with_stamps(READ, harden=fine(inputs), ollama_front=fine("f"))
    assert h.host_plan(other, REPORT, dict(CONTEXT, options="o2"))["untouched"] is False
    assert h.host_plan(other, REPORT, dict(CONTEXT, upgrade="true"))["untouched"] is False
    assert h.host_plan(dict(READ), REPORT, CONTEXT)["untouched"] is False


def test_blocked_and_frontless_hosts():
    blocked = h.host_plan({}, {"hosts": {"h1": {"status": "unreachable"}}}, CONTEXT)
    assert blocked["blocked"] and not blocked["ollama"] and not blocked["front"] and not blocked["untouched"]
    assert blocked["no_front_why"] is None
    bare = h.host_plan(dict(READ, systemd=False), REPORT, CONTEXT)
    assert not bare["front"] and "no systemd" in bare["no_front_why"] and bare["firewall"]
    empty = h.host_plan(dict(READ, services=[]), REPORT, CONTEXT)
    assert "no Ollama" in empty["no_front_why"] and not empty["firewall"]
    assert h.host_plan(READ, REPORT, dict(CONTEXT, front=False))["no_front_why"] is None
    assert h.host_plan(READ, REPORT, CONTEXT)["exposed_before"] is False


def wall(name, write=True, settled=True):
    return {"wall": name, "stamp": {"name": name, "write": write}, "settled": settled}


RUN = {"run_tags": ["all"], "skip_tags": [], "check_mode": False}


def test_record_counts_on_the_stamps_written_and_only_after_a_settled_whole_run():
    plan = h.host_plan(READ, REPORT, CONTEXT)
    # The walls changed the host: the record holds the read after them.
    after = with_stamps(dict(READ, services=[dict(SERVICE, env={"OLLAMA_HOST": "127.0.0.1:11434"})]),
                        ollama_front=fine("f"), ollama_bind=fine("b"))
    done = h.record(plan, after, [wall("ollama_front"), wall("ollama_bind"), wall("ollama_firewall", write=False),
                                  None], RUN)
    assert done["write"] and done["expects"] == ["ollama_bind", "ollama_front"]
    assert done["inputs"] == h.inputs_of(after, plan["digests"]) != plan["inputs"]
    assert not h.record(plan, after, [wall("ollama_front", settled=False)], RUN)["write"]
    assert not h.record(plan, READ, [wall("ollama_front")], RUN)["write"]
    by_hand = dict(after, processes=[{"pid": 9, "unit": None, "container": None}])
    assert not h.record(plan, by_hand, [wall("ollama_front")], RUN)["write"]
    for run in ({"run_tags": ["OLLAMA-FW-003"]}, {"skip_tags": ["ollama_front"]}, {"skip_tags": ["OLLAMA-BIND-002"]},
                {"check_mode": True}):
        assert not h.record(plan, after, [wall("ollama_front")], dict(RUN, **run))["write"], run
    assert h.record(plan, after, [wall("ollama_front")], dict(RUN, skip_tags=["unrelated"]))["write"]
    frontless = h.host_plan(dict(READ, systemd=False), REPORT, CONTEXT)
    assert not h.record(frontless, after, [], RUN)["write"]


def test_the_next_start_computes_what_the_end_recorded():
    plan = h.host_plan(READ, REPORT, CONTEXT)
    after = with_stamps(READ, ollama_front=fine("f"))
    done = h.record(plan, after, [wall("ollama_front")], RUN)
    again = with_stamps(READ, harden=fine(done["inputs"], done["expects"]), ollama_front=fine("f"))
    assert h.host_plan(again, REPORT, CONTEXT)["untouched"] is True
    assert done["inputs"] == digest({"vars": "o1", "read": h.read_view(after), "toolkit": "t1"})


def test_probe_reuse_skipped_and_cloud():
    one, two = dict(h.host_plan(READ, REPORT, CONTEXT), untouched=True), dict(h.host_plan(READ, REPORT, CONTEXT))
    two["host"] = "h2"
    assert h.probe_reuse([one, two, None]) == {"h1": {"ports": [11434]}}
    out = h.skipped(["h1", "h2", "h3"], ["h1", "h2"], ["h1"])
    assert sorted(out) == ["h2", "h3"] and "failed" in out["h2"] and "not reached" in out["h3"]
    cloud = dict(READ, services=[dict(SERVICE, cloud={"enabled": True})])
    hosts = {"b": {"ollama_audit_facts": cloud}, "a": {"ollama_audit_facts": cloud},
             "c": {"ollama_audit_facts": cloud, "ollama_bind_disable_cloud": "true"}, "d": {"ollama_audit_facts": READ},
             "e": {}}
    assert h.cloud_on(hosts) == ["a", "b"]


# -- the doors (issue 26): the firewall wall runs where a door is; the failure after the walls is the
# report's (test_harden_still_exposed.py) --------------------------------------------------------
# Fixture reads and probes shaped per the contract (plugin_utils/ollama_doors.py, module_utils/ollama_probe.py).
def wide(port):
    return [{"address": "0.0.0.0", "port": port, "family": "ipv4", "scope": "wildcard"}]


VLLM = {"kind": "vllm", "source": "process", "process": "vllm", "unit": "vllm.service", "container": None,
        "listen": wide(8000), "bind": {"exposed": True, "port": 8000}, "key": {"set": False}}


def test_the_firewall_wall_runs_on_a_host_with_doors_and_no_ollama():
    doors_only = dict(READ, services=[], servers=[VLLM])
    assert h.host_plan(doors_only, REPORT, CONTEXT)["firewall"] is True
    assert h.host_plan(doors_only, REPORT, dict(CONTEXT, firewall=False))["firewall"] is False
    assert h.host_plan(dict(READ, services=[]), REPORT, CONTEXT)["firewall"] is False
    blocked = {"hosts": {"h1": {"status": "unreachable"}}}
    assert h.host_plan(doors_only, blocked, CONTEXT)["firewall"] is False
