"""Each role's README is rendered from its meta/argument_specs.yml (`make docs`)."""

import os
import shutil

import pytest
import yaml

from scripts import render_role_docs

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


RENDER = render_role_docs


def test_every_role_has_a_readme():
    assert RENDER.roles() == ["ollama_audit", "ollama_bind", "ollama_firewall", "ollama_front", "ollama_upgrade"]


@pytest.mark.parametrize("role", RENDER.roles())
def test_readme_is_what_the_argument_specs_render_to(role):
    text = RENDER.current(role)
    assert text is not None, "roles/%s/README.md is missing: run `make docs`" % role
    intro = RENDER.intro_of(text)
    assert intro and intro.strip() and "TODO" not in intro, "roles/%s/README.md needs its hand-written intro" % role
    assert text == RENDER.render(role, intro), "roles/%s/README.md is out of date: run `make docs`" % role


@pytest.mark.parametrize("role", RENDER.roles())
def test_readme_names_every_option_and_entry_point(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    text = RENDER.current(role)
    for entry, spec in specs.items():
        assert "### `%s`" % entry in text
        for option in spec.get("options") or {}:
            assert "| `%s` |" % option in text


def test_a_changed_spec_makes_the_readme_stale(tmp_path, monkeypatch):
    role = "ollama_bind"
    text = RENDER.current(role)
    for part in (("roles", role, "meta"), ("roles", role, "tasks"), ("roles", "ollama_audit", "files")):
        shutil.copytree(os.path.join(ROOT, *part), str(tmp_path.joinpath(*part)))
    monkeypatch.setattr(RENDER, "ROOT", str(tmp_path))
    assert RENDER.render(role, RENDER.intro_of(text)) == text
    specs = tmp_path / "roles" / role / "meta" / "argument_specs.yml"
    specs.write_text(specs.read_text().replace("default: 30", "default: 45"))
    assert RENDER.render(role, RENDER.intro_of(text)) != text
