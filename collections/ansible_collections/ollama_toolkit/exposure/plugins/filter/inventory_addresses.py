# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: inventory_addresses
short_description: The addresses of the inventory's hosts, address to inventory name (discovery's managed hosts)
description:
  - Each host's C(ansible_host) (its inventory name when unset), its C(ollama_discover_addresses) and
    C(ollama_audit_probe_addresses), IP literals only (names are not resolved, as the inventory
    plugin C(ollama_toolkit.exposure.discover) does). Discovery (playbooks/discover.yml) calls
    the addresses C(managed) and the report points them to their audited host instead of a finding
    (plugin_utils/ollama_report.py, inventory_addresses).
positional: hosts
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The inventory's hosts (C(groups['all'])).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: The managed addresses
  ansible.builtin.debug:
    msg: "{{ hostvars | ollama_toolkit.exposure.inventory_addresses(groups['all']) }}"
"""

RETURN = r"""
_value:
  description: address -> inventory name (the first host with that address).
  type: dict
"""

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import inventory_addresses


class FilterModule(object):
    def filters(self):
        return {"inventory_addresses": inventory_addresses}
