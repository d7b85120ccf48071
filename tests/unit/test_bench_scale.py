# -*- coding: utf-8 -*-
"""The scale lab's measuring (tests/bench/scale.py): paired runs against
ping, the kept run, the wait for the load to settle, the table's ratio."""

import importlib.util
import json
import os

import pytest
import yaml

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


# ---------------------------------------------------------------- the verdict

def passing_results():
    """A whole run at 10 hosts that meets every goal (figures of run F)."""
    def run(wall, **extra):
        return dict({"wall_s": wall, "rc": 0, "recap": {"ok": 10, "changed": 0, "unreachable": 0, "failed": 0},
                     "hosts": 10, "cpu_s": 10.0, "cpu_s_per_host": 1.0, "peak_mib": 100.0, "range": "osc-001..osc-010"},
                    **extra)
    return {"complete": True, "harden": True, "sizes_wanted": [10], "sizes": {"10": {
        "ping": run(1.71), "audit": run(2.47, ratio=1.444, classified_right=10, classified_wrong=[]),
        "harden_first": run(121.0, recap={"ok": 721, "changed": 212, "unreachable": 0, "failed": 0}),
        "ping_walled": run(1.73), "harden_again": run(5.04, ratio=2.913, fast_path_engaged=True, walls_entered=[],
                                                      walls_unseen=[], walls_entered_per_run=[0, 0, 0])}}}


def test_a_run_that_meets_every_goal_misses_nothing():
    assert scale.misses(passing_results()) == []


def test_the_goals_come_from_goals_yml():
    goals = scale.load_goals()["scale"]
    assert (scale.AUDIT_TARGET, scale.HARDEN_TARGET) == (goals["audit_over_ping"], goals["harden_again_over_ping"])


@pytest.mark.parametrize("step, change, expected", [
    ("audit", {"ratio": 1.52}, "10 hosts: audit 1.52x ping, goal 1.5x"),
    ("harden_again", {"ratio": 3.2}, "10 hosts: converged harden 3.20x ping, goal 3.0x"),
    ("audit", {"rc": 2}, "10 hosts: audit rc 2"),
    ("harden_first", {"rc": 2, "recap": {"failed": 1}}, "10 hosts: harden_first failed=1"),
    ("harden_again", {"recap": {"changed": 3}}, "10 hosts: converged harden changed=3"),
    ("ping", {"recap": {"unreachable": 1}}, "10 hosts: ping unreachable=1"),
    ("audit", {"classified_right": 9, "classified_wrong": ["osc-004"]}, "10 hosts: classified wrong: osc-004"),
])
def test_each_miss_is_named(step, change, expected):
    results = passing_results()
    results["sizes"]["10"][step].update(change)
    assert expected in scale.misses(results)


def test_a_ratio_without_pairs_is_judged_on_the_walls():
    results = passing_results()
    del results["sizes"]["10"]["audit"]["ratio"]
    results["sizes"]["10"]["audit"]["wall_s"] = 2.6  # 2.6 / 1.71 = 1.52
    assert scale.misses(results) == ["10 hosts: audit 1.52x ping, goal 1.5x"]


def test_a_step_not_measured_an_error_and_an_incomplete_run_miss():
    results = passing_results()
    del results["sizes"]["10"]["harden_again"]
    results.update(complete=False, error="provisioning failed")
    assert scale.misses(results) == ["the run stopped: provisioning failed", "incomplete run",
                                     "10 hosts: harden_again not measured"]


def test_an_audit_only_run_is_not_asked_for_the_harden():
    results = passing_results()
    for step in ("harden_first", "ping_walled", "harden_again"):
        del results["sizes"]["10"][step]
    results["harden"] = False
    assert scale.misses(results) == []


def test_main_exits_1_when_a_goal_is_missed_and_prints_the_figures(monkeypatch, capsys):
    missed = passing_results()
    missed["sizes"]["10"]["audit"]["ratio"] = 1.7

    def run_all(results):
        results.update(missed)
    monkeypatch.setattr(scale, "run_all", run_all)
    monkeypatch.setattr(scale, "destroy", lambda: 0.5)
    monkeypatch.setattr(scale, "save", lambda results: None)
    assert scale.main(["scale.py"]) == 1
    out = capsys.readouterr().out
    assert "| 10 | 1.71 | 2.47 | 1.70 (goal 1.5)" in out and "MISSED: 10 hosts: audit 1.70x ping" in out
    missed["sizes"]["10"]["audit"]["ratio"] = 1.444
    assert scale.main(["scale.py"]) == 0


# ---------------------------------------------------------------- the fast path

SAMPLES = os.path.join(HERE, "..", "bench", "samples")


