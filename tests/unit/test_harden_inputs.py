# -*- coding: utf-8 -*-
"""harden.json's inputs (playbooks/harden.yml's fast path, issue 27): what
the end of a run stores (playbooks/tasks/harden-after.yml) is what the
start of the next run computes when nothing moved, so the next run skips
every wall; and it moves with an option that matters (a credential's
password or api_key).

Two ansible-playbook runs on this machine (connection local, no container,
no wall): each is harden.yml's skeleton built from the real files - the
toolkit's digest task, harden.yml's second play (its vars_files, its vars,
its first task) and harden-after.yml's stamp task, loaded from the YAML, not
copied - around a stand-in for the audit's read (library/fake_read.py
below: a fixed host, and the stamps as library/ollama_info.py reads them
back). The read is registered as the audit registers it: before the walls in
the first play, again before harden-after.yml. As a new user's inventory
does, no ansible_python_interpreter is set: the first module of a run
discovers the interpreter, and Ansible adds what it found to that result."""

import copy
import json
import os
import sys

import pytest
import yaml

from playbook_run import ROOT, ansible_playbook

HOST = "ollama-01"

# The user's options (issue 27): the front, the firewall and adoption on; two
# credentials each with a password and an api_key, one user, one admin; one
# allowed origin; everything else default.
OPTIONS = {
    "harden_front": "true",
    "harden_firewall": "true",
    "ollama_bind_adopt": "true",
    "ollama_front_allowed_origins": ["https://chat.example.internal"],
    "ollama_front_credentials": [
        {"name": "alice", "role": "user", "password": "alice-Pa55word-4-front",
         "api_key": "ak_alice_R7t2Yp9Lm4Qx8Vn3Kd6aa"},
        {"name": "ops", "role": "admin", "password": "ops-Pa55word-4-the-front",
         "api_key": "ak_ops_Z1x2C3v4B5n6M7q8W9e0rr"},
    ],
}

# One host as the audit reads it: an Ollama service on loopback under
# systemd, the front's nginx on its port (what decides the walls).
READ = {
    "changed": False, "supported": True, "systemd": True, "python": "/usr/bin/python3",
    "os": {"ID": "debian", "VERSION_ID": "12"},
    "services": [{"name": "ollama.service", "main_pid": 574, "user": "ollama", "env": {"OLLAMA_HOST": "127.0.0.1"},
                  "bind": {"host": "127.0.0.1", "port": 11434, "scope": "loopback"}, "active_state": "active"}],
    "processes": [{"pid": 574, "argv": ["/usr/local/bin/ollama", "serve"], "unit": "ollama.service",
                   "container": False}],
    "listeners": [{"address": "127.0.0.1", "port": 11434, "family": "ipv4", "scope": "loopback", "pid": 574,
                   "unit": "ollama.service", "inferred": False}],
    "containers": [], "installs": [], "addresses": ["192.0.2.10"], "addresses_skipped": [],
    "other_listeners": [{"address": "0.0.0.0", "port": 11443, "family": "ipv4", "scope": "wildcard"}],
    "front": {"config": "/etc/nginx/conf.d/ollama-front.conf", "ports": [11443], "listening": [11443],
              "open_routes": [], "in_place": True, "why": None},
    "warnings_detail": [], "status": "unknown", "host_id": HOST,
}

FAKE_READ = '''#!/usr/bin/python
# A stand-in for ollama_info (test_harden_inputs.py): the fixed read given,
# and the stamps read back from disk as ollama_info reads them.
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_stamp import load_stamps, read_stamps


def main():
    module = AnsibleModule(argument_spec=dict(read=dict(type="dict", required=True),
                                              stamps=dict(type="bool", default=False)),
                           supports_check_mode=True)
    result = dict(module.params["read"])
    result["stamps"] = read_stamps(module, None, load_stamps(), shown={})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
'''


def load(*path):
    with open(os.path.join(ROOT, *path)) as handle:
        return yaml.safe_load(handle)


def named(tasks, words):
    """The one task whose name holds ``words``, as the file has it."""
    found = [t for t in tasks if words in t.get("name", "")]
    assert len(found) == 1, (words, [t.get("name") for t in tasks])
    return copy.deepcopy(found[0])


