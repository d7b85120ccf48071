# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the ollama_firewall role: the plan of a host from its read, and
every decision the role's tasks take from it.

    {{ ollama_audit_facts | ollama_firewall_plan(detect, backend='auto', ..., before={}, state_file=...) }}
        -> backend, install, ports, docker, act, nftables, iptables_chain, iptables[family],
           docker_user_rules[family], ufw_rules, ufw_stale, rich_rules, rich_stale, front_conn_limit, python,
           docker_state_file, republish, republish_refused, ...
    {{ plan | ollama_firewall_republish(facts, read) }}   (read: ollama_info with docker_inspect)
        -> the plan with republish / republish_refused, without the DOCKER-USER rules of those
    {{ live_lines | ollama_firewall_stale(rules) }}
    {{ ollama_firewall_state_file | ollama_firewall_docker_state_file }}   (the rollback's)

``detect`` is ollama_info's ``firewall.detect``. The logic lives in
plugin_utils/ollama_firewall.py and ollama_docker_republish.py of the
collection ollama_toolkit.exposure (unit tested); this file only makes it
callable from tasks and templates.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_firewall as fw


def ollama_firewall_plan(facts, state, backend="auto", ports=None, front_enabled=True, front_port=11443,
                         front_sources=None, ssh_port=22, docker_user=True,
                         ufw_enable=False, ssh_allow=False, docker_republish=False, install=False,
                         before=None, state_file=None, firewalld_zone="",
                         front_conn_limit=64, front_conn_limit_ipv6_prefix=64, front_conn_limit_exempt=None):
    try:
        return fw.plan(facts, state, backend=backend, ports=ports if ports is not None else [],
                       front_enabled=front_enabled, front_port=front_port, front_sources=front_sources,
                       ssh_port=ssh_port, docker_user=docker_user,
                       ufw_enable=ufw_enable, ssh_allow=ssh_allow, docker_republish=docker_republish,
                       install=install, before=before, state_file=state_file, firewalld_zone=firewalld_zone,
                       front_conn_limit=front_conn_limit,
                       front_conn_limit_ipv6_prefix=front_conn_limit_ipv6_prefix,
                       front_conn_limit_exempt=front_conn_limit_exempt)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def ollama_firewall_republish(plan, facts, read):
    return fw.with_republish(plan, facts, read)


def ollama_firewall_stale(live_lines, rules):
    return fw.stale_chain(live_lines or [], rules or [])


class FilterModule(object):
    def filters(self):
        return {
            "ollama_firewall_plan": ollama_firewall_plan,
            "ollama_firewall_republish": ollama_firewall_republish,
            "ollama_firewall_stale": ollama_firewall_stale,
            "ollama_firewall_docker_state_file": fw.docker_state_file,
        }
