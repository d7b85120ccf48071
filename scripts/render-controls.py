#!/usr/bin/env python3
"""Render docs/controls.md from the control catalog (roles/ollama_audit/vars/main.yml).

    make docs        (or: python scripts/render-controls.py [--check])

--check exits 1 when the page on disk is not what the catalog renders to.
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


def main():
    with open(os.path.join(ROOT, "roles", "ollama_audit", "vars", "main.yml")) as handle:
        catalog = yaml.safe_load(handle)["__ollama_audit_catalog"]
    text = render_controls_markdown(catalog)
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
