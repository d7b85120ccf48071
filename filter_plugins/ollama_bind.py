# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of role ollama_bind: the plan of a host from its audit.

    {{ ollama_audit_facts | ollama_bind_plan(address='127.0.0.1', origins=[],
                                             fix_origins=true, services=[]) }}
    {{ ollama_audit_facts | ollama_bind_adoptions(address='127.0.0.1') }}
    {{ info.listeners | ollama_bind_unsettled(items) }}   -> [] once settled
    {{ info | ollama_bind_health(items) }}                 -> [] when healthy

The logic lives in module_utils/ollama_bind.py (unit tested); this file only
makes it callable from templates.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import ansible.module_utils
from ansible import constants as C
from ansible.errors import AnsibleFilterError

for _path in C.config.get_config_value("DEFAULT_MODULE_UTILS_PATH") or []:
    _path = os.path.abspath(os.path.expanduser(_path))
    if os.path.isdir(_path) and _path not in ansible.module_utils.__path__:
        ansible.module_utils.__path__.append(_path)

from ansible.module_utils.ollama_bind import (  # noqa: E402  pylint: disable=wrong-import-position
    health, plan, plan_adoptions, unsettled)


def ollama_bind_plan(facts, address="127.0.0.1", origins=None, fix_origins=True, services=None,
                     dropin_name="zz-ollama-exposure-toolkit.conf", env_dir="/etc/ollama-exposure-toolkit",
                     port=None):
    try:
        return plan(facts, address, origins or [], fix_origins, services or None, dropin_name, env_dir,
                    int(port) if port else None)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def ollama_bind_adoptions(facts, address="127.0.0.1", origins=None, fix_origins=True,
                          env_dir="/etc/ollama-exposure-toolkit", port=None):
    try:
        return plan_adoptions(facts, address, origins or [], fix_origins, env_dir, int(port) if port else None)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def ollama_bind_unsettled(listeners, items):
    return unsettled(listeners, items)


def ollama_bind_health(facts, items):
    return health(facts, items)


class FilterModule(object):
    def filters(self):
        return {"ollama_bind_plan": ollama_bind_plan, "ollama_bind_adoptions": ollama_bind_adoptions,
                "ollama_bind_unsettled": ollama_bind_unsettled, "ollama_bind_health": ollama_bind_health}
