#!/usr/bin/env python3
"""Render docs/controls.md from the control catalog (roles/ollama_audit/vars/main.yml).

    make docs        (or: python scripts/render-controls.py [--check])

--check exits 1 when the page on disk is not what the catalog renders to.
The audit controls (findings) are rendered by module_utils' renderer; the
remediation controls (steps of the firewall and front roles, no finding),
the tags and the sources are added here.
"""

import os
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

import ansible.module_utils  # noqa: E402

# The project's module_utils import each other as ansible.module_utils.<name>.
ansible.module_utils.__path__.append(os.path.join(ROOT, "module_utils"))

from ansible.module_utils.ollama_render import render_controls_markdown  # noqa: E402

PAGE = os.path.join(ROOT, "docs", "controls.md")
CATALOG = os.path.join(ROOT, "roles", "ollama_audit", "vars", "main.yml")


def _md(text):
    return " ".join(str(text if text is not None else "").split()).replace("|", "\\|")


def render_remediation_markdown(catalog):
    """The remediation controls, how the IDs work as tags, and the sources."""
    controls = catalog.get("remediation_controls") or {}
    lines = [
        "",
        "## Remediation controls",
        "",
        "Steps of the firewall and front roles. They produce no audit finding (no",
        "severity; not in the reports, tickets or junit.xml): they are controls so",
        "that every task ID is a catalog entry and a tag.",
        "",
        "| id | role | mitigates | title |",
        "|---|---|---|---|",
    ]
    for cid in sorted(controls):
        control = controls[cid]
        lines.append("| %s | `%s` | %s | %s |" % (
            cid, control["role"], ", ".join(control.get("mitigates") or []) or "-", _md(control["title"])))
    for cid in sorted(controls):
        control = controls[cid]
        lines += ["", "### %s: %s" % (cid, control["title"]), "",
                  "- **Why**: %s" % _md(control["rationale"]),
                  "- **Verify**: %s" % _md(control["verify"]),
                  "- **What the role does**: %s" % _md(control["remediation"]),
                  "- **Role**: `%s`" % control["role"],
                  "- **Mitigates**: %s" % (", ".join(control.get("mitigates") or []) or "-"),
                  "- **References**: %s" % (", ".join(control.get("references") or []) or "-")]
    lines += [
        "",
        "## Tags",
        "",
        "Every task whose name starts with a control ID carries that ID as a tag",
        "(`tests/unit/test_tags.py` checks it), as do the includes that lead to it:",
        "",
        "```sh",
        "ansible-playbook -i inv playbooks/harden.yml --list-tags",
        "ansible-playbook -i inv playbooks/harden.yml --tags OLLAMA-BIND-002",
        "ansible-playbook -i inv playbooks/harden.yml -e harden_firewall=true --skip-tags OLLAMA-FW-004",
        "```",
        "",
        "The audit, the PRELIM steps (input checks, planning) and the firewall's",
        "record for rollback are tagged `always`: they run whatever is selected.",
        "Audit controls without tasks of their own are fixed by the tasks of another",
        "tag (the rebind, `OLLAMA-BIND-002`, also fixes OLLAMA-BIND-003, OLLAMA-CFG-002",
        "and OLLAMA-CORS-001; the firewall's tags, in the column above, fix others) or",
        "by hand (`fixed_by` is empty). `OLLAMA-BIND-001` selects the checks after the",
        "change: the host is not exposed, every service runs on loopback and answers.",
        "Role names are tags too",
        "(`ollama_bind`, `ollama_firewall`, `ollama_front`); `playbooks/rollback.yml`",
        "is selected by role only.",
        "",
        "## Sources",
        "",
    ]
    lines += ["- %s" % source for source in catalog.get("sources") or []]
    return "\n".join(lines) + "\n"


def render_page(catalog):
    return render_controls_markdown(catalog) + render_remediation_markdown(catalog)


def load_catalog():
    with open(CATALOG) as handle:
        return yaml.safe_load(handle)["__ollama_audit_catalog"]


def main():
    text = render_page(load_catalog())
    if "--check" in sys.argv[1:]:
        with open(PAGE) as handle:
            if handle.read() != text:
                sys.exit("docs/controls.md is out of date: run `make docs`")
        return
    with open(PAGE, "w") as handle:
        handle.write(text)
    print("wrote %s" % os.path.relpath(PAGE, ROOT))


if __name__ == "__main__":
    main()
