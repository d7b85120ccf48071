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


def load_action(name, args, check_mode=False):
    """An action plugin of action_plugins/ as the task executor gets it from
    the action loader (mocks where the plugin does not use them, as in
    ansible-core's own unit tests of action plugins): (plugin, connection)."""
    from unittest.mock import MagicMock

    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook.play_context import PlayContext
    from ansible.playbook.task import Task
    from ansible.plugins.loader import action_loader
    from ansible.template import Templar

    task = MagicMock(Task)
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    task.action = name
    connection = MagicMock()
    connection._shell.tmpdir = None
    loader = DataLoader()
    action_loader.add_directory(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "action_plugins"))
    plugin = action_loader.get(name, task=task, connection=connection, play_context=PlayContext(),
                               loader=loader, templar=Templar(loader=loader), shared_loader_obj=None)
    assert plugin is not None, "the action loader does not find %s in action_plugins/" % name
    return plugin, connection
