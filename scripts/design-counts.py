#!/usr/bin/env python3
"""Count what issue 27 ("Walls as plans") measures, in the tree it is run in.

    python scripts/design-counts.py [TREE] [--json]     (TREE: default the current directory)

Production code only: roles/, playbooks/ (YAML, Jinja templates), library/,
action_plugins/, filter_plugins/ and the collection's plugins/ (Python);
comments and Markdown are not counted (the role READMEs are rendered from
the argument specs). Four counts, each with where it comes from:

1. Jinja in double-underscore variables: every mapping key starting with
   ``__`` (vars:, set_fact:, vars/, defaults/) in the YAML of roles/ and
   playbooks/ whose value holds ``{{`` or ``{%``; how many are over 200
   characters (the value as YAML reads it), and the longest few.
2. Places each stamp or state-file path literal is stated: every literal
   under /var/lib, /var/backups, /etc or /run ``ollama-exposure-toolkit`` (the stamp
   directory, a stamp, the firewall's state file, the upgrade's backups),
   and the reports' default (``'/../reports'``), one line per place.
3. Fast paths: the occurrences of checksum_paths, files_unchanged,
   ollama_stamp_unchanged and in_place.
4. Where OLLAMA_HOST is parsed: calls of the parser
   (module_utils/ollama_host.py: parse_ollama_host, split_host_port,
   join_host_port) from outside it, against ad-hoc forms of the same rules
   (a ``[v6]:port`` join written out, a host:port split by hand); each
   ad-hoc place is printed so it can be judged.
"""

import json
import os
import re
import sys

import yaml

CODE_DIRS = ("roles", "playbooks", "library", "action_plugins", "filter_plugins",
             os.path.join("collections", "ansible_collections", "ollama_toolkit", "exposure", "plugins"))
YAML_DIRS = ("roles", "playbooks")
CODE_EXT = (".py", ".yml", ".yaml", ".j2")
HOST_PARSER = "ollama_host.py"
LONG = 200
PATH_LITERAL = re.compile(r"(?:/var/lib|/var/backups|/etc|/run)/ollama-exposure-toolkit(?:/[\w.{}-]*[\w}])*")
REPORTS_DEFAULT = re.compile(r"['\"]/\.\./reports['\"]")
FAST_PATHS = ("checksum_paths", "files_unchanged", "ollama_stamp_unchanged", "in_place")
PARSER_CALL = re.compile(r"\b(parse_ollama_host|split_host_port|join_host_port)\(")
PARSER_DEF = re.compile(r"^\s*def (parse_ollama_host|split_host_port|join_host_port)\(")
AD_HOC = (
    ("[v6]:port join written out", re.compile(r"\"\[%s\]:|'\[%s\]:|\"\[\{\}\]:|'\[' ~|\"\[\" ?\+|'\[' ?\+")),
    ("host:port split by hand", re.compile(r"rsplit\(\s*['\"]:['\"]|rpartition\(\s*['\"]:['\"]|split\(\s*['\"]\]:?['\"]"
                                           r"|regex_(?:replace|search)\(\s*['\"][^'\"]*(?:\\\]|\]):")),
)


