#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ollama_report
short_description: Write the fleet's Ollama audit as findings.json, findings.csv and report.md
version_added: "1.0.0"
description:
  - Runs on the controller, once per play. Merges each host's C(ollama_info)
    result with the outside C(ollama_probe) result, decides each host's
    status (C(exposed), C(secure), C(not_installed), C(unreachable),
    C(unsupported)) and writes the report files into I(dest).
  - Files are replaced atomically. The module reports C(changed) only when
    the audit's content differs from the report already in I(dest) (the
    timestamp alone does not count), so a repeated audit of an unchanged
    fleet reports no change.
author:
  - Ollama exposure toolkit contributors
options:
  dest:
    description: Report directory; created when missing.
    type: path
    required: true
  records:
    description:
      - One item per audited host - C(host), C(reachable) (bool), C(error)
        (why the audit could not run) and C(facts) (the C(ollama_info) result).
    type: list
    elements: dict
    required: true
  probe:
    description: The C(hosts) return value of C(ollama_probe).
    type: dict
    default: {}
  catalog:
    description: The control catalog.
    type: dict
    required: true
  generated_at:
    description: ISO 8601 time of the run (the playbook passes the controller's clock).
    type: str
    required: true
  fail_on:
    description:
      - Fail when a finding of this severity or higher is open.
      - C(never) disables the check.
    type: str
    choices: [never, info, low, medium, high, critical]
    default: never
notes:
  - Writes on the controller also in check mode - the report is the audit's
    output, not a change to a managed host.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Write the reports
  ollama_report:
    dest: reports
    records: "{{ records }}"
    probe: "{{ probe.hosts }}"
    catalog: "{{ __ollama_audit_catalog }}"
    generated_at: "{{ now(utc=true).isoformat() }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
summary:
  description: Host counts by status, finding counts by severity.
  returned: always
  type: dict
  sample: {hosts: 3, by_status: {exposed: 1, secure: 2}, by_severity: {critical: 2}, findings: 3}
hosts:
  description: Per host, its status and reason.
  returned: always
  type: dict
  sample: {web1: {status: exposed, reason: null}}
files:
  description: Paths written.
  returned: always
  type: list
  elements: str
failing:
  description: Findings at or above I(fail_on).
  returned: always
  type: list
  elements: dict
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.ollama_report import (
    build_report, comparable, open_at_or_above, render_csv, render_json, render_markdown)


def write_atomic(path, content):
    directory = os.path.dirname(path)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(content)
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def previous_report(path):
    import json
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            records=dict(type="list", elements="dict", required=True),
            probe=dict(type="dict", default={}),
            catalog=dict(type="dict", required=True),
            generated_at=dict(type="str", required=True),
            fail_on=dict(type="str", default="never",
                         choices=["never", "info", "low", "medium", "high", "critical"]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    for index, record in enumerate(params["records"]):
        if not record.get("host"):
            module.fail_json(msg="records[%d].host is missing" % index)
    report = build_report(params["records"], params["probe"], params["catalog"], params["generated_at"])
    dest = params["dest"]
    try:
        if not os.path.isdir(dest):
            os.makedirs(dest, 0o750)
        json_path = os.path.join(dest, "findings.json")
        old = previous_report(json_path)
        changed = old is None or comparable(old) != comparable(report)
        files = []
        for name, content in (("findings.json", render_json(report)), ("findings.csv", render_csv(report)),
                              ("report.md", render_markdown(report))):
            path = os.path.join(dest, name)
            write_atomic(path, content)
            files.append(path)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot write the report into dest=%s: %s" % (dest, exc))
    failing = open_at_or_above(report, params["fail_on"]) if params["fail_on"] != "never" else []
    result = dict(changed=changed, summary=report["summary"], files=files, failing=failing,
                  hosts=dict((n, {"status": e["status"], "reason": e["reason"]}) for n, e in report["hosts"].items()))
    if failing:
        module.fail_json(msg="%d open finding(s) at or above severity %s (fail_on): %s" % (
            len(failing), params["fail_on"], ", ".join(sorted(set("%s on %s" % (f["id"], f["host"]) for f in failing)))),
            **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