def skeleton(stamp_dir):
    """harden.yml's skeleton, from the real files: the toolkit's and the
    options' digests and the read before (play 1); the second play's
    vars_files, vars and first task, then the read again (read.yml, where a
    wall may have changed the host) and harden-after.yml's stamp task."""
    harden, after = load("playbooks", "harden.yml"), load("playbooks", "tasks", "harden-after.yml")
    first, second = harden[0], harden[1]
    read = {"name": "Read the host", "fake_read": {"read": "{{ host_read }}", "stamps": True},
            "register": "ollama_audit_facts"}
    # Right after the first task: what it compared with the stamp.
    show = {"name": "Show the inputs", "ansible.builtin.debug": {"msg": {
        "untouched": "{{ __harden.untouched }}", "stored": "{{ ollama_audit_facts.stamps.harden.inputs | default(none) }}",
        "inputs": "{{ __harden.inputs }}"}}}
    record = named(after, "Record what the run left")
    stored = {"name": "Show what was stored", "ansible.builtin.debug": {"msg": "{{ __harden_record.inputs }}"},
              "vars": record["vars"]}
    vars_files = [os.path.join(ROOT, "playbooks", f) for f in second["vars_files"]]
    return [
        {"name": "Audit before hardening", "hosts": "all", "gather_facts": False, "vars_files": vars_files,
         "tasks": [named(first["pre_tasks"], "Name the toolkit's code"),
                   named(first["pre_tasks"], "Name the walls' options"), read]},
        {"name": "Harden", "hosts": "all", "gather_facts": False, "vars_files": vars_files,
         "vars": dict(second["vars"], ollama_audit_report={"hosts": {HOST: {"status": "secure"}}}),
         "tasks": [named(second["tasks"], "Note what the audit before said"), show, dict(read, name="Read again"),
                   record, stored]},
    ]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The runs' directory; the playbooks in plays/ (the toolkit's digest
    reads plays/../playbooks, roles... : nothing there, the same each run),
    the stand-in read next to them (plays/library)."""
    base = tmp_path_factory.mktemp("harden_inputs")
    (base / "plays" / "library").mkdir(parents=True)
    (base / "plays" / "library" / "fake_read.py").write_text(FAKE_READ)
    return base


def run(lab, name, stamp_dir, options=None, interpreter=None):
    """One run of the skeleton; returns {task name: what it showed} for HOST."""
    work = lab / name
    work.mkdir()
    variables = dict(OPTIONS, **(options or {}))
    variables.update(host_read=READ, ansible_connection="local",
                     # Where discovery finds an interpreter: this test's own Python.
                     ansible_interpreter_python_fallback=[sys.executable])
    if interpreter:
        variables["ansible_python_interpreter"] = interpreter
    (work / "vars.json").write_text(json.dumps(variables))
    playbook = lab / "plays" / ("%s.yml" % name)
    playbook.write_text(yaml.safe_dump(skeleton(str(stamp_dir)), sort_keys=False))
    done = ansible_playbook(["-i", "%s," % HOST, str(playbook), "-e", "@%s" % (work / "vars.json")],
                            {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
                             "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
                             "OLLAMA_TOOLKIT_STAMP_DIR": str(stamp_dir)},
                            timeout=240, merge=False)
    try:
        plays = json.loads(done.stdout)["plays"]
    except ValueError:
        raise AssertionError(done.stdout[-3000:] + done.stderr[-3000:])
    shown = {}
    for play in plays:
        for task in play["tasks"]:
            result = task["hosts"].get(HOST, {})
            assert not result.get("failed"), (task["task"]["name"], result)
            shown[task["task"]["name"]] = result
    assert done.returncode == 0, done.stdout[-3000:]
    return shown


def stamps(lab, name):
    """A stamp directory holding the walls' stamps harden.json counts on."""
    path = lab / ("stamps-%s" % name)
    path.mkdir()
    for wall in ("ollama_front.json", "ollama_firewall.json"):
        (path / wall).write_text(json.dumps({"version": 1, "inputs": "wall", "state": {"files": {}, "units": {},
                                                                                      "nft": {}}}))
    return path


@pytest.mark.parametrize("interpreter", [None, sys.executable], ids=["discovered", "set"])
def test_the_next_run_starts_from_what_the_last_one_stored(lab, interpreter):
    """After a whole run, nothing moved: the next run's start computes the
    inputs harden.json holds, so the host is untouched (no wall runs)."""
    where = stamps(lab, "same-%s" % bool(interpreter))
    first = run(lab, "first-%s" % bool(interpreter), where, interpreter=interpreter)
    assert first["Show the inputs"]["msg"]["untouched"] is False  # no harden.json yet
    stored = json.loads((where / "harden.json").read_text())["inputs"]
    assert stored == first["Show what was stored"]["msg"]
    again = run(lab, "again-%s" % bool(interpreter), where, interpreter=interpreter)["Show the inputs"]["msg"]
    assert again["stored"] == stored
    assert again["inputs"] == stored, "the next run's start does not compute what the last run stored"
    assert again["untouched"] is True


@pytest.mark.parametrize("change", [{"password": "alice-Another-Pa55word"},
                                    {"api_key": "ak_alice_another_key_0123456789"}], ids=["password", "api_key"])
def test_the_inputs_move_with_a_credential(lab, change):
    """A credential's new password or api_key is another input: the next
    run takes the walls."""
    where = stamps(lab, "moved-%s" % sorted(change)[0])
    first = run(lab, "before-%s" % sorted(change)[0], where)
    stored = first["Show what was stored"]["msg"]
    credentials = copy.deepcopy(OPTIONS["ollama_front_credentials"])
    credentials[0].update(change)
    moved = run(lab, "after-%s" % sorted(change)[0], where,
                {"ollama_front_credentials": credentials})["Show the inputs"]["msg"]
    assert moved["stored"] == stored
    assert moved["inputs"] != stored and moved["untouched"] is False


def test_the_options_are_named_before_any_wall_role():
    """The walls' options enter harden.json as the operator set them, taken
    in the first play, where no wall's role is imported: a role's defaults
    (visible to a play once a batch imported the role) never move the
    inputs from one batch or one run to the next."""
    harden = load("playbooks", "harden.yml")
    first = harden[0]
    text = json.dumps(first)
    for role in ("ollama_front", "ollama_bind", "ollama_firewall", "ollama_upgrade"):
        assert role not in text, role
    assert "__harden_options" in json.dumps(named(first["pre_tasks"], "Name the walls' options"))
    for play in harden[1:]:
        for task in play.get("tasks", []) + play.get("pre_tasks", []):
            assert "__harden_options" not in (task.get("ansible.builtin.set_fact") or {}), task["name"]
