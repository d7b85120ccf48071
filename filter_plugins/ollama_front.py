# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of role ollama_front: the checked credential list of the front,
with SHA-512-crypt hashes made on the controller, and the role's decisions.

    {{ ollama_front_credentials | ollama_front_credentials(inventory_hostname) }}
    {{ ollama_audit_facts | ollama_front_plan(upstream_host=..., upstream_port=0,
                                              remove_default_site='auto', max_conns=0) }}
                                    -> upstream_port, host_header, remove_default,
                                       upstream_max_conns
    {{ ollama_front_listen | ollama_front_check_address }}

The logic lives in plugin_utils/ollama_front.py of the collection
ollama_toolkit.exposure (unit tested). Errors never quote a secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_front import (
    check_address, credential_entries, front_plan)


def ollama_front_credentials(credentials, host):
    try:
        return credential_entries(credentials, str(host))
    except ValueError as exc:
        raise AnsibleFilterError("ollama_front_credentials: %s" % exc)


def ollama_front_plan(facts, upstream_host="127.0.0.1", upstream_port=0, remove_default_site="auto", max_conns=0):
    return front_plan(facts, upstream_host, upstream_port, remove_default_site, max_conns)


def ollama_front_check_address(listen):
    return check_address(listen)


class FilterModule(object):
    def filters(self):
        return {"ollama_front_credentials": ollama_front_credentials, "ollama_front_plan": ollama_front_plan,
                "ollama_front_check_address": ollama_front_check_address}