class Loader(yaml.SafeLoader):
    """SafeLoader that reads Ansible's tags (!unsafe, !vault) as plain values."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


Loader.add_multi_constructor("!", _any_tag)


def files(root, dirs, exts):
    for top in dirs:
        for base, subdirs, names in os.walk(os.path.join(root, top)):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith((".", "__pycache__")))
            for name in sorted(names):
                if name.endswith(exts):
                    yield os.path.join(base, name)


def code_lines(path):
    """(line number, line) of a file, comment lines left out."""
    with open(path, errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            stripped = line.strip()
            if stripped.startswith("#") or stripped.startswith("{#"):
                continue
            yield number, line


def dunder_expressions(root):
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and key.startswith("__") and isinstance(value, str) \
                        and ("{{" in value or "{%" in value):
                    found.append({"name": key, "chars": len(value), "file": path})
                walk(value, path)
        elif isinstance(node, list):
            for item in node:
                walk(item, path)

    for path in files(root, YAML_DIRS, (".yml", ".yaml")):
        try:
            with open(path) as handle:
                data = yaml.load(handle, Loader=Loader)  # noqa: S506 - SafeLoader subclass
        except yaml.YAMLError:
            continue
        walk(data, os.path.relpath(path, root))
    found.sort(key=lambda item: -item["chars"])
    return {"count": len(found), "over_%d" % LONG: sum(1 for item in found if item["chars"] > LONG),
            "longest": found[:8]}


def path_literals(root):
    places = {}
    for path in files(root, CODE_DIRS, CODE_EXT):
        rel = os.path.relpath(path, root)
        for number, line in code_lines(path):
            literals = PATH_LITERAL.findall(line)
            if REPORTS_DEFAULT.search(line):
                literals.append("'/../reports' (report_dir's default)")
            for literal in literals:
                places.setdefault(literal, []).append("%s:%d" % (rel, number))
    return dict(sorted(places.items()))


def fast_paths(root):
    counts = dict((term, {}) for term in FAST_PATHS)
    for path in files(root, CODE_DIRS, CODE_EXT):
        rel = os.path.relpath(path, root)
        for _number, line in code_lines(path):
            for term in FAST_PATHS:
                hits = len(re.findall(r"\b%s\b" % term, line))
                if hits:
                    counts[term][rel] = counts[term].get(rel, 0) + hits
    return {"total": sum(sum(c.values()) for c in counts.values()),
            "per_term": dict((t, {"count": sum(c.values()), "files": c}) for t, c in counts.items())}


def host_parses(root):
    calls, ad_hoc = {}, []
    for path in files(root, CODE_DIRS, CODE_EXT):
        rel = os.path.relpath(path, root)
        for number, line in code_lines(path):
            if os.path.basename(path) != HOST_PARSER and not PARSER_DEF.match(line):
                for name in PARSER_CALL.findall(line):
                    if "import" not in line:
                        calls.setdefault(name, []).append("%s:%d" % (rel, number))
            if os.path.basename(path) == HOST_PARSER:
                continue
            for kind, pattern in AD_HOC:
                if pattern.search(line):
                    ad_hoc.append({"kind": kind, "where": "%s:%d" % (rel, number), "line": line.strip()[:120]})
    return {"parser_calls": sum(len(v) for v in calls.values()), "calls": calls,
            "ad_hoc": len(ad_hoc), "ad_hoc_places": ad_hoc}


def counts(root):
    return {"dunder_jinja": dunder_expressions(root), "path_literals": path_literals(root),
            "fast_paths": fast_paths(root), "ollama_host": host_parses(root)}


def show(found):
    lines = []
    dunder = found["dunder_jinja"]
    lines.append("1. __ variables holding Jinja (roles, playbooks): %d, %d over %d characters" % (
        dunder["count"], dunder["over_%d" % LONG], LONG))
    for item in dunder["longest"][:5]:
        lines.append("     %5d  %s  (%s)" % (item["chars"], item["name"], item["file"]))
    literals = found["path_literals"]
    lines.append("2. stamp/state-file path literals: %d literals, %d places" % (
        len(literals), sum(len(v) for v in literals.values())))
    for literal, places in literals.items():
        lines.append("     %2d  %s: %s" % (len(places), literal, ", ".join(places)))
    fast = found["fast_paths"]
    lines.append("3. fast paths: %d occurrences (%s)" % (fast["total"], ", ".join(
        "%s %d" % (term, entry["count"]) for term, entry in fast["per_term"].items())))
    for term, entry in fast["per_term"].items():
        if entry["count"]:
            lines.append("     %s: %s" % (term, ", ".join("%s %d" % kv for kv in sorted(entry["files"].items()))))
    host = found["ollama_host"]
    lines.append("4. OLLAMA_HOST parsing: %d calls of the parser (ollama_host.py) from outside it, %d ad-hoc forms" % (
        host["parser_calls"], host["ad_hoc"]))
    for name, places in sorted(host["calls"].items()):
        lines.append("     %s x%d: %s" % (name, len(places), ", ".join(places)))
    for item in host["ad_hoc_places"]:
        lines.append("     ad hoc (%s) %s: %s" % (item["kind"], item["where"], item["line"]))
    return "\n".join(lines)


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    root = os.path.abspath(args[0] if args else os.getcwd())
    found = counts(root)
    print(json.dumps(found, indent=1) if "--json" in argv else show(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
