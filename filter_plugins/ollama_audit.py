# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter of role ollama_audit: what its probe and report modules get from
every host's variables, by inventory name.

    {{ hostvars | ollama_audit_inputs(ansible_play_hosts_all, ollama_audit_skip, 'results') }}

Parts: results, addresses (the audited hosts: the play's less those
of ollama_audit_skip) and exceptions (every play host).

    {{ hostvars | ollama_audit_option_sets(ansible_play_hosts, names) }}

The hosts grouped by the values of the options ``names`` they set
themselves (tasks/fleet.yml checks each set once). The logic lives in
plugin_utils/ollama_report.py of the collection ollama_toolkit.exposure
(unit tested).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import audit_inputs, option_sets


def ollama_audit_inputs(hostvars, play_hosts, skip, part):
    try:
        return audit_inputs(hostvars, play_hosts, skip, part)
    except ValueError as exc:
        raise AnsibleFilterError("ollama_audit_inputs: %s" % exc)


def ollama_audit_option_sets(hostvars, hosts, names):
    return option_sets(hostvars, hosts, names)


class FilterModule(object):
    def filters(self):
        return {"ollama_audit_inputs": ollama_audit_inputs, "ollama_audit_option_sets": ollama_audit_option_sets}
