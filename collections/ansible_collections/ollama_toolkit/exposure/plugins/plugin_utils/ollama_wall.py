# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contract every wall (bind, firewall, front, upgrade) keeps with the
playbooks: one call returns its plan.

    ollama_<wall>_plan: "{{ ollama_audit_facts | ollama_toolkit.exposure.wall_plan('<wall>', options, context) }}"

``options`` is every ``ollama_<wall>_*`` variable by name (the
``option_values`` lookup), ``context`` what the run adds (the host's names,
the tags, check mode, the role's path). Each plan is a dict with, besides
what its own tasks loop over:

- ``wall``: its name;
- ``in_place``: the audit read back the wall's stamp with nothing moved and
  the same inputs: no task of the wall reads or writes the host;
- ``stamp``: what the wall records at the end of its normal path
  (``name``, ``inputs`` digest, ``files``, ``units``, ``nft_chains``,
  ``data``) and whether this run writes it (``write``);
- ``settled``: nothing is left for the wall to say on every run (a port
  conflict, Ollama started by hand): playbooks/harden.yml may count on its
  stamp for the whole host's fast path.

The stamps are the only fast path. Pure functions, unit tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import hashlib
import os

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_stamp import (
    digest, unchanged, whole_run)

CONTEXT_KEYS = ("host", "ansible_host", "run_tags", "skip_tags", "check_mode", "role_path")


def check_context(context):
    """The context every wall_plan call passes, checked (a KeyError names
    what is missing: a playbook bug, not an operator's)."""
    context = dict(context or {})
    missing = [k for k in CONTEXT_KEYS if k not in context]
    if missing:
        raise ValueError("wall_plan: context lacks %s" % ", ".join(missing))
    return context


def templates_digest(role_path):
    """SHA-1 of each of the role's templates (templates/*.j2), in name order:
    another template takes the wall again."""
    out = []
    for path in sorted(glob.glob(os.path.join(role_path or "", "templates", "*.j2"))):
        with open(path, "rb") as handle:
            out.append(hashlib.sha1(handle.read()).hexdigest())
    return out


def stamp(name, version, inputs, facts, context, prefix, stampable=True, files=(), units=(), nft_chains=(),
          data=None):
    """A wall's stamp: its inputs as one digest (version, inputs, templates),
    whether the audit's read shows it in place, and whether this run writes
    it (stampable, a whole run of the wall, not check mode). prefix: the
    wall's control IDs (OLLAMA-FW): a --skip-tags naming one means no stamp."""
    context = check_context(context)
    inputs_digest = digest({"version": version, "inputs": inputs,
                            "templates": templates_digest(context["role_path"])})
    read = ((facts or {}).get("stamps") or {}).get(name)
    whole = whole_run(context["run_tags"], context["skip_tags"], prefix, name)
    return {"name": name, "inputs": inputs_digest, "files": list(files), "units": list(units),
            "nft_chains": list(nft_chains), "data": data,
            "in_place": bool(stampable) and unchanged(read, inputs_digest),
            "write": bool(stampable) and whole and not context["check_mode"]}
