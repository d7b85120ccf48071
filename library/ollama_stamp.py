#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ollama_stamp
short_description: Record what a role left on a host, for the next run's fast path
version_added: "1.1.0"
description:
  - Written by a role at the end of a run that applied it. It records the
    digest of the role's inputs (made on the controller) and the state the
    role left - each file's SHA-1 and mode, owner and group (or its absence),
    each unit's active and enabled state, each of the toolkit's nftables
    chains (its rules' digest).
  - The audit (M(ollama_info) with C(stamps)) reads the stamp and the same
    state again; a role whose stamp shows no drift and the same inputs skips
    every task that would read or write the host.
  - The stamp holds no file content and no secret - checksums, modes, unit
    states and the inputs' digest - and is written root-only (0600),
    atomically, and only when it differs.
author:
  - Ollama exposure toolkit contributors
options:
  name:
    description:
      - The stamp's name (the wall's, as C(ollama_front), or C(harden)). Its file is
        C(<name>.json) in the one directory the audit reads (module_utils/ollama_stamp.py).
    type: str
    required: true
  inputs:
    description:
      - The digest of what decided the role's writes (its variables and plan),
        made on the controller. Required with C(state=present).
    type: str
  files:
    description: Paths the role manages (a missing one is recorded as "must be absent").
    type: list
    elements: path
    default: []
  units:
    description: systemd units whose active and enabled state the role set.
    type: list
    elements: str
    default: []
  nft_chains:
    description: The toolkit's nftables chains, each as C(family table chain).
    type: list
    elements: str
    default: []
  data:
    description: A small JSON value kept with the stamp and returned by the audit (no secrets).
    type: raw
  state:
    description: C(absent) removes the stamp (the role's rollback).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Supports check mode - it reports whether the stamp would change and writes nothing.
"""

EXAMPLES = r"""
- name: Record what the front left
  ollama_stamp:
    name: ollama_front
    inputs: "{{ ollama_front_plan.stamp.inputs }}"
    files: [/etc/nginx/conf.d/ollama-front.conf, /etc/nginx/ollama-front/tls/front.crt]
    units: [nginx.service]
"""

RETURN = r"""
stamp:
  description: The stamp as written (or as it would be, in check mode).
  returned: with state=present
  type: dict
  sample: {"version": 1, "inputs": "4f2c...", "state": {"files": {"/etc/nginx/conf.d/ollama-front.conf":
           ["9a1e...", "0644 root root"]}, "units": {"nginx.service": "active enabled"}, "nft": {}}}
"""

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_stamp import (
    document, parse, read_host_state, stamp_path)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_systemd import parse_systemctl_show


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            inputs=dict(type="str"),
            files=dict(type="list", elements="path", default=[]),
            units=dict(type="list", elements="str", default=[]),
            nft_chains=dict(type="list", elements="str", default=[]),
            data=dict(type="raw"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ["inputs"])],
        supports_check_mode=True,
    )
    try:
        path = stamp_path(module.params["name"])
    except ValueError as exc:
        module.fail_json(msg="name: %s" % exc)
    try:
        with open(path, "r") as handle:
            old = parse(handle.read())
    except (IOError, OSError):
        old = None
    if module.params["state"] == "absent":
        exists = os.path.lexists(path)
        if exists and not module.check_mode:
            os.unlink(path)
        module.exit_json(changed=exists)
    files, units, chains = read_host_state(module, module.params["files"], module.params["units"],
                                           module.params["nft_chains"], parse_systemctl_show)
    new = document(module.params["inputs"], files, units, chains, module.params["data"])
    if new == old:
        module.exit_json(changed=False, stamp=new)
    if not module.check_mode:
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        handle, tmp = tempfile.mkstemp(dir=directory, prefix=".stamp-")
        try:
            with os.fdopen(handle, "w") as out:
                json.dump(new, out, sort_keys=True, indent=1)
                out.write("\n")
            os.chmod(tmp, 0o600)
            os.rename(tmp, path)
        except (IOError, OSError) as exc:
            if os.path.exists(tmp):
                os.unlink(tmp)
            module.fail_json(msg="cannot write the stamp %s: %s" % (path, exc))
    module.exit_json(changed=True, stamp=new)


if __name__ == "__main__":
    main()
