# -*- coding: utf-8 -*-
"""The tree_digest lookup (harden.json's name for the toolkit's code): one
digest that moves with any file's content or name and with nothing else."""

import os

from ansible_collections.ollama_toolkit.exposure.plugins.lookup.tree_digest import LookupModule, tree_digest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def tree(base, files):
    for rel, text in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_digest_moves_with_content_and_names_only(tmp_path):
    tree(tmp_path / "a", {"tasks/main.yml": "- x\n", "templates/t.j2": "{{ y }}\n"})
    tree(tmp_path / "b", {"tasks/main.yml": "- x\n", "templates/t.j2": "{{ y }}\n"})
    first = tree_digest([str(tmp_path / "a")])
    assert first == tree_digest([str(tmp_path / "b")])  # where the tree is does not count
    tree(tmp_path / "a", {"__pycache__/m.cpython-311.pyc": "compiled", "lib/m.pyc": "compiled"})
    assert tree_digest([str(tmp_path / "a")]) == first  # compiled Python does not count
    tree(tmp_path / "a", {"templates/t.j2": "{{ z }}\n"})
    edited = tree_digest([str(tmp_path / "a")])
    assert edited != first
    os.rename(str(tmp_path / "a" / "templates" / "t.j2"), str(tmp_path / "a" / "templates" / "u.j2"))
    assert tree_digest([str(tmp_path / "a")]) not in (first, edited)
    # Two roots are not one: a file moving from one to the other counts.
    assert tree_digest([str(tmp_path / "a"), str(tmp_path / "b")]) != tree_digest([str(tmp_path / "b"),
                                                                                   str(tmp_path / "a")])
    assert tree_digest([str(tmp_path / "missing")]) == tree_digest([])


def test_the_lookup_returns_one_digest_of_the_toolkit():
    found = LookupModule().run([os.path.join(ROOT, "roles"), os.path.join(ROOT, "playbooks")], variables={})
    assert len(found) == 1 and len(found[0]) == 64
    assert found == LookupModule().run([os.path.join(ROOT, "roles"), os.path.join(ROOT, "playbooks")], variables={})
