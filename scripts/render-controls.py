#!/usr/bin/env python3
"""Render docs/controls.md from the control catalog (roles/ollama_audit/files/catalog.yml).

    make docs        (or: python scripts/render-controls.py [--check])

--check exits 1 when the page on disk is not what the catalog renders to.
The page is rendered by the collection's renderer (plugin_utils/ollama_render.py:
render_controls_page): the audit controls, the remediation controls, the tags
and the sources.
"""

import os
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

# The toolkit's collection (ollama_toolkit.exposure) is found as the playbooks
# find it: through the collections_path of the project's ansible.cfg.
os.environ.setdefault("ANSIBLE_CONFIG", os.path.join(ROOT, "ansible.cfg"))

from ansible.plugins.loader import init_plugin_loader  # noqa: E402

init_plugin_loader()

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_render import (  # noqa: E402
    render_controls_page, write_page)

PAGE = os.path.join(ROOT, "docs", "controls.md")
CATALOG = os.path.join(ROOT, "roles", "ollama_audit", "files", "catalog.yml")


def load_catalog():
    with open(CATALOG) as handle:
        return yaml.safe_load(handle)


def main():
    write_page(PAGE, render_controls_page(load_catalog()), "--check" in sys.argv[1:], ROOT)


if __name__ == "__main__":
    main()
