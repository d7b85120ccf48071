# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: host_findings
short_description: The findings of one host's read (ollama_info's result), derived on the controller
description:
  - What the report (M(ollama_report)) derives for one host before the outside probe and the
    firewall's mitigations, that is every finding of the control catalog the read shows
    (plugin_utils/ollama_findings.py, evaluate_host). M(ollama_info) takes no catalog, so the
    findings are the controller's.
positional: catalog, host_id
options:
  _input:
    description: One host's read (the registered result of M(ollama_info)).
    type: dict
    required: true
  catalog:
    description: The control catalog (C(lookup('ollama_toolkit.exposure.catalog'))).
    type: dict
    required: true
  host_id:
    description: The host's name in the findings and their fingerprints (default the read's C(host_id)).
    type: str
"""

EXAMPLES = r"""
- name: The cloud findings of the host
  ansible.builtin.debug:
    msg: "{{ audit | ollama_toolkit.exposure.host_findings(lookup('ollama_toolkit.exposure.catalog'))
             | map(attribute='id') | select('match', 'OLLAMA-CLOUD-') | list }}"
"""

RETURN = r"""
_value:
  description: The findings (id, severity, title, subject, evidence, location, remediation, references, fingerprint).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import evaluate_host


def host_findings(facts, catalog, host_id=None):
    if not isinstance(facts, dict) or not isinstance(catalog, dict) or "controls" not in catalog:
        raise AnsibleFilterError("host_findings: needs an ollama_info result and the control catalog")
    return evaluate_host(facts, catalog, host_id or facts.get("host_id") or "")


class FilterModule(object):
    def filters(self):
        return {"host_findings": host_findings}
