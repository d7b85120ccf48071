# -*- coding: utf-8 -*-
"""Every whole-value validation pattern ends with ``\\Z``, never ``$``.

Python's ``$`` also matches before a final newline, so a credential name, an
API key or an origin ending in "\\n" would pass validation, render into
nginx's files, pass ``nginx -t`` and be silently dead. The rule covers the
Python code and the Jinja ``match`` tests of the roles and playbooks.
"""

import os
import re

import pytest

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PYTHON = re.compile(r"""re\.compile\(r?["'](\^[^"']*)["']""")
JINJA = re.compile(r"""\(\s*'match'\s*,\s*'(\^[^']*)'""")


def _files(top, suffixes):
    for base, dirs, names in os.walk(os.path.join(REPO, top)):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if name.endswith(suffixes):
                yield os.path.join(base, name)


def _anchored_patterns():
    sources = [(path, PYTHON) for top in ("collections", "library", "action_plugins", "filter_plugins")
               for path in _files(top, (".py",))]
    sources += [(path, JINJA) for top in ("roles", "playbooks") for path in _files(top, (".yml", ".yaml", ".j2"))]
    for path, pattern in sources:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                for found in pattern.findall(line):
                    yield os.path.relpath(path, REPO), number, found


PATTERNS = list(_anchored_patterns())


def test_the_scan_finds_the_validation_patterns():
    files = {path for path, _n, _p in PATTERNS}
    assert "roles/ollama_front/tasks/apply.yml" in files
    assert any(path.endswith("plugin_utils/ollama_front.py") for path in files)


@pytest.mark.parametrize("path,line,pattern", PATTERNS, ids=["%s:%s" % (p, n) for p, n, _x in PATTERNS])
def test_whole_value_patterns_end_with_backslash_z(path, line, pattern):
    if "|" in pattern and not pattern.startswith("^("):
        pytest.skip("an alternation of prefixes, not a whole-value check")
    assert not pattern.endswith("$"), "%s:%s: %s ends with $ (accepts a trailing newline): use \\Z" % (
        path, line, pattern)
