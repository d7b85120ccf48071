# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: catalog
short_description: The control catalog (controls, exposure controls, the vulnerable-version table)
description:
  - The one loader of the control catalog in production, data in
    C(roles/ollama_audit/files/catalog.yml) of this repository (scripts and
    tests read that file directly).
  - Read and parsed once per controller process (again only when the file
    changes); each call returns its own copy.
options: {}
"""

EXAMPLES = r"""
- name: The report, with the catalog
  ollama_report:
    catalog: "{{ lookup('ollama_toolkit.exposure.catalog') }}"
"""

RETURN = r"""
_raw:
  description: The catalog (one mapping).
  type: list
  elements: dict
"""

import copy
import os

import yaml

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

# plugins/lookup/ -> the repository's root (collections/ansible_collections/ollama_toolkit/exposure/plugins/lookup).
ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), *([os.pardir] * 6)))
CATALOG = os.path.join(ROOT, "roles", "ollama_audit", "files", "catalog.yml")

_CACHE = {}


def load(path=CATALOG):
    """The catalog at ``path``, parsed once per (path, mtime, size)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise AnsibleLookupError("catalog: cannot read %s: %s" % (path, exc))
    key = (path, info.st_mtime_ns, info.st_size)
    if key not in _CACHE:
        with open(path) as handle:
            data = yaml.safe_load(handle)
        if not isinstance(data, dict) or not isinstance(data.get("controls"), dict):
            raise AnsibleLookupError("catalog: %s holds no controls" % path)
        _CACHE.clear()
        _CACHE[key] = data
    return copy.deepcopy(_CACHE[key])


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError("catalog takes no terms (got %s)" % (terms,))
        return [load()]
