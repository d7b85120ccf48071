# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: wall_plan
short_description: One wall's plan (bind, firewall, front, upgrade) from the audit's read and its options
description:
  - The one call each wall's role makes before it changes anything. It returns
    every decision its tasks take, whether the wall is already in place (its
    stamp) and the stamp it records (plugin_utils/ollama_wall.py).
  - Raises, naming the variable, on a bad option.
positional: wall, options, context
options:
  _input:
    description: The audit's read of the host (C(ollama_audit_facts)).
    type: dict
    required: true
  wall:
    description: C(bind), C(firewall), C(front) or C(upgrade).
    type: str
    required: true
  options:
    description: The wall's C(ollama_<wall>_*) variables by name (the C(option_values) lookup).
    type: dict
    required: true
  context:
    description: C(host), C(ansible_host), C(run_tags), C(skip_tags), C(check_mode), C(role_path), and what a wall adds.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Plan the front
  ansible.builtin.set_fact:
    ollama_front_plan: "{{ ollama_audit_facts | ollama_toolkit.exposure.wall_plan('front', __options, __context) }}"
"""

RETURN = r"""
_value:
  description: The plan (C(wall), C(in_place), C(stamp), C(settled) and the wall's own steps).
  type: dict
"""

import importlib

from ansible.errors import AnsibleFilterError

WALLS = ("bind", "firewall", "front", "upgrade")


def wall_plan(facts, wall, options, context):
    if wall not in WALLS:
        raise AnsibleFilterError("wall_plan: unknown wall %r (one of %s)" % (wall, ", ".join(WALLS)))
    module = importlib.import_module(
        "ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_%s" % wall)
    try:
        return module.wall_plan(facts or {}, dict(options or {}), dict(context or {}))
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("%s" % exc)


class FilterModule(object):
    def filters(self):
        return {"wall_plan": wall_plan}