def sample(name):
    """Output of ansible-playbook (default callback) recorded from a stand-in
    of harden.yml's converged run (tests/bench/samples)."""
    with open(os.path.join(SAMPLES, name)) as handle:
        return handle.read()


def test_a_converged_run_that_skips_the_walls_everywhere_engaged():
    found = scale.walls_entered(sample("harden-again-engaged.txt"))
    assert found == {"seen": ["osc-001", "osc-002", "osc-003"], "entered": [],
                     "skipped": ["osc-001", "osc-002", "osc-003"]}
    assert scale.fast_path([found], ["osc-001", "osc-002", "osc-003"])["fast_path_engaged"] is True


def test_hosts_included_in_the_walls_did_not_engage():
    # "skipping" lines of a later task (the read again) do not count.
    found = scale.walls_entered(sample("harden-again-not-engaged.txt"))
    assert found["entered"] == ["osc-002", "osc-003"] and found["skipped"] == ["osc-001"]
    summary = scale.fast_path([found], ["osc-001", "osc-002", "osc-003"])
    assert summary == {"walls_entered": ["osc-002", "osc-003"], "walls_unseen": [],
                       "walls_entered_per_run": [2], "fast_path_engaged": False}


def test_every_batch_of_a_serial_run_is_read():
    found = scale.walls_entered(sample("harden-again-batches.txt"))
    assert found["entered"] == ["osc-003"] and found["skipped"] == ["osc-001", "osc-002"]


def test_a_host_the_output_does_not_show_cannot_prove_the_fast_path():
    found = scale.walls_entered(sample("harden-again-engaged.txt"))
    summary = scale.fast_path([found, found], ["osc-001", "osc-002", "osc-003", "osc-004"])
    assert summary["walls_unseen"] == ["osc-004"] and summary["fast_path_engaged"] is False
    # a renamed task: nothing seen, nothing proved
    assert scale.walls_entered(sample("harden-again-engaged.txt"), task="Another task")["seen"] == []
    assert scale.fast_path([], ["osc-001"])["fast_path_engaged"] is False


@pytest.mark.parametrize("line, host, entered", [
    ("ok: [osc-001]", "osc-001", True),
    ("changed: [osc-001 -> localhost]", "osc-001", True),
    ("fatal: [osc-001]: FAILED! => ", "osc-001", True),
    ("skipping: [osc-001]", "osc-001", False),
])
def test_any_status_but_skipping_enters_the_walls(line, host, entered):
    text = "TASK [%s] ****\n%s\n\nPLAY RECAP ****\n" % (scale.WALLS_TASK, line)
    found = scale.walls_entered(text)
    assert found["seen"] == [host] and (found["entered"] == [host]) is entered


def test_paired_runs_inspect_every_run_of_the_playbook(monkeypatch):
    outputs = [sample("harden-again-engaged.txt"), sample("harden-again-not-engaged.txt")]
    calls = []

    def measure(cmd, env=None):
        calls.append(cmd[0])
        output = outputs.pop(0) if cmd[0] == "ansible-playbook" else "pong"
        return {"wall_s": 2.0, "rc": 0, "cpu_s": 1.0, "peak_mib": 1.0, "output": output}
    monkeypatch.setattr(scale, "measure", measure)
    _ping, run = scale.paired_runs(["ansible"], ["ansible-playbook"], repeat=2, inspect=scale.walls_entered)
    assert [found["entered"] for found in run["inspected"]] == [[], ["osc-002", "osc-003"]]
    assert scale.fast_path(run["inspected"], ["osc-001", "osc-002", "osc-003"])["walls_entered_per_run"] == [0, 2]


def test_a_converged_harden_that_enters_the_walls_misses():
    results = passing_results()
    results["sizes"]["10"]["harden_again"].update(fast_path_engaged=False, walls_entered=["osc-002", "osc-003"],
                                                   walls_entered_per_run=[2, 2, 2])
    assert scale.misses(results) == [
        "10 hosts: converged harden entered the walls on 2 hosts (the fast path did not engage): osc-002, osc-003"]


def test_a_converged_harden_recorded_without_the_check_misses():
    results = passing_results()
    for key in ("fast_path_engaged", "walls_entered", "walls_unseen", "walls_entered_per_run"):
        del results["sizes"]["10"]["harden_again"][key]
    assert scale.misses(results) == [
        "10 hosts: converged harden: the fast path was not checked (no walls_entered recorded)"]


