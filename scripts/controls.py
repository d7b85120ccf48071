#!/usr/bin/env python3
"""List every control playbooks/harden.yml can enforce, with its title.

    make controls            (or: python scripts/controls.py [--json])

`ansible-playbook playbooks/harden.yml --list-tags` cannot show them all:
most sit behind dynamic includes (the walls, each role's normal path),
which --list-tags does not enter. This script reads the tasks instead: from
harden.yml it follows every import and include (import_role/include_role
with their tasks_from, import_tasks/include_tasks, a templated file name as
every file it can name) and keeps the control IDs (OLLAMA-XXX-NNN) the
tasks and includes carry as tags; each title comes from the catalog
(roles/ollama_audit/files/catalog.yml: its controls and
remediation_controls). Pick one with

    ansible-playbook -i INVENTORY playbooks/harden.yml --tags OLLAMA-FW-003

(the control with its prerequisites: tasks tagged always still run).
tests/unit/test_controls_list.py checks the list is the set of control tags
in the roles' tasks and harden.yml's own.
"""

import glob
import json
import os
import re
import sys

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
PLAYBOOK = os.path.join(ROOT, "playbooks", "harden.yml")
CATALOG = os.path.join(ROOT, "roles", "ollama_audit", "files", "catalog.yml")
ID_TAG = re.compile(r"^OLLAMA-[A-Z]+-\d{3}\Z")
TEMPLATE = re.compile(r"\{\{.*?\}\}")


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle) or []


def as_list(value):
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def action(task, *names):
    """(short name, arguments) of the first of ``names`` the task calls."""
    for name in names:
        for key in (name, "ansible.builtin." + name):
            if key in task:
                args = task[key]
                return name, args if isinstance(args, dict) else {"file": args}
    return None, None


def role_file(args):
    name = str(args.get("name", "")).rsplit(".", 1)[-1]
    tasks_from = str(args.get("tasks_from", "main"))
    if not tasks_from.endswith((".yml", ".yaml")):
        tasks_from += ".yml"
    return [os.path.join(ROOT, "roles", name, "tasks", tasks_from)]


def task_files(directory, name):
    """The files a task file name can be: itself, or, templated, every file
    of the directory its pattern matches."""
    name = str(name)
    if TEMPLATE.search(name):
        return sorted(glob.glob(os.path.join(directory, TEMPLATE.sub("*", name))))
    return [os.path.join(directory, name)]


def walk(tasks, directory, found, seen):
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        tags = as_list(task.get("tags"))
        for key in ("block", "rescue", "always"):
            walk(task.get(key), directory, found, seen)
        kind, args = action(task, "import_role", "include_role")
        targets = role_file(args) if kind else []
        if not kind:
            kind, args = action(task, "import_tasks", "include_tasks")
            targets = task_files(directory, args.get("file")) if kind else []
        if args:
            tags += as_list((args.get("apply") or {}).get("tags"))
        found.update(t for t in tags if isinstance(t, str) and ID_TAG.match(t))
        for path in targets:
            follow(path, found, seen)


def follow(path, found, seen):
    path = os.path.normpath(path)
    if path in seen or not os.path.exists(path):
        return
    seen.add(path)
    walk(load(path), os.path.dirname(path), found, seen)


def enforced(playbook=PLAYBOOK):
    """The control IDs harden.yml's tasks (and all they import or include) carry as tags."""
    found, seen = set(), set()
    for play in load(playbook):
        walk([{"tags": play.get("tags")}], os.path.dirname(playbook), found, seen)
        for section in ("pre_tasks", "roles", "tasks", "post_tasks", "handlers"):
            items = play.get(section) or []
            if section == "roles":
                items = [{"import_role": {"name": r if isinstance(r, str) else r.get("role", r.get("name"))}}
                         for r in items]
            walk(items, os.path.dirname(playbook), found, seen)
    return found


def titles(catalog_path=CATALOG):
    catalog = load(catalog_path)
    every = dict(catalog.get("controls") or {})
    every.update(catalog.get("remediation_controls") or {})
    return dict((cid, entry.get("title", "")) for cid, entry in every.items())


def controls():
    """[{"id", "title"}] of every control harden.yml can enforce, sorted by ID."""
    named = titles()
    return [{"id": cid, "title": named.get(cid, "(not in the catalog)")} for cid in sorted(enforced())]


def main(argv):
    listed = controls()
    if "--json" in argv[1:]:
        print(json.dumps(listed, indent=1))
        return 0
    width = max(len(c["id"]) for c in listed)
    print("Controls playbooks/harden.yml can enforce (pick with --tags ID, skip with --skip-tags ID):")
    for control in listed:
        print("  %-*s  %s" % (width, control["id"], control["title"]))
    return 1 if any(c["title"] == "(not in the catalog)" for c in listed) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
