# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One finding's shape: what a module run on a host (the prober's
ollama_probe) needs to say OLLAMA-NET-001 itself. The evaluation of a
host's read lives on the controller (plugin_utils/ollama_findings.py),
which builds every other finding with these same functions.

Every finding carries a fingerprint that depends on the host, the control
and the subject (unit, socket, container...), never on run-specific values
such as PIDs or timestamps, so it stays the same across runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib


def fingerprint(host_id, control_id, subject):
    digest = hashlib.sha256(("%s|%s|%s" % (host_id, control_id, subject)).encode("utf-8"))
    return digest.hexdigest()[:24]


def make_finding(catalog, host_id, control_id, subject, evidence, location=None, references=None, port=None):
    control = catalog["controls"][control_id]
    refs = list(control.get("references") or [])
    for ref in references or []:
        if ref not in refs:
            refs.append(ref)
    finding = {
        "host": host_id,
        "id": control_id,
        "severity": control["severity"],
        "title": control["title"],
        "subject": subject,
        "evidence": evidence,
        "remediation": control["remediation"].strip(),
        "references": refs,
        "fingerprint": fingerprint(host_id, control_id, subject),
    }
    if location:
        finding["location"] = location
    if port:
        # The TCP port that makes it reachable: a firewall rule on this port
        # can mitigate it (see mitigation()).
        finding["port"] = port
    return finding


def unique(findings):
    """One finding per fingerprint (the ticket key): a second one with the same
    host, control and subject adds its evidence to the first."""
    kept = {}
    out = []
    for finding in findings:
        first = kept.get(finding["fingerprint"])
        if first is None:
            kept[finding["fingerprint"]] = finding
            out.append(finding)
        elif finding["evidence"] not in first["evidence"]:
            first["evidence"] = "%s; %s" % (first["evidence"], finding["evidence"])
    return out