def test_check_exits_1_on_recorded_results_where_the_walls_were_entered(monkeypatch, tmp_path, capsys):
    results = passing_results()
    results["sizes"]["10"]["harden_again"].update(fast_path_engaged=False, walls_entered=["osc-004"],
                                                   walls_entered_per_run=[1, 0, 0])
    path = tmp_path / "scale_results.json"
    path.write_text(json.dumps(results))
    monkeypatch.setattr(scale, "RESULTS", str(path))
    assert scale.main(["scale.py", "check"]) == 1
    assert "MISSED: 10 hosts: converged harden entered the walls on 1 hosts" in capsys.readouterr().out
    results["sizes"]["10"]["harden_again"].update(fast_path_engaged=True, walls_entered=[],
                                                   walls_entered_per_run=[0, 0, 0])
    path.write_text(json.dumps(results))
    assert scale.main(["scale.py", "check"]) == 0


def test_the_every_wall_configuration_is_the_issues():
    assert scale.WALLS[:6] == ["-e", "harden_front=true", "-e", "harden_firewall=true", "-e", "ollama_bind_adopt=true"]
    with open(next(w for w in scale.WALLS if w.startswith("@"))[1:]) as handle:
        walls = yaml.safe_load(handle)
    credentials = walls["ollama_front_credentials"]
    assert sorted(c["role"] for c in credentials) == ["admin", "user"]
    assert all(c.get("password") and c.get("api_key") for c in credentials)
    assert len(walls["ollama_front_allowed_origins"]) == 1


# ---------------------------------------------------------------- over SSH (issue 28)

def test_the_ssh_inventory_logs_in_as_deploy_and_becomes_with_the_vaulted_password(tmp_path):
    path = scale.write_inventory(str(tmp_path), 3, "ssh", {"osc-001": "172.30.112.2", "osc-002": "172.30.112.3",
                                                           "osc-003": "172.30.112.4"}, key_dir="/keys")
    assert os.path.basename(path) == "hosts-ssh.yml"
    with open(path) as handle:
        inventory = yaml.safe_load(handle)
    common = inventory["all"]["vars"]
    assert common["ansible_connection"] == "ansible.builtin.ssh" and common["ansible_user"] == "deploy"
    assert common["ansible_become"] is True and common["ansible_become_method"] == "ansible.builtin.sudo"
    assert common["ansible_become_password"] == "{{ lab_become_password }}"
    assert common["ansible_ssh_private_key_file"] == "/keys/id_ed25519" and common["lab_ssh_key_dir"] == "/keys"
    # The user's known_hosts is left alone: every lab's host keys are new.
    assert "UserKnownHostsFile=/dev/null" in common["ansible_ssh_extra_args"]
    # Nothing in the inventory undoes ansible.cfg's connection settings.
    assert not [k for k in common if "pipelining" in k or k in ("ansible_ssh_args", "ansible_ssh_common_args")]
    hosts = inventory["all"]["children"]["ollama_lab"]["hosts"]
    assert hosts["osc-002"]["ansible_host"] == "172.30.112.3" and hosts["osc-002"]["lab_case"] == scale.case_of(1)
    with open(str(tmp_path / "group_vars" / "all" / "vault.yml")) as handle:
        vault = handle.read()
    assert vault.startswith("---\nlab_become_password: !vault |\n") and "$ANSIBLE_VAULT;1.2;AES256;lab" in vault


def test_the_docker_inventory_stays_root_over_docker_exec(tmp_path):
    with open(scale.write_inventory(str(tmp_path), 2)) as handle:
        common = yaml.safe_load(handle)["all"]["vars"]
    assert common["ansible_connection"] == "community.docker.docker" and common["ansible_become"] is False
    assert "ansible_user" not in common and "ansible_become_password" not in common


def test_the_vaulted_password_block_is_copied_whole_and_nothing_after_it(tmp_path):
    source = tmp_path / "all.yml"
    source.write_text("lab_ssh_user: deploy\nlab_become_password: !vault |\n          $ANSIBLE_VAULT;1.2;AES256;lab\n"
                      "          3131\n          3232\nnext_key: 1\n")
    assert scale.vault_text(str(source)) == ("lab_become_password: !vault |\n          $ANSIBLE_VAULT;1.2;AES256;lab\n"
                                             "          3131\n          3232\n")
    source.write_text("lab_become_password: plain\n")
    with pytest.raises(RuntimeError, match="not vaulted"):
        scale.vault_text(str(source))
    source.write_text("other: 1\n")
    with pytest.raises(RuntimeError, match="no lab_become_password"):
        scale.vault_text(str(source))


DUMP = """ANSIBLE_PIPELINING(/p/ansible.cfg) = True
CONFIG_FILE() = /p/ansible.cfg

local:
_____
pipelining(/p/ansible.cfg) = True

ssh:
___
host_key_checking(/p/ansible.cfg) = False
pipelining(env: ANSIBLE_PIPELINING) = False
ssh_args(env: ANSIBLE_SSH_ARGS) = -C -o ControlMaster=no
"""


