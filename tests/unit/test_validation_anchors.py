# -*- coding: utf-8 -*-
"""No regular expression of the toolkit ends a match with ``$``: ``\\Z`` only.

Python's ``$`` (and so Jinja's ``match``/``search`` tests and ``regex_*``
filters, which use Python's ``re``) also matches before a final newline, so
a credential name, an API key, an origin or a drop-in name ending in "\\n"
would pass validation, render into a file, pass ``nginx -t`` and be silently
dead. Whether a pattern is "a whole-value check" is not for a scanner to
guess (``^a$|b`` checks a whole value in its first branch), so the rule holds
for every pattern: no ``$`` anchor anywhere in it, outside a character class
and unescaped. The scan covers every pattern literal handed to Python's
``re`` (any function: compile, match, fullmatch, search, sub, ...), found
with the ``ast`` module, and every Jinja ``match``/``search``/``regex`` test
(``is match(...)``, ``select('match', ...)``, ``selectattr(..., 'match', ...)``)
and ``regex_search``/``regex_replace``/``regex_findall`` filter in the roles
and playbooks.
"""

import ast
import os
import re

import pytest

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RE_FUNCTIONS = {"compile", "match", "fullmatch", "search", "sub", "subn", "split", "findall", "finditer"}
_QUOTED = r"""(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")"""
JINJA = re.compile(r"""(?:['"](?:match|search|regex)['"]\s*,\s*|\bis\s+(?:not\s+)?(?:match|search|regex)\s*\(\s*|"""
                   r"""\bregex_(?:search|replace|findall)\s*\(\s*)""" + _QUOTED)


def _files(top, suffixes):
    for base, dirs, names in os.walk(os.path.join(REPO, top)):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if name.endswith(suffixes):
                yield os.path.join(base, name)


def python_patterns(source):
    """(line, pattern) of every string literal given first to a function of ``re``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RE_FUNCTIONS
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def jinja_patterns(text):
    """(line, pattern) of every Jinja regex test or filter's pattern."""
    return [(text.count("\n", 0, m.start()) + 1, m.group(1) if m.group(1) is not None else m.group(2))
            for m in JINJA.finditer(text)]


def dollar_anchors(pattern):
    """Offsets of each ``$`` that is an anchor: not escaped, not in a character class."""
    found, escaped, in_class, index = [], False, False, 0
    while index < len(pattern):
        char = pattern[index]
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            # A "]" right after "[" or "[^" is a literal member of the class.
            if pattern[index + 1:index + 2] == "^":
                index += 1
            if pattern[index + 1:index + 2] == "]":
                index += 1
        elif char == "$":
            found.append(index)
        index += 1
    return found


def _patterns():
    out = []
    for top in ("collections", "library", "action_plugins", "filter_plugins", "scripts"):
        for path in _files(top, (".py",)):
            with open(path, encoding="utf-8") as handle:
                out += [(os.path.relpath(path, REPO), n, p) for n, p in python_patterns(handle.read())]
    for top in ("roles", "playbooks"):
        for path in _files(top, (".yml", ".yaml", ".j2")):
            with open(path, encoding="utf-8") as handle:
                out += [(os.path.relpath(path, REPO), n, p) for n, p in jinja_patterns(handle.read())]
    return out


PATTERNS = _patterns()


def test_the_scan_finds_the_patterns_in_every_form():
    files = {path for path, _n, _p in PATTERNS}
    assert "roles/ollama_front/tasks/apply.yml" in files
    assert any(path.endswith("plugin_utils/ollama_front.py") for path in files)
    found = {(path, pattern) for path, _n, pattern in PATTERNS}
    # Forms the earlier scan missed: `is match(...)`, re.match(...), an alternation without "^(".
    assert ("roles/ollama_bind/tasks/main.yml", r"^[A-Za-z0-9_.@-]+\.conf\Z") in found
    assert any(p.endswith("ollama_report.py") and pat.startswith(r"^\d{4}-") for p, pat in found)
    # (in a double-quoted YAML scalar, where "\\Z" is read as \Z)
    assert ("roles/ollama_front/tasks/tls.yml", r"^([0-9.]+\\Z|.*:)") in found
    assert len(PATTERNS) >= 50  # the earlier scan (re.compile of "^..." and one Jinja form) found 27


@pytest.mark.parametrize("pattern, anchors", [
    ("^abc$", [4]),
    ("^a$|b", [2]),                  # an alternation: its first branch is a whole-value check
    ("(?:/|$)", [5]),
    (r"^a\Z", []),
    (r"^\$[0-9]+\Z", []),            # an escaped dollar is a character
    ("^[$]+\\Z", []),                # so is one in a class
    ("^[]$]\\Z", []),                # "]" first in a class is a member
    ("^[^]$]$", [6]),
    (r"^a\\$", [4]),                 # an escaped backslash, then an anchor
])
def test_dollar_anchors_finds_each_anchor_and_nothing_else(pattern, anchors):
    assert dollar_anchors(pattern) == anchors


def test_the_scanners_read_each_form():
    source = 'import re\nA = re.compile(r"^x$")\nB = re.match("^a" "b$", s)\nC = other.match("^z$")\n'
    assert python_patterns(source) == [(2, "^x$"), (3, "^ab$")]
    text = ("a: \"{{ x is match('^a$') }}\"\nb: \"{{ l | select('match', '^b$|c') }}\"\n"
            "c: \"{{ l | selectattr('k', 'search', \"d$\") }}\"\nd: \"{{ v | regex_replace('e$', '') }}\"\n"
            "e: \"{{ v is not search('f$') }}\"\n")
    assert jinja_patterns(text) == [(1, "^a$"), (2, "^b$|c"), (3, "d$"), (4, "e$"), (5, "f$")]


@pytest.mark.parametrize("path,line,pattern", PATTERNS, ids=["%s:%s" % (p, n) for p, n, _x in PATTERNS])
def test_no_pattern_anchors_with_dollar(path, line, pattern):
    assert dollar_anchors(pattern) == [], "%s:%s: %r ends a match with $ (accepts a trailing newline): use \\Z" % (
        path, line, pattern)
