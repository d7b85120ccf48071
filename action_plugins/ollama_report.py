# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin behind ollama_report (documented in library/ollama_report.py).

The report is assembled and written on the controller, inside Ansible's own
process, as ansible.builtin.template does: no module is shipped or started,
and the fleet's results are not serialized a second time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_probe import (
    build_targets, run_probes, summarize, validate_targets)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_render import (
    publish_report, read_report, read_slices)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (
    build_report, discovery_exceptions, join_discovery, merge_slices, open_at_or_above, records_from_results,
    validate_discovery, validate_exceptions, validate_merge_from)

SEVERITY_CHOICES = ["never", "info", "low", "medium", "high", "critical"]
# Addresses and ports probed at the same time (each a few short GETs, mostly
# waiting on the network): as ollama_probe's default.
PROBE_WORKERS = 64

ARGUMENT_SPEC = dict(
    dest=dict(type="path", required=True),
    write=dict(type="bool", default=True),
    results=dict(type="dict"),
    merge_from=dict(type="raw"),
    merge_allow_missing=dict(type="bool", default=False),
    skipped=dict(type="dict", default={}),
    probe=dict(type="dict", default={}),
    probe_reuse=dict(type="dict", default={}),
    probe_local=dict(type="bool", default=False),
    probe_ports=dict(type="list", elements="int", default=[11434]),
    probe_max_ports=dict(type="int", default=64),
    probe_addresses=dict(type="dict", default={}),
    probe_timeout=dict(type="float", default=1.5),
    catalog=dict(type="dict", required=True),
    generated_at=dict(type="str", required=True),
    fail_on=dict(type="str", default="never", choices=SEVERITY_CHOICES),
    exceptions=dict(type="dict", default={}),
    baseline=dict(type="path"),
    discovery=dict(type="raw"),
    discovery_only=dict(type="bool", default=False),
)


# What a host's open exposure finding tells the run (harden.yml's failure
# message): the finding's own words, no second judgement.
OPEN_KEYS = ("id", "severity", "subject", "port", "evidence", "location", "remediation")


