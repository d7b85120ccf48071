#!/usr/bin/env python3
"""Render roles/<role>/README.md from the role's meta/argument_specs.yml.

    make docs        (or: python scripts/render_role_docs.py [--check])

Each README keeps its hand-written introduction (between the INTRO markers,
carried over as it is) and gets, generated: the role's tags (the control IDs
its tasks carry, with their titles from the catalog) and every entry point
with its options table (name, type, default, required, choices,
description). --check exits 1 when a README on disk is not what its
argument specs render to.
"""

import glob
import json
import os
import re
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BEGIN = "<!-- INTRO: hand-written, kept as it is by `make docs` -->"
END = "<!-- END INTRO: everything below is generated from meta/argument_specs.yml -->"
ID_NAME = re.compile(r"^\s*- name: \"?(OLLAMA-[A-Z]+-\d{3}) \|", re.M)


def roles():
    return sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
                  for p in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")))


def readme_path(role):
    return os.path.join(ROOT, "roles", role, "README.md")


def catalog_titles():
    with open(os.path.join(ROOT, "roles", "ollama_audit", "files", "catalog.yml")) as handle:
        catalog = yaml.safe_load(handle)
    titles = dict((cid, c["title"]) for cid, c in catalog["controls"].items())
    titles.update((cid, c["title"]) for cid, c in catalog.get("remediation_controls", {}).items())
    return titles


def role_controls(role):
    found = set()
    for path in glob.glob(os.path.join(ROOT, "roles", role, "tasks", "*.yml")):
        with open(path) as handle:
            found.update(ID_NAME.findall(handle.read()))
    return sorted(found)


def markup(text):
    """Ansible's doc markup (C(), I(), B(), V(), O()) as Markdown, on one line."""
    text = " ".join(str(text).split())
    text = re.sub(r"\b[CVO]\(([^)]*)\)", r"`\1`", text)
    text = re.sub(r"\bI\(([^)]*)\)", r"*\1*", text)
    return re.sub(r"\bB\(([^)]*)\)", r"**\1**", text)


def paragraphs(description):
    if description is None:
        return []
    return [markup(d) for d in (description if isinstance(description, list) else [description])]


def cell(text):
    return str(text).replace("|", "\\|")


def value(default):
    if isinstance(default, str):
        return "`%s`" % default if default else '`""`'
    return "`%s`" % json.dumps(default)


def option_rows(options, prefix=""):
    rows = []
    for name in options or {}:
        spec = options[name] or {}
        kind = spec.get("type", "str")
        if spec.get("elements"):
            kind = "%s of %s" % (kind, spec["elements"])
        rows.append("| `%s%s` | %s | %s | %s | %s | %s |" % (
            prefix, name, kind, value(spec["default"]) if "default" in spec else "",
            "yes" if spec.get("required") else "no",
            ", ".join("`%s`" % c for c in spec.get("choices") or []),
            cell(" ".join(paragraphs(spec.get("description"))))))
        if spec.get("options"):
            rows += option_rows(spec["options"], "%s%s%s." % (prefix, name, "[]" if kind.startswith("list") else ""))
    return rows


def render(role, intro):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    lines = ["# Role `%s`" % role, "", BEGIN, intro.strip("\n"), END, ""]
    controls = role_controls(role)
    lines += ["## Tags", ""]
    if controls:
        titles = catalog_titles()
        lines += ["Each task carries the control ID it names; select with `--tags` / `--skip-tags`",
                  "(the checks and plans the controls need are tagged `always`). The controls are",
                  "described in [docs/controls.md](../../docs/controls.md).", "",
                  "| tag | control |", "|---|---|"]
        lines += ["| `%s` | %s |" % (cid, cell(titles.get(cid, ""))) for cid in controls]
    else:
        lines += ["Every task is tagged `always`: the audit runs whatever `--tags` selects."]
    lines += ["", "## Entry points"]
    for entry in sorted(specs, key=lambda e: (e != "main", e)):
        spec = specs[entry] or {}
        lines += ["", "### `%s`" % entry, ""]
        if entry != "main":
            lines += ["`tasks_from: %s.yml`" % entry, ""]
        lines += [markup(spec.get("short_description", "")), ""]
        bullets = ["- %s" % text for text in paragraphs(spec.get("description"))]
        lines += bullets + ([""] if bullets else [])
        rows = option_rows(spec.get("options"))
        if rows:
            lines += ["| option | type | default | required | choices | description |",
                      "|---|---|---|---|---|---|"] + rows
        else:
            lines += ["No options."]
    return "\n".join(lines) + "\n"


def intro_of(text):
    if BEGIN not in text or END not in text:
        return None
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def current(role):
    path = readme_path(role)
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return handle.read()


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for role in roles():
        text = current(role)
        intro = intro_of(text or "")
        if intro is None:
            if check:
                stale.append(role)
                continue
            intro = "\nTODO: what the role does, in a few lines.\n"
        rendered = render(role, intro)
        if check:
            if rendered != text:
                stale.append(role)
            continue
        if rendered != text:
            with open(readme_path(role), "w") as handle:
                handle.write(rendered)
            print("wrote %s" % os.path.relpath(readme_path(role), ROOT))
    if stale:
        sys.exit("out of date: %s: run `make docs`" % ", ".join("roles/%s/README.md" % r for r in stale))


if __name__ == "__main__":
    main()
