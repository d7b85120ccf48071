"""Each role option's default is stated in defaults/main.yml and, as Ansible
requires for its argument validation and the README, in
meta/argument_specs.yml: the two say the same, for every option of every
entry point of every role."""

import os

import pytest
import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ROLES = sorted(r for r in os.listdir(os.path.join(ROOT, "roles"))
               if os.path.isfile(os.path.join(ROOT, "roles", r, "meta", "argument_specs.yml")))


def load(role, *path):
    with open(os.path.join(ROOT, "roles", role, *path)) as handle:
        return yaml.safe_load(handle) or {}


def disagreements(defaults, specs):
    """(entry point, option, spec's default, defaults/main.yml's) for each
    option whose two defaults differ: a spec default that defaults/main.yml
    does not state, or states otherwise (a plain value; a Jinja expression
    is not templated); a plain value in defaults/main.yml that the spec
    leaves out."""
    found = []
    for entry, spec in sorted((specs.get("argument_specs") or {}).items()):
        for name, option in sorted((spec.get("options") or {}).items()):
            if name not in defaults:
                if "default" in option:
                    found.append((entry, name, option["default"], "(not in defaults/main.yml)"))
                continue
            value = defaults[name]
            templated = isinstance(value, str) and "{{" in value
            if "default" in option:
                # A Jinja default is compared as written, or not at all (the
                # spec may state what it gives by default).
                if not templated and option["default"] != value:
                    found.append((entry, name, option["default"], value))
            elif not templated and value is not None:
                found.append((entry, name, "(no default)", value))
    return found


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_specs_agree(role):
    assert disagreements(load(role, "defaults", "main.yml"), load(role, "meta", "argument_specs.yml")) == []


def test_a_default_stated_otherwise_is_caught():
    specs = {"argument_specs": {"main": {"options": {
        "x_file": {"type": "path", "default": "/var/lib/x.json"},
        "x_port": {"type": "int"},
        "x_host": {"type": "raw"}}}}}
    assert disagreements({"x_file": "/var/lib/x.json", "x_host": "{{ ansible_host }}"}, specs) == []
    assert disagreements({"x_file": "/var/lib/y.json"}, specs) == [("main", "x_file", "/var/lib/x.json", "/var/lib/y.json")]
    assert disagreements({}, specs) == [("main", "x_file", "/var/lib/x.json", "(not in defaults/main.yml)")]
    assert disagreements({"x_file": "/var/lib/x.json", "x_port": 80}, specs) == [("main", "x_port", "(no default)", 80)]
