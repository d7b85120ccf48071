"""Every task ID is a catalog control and a tag, as in ansible-lockdown's roles.

A task named ``OLLAMA-XXX-NNN | ...`` carries that ID as a tag (its own, or
its block's); a dynamic include that leads to such tasks carries their IDs
and passes them on with ``apply`` (tags on an include select only the include
itself); PRELIM steps are tagged ``always``. A role's normal path
(``tasks/apply.yml``, skipped as one task where the audit's read shows the
role's stamp unchanged) and harden.yml's walls and checks after
(``playbooks/tasks/harden-*.yml``, skipped as one task each where harden.json
shows nothing moved) are the one other form: an include tagged ``always``
alone, without ``apply``, so that it is entered on every run and each task
in it is selected by its own tags. The last tests ask ansible-playbook itself
what harden.yml lists and selects.
"""

import glob
import os
import re
import yaml

from playbook_run import ansible_playbook

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ID_NAME = re.compile(r"^(OLLAMA-[A-Z]+-\d{3}) \|")
ID_TAG = re.compile(r"^OLLAMA-[A-Z]+-\d{3}$")
INCLUDES = ("include_tasks", "ansible.builtin.include_tasks", "include_role", "ansible.builtin.include_role")
IMPORTS = ("import_role", "ansible.builtin.import_role")
# Entered on every run (tagged always, no apply): each task inside keeps its own tags.
ENTERED = ("apply.yml", "tasks/harden-walls.yml", "tasks/harden-after.yml")


def catalog():
    with open(os.path.join(ROOT, "roles", "ollama_audit", "files", "catalog.yml")) as handle:
        data = yaml.safe_load(handle)
    return set(data["controls"]) | set(data["remediation_controls"]), set(data["remediation_controls"])


def as_set(value):
    if value is None:
        return set()
    return set([value] if isinstance(value, str) else value)


def walk(tasks, inherited=frozenset()):
    """(task, tags it carries: its own and its blocks') for every task and block."""
    for task in tasks or []:
        tags = set(inherited) | as_set(task.get("tags"))
        yield task, tags
        for key in ("block", "rescue", "always"):
            if key in task:
                yield from walk(task[key], tags)


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle) or []


def role_task_files():
    return sorted(glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")))


def playbooks():
    return sorted(glob.glob(os.path.join(ROOT, "playbooks", "*.yml")))


def all_tasks():
    """(file, task, tags) for the roles' task files and the playbooks' plays."""
    for path in role_task_files():
        for task, tags in walk(load(path)):
            yield path, task, tags
    for path in playbooks():
        for play in load(path):
            for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                for task, tags in walk(play.get(section), as_set(play.get("tags"))):
                    yield path, task, tags


def include_of(task):
    for key in INCLUDES:
        if key in task:
            args = task[key]
            return key.rsplit(".", 1)[-1], args if isinstance(args, dict) else {"file": args}
    return None, None


def ids_in(path, seen=None):
    """The control IDs named by the tasks of a file and of the files it includes."""
    seen = seen if seen is not None else set()
    if path in seen or not os.path.exists(path):
        return set()
    seen.add(path)
    found = set()
    for task, _ in walk(load(path)):
        match = ID_NAME.match(str(task.get("name", "")))
        if match:
            found.add(match.group(1))
        kind, args = include_of(task)
        if kind == "include_tasks" and "{{" not in str(args.get("file")):
            found |= ids_in(os.path.join(os.path.dirname(path), args["file"]), seen)
        elif kind == "include_role":
            found |= ids_in(included_file(path, kind, args), seen)
        for key in IMPORTS:
            if key in task:
                found |= ids_in(included_file(path, "import_role", task[key]), seen)
    return found


def included_file(path, kind, args):
    if kind == "include_tasks":
        return os.path.join(os.path.dirname(path), str(args.get("file")))
    return os.path.join(ROOT, "roles", args["name"], "tasks", args.get("tasks_from", "main.yml"))


def test_every_task_id_is_a_catalog_control_and_carries_its_tag():
    controls, _ = catalog()
    checked = 0
    for path, task, tags in all_tasks():
        match = ID_NAME.match(str(task.get("name", "")))
        if not match:
            continue
        checked += 1
        where = "%s: %s" % (os.path.relpath(path, ROOT), task["name"])
        assert match.group(1) in controls, "%s names no control of the catalog" % where
        assert match.group(1) in tags, "%s does not carry its ID as a tag" % where
    assert checked > 80


def test_every_id_tag_is_a_control_and_every_remediation_control_has_tasks():
    controls, remediation = catalog()
    used = set()
    for path, task, tags in all_tasks():
        ids = set(t for t in tags if ID_TAG.match(t))
        assert ids <= controls, "%s: %s tags %s" % (path, task.get("name"), sorted(ids - controls))
        used |= ids
    assert remediation <= used, "remediation controls without tasks: %s" % sorted(remediation - used)


def test_prelim_steps_always_run():
    for path, task, tags in all_tasks():
        if " | PRELIM | " in str(task.get("name", "")):
            assert "always" in tags, "%s: %s" % (os.path.relpath(path, ROOT), task["name"])


def test_dynamic_includes_pass_their_controls_on():
    """--tags X selects the include only if it carries X; apply gives X to what it includes."""
    checked = 0
    for path, task, tags in all_tasks():
        kind, args = include_of(task)
        if kind is None:
            continue
        where = "%s: %s" % (os.path.relpath(path, ROOT), task.get("name"))
        own = as_set(task.get("tags"))
        applied = as_set((args.get("apply") or {}).get("tags"))
        if kind == "include_tasks" and str(args.get("file")) in ENTERED:
            # A role's normal path, harden's walls: entered on every run, their tasks keep their own tags.
            assert own == {"always"} and not args.get("apply"), where
            assert ids_in(included_file(path, kind, args)), where
            checked += 1
            continue
        if "{{" in str(args.get("file", "")):
            # A templated file name: its controls cannot be read here.
            assert own and own == applied and any(ID_TAG.match(t) for t in own), where
            checked += 1
            continue
        ids = ids_in(included_file(path, kind, args))
        if ids:
            assert ids <= tags, "%s leads to %s but carries %s" % (where, sorted(ids), sorted(tags))
            assert ids <= applied | tags and own == applied, "%s: apply must pass %s on" % (where, sorted(own))
            checked += 1
        elif own:
            assert own == applied, "%s: apply must pass %s on" % (where, sorted(own))
    assert checked >= 12


def lab_playbook(*args):
    proc = ansible_playbook(["-i", "inventories/lab/hosts.yml"] + list(args))
    assert proc.returncode == 0, proc.stdout
    return proc.stdout


def normal_path_ids():
    """The control IDs of the roles' normal paths (tasks/apply.yml and what it
    includes) and of harden.yml's walls and checks after: dynamic, so
    --list-tags does not see into them."""
    found = set()
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "apply.yml"))
                       + glob.glob(os.path.join(ROOT, "playbooks", "tasks", "harden-*.yml"))):
        found |= ids_in(path)
    return found


