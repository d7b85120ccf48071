# -*- coding: utf-8 -*-
"""ansible-playbook of the test run's Python (the venv), from the repository
root with its ansible.cfg: the one runner of the unit tests that ask Ansible
itself (options checks, tags, the merge playbook, lookups)."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def ansible_playbook(args, env=None, timeout=300, merge=True):
    """Run ``ansible-playbook ARGS`` in ROOT with ANSIBLE_CONFIG=ansible.cfg
    (and ``env`` on top). The finished process, stderr merged into
    ``stdout`` (``merge=False``: apart, for a JSON stdout); the test is
    skipped where ansible-playbook is not installed."""
    binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    binary = binary if os.path.exists(binary) else shutil.which("ansible-playbook")
    if not binary:
        pytest.skip("ansible-playbook is not installed")
    environ = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), **(env or {}))
    return subprocess.run([binary] + list(args), cwd=ROOT, env=environ, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT if merge else subprocess.PIPE, universal_newlines=True,
                          timeout=timeout)
