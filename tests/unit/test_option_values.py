# -*- coding: utf-8 -*-
"""The option_values lookup (what each stamp's inputs digest covers): the
variables whose names match, less the excluded ones, with the values the
builtin vars lookup gives, so the digest is the one the roles and
harden.yml made before it existed."""

import json

import pytest
import yaml

from playbook_run import ansible_playbook

VARIABLES = {
    "ollama_bind_address": "127.0.0.1",
    "ollama_bind_port": "{{ 11000 + 434 }}",
    "ollama_bind_services": ["ollama.service"],
    "ollama_bind_plan": [{"action": "rebind"}],
    "ollama_front_port": 8443,
    "harden_front": True,
}


def render(tmp_path, expressions, variables=None):
    """Each expression templated by ansible-playbook on localhost, with
    VARIABLES (and ``variables``) as extra vars: the lookup as the roles
    call it. Returns {name: value}, or raises with the run's output."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "vars.json").write_text(json.dumps(dict(VARIABLES, **(variables or {}))))
    msg = "{{ {%s} }}" % ", ".join("%r: (%s)" % (name, expr) for name, expr in expressions.items())
    play = [{"name": "Render", "hosts": "localhost", "gather_facts": False, "connection": "local",
             "tasks": [{"name": "Render", "ansible.builtin.debug": {"msg": msg}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    run = ansible_playbook(["-i", "localhost,", str(tmp_path / "play.yml"), "-e", "@%s" % (tmp_path / "vars.json")],
                           {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"},
                           timeout=120, merge=False)
    result = json.loads(run.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    if run.returncode != 0:
        raise AssertionError(result.get("msg") or run.stdout[-2000:])
    return result["msg"]


LOOKUP = "lookup('ollama_toolkit.exposure.option_values', %s)"


def test_the_options_as_the_builtin_lookups_gave_them(tmp_path):
    """The matching variables, templated, less the excluded; the very
    mapping each role and harden.yml built before from the builtin lookups
    (their digests do not move); the digest moves with a value."""
    names = ("query('ansible.builtin.varnames', '^(ollama_(front|bind)_.+|harden_front)$') | sort"
             " | difference(['ollama_bind_plan'])")
    found = render(tmp_path / "a", {
        "bind": LOOKUP % "'^ollama_bind_', exclude=['ollama_bind_plan']",
        "before": "dict(%s | zip(query('ansible.builtin.vars', *(%s))))" % (names, names),
        "now": LOOKUP % "'^(ollama_(front|bind)_.+|harden_front)$', exclude=['ollama_bind_plan']",
        "two": LOOKUP % "'^harden_', '^ollama_front_'",
        "none": LOOKUP % "'^nothing_'",
        "digest": LOOKUP % "'^ollama_bind_'" + " | ollama_toolkit.exposure.harden_options('h1')",
    })
    assert found["bind"] == {"ollama_bind_address": "127.0.0.1", "ollama_bind_port": 11434,
                             "ollama_bind_services": ["ollama.service"]}
    assert found["now"] == found["before"]
    assert sorted(found["now"]) == ["harden_front", "ollama_bind_address", "ollama_bind_port",
                                    "ollama_bind_services", "ollama_front_port"]
    assert found["two"] == {"harden_front": True, "ollama_front_port": 8443}
    assert found["none"] == {}
    # As harden.yml digests the walls' options.
    moved = render(tmp_path / "b", {"digest": LOOKUP % "'^ollama_bind_'" + " | ollama_toolkit.exposure.harden_options('h1')"},
                   {"ollama_bind_port": 11435})
    assert len(found["digest"]) == 64 and moved["digest"] != found["digest"]


def test_no_expression_is_an_error(tmp_path):
    with pytest.raises(AssertionError, match="at least one regular expression"):
        render(tmp_path, {"none": "lookup('ollama_toolkit.exposure.option_values')"})
