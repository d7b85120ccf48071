# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: tree_digest
short_description: One digest of every file under some directories of the controller
description:
  - The SHA-256 of the relative path and content of every regular file under
    the given directories, walked in sorted order (C(__pycache__) and
    compiled Python left out).
  - C(playbooks/harden.yml) names the toolkit's code with it in its stamp, so
    that another version of the toolkit (a task, a template, a plugin) takes
    every wall's normal path again.
options:
  _terms:
    description: Directories on the controller. A directory that does not exist counts as empty.
    required: true
    type: list
    elements: path
"""

EXAMPLES = r"""
- name: Name the toolkit's code
  ansible.builtin.set_fact:
    toolkit_digest: "{{ lookup('ollama_toolkit.exposure.tree_digest', playbook_dir ~ '/../roles', playbook_dir) }}"
"""

RETURN = r"""
_raw:
  description: One hexadecimal SHA-256 for all the directories together.
  type: list
  elements: str
"""

import hashlib
import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


def tree_digest(roots):
    """SHA-256 over (root index, relative path, content) of every regular
    file under each root, in sorted order; compiled Python left out."""
    sha = hashlib.sha256()
    for index, root in enumerate(roots):
        found = []
        for top, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            found.extend(os.path.join(top, f) for f in files if not f.endswith((".pyc", ".pyo")))
        for path in sorted(found):
            if not os.path.isfile(path):
                continue
            rel = os.path.relpath(path, root)
            sha.update(("%d\0%s\0" % (index, rel)).encode("utf-8"))
            with open(path, "rb") as handle:
                sha.update(hashlib.sha256(handle.read()).digest())
    return sha.hexdigest()


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if not terms:
            raise AnsibleLookupError("tree_digest needs at least one directory")
        return [tree_digest([os.path.expanduser(str(t)) for t in terms])]