def test_the_connection_settings_are_read_from_ansible_config_ssh_first():
    assert scale.config_settings(DUMP) == {"pipelining": False, "ssh_args": "-C -o ControlMaster=no"}
    # Not changed anywhere: Ansible's defaults (pipelining off, ControlPersist 60 s).
    assert scale.config_settings("CONFIG_FILE() = /p/ansible.cfg\n") == {
        "pipelining": False, "ssh_args": "-C -o ControlMaster=auto -o ControlPersist=60s"}
    assert scale.config_settings("ssh:\n___\npipelining(/p/ansible.cfg) = True\n")["pipelining"] is True


def test_the_project_ansible_cfg_turns_pipelining_on_for_ssh():
    facts = scale.config_settings(scale.subprocess.run(
        ["ansible-config", "dump", "--only-changed", "-t", "all"], cwd=scale.ROOT, stdout=scale.subprocess.PIPE,
        text=True, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(scale.ROOT, "ansible.cfg"))).stdout)
    assert facts["pipelining"] is True and "ControlPersist" in facts["ssh_args"]


def test_variants_undo_one_setting_each_in_pairs_and_are_recorded(monkeypatch):
    seen = []

    def measure(cmd, env=None):
        seen.append((cmd[0], dict(env or {})))
        return {"wall_s": 2.0 if cmd[0] == "ansible" else 3.0, "rc": 0, "cpu_s": 1.0, "peak_mib": 1.0}
    monkeypatch.setattr(scale, "measure", measure)
    monkeypatch.setattr(scale, "save", lambda results: None)
    results = {}
    scale.variants(results, 10, ["ansible"], ["ansible-playbook"], {"ANSIBLE_FORKS": "25"})
    found = results["variants"]["10"]
    assert list(found) == ["pipelining off", "ControlPersist off"]
    assert found["pipelining off"]["ratio"] == 1.5 and found["pipelining off"]["pair_ratios"] == [1.5] * scale.REPEAT
    # Both commands of a pair run with the setting undone, the rest as given.
    piped = [env for _cmd, env in seen[:2 * scale.REPEAT]]
    assert all(env == {"ANSIBLE_FORKS": "25", "ANSIBLE_PIPELINING": "False"} for env in piped)
    persisted = [env for _cmd, env in seen[2 * scale.REPEAT:]]
    assert all(env["ANSIBLE_SSH_ARGS"] == "-C -o ControlMaster=no" and "ANSIBLE_PIPELINING" not in env
               for env in persisted)


def test_a_failed_variant_misses_and_the_table_shows_the_connection():
    results = {"complete": True, "harden": False, "sizes_wanted": [10],
               "connection": {"type": "ssh", "user": "deploy", "become": "sudo with a password",
                              "pipelining": True, "ssh_args": "-C -o ControlMaster=auto -o ControlPersist=60s"},
               "sizes": {"10": {"ping": {"wall_s": 2.0, "rc": 0}, "audit": {"wall_s": 2.8, "ratio": 1.4, "rc": 0,
                                                                           "classified_right": 10}}},
               "variants": {"10": {"pipelining off": {"ping_s": 2.0, "audit_s": 4.0, "ratio": 2.0,
                                                      "pair_ratios": [2.0], "rc": 4}}}}
    assert scale.misses(results) == ["10 hosts: pipelining off rc 4"]
    text = scale.table(results)
    assert "over SSH as deploy, become with sudo with a password, pipelining on" in text
    assert "| pipelining off | 2.0 | 4.0 | 2.00 | [2.0] |" in text
    results["variants"]["10"]["pipelining off"]["rc"] = 0
    assert scale.misses(results) == []
    assert "over docker exec as root" in scale.table(dict(results, connection=None))


def test_the_ssh_playbook_makes_the_key_pair_then_turns_ssh_on_in_every_host(tmp_path):
    with open(scale.ssh_playbook(str(tmp_path))) as handle:
        plays = yaml.safe_load(handle)
    assert [p["hosts"] for p in plays] == ["localhost", "ollama_lab"]
    assert plays[0]["tasks"][0]["ansible.builtin.import_tasks"] == os.path.join(scale.ROOT, "tests", "lab", "ssh",
                                                                                 "keypair.yml")
    assert plays[1]["tasks"][0]["ansible.builtin.import_tasks"] == os.path.join(scale.ROOT, "tests", "lab", "ssh",
                                                                                 "enable.yml")
    assert all(os.path.exists(p["tasks"][0]["ansible.builtin.import_tasks"]) for p in plays)