def test_harden_lists_the_controls():
    controls, remediation = catalog()
    out = lab_playbook("--list-tags", "playbooks/harden.yml")
    listed = set()
    for line in re.findall(r"TASK TAGS: \[(.*)\]", out):
        listed |= set(t.strip() for t in line.split(",") if t.strip())
    ids = set(t for t in listed if ID_TAG.match(t))
    assert ids <= controls
    assert "OLLAMA-BIND-001" in ids
    assert remediation <= ids | normal_path_ids()
    assert {"OLLAMA-BIND-002", "OLLAMA-BIND-004", "OLLAMA-VER-001", "OLLAMA-FRONT-003", "OLLAMA-FRONT-007",
            "OLLAMA-FW-003", "OLLAMA-FW-005"} <= normal_path_ids()
    assert "always" in listed


def listed_tasks(out):
    return [line.strip().split("\t")[0] for line in out.splitlines() if line.startswith("      ")]


def test_tags_select_one_control_with_its_prerequisites():
    tasks = listed_tasks(lab_playbook("--list-tasks", "--tags", "OLLAMA-BIND-002", "playbooks/harden.yml"))
    names = " ".join(tasks)
    # The walls are entered (tagged always); in them, the rebind is selected by its own tag.
    assert "HARDEN | PATCH | Raise the walls where one has work" in names and "HARDEN | ROLLOUT" in names
    assert "OLLAMA-AUDIT | AUDIT | Read again the hosts a wall may have changed" in names
    assert "OLLAMA-AUDIT | REPORT | Report the batch" in names
    walls = dict((task.get("name"), tags) for task, tags in
                 walk(load(os.path.join(ROOT, "playbooks", "tasks", "harden-walls.yml"))))
    assert walls["OLLAMA-BIND | PATCH | Rebind Ollama to loopback"] == {"ollama_bind"}
    assert not [t for t in tasks if re.search(r"OLLAMA-[A-Z]+-\d{3} \|", t) and "OLLAMA-BIND-002" not in t]


def test_skip_tags_skip_one_control_only():
    tasks = listed_tasks(lab_playbook("--list-tasks", "--skip-tags", "OLLAMA-FW-004", "playbooks/harden.yml"))
    names = " ".join(tasks)
    assert "OLLAMA-FW-004" not in names
    # The roles' normal paths stay (tagged always); inside, each task keeps its own tags.
    for kept in ("HARDEN | PATCH | Raise the walls where one has work", "HARDEN | HEALTH | Check the services",
                 "OLLAMA-BIND-001 | AUDIT"):
        assert kept in names, kept
    inner = dict((task.get("name"), tags) for task, tags in
                 walk(load(os.path.join(ROOT, "roles", "ollama_firewall", "tasks", "apply.yml"))))
    assert inner["OLLAMA-FW-004 | PATCH | Drop outside traffic to Docker-published Ollama ports in DOCKER-USER"] == \
        {"OLLAMA-FW-004"}
    assert "OLLAMA-FW-004" not in inner["OLLAMA-FW-003 | PATCH | Apply the rules with the host's firewall"]
