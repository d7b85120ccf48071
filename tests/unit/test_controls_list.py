# -*- coding: utf-8 -*-
"""`make controls` (scripts/controls.py): every control harden.yml can
enforce, with its catalog title. The list is the set of control IDs the
roles' tasks and harden.yml's own tasks carry as tags, read here file by
file (no include followed), and each has its title."""

import glob
import importlib.util
import os
import re

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SPEC = importlib.util.spec_from_file_location("controls", os.path.join(ROOT, "scripts", "controls.py"))
controls = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(controls)
ID_TAG = re.compile(r"^OLLAMA-[A-Z]+-\d{3}$")


def tags_of(task):
    found = task.get("tags") or []
    found = [found] if isinstance(found, str) else list(found)
    for value in task.values():
        if isinstance(value, dict) and isinstance(value.get("apply"), dict):
            applied = value["apply"].get("tags") or []
            found += [applied] if isinstance(applied, str) else list(applied)
    return found


def every_task(tasks):
    for task in tasks or []:
        if isinstance(task, dict):
            yield task
            for key in ("block", "rescue", "always"):
                yield from every_task(task.get(key))


def tagged_controls():
    """Control IDs carried as tags anywhere in roles/*/tasks, harden.yml and playbooks/tasks."""
    found = set()
    files = glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")) + \
        glob.glob(os.path.join(ROOT, "playbooks", "tasks", "*.yml"))
    for path in files:
        with open(path) as handle:
            for task in every_task(yaml.safe_load(handle)):
                found.update(t for t in tags_of(task) if ID_TAG.match(str(t)))
    with open(os.path.join(ROOT, "playbooks", "harden.yml")) as handle:
        for play in yaml.safe_load(handle):
            for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                for task in every_task(play.get(section)):
                    found.update(t for t in tags_of(task) if ID_TAG.match(str(t)))
    return found


def test_the_list_is_every_control_tag_of_the_roles_and_harden():
    listed = set(c["id"] for c in controls.controls())
    assert listed == tagged_controls()
    assert len(listed) >= 15


def test_each_control_has_its_catalog_title():
    with open(os.path.join(ROOT, "roles", "ollama_audit", "files", "catalog.yml")) as handle:
        catalog = yaml.safe_load(handle)
    every = dict(catalog["controls"], **catalog["remediation_controls"])
    for control in controls.controls():
        assert control["title"] == every[control["id"]]["title"]


def test_a_templated_include_is_followed_into_every_file_it_can_name(tmp_path):
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "nftables.yml").write_text("- name: x\n  ansible.builtin.debug: {}\n  tags: [OLLAMA-FW-003]\n")
    (tmp_path / "tasks" / "ufw.yml").write_text("- name: y\n  ansible.builtin.debug: {}\n  tags: [OLLAMA-FW-005]\n")
    (tmp_path / "play.yml").write_text(
        "- hosts: all\n  tasks:\n    - ansible.builtin.include_tasks:\n        file: \"tasks/{{ backend }}.yml\"\n"
        "        apply: {tags: [OLLAMA-FW-002]}\n      tags: [OLLAMA-FW-002]\n")
    assert controls.enforced(str(tmp_path / "play.yml")) == {"OLLAMA-FW-002", "OLLAMA-FW-003", "OLLAMA-FW-005"}


def test_the_printed_list_names_each_id_with_its_title(capsys):
    assert controls.main(["controls.py"]) == 0
    out = capsys.readouterr().out
    for control in controls.controls():
        assert re.search(r"^  %s +%s$" % (re.escape(control["id"]), re.escape(control["title"])), out, re.M)
    assert "--tags" in out
