# -*- coding: utf-8 -*-
"""References that drift: the collection's README names every Python file
under its plugins/, and every docs/*.md the code and docs cite exists."""

import glob
import os
import re

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
COLLECTION = os.path.join(ROOT, "collections", "ansible_collections", "ollama_toolkit", "exposure")
DOC_REF = re.compile(r"\bdocs/([\w.-]+\.md)\b")
SOURCES = ("roles", "playbooks", "library", "action_plugins", "filter_plugins", "collections", "scripts", "tests",
           "molecule", "docs")


def plugin_files():
    plugins = os.path.join(COLLECTION, "plugins")
    return sorted(os.path.relpath(path, plugins) for path in glob.glob(os.path.join(plugins, "**", "*.py"),
                                                                        recursive=True)
                  if os.path.basename(path) != "__init__.py")


def test_the_collection_readme_names_every_python_file_of_its_plugins():
    with open(os.path.join(COLLECTION, "README.md")) as handle:
        readme = handle.read()
    files = plugin_files()
    assert len(files) >= 20
    missing = []
    for rel in files:
        directory, name = os.path.split(rel)
        # Named as `name.py` under the directory's heading, or as `dir/name.py`.
        if "`%s`" % rel not in readme and not re.search(
                r"## plugins/(?:[\w/ ]+ and )?(?:plugins/)?%s/[^\n]*\n(?:(?!\n## )[\s\S])*?`%s`" % (
                    re.escape(directory), re.escape(name)), readme):
            missing.append(rel)
    assert not missing, "the collection's README does not name: %s" % ", ".join(missing)


def test_every_cited_doc_exists():
    cited = {}
    for top in SOURCES + ("README.md",):
        paths = [os.path.join(ROOT, top)] if top.endswith(".md") else \
            glob.glob(os.path.join(ROOT, top, "**", "*"), recursive=True)
        for path in paths:
            if not path.endswith((".py", ".yml", ".md", ".j2", ".sh")) or not os.path.isfile(path):
                continue
            with open(path, errors="replace") as handle:
                for name in DOC_REF.findall(handle.read()):
                    cited.setdefault(name, set()).add(os.path.relpath(path, ROOT))
    dangling = dict((name, sorted(where)) for name, where in cited.items()
                    if not os.path.exists(os.path.join(ROOT, "docs", name)))
    assert not dangling, "docs cited that do not exist: %s" % dangling
    assert "architecture.md" in cited
