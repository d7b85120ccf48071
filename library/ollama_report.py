#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ollama_report
short_description: Write the fleet's Ollama audit as JSON, CSV, Markdown, tickets, JUnit XML and HTML
version_added: "1.0.0"
description:
  - An action plugin - it runs on the controller, in Ansible's own process.
  - Runs on the controller, once per play. Merges each host's C(ollama_info)
    result with the outside C(ollama_probe) result, decides each host's
    status (C(exposed), C(secure), C(not_installed), C(unreachable),
    C(unsupported)) and writes the report files into I(dest) -
    C(findings.json), C(findings.csv) (one row per host and finding, for a
    ticket system's import), C(report.md), C(tickets/FINGERPRINT.md) (one
    body per open finding), C(junit.xml) (one test case per host and
    control) and C(report.html) (static, opens offline; above 500 hosts an
    index, the counts and the worst hosts first, linking to parts of 500
    hosts each, C(report-STATUS-N.html)).
  - Compares with the previous C(findings.json) in I(dest) - each finding
    gets a C(status) (C(new), C(open), C(fixed), C(excepted),
    C(expired-exception)) and keeps its C(first_seen); I(exceptions) mark
    accepted risks until their expiry date.
  - Files are replaced atomically (the ticket bodies as one directory,
    written into C(dest/.tickets-next) and exchanged with C(dest/tickets)
    where the file system can), and one run at a time reads the previous
    report in I(dest) and writes the new one (a lock file, C(dest/.lock)). The report is the output of a read-only
    audit, not a change to a managed host, so the task never reports
    C(changed); C(differs) says whether the audit's content differs from the
    report already in I(dest) (the timestamp alone does not count).
author:
  - Ollama exposure toolkit contributors
options:
  dest:
    description: Report directory; created when missing.
    type: path
    required: true
  write:
    description: Write the files; when false, only return the summary and statuses.
    type: bool
    default: true
  results:
    description:
      - The registered C(ollama_info) result of each audited host, by
        inventory name (unreachable and failed results included).
      - Required unless I(merge_from) is given (the two exclude each other).
    type: dict
  merge_from:
    description:
      - Merge the reports of a sliced run instead of auditing - the report
        directories of the slices (AWX job slicing, or one C(--limit) per
        controller), each holding a C(findings.json).
      - The merged report follows the life cycle against the previous report in
        I(dest) as an audit does, with the exceptions the slices applied. A host
        in two slices fails the task, naming the host and both directories.
        Nothing is written when the task fails.
      - Must be a non-empty list of distinct directory paths.
    type: raw
  merge_allow_missing:
    description:
      - With I(merge_from), write the report even when slices have no readable
        C(findings.json). They are listed in C(missing_slices) (returned, in
        C(findings.json), C(report.md) and C(report.html)). The hosts of the
        previous report in I(dest) that are in no slice are C(not_audited) and
        their findings carried.
      - When false, such a merge fails before writing anything, naming each
        missing slice and why, and I(dest) keeps its previous report.
    type: bool
    default: false
  probe:
    description:
      - The C(hosts) return value of C(ollama_probe), when the probe ran
        elsewhere (on a scanner host).
    type: dict
    default: {}
  probe_reuse:
    description:
      - Probe results to take back instead of probing again, by inventory
        name (each an entry of the C(probe) return value of an earlier
        report). C(playbooks/harden.yml) gives back the audit before's for
        the hosts no wall touched since.
      - Hosts not in I(results) are ignored; with I(probe), a host it holds
        keeps that fresher result.
    type: dict
    default: {}
  probe_local:
    description:
      - Probe the hosts from here, in this module's own process (one module
        start-up fewer than a separate C(ollama_probe) task).
      - Targets are each host's own addresses and reported ports, as
        C(ollama_probe) builds them - Ollama's ports, and every other port the
        host listens on beyond loopback, up to I(probe_max_ports).
    type: bool
    default: false
  probe_ports:
    description: Ports probed on every host besides those it reported.
    type: list
    elements: int
    default: [11434]
  probe_max_ports:
    description:
      - The most ports probed on one host - Ollama's own always, then every other
        port it listens on beyond loopback up to this many; the rest are named in
        the host's probe entry (C(skipped_ports), C(skipped_reason)), as
        C(ollama_probe)'s I(max_ports).
    type: int
    default: 64
  probe_addresses:
    description: Addresses to probe instead of a host's own, by inventory name.
    type: dict
    default: {}
  probe_timeout:
    description: Seconds per connection and answer of the probe.
    type: float
    default: 1.5
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
  exceptions:
    description:
      - Accepted risks, by inventory name - a list of C(id) (a control),
        C(reason), C(owner), C(expires) (YYYY-MM-DD), optionally C(host) and
        C(subject) to narrow it. An invalid entry fails the task before any
        file is written, naming the host and entry.
      - A covered finding is C(excepted) until the expiry date, then
        C(expired-exception) (open again). Excepted findings never trip
        I(fail_on).
    type: dict
    default: {}
  baseline:
    description:
      - A report directory (or C(findings.json)) of an earlier run, e.g. the
        audit before hardening. Findings are then compared with it instead of
        the previous run in I(dest) (what hardening fixed is C(fixed)), and the
        HTML report shows each host before and after.
    type: path
  discovery:
    description:
      - A sweep of the operator's ranges to join (issue 29) - the content of
        C(discover.json) as C(playbooks/discover.yml) writes it, or its path
        (a path that does not exist joins nothing). Its keys - C(swept_at),
        C(ranges), C(ports), C(exclude), C(inventory) (address to inventory
        name of the managed hosts) and C(result) (C(ollama_discover)'s
        C(hosts), C(scanned), C(excluded), C(elapsed)).
      - An address no inventory host has that answers as a model server is a
        host of status C(unmanaged) with an C(OLLAMA-DISC-001) (open) or
        C(OLLAMA-DISC-002) (asks for credentials) finding; a managed one is
        listed under C(discovery.hosts) with its inventory name and adds no
        finding. A discovered finding the sweep asked for again and did not
        find is C(fixed); one outside its ranges or ports is carried.
    type: raw
  discovery_only:
    description:
      - No host is audited in this run (I(results) is empty) - the hosts of the
        previous report in I(dest) are listed as C(not_audited) and their
        findings carried. Needs I(discovery).
    type: bool
    default: false
