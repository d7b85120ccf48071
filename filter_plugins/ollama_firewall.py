# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the ollama_firewall role. The logic lives in
plugin_utils/ollama_firewall.py and ollama_docker_republish.py of the
collection ollama_toolkit.exposure (unit tested); this file only makes it
callable from tasks and templates:

    {{ detection_stdout | ollama_firewall_detect }}
    {{ ollama_firewall_backend | ollama_firewall_install_needed(state) }}
    {{ ollama_audit_facts | ollama_firewall_plan(state, backend='auto', ...) }}
    {{ plan | ollama_firewall_nftables }}
    {{ plan | ollama_firewall_iptables('ipv4') }}
    {{ live_lines | ollama_firewall_stale(rules) }}
    {{ plan | ollama_firewall_docker_user('ipv4') }}
    {{ plan | ollama_firewall_ufw_rules }}
    {{ plan | ollama_firewall_rich_rules }}
    {{ ollama_audit_facts.containers | ollama_firewall_republish(inspects, images) }}
    {{ plan | ollama_firewall_drop_republished(ollama_audit_facts, names) }}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_docker_republish as docker
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_firewall as fw


def ollama_firewall_plan(facts, state, backend="auto", ports=None, front_enabled=True, front_port=11443,
                         front_sources=None, ssh_port=22, docker_user=True,
                         ufw_enable=False, ssh_allow=False, docker_republish=False, install=False):
    try:
        return fw.plan(facts, state, backend=backend, ports=ports if ports is not None else [],
                       front_enabled=front_enabled, front_port=front_port, front_sources=front_sources,
                       ssh_port=ssh_port, docker_user=docker_user,
                       ufw_enable=ufw_enable, ssh_allow=ssh_allow, docker_republish=docker_republish,
                       install=install)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def ollama_firewall_republish(containers, inspects, images=None):
    """``inspects``: the results of the role's ``GET /containers/{id}/json``
    (looped over the containers), ``images``: of ``GET /images/{name}/json``
    (looped over image names); plain dicts are taken as they are."""
    return docker.republish_plan(containers or [], _responses(inspects, lambda item: item.get("id")),
                                 dict((k, v.get("Id") if isinstance(v, dict) else v)
                                      for k, v in _responses(images, str).items()))


def _responses(results, key):
    """{key of the loop item: JSON of a 200 answer, else None} from uri results."""
    if isinstance(results, dict) and "results" not in results:
        return results
    if isinstance(results, dict):
        results = results["results"]
    found = {}
    for result in results or []:
        if isinstance(result, dict) and "item" in result:
            found[key(result["item"])] = result.get("json") if result.get("status") == 200 else None
    return found


def ollama_firewall_stale(live_lines, rules):
    return fw.stale_chain(live_lines or [], rules or [])


class FilterModule(object):
    def filters(self):
        return {
            "ollama_firewall_detect": fw.parse_detection,
            "ollama_firewall_install_needed": fw.install_needed,
            "ollama_firewall_plan": ollama_firewall_plan,
            "ollama_firewall_nftables": fw.nftables_ruleset,
            "ollama_firewall_iptables": fw.iptables_rules,
            "ollama_firewall_stale": ollama_firewall_stale,
            "ollama_firewall_docker_user": fw.docker_user_rules,
            "ollama_firewall_ufw_rules": fw.ufw_rules,
            "ollama_firewall_rich_rules": fw.firewalld_rich_rules,
            "ollama_firewall_republish": ollama_firewall_republish,
            "ollama_firewall_drop_republished": fw.drop_republished,
        }
