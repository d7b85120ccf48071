# -*- coding: utf-8 -*-
"""Shared set-up for the unit tests of module_utils/.

The modules import each other as ``ansible.module_utils.<name>`` (that is
how Ansible ships them to a managed host), so the project's module_utils
directory is added to the search path of that package.
"""

import os

import pytest
import yaml

from standin_process import Standin

import ansible.module_utils

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MODULE_UTILS = os.path.join(REPO, "module_utils")
ROLE_VARS = os.path.join(REPO, "roles", "ollama_audit", "vars", "main.yml")

if MODULE_UTILS not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(MODULE_UTILS)


def load_catalog():
    with open(ROLE_VARS) as handle:
        return yaml.safe_load(handle)["__ollama_audit_catalog"]


@pytest.fixture(scope="session")
def catalog():
    """The control catalog and vulnerable-version table, from the role's vars."""
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
