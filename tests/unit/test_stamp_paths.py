# -*- coding: utf-8 -*-
"""One place per stamp: the audit reads (ollama_audit_stamps' default) the
very files the roles write (each role's __<role>_stamp) and the one
playbooks/harden.yml writes (playbooks/vars/harden_stamp.yml), in the same
directory as those it counts on; rollback.yml forgets that one."""

import os

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def load(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return yaml.safe_load(handle)


def test_the_audit_reads_the_stamps_the_roles_write():
    roles = sorted(load("roles", role, "vars", "main.yml")["__%s_stamp" % role]
                   for role in ("ollama_bind", "ollama_firewall", "ollama_front"))
    stamp = load("playbooks", "vars", "harden_stamp.yml")
    harden = stamp["__harden_stamp"].replace("{{ __harden_stamp_dir }}", stamp["__harden_stamp_dir"])
    written = sorted(roles + [harden])
    # harden.json lists the walls' stamps it counts on by their names in its own directory.
    assert set(os.path.dirname(path) for path in written) == {stamp["__harden_stamp_dir"]}
    with open(os.path.join(ROOT, "playbooks", "tasks", "harden-after.yml")) as handle:
        after = handle.read()
    for path in roles:
        assert "__harden_stamp_dir ~ '/%s'" % os.path.basename(path) in after
    read = load("roles", "ollama_audit", "defaults", "main.yml")["ollama_audit_stamps"]
    spec = load("roles", "ollama_audit", "meta", "argument_specs.yml")
    assert sorted(read) == written
    assert spec["argument_specs"]["main"]["options"]["ollama_audit_stamps"]["default"] == read
    # harden.yml writes and rollback.yml forgets that very file: both load it
    # from there, and neither names a stamp's path of its own.
    for playbook in ("harden.yml", "rollback.yml"):
        plays = load("playbooks", playbook)
        assert any("vars/harden_stamp.yml" in play.get("vars_files", []) for play in plays), playbook
        assert "__harden_stamp_dir" not in str([play.get("vars", {}) for play in plays]), playbook
        with open(os.path.join(ROOT, "playbooks", playbook)) as handle:
            assert "/var/lib/ollama-exposure-toolkit/stamps" not in handle.read(), playbook
    with open(os.path.join(ROOT, "playbooks", "rollback.yml")) as handle:
        assert 'path: "{{ __harden_stamp }}"\n' in handle.read()