notes:
  - In check mode (C(--check), or the task's C(check_mode) on) nothing is
    created, written or removed, not even I(dest) or its lock - the report is
    built and compared with the previous one as in a real run, and
    C(would_write) and C(would_remove) list what that run would do. C(changed)
    stays false, as a real run says (see above); C(differs) tells whether
    the content would differ.
  - A second real run of an unchanged audit rewrites the files (its time and
    each finding's C(last_seen) move) and returns C(differs=false).
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
    results: "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars)
                 | map(attribute='ollama', default={}))) }}"
    probe_local: true
    catalog: "{{ lookup('ollama_toolkit.exposure.catalog') }}"
    generated_at: "{{ now(utc=true).isoformat() }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
summary:
  description: Host counts by status, finding counts by severity.
  returned: always
  type: dict
  sample: {hosts: 3, by_status: {exposed: 1, secure: 2}, by_severity: {critical: 2}, findings: 3,
           by_lifecycle: {new: 1, open: 1, fixed: 1, excepted: 0, expired-exception: 0}, open: 2}
hosts:
  description:
    - Per host, its status, reason and the ids of this run's findings.
    - C(open), its exposure findings no rule of the toolkit mitigates (what makes it C(exposed)), each with
      C(id), C(severity), C(subject), C(port), C(evidence), C(location) and C(remediation).
  returned: always
  type: dict
  sample: {web1: {status: exposed, reason: null, findings: [OLLAMA-BIND-001],
                  open: [{id: OLLAMA-BIND-001, severity: critical, subject: "ollama.service",
                          evidence: "listening on 0.0.0.0:11434", remediation: "Rebind Ollama to 127.0.0.1 ..."}]}}
probe:
  description: Per host, what the probe saw (its state, each address and port, its findings); empty with I(merge_from).
  returned: always
  type: dict
  sample: {web1: {state: filtered, results: [{address: 192.0.2.10, port: 11434, state: filtered}], findings: []}}
differs:
  description: Whether the audit's content differs from the previous report in I(dest).
  returned: always
  type: bool
files:
  description: Paths written (none in check mode).
  returned: always
  type: list
  elements: str
would_write:
  description: In check mode, every path a real run would write.
  returned: in check mode
  type: list
  elements: str
would_remove:
  description: In check mode, the stale ticket bodies a real run would remove.
  returned: in check mode
  type: list
  elements: str
merged_from:
  description: With I(merge_from), each merged slice - its directory, time and number of hosts.
  returned: when merge_from is given
  type: list
  elements: dict
  sample: [{dir: reports/slices/41-1, generated_at: "2026-11-25T18:00:00Z", hosts: 2500}]
missing_slices:
  description: With I(merge_from), the slices without a readable C(findings.json) and why.
  returned: when merge_from is given
  type: list
  elements: dict
  sample: [{dir: reports/slices/41-3, reason: reports/slices/41-3 does not exist}]
failing:
  description: Open findings of this run at or above I(fail_on) (excepted ones left out).
  returned: always
  type: list
  elements: dict
"""

# The work is done on the controller by the action plugin of the same name
# (action_plugins/ollama_report.py); this file carries the documentation.
