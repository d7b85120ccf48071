# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of role ollama_bind: what its tasks decide from what they ran.
The plan itself comes from one call (``ollama_audit_facts |
ollama_toolkit.exposure.wall_plan('bind', options, context)``:
plugin_utils/ollama_bind.py ``wall_plan``).

    {{ registered_stats | ollama_bind_backups }}                      -> services, dropins, env_files
    {{ steps | ollama_bind_apply(env_results, dropin_results, restart=true) }}
                                                                      -> apply, restarts, copies, ...
    {{ adoption_item | ollama_bind_relaunch }}                        -> argv (a list)
    {{ info.listeners | ollama_bind_unsettled(items) }}   -> [] once settled
    {{ info | ollama_bind_health(items) }}                 -> [] when healthy

The logic lives in plugin_utils/ollama_bind.py of the collection
ollama_toolkit.exposure (unit tested); this file only makes it callable
from templates.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_bind import (
    apply_plan, backups, health, relaunch_argv, unsettled)


def ollama_bind_backups(stat_results):
    return backups(stat_results)


def ollama_bind_apply(plan_steps, env_results, dropin_results, restart=True):
    return apply_plan(plan_steps, env_results, dropin_results, restart)


def ollama_bind_relaunch(item):
    try:
        return relaunch_argv(item)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("ollama_bind_relaunch: not an adoption record (%s)" % exc)


def ollama_bind_unsettled(listeners, items):
    return unsettled(listeners, items)


def ollama_bind_health(facts, items):
    return health(facts, items)


class FilterModule(object):
    def filters(self):
        return {"ollama_bind_backups": ollama_bind_backups, "ollama_bind_apply": ollama_bind_apply,
                "ollama_bind_relaunch": ollama_bind_relaunch, "ollama_bind_unsettled": ollama_bind_unsettled,
                "ollama_bind_health": ollama_bind_health}