def open_exposures(findings, host, catalog):
    """The host's exposure findings (the catalog's exposure_controls) of this
    run that no rule of the toolkit mitigates, not fixed nor carried: what
    makes it ``exposed`` (one at least, exactly then), each with its evidence
    (port, process, unit, location, the fix its kind takes) and its
    control's remediation (the toolkit's settings that close it)."""
    exposure = set(catalog.get("exposure_controls") or [])
    return [dict((k, f[k]) for k in OPEN_KEYS if f.get(k) is not None) for f in findings
            if f["host"] == host and f["id"] in exposure and not f.get("carried") and f["status"] != "fixed"
            and not f.get("mitigated_by")]


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, params = self.validate_argument_spec(
            argument_spec=ARGUMENT_SPEC, mutually_exclusive=[("results", "merge_from")],
            required_one_of=[("results", "merge_from")])
        bad_ports = [p for p in params["probe_ports"] if not 0 < p < 65536]
        if bad_ports:
            raise AnsibleActionFail("probe_ports: %s out of range 1-65535" % bad_ports)
        if params["probe_max_ports"] < 0:
            raise AnsibleActionFail("probe_max_ports: %s is not a number of ports (0 or more)" % params["probe_max_ports"])

        discovery = self._discovery(params)
        probe = {}
        if params["merge_from"] is not None:
            report, exceptions = self._merge(params)
        else:
            report, exceptions, probe = self._audit(params)
        if discovery is not None:
            # The sweep's model servers outside the inventory join the fleet report (issue 29).
            join_discovery(report, discovery, params["catalog"], params["discovery_only"])
            exceptions = discovery_exceptions(exceptions, report)
        # New, still open, fixed: against the baseline (the audit before
        # hardening) when there is one, else the previous run in dest.
        baseline = read_report(params["baseline"]) if params["baseline"] else None
        # Check mode (--check, or check_mode: true on the task): the same
        # report, compared with the same previous one, but nothing is
        # created, written or removed; `would_write`/`would_remove` say what
        # a real run would do.
        check = bool(self._task.check_mode)
        try:
            differs, files = publish_report(params["dest"], report, params["catalog"], exceptions, baseline,
                                            params["write"], check=check)
        except (IOError, OSError) as exc:
            raise AnsibleActionFail("cannot %s the report into dest=%s: %s" % (
                "read" if check else "write", params["dest"], exc))
        would = report.pop("would", None)

        failing = open_at_or_above(report, params["fail_on"]) if params["fail_on"] != "never" else []
        # The report is the output of a read-only audit, not a change to a
        # managed host: never "changed" (harden.yml's before-audit differs on
        # every second run by design); `differs` tells whether it moved. In
        # check mode too: "changed" says what the real run would say.
        if would is not None:
            result.update(would_write=would["write"], would_remove=would["remove"])
        result.update(
            changed=False,
            differs=differs,
            summary=report["summary"],
            files=files,
            failing=failing,
            hosts=dict((name, {"status": entry["status"], "reason": entry["reason"],
                               "findings": [f["id"] for f in report["findings"] if f["host"] == name
                                            and not f.get("carried") and f["status"] != "fixed"],
                               "open": open_exposures(report["findings"], name, params["catalog"])})
                       for name, entry in report["hosts"].items()),
            # Each host's probe, as the next report may take it back (probe_reuse).
            probe=probe,
        )
        if params["merge_from"] is not None:
            result.update(merged_from=report["merged_from"], missing_slices=report["missing_slices"])
        if report.get("discovery"):
            result["discovery"] = dict((k, v) for k, v in report["discovery"].items() if k != "hosts")
        if failing:
            result["failed"] = True
            result["msg"] = "%d open finding(s) at or above severity %s (fail_on): %s" % (
                len(failing), params["fail_on"],
                ", ".join(sorted(set("%s on %s" % (f["id"], f["host"]) for f in failing))))
        return result

    def _discovery(self, params):
        """The sweep's hand-off to join (discovery: its content, or the path of
        a discover.json; a path that does not exist joins nothing), checked."""
        value = params["discovery"]
        if value in (None, ""):
            if params["discovery_only"]:
                raise AnsibleActionFail("discovery_only: true needs discovery (the sweep's result)")
            return None
        if isinstance(value, str):
            path = os.path.expanduser(value)
            if not os.path.exists(path):
                if params["discovery_only"]:
                    raise AnsibleActionFail("discovery: %s does not exist" % path)
                return None
            try:
                with open(path) as handle:
                    value = json.load(handle)
            except (IOError, OSError, ValueError) as exc:
                raise AnsibleActionFail("discovery: cannot read %s: %s" % (path, exc))
        problems = validate_discovery(value)
        if problems:
            raise AnsibleActionFail("; ".join(problems))
        return value

    def _audit(self, params):
        """This run's report from the hosts' ollama_info results and the probe; the exceptions."""
        problems = validate_exceptions(params["exceptions"], params["catalog"])
        if problems:
            raise AnsibleActionFail("; ".join(problems))
        records = records_from_results(params["results"], params["skipped"])
        # A host given back in probe_reuse (harden.yml: no wall touched it
        # since the audit before probed it) is not probed again.
        reuse = dict((name, entry) for name, entry in params["probe_reuse"].items()
                     if entry and name in params["results"])
        probe = dict(params["probe"])
        if params["probe_local"]:
            targets = build_targets(dict((name, result) for name, result in params["results"].items()
                                         if name not in reuse), params["probe_ports"], params["probe_addresses"],
                                    params["probe_max_ports"])
            problems = validate_targets(targets)
            if problems:
                raise AnsibleActionFail("; ".join(problems))
            probe = summarize(targets, run_probes(targets, params["probe_timeout"], PROBE_WORKERS),
                              params["catalog"], "controller")
        for name, entry in reuse.items():
            probe.setdefault(name, entry)
        return (build_report(records, probe, params["catalog"], params["generated_at"]), params["exceptions"],
                probe)

    def _merge(self, params):
        """One fleet report from the slices' report directories (merge_from); the exceptions they applied."""
        problems = validate_merge_from(params["merge_from"])
        if problems:
            raise AnsibleActionFail("; ".join(problems))
        try:
            slices = read_slices([os.path.expanduser(d) for d in params["merge_from"]])
            report, exceptions = merge_slices(slices, params["generated_at"])
        except ValueError as exc:
            raise AnsibleActionFail(str(exc))
        if not report["merged_from"]:
            raise AnsibleActionFail("no slice of merge_from has a readable findings.json: %s" % "; ".join(
                "%s (%s)" % (m["dir"], m["reason"]) for m in report["missing_slices"]))
        if report["missing_slices"] and not params["merge_allow_missing"]:
            raise AnsibleActionFail(
                "%d slice(s) of merge_from have no readable findings.json, nothing written (the fleet report "
                "would be partial; merge_allow_missing=true writes it, listing them): %s" % (
                    len(report["missing_slices"]), "; ".join(
                        "%s (%s)" % (m["dir"], m["reason"]) for m in report["missing_slices"])),
                result={"missing_slices": report["missing_slices"]})
        return report, exceptions
