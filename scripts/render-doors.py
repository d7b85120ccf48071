#!/usr/bin/env python3
"""Render the per-kind tables of docs/doors.md from module_utils/ollama_servers.py.

    make docs        (or: python scripts/render-doors.py [--check])

The page's prose is hand-written; the block between its BEGIN and END
markers is generated (plugin_utils/ollama_doors.py: render_doors_page) from
SERVERS and FORWARDERS, the one table of kinds. --check exits 1 when the
page on disk is not what the table renders to.
"""

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("ANSIBLE_CONFIG", os.path.join(ROOT, "ansible.cfg"))

from ansible.plugins.loader import init_plugin_loader  # noqa: E402

init_plugin_loader()

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_servers import (  # noqa: E402
    FORWARDERS, SERVERS)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_doors import (  # noqa: E402
    render_doors_page)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_render import (  # noqa: E402
    write_page)

PAGE = os.path.join(ROOT, "docs", "doors.md")


def main():
    with open(PAGE) as handle:
        current = handle.read()
    write_page(PAGE, render_doors_page(current, SERVERS, FORWARDERS), "--check" in sys.argv[1:], ROOT)


if __name__ == "__main__":
    main()
