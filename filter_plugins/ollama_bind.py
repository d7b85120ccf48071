# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of role ollama_bind: the plan of a host from its audit, and every
decision the role's tasks take from it.

    {{ ollama_audit_facts | ollama_bind_plan(address='127.0.0.1', origins=[],
                                             fix_origins=true, services=[], adopt=false) }}
    {{ ollama_audit_facts | ollama_bind_adoptions(address='127.0.0.1') }}
    {{ ollama_bind_plan | ollama_bind_steps(backup_dir=...) }}      -> todo, rebind, unbacked, ...
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
    apply_plan, backups, health, host_plan, plan_adoptions, relaunch_argv, stamp_view, steps, unsettled)


def ollama_bind_plan(facts, address="127.0.0.1", origins=None, fix_origins=True, services=None,
                     dropin_name="zz-ollama-exposure-toolkit.conf", env_dir="/etc/ollama-exposure-toolkit",
                     port=None, adopt=False, no_cloud=False):
    try:
        return host_plan(facts, address, origins or [], fix_origins, services or None, dropin_name, env_dir,
                         int(port) if port else None, adopt=adopt, no_cloud=bool(no_cloud))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def ollama_bind_adoptions(facts, address="127.0.0.1", origins=None, fix_origins=True,
                          env_dir="/etc/ollama-exposure-toolkit", port=None):
    try:
        return plan_adoptions(facts, address, origins or [], fix_origins, env_dir, int(port) if port else None)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def ollama_bind_steps(items, backup_dir="/var/backups/ollama-exposure-toolkit"):
    return steps(items, backup_dir)


def ollama_bind_backups(stat_results):
    return backups(stat_results)


def ollama_bind_apply(plan_steps, env_results, dropin_results, restart=True):
    return apply_plan(plan_steps, env_results, dropin_results, restart)


def ollama_bind_relaunch(item):
    try:
        return relaunch_argv(item)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("ollama_bind_relaunch: not an adoption record (%s)" % exc)


def ollama_bind_stamp_view(items):
    return stamp_view(items)


def ollama_bind_unsettled(listeners, items):
    return unsettled(listeners, items)


def ollama_bind_health(facts, items):
    return health(facts, items)


class FilterModule(object):
    def filters(self):
        return {"ollama_bind_plan": ollama_bind_plan, "ollama_bind_adoptions": ollama_bind_adoptions,
                "ollama_bind_steps": ollama_bind_steps, "ollama_bind_backups": ollama_bind_backups,
                "ollama_bind_apply": ollama_bind_apply, "ollama_bind_relaunch": ollama_bind_relaunch,
                "ollama_bind_unsettled": ollama_bind_unsettled, "ollama_bind_health": ollama_bind_health,
                "ollama_bind_stamp_view": ollama_bind_stamp_view}
