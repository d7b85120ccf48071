# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: option_values
short_description: The values of every variable whose name matches, by name
description:
  - Every variable whose name matches one of the regular expressions (searched
    as M(ansible.builtin.varnames) does), less those named in O(exclude), with
    its value as M(ansible.builtin.vars) gives it (templated), as one mapping
    of name to value.
  - How each wall takes its options for its plan (C(ollama_toolkit.exposure.wall_plan))
    and C(playbooks/harden.yml) the walls' options an operator set.
options:
  _terms:
    description: Regular expressions matched against the variables' names.
    required: true
    type: list
    elements: str
  exclude:
    description: Names left out (a plan the role sets as a fact, a secret that enters hashed).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: The digest of the role's options
  ansible.builtin.set_fact:
    options_digest: >-
      {{ lookup('ollama_toolkit.exposure.option_values', '^ollama_bind_', exclude=['ollama_bind_plan'])
         | ollama_toolkit.exposure.harden_options(inventory_hostname) }}
"""

RETURN = r"""
_raw:
  description: One mapping of each matching variable's name to its value.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if not terms:
            raise AnsibleLookupError("option_values needs at least one regular expression")
        exclude = set(self.get_option("exclude"))
        # The builtin lookups themselves: the same names, the same templating.
        found = lookup_loader.get("ansible.builtin.varnames", loader=self._loader, templar=self._templar)
        names = sorted(set(found.run(terms, variables)) - exclude)
        if not names:
            return [{}]
        values = lookup_loader.get("ansible.builtin.vars", loader=self._loader, templar=self._templar)
        return [dict(zip(names, values.run(names, variables)))]
