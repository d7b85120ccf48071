# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's side of the stamps (the host's: module_utils/ollama_stamp.py).

A wall's stamp is made from one digest of everything that decided what it
wrote (``digest``), compared with what the audit read back (``unchanged``);
``read_view`` is the part of an audit read that decides the walls.
``whole_run`` says whether a run may write a stamp at all. Pure functions,
unit tested in tests/unit/test_ollama_stamp.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re


def digest(value):
    """The SHA-256 of a JSON value, keys sorted: how the controller and the
    host name the same inputs."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"),
                                     default=str).encode("utf-8")).hexdigest()


# What an audit read holds that moves while nothing changes (process ids, the
# texts that quote them), what is compared on its own (the stamps, the
# checksums asked for) and what is derived from the rest (findings, status).
VOLATILE_KEYS = frozenset(("pid", "main_pid", "changed", "stamps", "checksums", "file_attrs", "findings",
                           "installs", "status", "reason", "warnings_detail", "host_id", "invocation"))
# What Ansible adds to the result it registers, not what the host said (left
# out at the top level): the interpreter it discovered (ansible_facts), which
# only the first module of a run returns - the read before the walls where no
# ansible_python_interpreter is set, never the read after them, so harden.json
# stored at the end of a run never matched the next run's start (issue 27) -
# and its warnings and deprecations.
ANSIBLE_RESULT_KEYS = frozenset(("ansible_facts", "warnings", "deprecations"))


def read_view(facts):
    """The part of one host's audit read (ollama_info's result) that decides
    what the walls do: the same host read twice with nothing changed gives
    the same view, whether or not Ansible discovered the interpreter with
    it. Listeners on loopback other than Ollama's (a resolver's ephemeral
    port) are left out."""
    def strip(value):
        if isinstance(value, dict):
            return dict((k, strip(v)) for k, v in value.items()
                        if k not in VOLATILE_KEYS and not str(k).startswith("_ansible"))
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    view = strip(dict((k, v) for k, v in (facts or {}).items() if k not in ANSIBLE_RESULT_KEYS))
    view["other_listeners"] = [s for s in view.get("other_listeners") or [] if s.get("scope") != "loopback"]
    return view


def unchanged(stamp, inputs):
    """True when a stamp (as ollama_info returns it) is there, shows no
    drift and was made from these inputs (a digest)."""
    return bool(isinstance(stamp, dict) and stamp.get("present") and not stamp.get("drift")
                and inputs and stamp.get("inputs") == inputs)


def whole_run(run_tags, skip_tags, prefix, role):
    """A stamp is written only after a whole run of a wall: no --tags, and
    no --skip-tags naming one of its controls (prefix: OLLAMA-FW), the role
    (ollama_firewall) or ``always`` (a part may have been left undone)."""
    pattern = re.compile(r"^(%s-[0-9]+|%s|always)\Z" % (re.escape(prefix), re.escape(role)))
    return list(run_tags or []) == ["all"] and not any(pattern.match(str(t)) for t in skip_tags or [])
