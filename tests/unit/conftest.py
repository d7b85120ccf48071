# -*- coding: utf-8 -*-
"""Shared set-up for the unit tests.

The toolkit's Python lives in the in-repo collection ollama_toolkit.exposure
and is imported by its full name (``ansible_collections.ollama_toolkit.
exposure.plugins.module_utils.<name>``); pytest.ini puts collections/ on the
path, as ansible.cfg's collections_path does for Ansible.
"""

import os

import pytest
import yaml

from standin_process import Standin

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CATALOG = os.path.join(REPO, "roles", "ollama_audit", "files", "catalog.yml")


def load_catalog():
    with open(CATALOG) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="session")
def catalog():
    """The control catalog and vulnerable-version table, from the role's files/catalog.yml."""
    return load_catalog()


@pytest.fixture
def standin():
    """Factory: standin(OLLAMA_HOST=..., ...) -> a started Standin; all killed at teardown."""
    started = []

    def start(**env):
        env.setdefault("OLLAMA_HOST", "127.0.0.1:0")
        server = Standin(**env)
        started.append(server)
        return server.wait_ready()

    yield start
    for server in started:
        server.stop()


def without_unfixed(catalog):
    """The catalog without the advisories no release fixes: OLLAMA-VER-003
    comes with every install (tests/unit/test_ollama_findings.py tests it);
    the report and life-cycle tests follow the other findings."""
    table = dict(catalog["vulnerable_versions"])
    table["entries"] = [e for e in table["entries"] if not e.get("mitigation")]
    return dict(catalog, vulnerable_versions=table)
