# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: harden_plan
short_description: playbooks/harden.yml's decisions for one host (plugin_utils/ollama_harden.py)
description:
  - C(harden_plan) - from the audit before (the read and the report), whether any wall has work
    on the host, whether it gets a front, and the inputs harden.json records.
  - C(harden_record) - after the walls, whether harden.json is written and which walls' stamps it counts on.
  - C(harden_options) - the walls' options an operator set, as one digest.
  - C(harden_rollout_errors) - the rollout variables checked, each error naming its variable.
  - C(harden_probe_reuse), C(harden_skipped), C(harden_cloud_on) - what the report after and the summary need.
  - C(harden_still_exposed) - why a host the audit after finds exposed fails, in the words of its open exposure
    findings (the report's host entry, each finding's evidence, each control's remediation).
positional: report, context
options:
  _input:
    description: The audit's read of the host (C(ollama_audit_facts)).
    type: dict
    required: true
  report:
    description: The audit's report (C(ollama_audit_report)).
    type: dict
  context:
    description: C(host), C(options), C(toolkit), C(front), C(firewall), C(upgrade).
    type: dict
"""

EXAMPLES = r"""
- name: Plan the host
  ansible.builtin.set_fact:
    __harden: "{{ ollama_audit_facts | ollama_toolkit.exposure.harden_plan(ollama_audit_report, __harden_context) }}"
"""

RETURN = r"""
_value:
  description: C(untouched), C(blocked), C(ollama), C(front), C(firewall), C(inputs), C(before), C(probe_before).
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_harden


def _call(function, *args):
    try:
        return function(*args)
    except (TypeError, ValueError, KeyError) as exc:
        raise AnsibleFilterError("%s: %s" % (function.__name__, exc))


def harden_plan(facts, report, context):
    return _call(ollama_harden.host_plan, facts, report, context)


def harden_record(facts_after, plan, walls, context):
    return _call(ollama_harden.record, plan, facts_after, walls, context)


def harden_options(options, host):
    return _call(ollama_harden.options_digest, options, host)


def harden_rollout_errors(settings):
    return _call(ollama_harden.rollout_errors, settings)


def harden_probe_reuse(plans):
    return _call(ollama_harden.probe_reuse, list(plans or []))


def harden_skipped(hosts, reached, alive):
    return _call(ollama_harden.skipped, list(hosts or []), list(reached or []), list(alive or []))


def harden_cloud_on(hosts, hostvars):
    return _call(ollama_harden.cloud_on, dict((h, {"ollama_audit_facts": hostvars[h].get("ollama_audit_facts"),
                                                   "ollama_bind_disable_cloud": hostvars[h].get(
                                                       "ollama_bind_disable_cloud", False)})
                                              for h in hosts or []))


def harden_still_exposed(entry):
    return _call(ollama_harden.still_exposed, entry)


class FilterModule(object):
    def filters(self):
        return {"harden_plan": harden_plan, "harden_record": harden_record, "harden_options": harden_options,
                "harden_rollout_errors": harden_rollout_errors, "harden_probe_reuse": harden_probe_reuse,
                "harden_skipped": harden_skipped, "harden_cloud_on": harden_cloud_on,
                "harden_still_exposed": harden_still_exposed}

