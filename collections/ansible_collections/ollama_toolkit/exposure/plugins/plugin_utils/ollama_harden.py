# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/harden.yml's decisions, on the controller (pure, unit tested in
tests/unit/test_ollama_harden.py).

- ``rollout_errors``: the rollout's own variables checked before anything runs;
- ``options_digest``: every wall option an operator set, as one digest,
  taken in the first play, before any wall's role is imported (a role's
  defaults are not the operator's choice: the toolkit's digest covers them);
- ``host_plan``: per host, from the audit before, whether any wall has work
  (``untouched``: harden.json and every wall's stamp it counts on show
  nothing moved and the inputs are the same);
- ``record``: after the walls and the audit again, whether harden.json is
  written and which walls' stamps it counts on (``expects``);
- ``still_exposed``: the failure of a host the audit after still finds
  ``exposed``, in the words of its open exposure findings (the report's
  judgement, doors of issue 26 included: nothing is judged again here).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_doors import host_doors
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_front import credential_entries
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_stamp import (
    digest, read_view, unchanged)

STAMP = "harden"
BLOCKED = ("unreachable", "unsupported", "error")
BOOLEANS = {"true": True, "yes": True, "1": True, "on": True, "false": False, "no": False, "0": False, "off": False}
BATCH = re.compile(r"^([1-9][0-9]*|([1-9][0-9]?|100)%)\Z")
PERCENT = re.compile(r"^([0-9]{1,2}|100)\Z")
# What the operator's options the walls take: every ollama_front_*,
# ollama_bind_*, ollama_firewall_* and harden_front/harden_firewall.
OPTIONS = re.compile(r"^(ollama_(front|bind|firewall)_.+|harden_(front|firewall))\Z")
SECRETS = ("ollama_front_credentials", "ollama_front_tls_key")
# What the walls set or register on a host, not options: a fact cache would
# carry them from the last run into the next one's digest.
WALL_FACTS = re.compile(r"^ollama_(front|bind|firewall)_(plan|verify_facts)\Z")


def boolean(value, name):
    """An Ansible boolean, or ValueError naming the variable."""
    if isinstance(value, bool):
        return value
    key = str(value).strip().lower()
    if key not in BOOLEANS:
        raise ValueError("%s must be a boolean (got %r)" % (name, value))
    return BOOLEANS[key]


def rollout_errors(settings):
    """The rollout variables (harden_* by name) checked: a list of sentences,
    each naming its variable (empty: all good)."""
    settings = settings or {}
    errors = []
    serial = settings.get("harden_serial", "100%")
    batches = [str(b) for b in (serial if isinstance(serial, (list, tuple)) else [serial])]
    if not batches or any(not BATCH.match(b) for b in batches):
        errors.append("harden_serial must be a batch size or a list of them, each a number of hosts or a "
                      "percentage like 25%% (got %s)" % (serial,))
    if not PERCENT.match(str(settings.get("harden_max_fail_percentage", 100))):
        errors.append("harden_max_fail_percentage must be a whole number 0-100 (got %s)"
                      % (settings.get("harden_max_fail_percentage"),))
    for name in ("harden_front", "harden_firewall", "harden_upgrade"):
        try:
            boolean(settings.get(name, False), name)
        except ValueError as exc:
            errors.append(str(exc))
    return errors


def options_digest(options, host):
    """One digest of the walls' options an operator set (options: variables
    by name, as the option_values lookup gives them), the credentials as the
    front hashes them for this host, the TLS key as its SHA-256."""
    options = dict((k, v) for k, v in (options or {}).items() if OPTIONS.match(k) and not WALL_FACTS.match(k))
    front = boolean(options.get("harden_front", False), "harden_front")
    credentials = options.get("ollama_front_credentials")
    key = options.get("ollama_front_tls_key") or ""
    return digest({
        "vars": dict((k, v) for k, v in options.items() if k not in SECRETS),
        "credentials": credential_entries(credentials, str(host)) if front and credentials is not None else None,
        "tls_key": hashlib.sha256(key.encode("utf-8")).hexdigest() if key else None})


def host_plan(facts, report, context):
    """What harden.yml knows of one host before its walls: context holds
    host, options (options_digest), toolkit (the code's digest), front,
    firewall and upgrade (the opt-ins)."""
    facts = facts or {}
    host = context["host"]
    before = ((report or {}).get("hosts") or {}).get(host) or {}
    blocked = before.get("status", "") in BLOCKED
    ollama = not blocked and bool((facts.get("services") or []) + (facts.get("processes") or [])
                                  + (facts.get("containers") or []))
    want_front = boolean(context.get("front", False), "harden_front")
    inputs = inputs_of(facts, context)
    stamps = facts.get("stamps") or {}
    mine = stamps.get(STAMP)
    expects = ((mine or {}).get("data") or {}).get("expects") or []
    untouched = (not blocked and not boolean(context.get("upgrade", False), "harden_upgrade")
                 and unchanged(mine, inputs) and all(name in still(stamps) for name in expects))
    return {"host": host, "before": before, "blocked": blocked, "ollama": ollama,
            "exposed_before": before.get("status", "exposed") == "exposed",
            "front": want_front and ollama and bool(facts.get("systemd")),
            "no_front_why": None if not want_front or blocked or (ollama and facts.get("systemd")) else (
                "no Ollama service, process or container to front" if not ollama
                else "no systemd to run nginx as a service (the firewall closes the port instead)"),
            # The firewall also closes doors (issue 26): a host with only another
            # model server or a forwarder gets it too.
            "firewall": boolean(context.get("firewall", False), "harden_firewall") and (
                ollama or (not blocked and bool(host_doors(facts)))),
            "probe_before": ((report or {}).get("probe") or {}).get(host) or {},
            "inputs": inputs, "untouched": untouched,
            "digests": {"options": context["options"], "toolkit": context["toolkit"]}}


def inputs_of(facts, digests):
    """harden.json's inputs: the operator's options, the part of the read
    that decides the walls, the toolkit's code. The start of a run compares
    the read before with them; the end of a run records the read after."""
    return digest({"vars": digests["options"], "read": read_view(facts), "toolkit": digests["toolkit"]})


def still(stamps):
    """The names of the stamps the read shows present with nothing moved."""
    return sorted(name for name, s in (stamps or {}).items() if s and s.get("present") and not s.get("drift"))


def record(plan, facts_after, walls, context):
    """Whether harden.json is written after this run, and what it counts on.
    walls: the plans the walls made this run (a wall that did not run: None
    or missing). Each wall whose stamp this run writes is counted on. Written
    only after a whole run (no --tags, no wall skipped), never in check mode,
    and not where a wall is not settled (a port conflict, Ollama started by
    hand and left, rules no stamp covers) or a front was wanted that the host
    cannot run; every stamp it counts on must be in place in the read after."""
    walls = [w for w in walls or [] if isinstance(w, dict) and w.get("stamp")]
    expects = sorted(w["stamp"]["name"] for w in walls if w["stamp"].get("write"))
    settled = all(w.get("settled") for w in walls)
    facts_after = facts_after or {}
    skip = re.compile(r"^(OLLAMA-[A-Z]+-[0-9]+|ollama_[a-z_]+|always)\Z")
    whole = list(context.get("run_tags") or []) == ["all"] and not any(
        skip.match(str(t)) for t in context.get("skip_tags") or [])
    # Ollama still running by hand after the walls (OLLAMA-BIND-004 says so each run).
    by_hand = [p for p in facts_after.get("processes") or [] if not p.get("unit") and not p.get("container")]
    write = (whole and not context.get("check_mode") and settled and not by_hand
             and plan.get("no_front_why") is None and set(expects) <= set(still(facts_after.get("stamps"))))
    return {"name": STAMP, "inputs": inputs_of(facts_after, plan["digests"]), "expects": expects,
            "write": bool(write)}


def probe_reuse(plans):
    """{host: the probe before} for the hosts no wall touched: the report
    after gives back their probe instead of probing them again."""
    return dict((p["host"], p["probe_before"]) for p in plans or [] if isinstance(p, dict) and p.get("untouched"))


def skipped(hosts, reached, alive):
    """The hosts the report after leaves as they were, with the reason."""
    out = dict((h, "not reached by the rollout (a later batch, or the rollout stopped)")
               for h in hosts or [] if h not in (reached or []))
    out.update((h, "hardening failed on this host: see the run output")
               for h in reached or [] if h not in (alive or []))
    return out


def cloud_on(hosts):
    """The hosts whose last read still shows Ollama's cloud features on
    where ollama_bind_disable_cloud is off (OLLAMA-CLOUD-001/002), sorted.
    hosts: {name: its variables}."""
    out = []
    for name, host in sorted((hosts or {}).items()):
        services = ((host.get("ollama_audit_facts") or {}).get("services")) or []
        if any((s.get("cloud") or {}).get("enabled") is True for s in services) and \
                not boolean(host.get("ollama_bind_disable_cloud", False), "ollama_bind_disable_cloud"):
            out.append(name)
    return out


def still_exposed(entry):
    """Why a host the audit after finds ``exposed`` fails: the report's host
    entry (ollama_report's ``hosts[host]``), its open exposure findings
    (``open``) each as control, subject and evidence (the port, the process
    and unit that listen, where it is configured, the setting of its kind
    that closes it), then each control's remediation once (the toolkit's
    settings that close it). Empty for a host that is not exposed."""
    entry = entry or {}
    if entry.get("status") != "exposed":
        return ""
    found = [f for f in entry.get("open") or [] if isinstance(f, dict) and f.get("id")]
    if not found:
        return "findings %s" % (", ".join(entry.get("findings") or []) or "none named")
    parts = ["%d open exposure finding%s:" % (len(found), "" if len(found) == 1 else "s")]
    parts += ["[%d] %s %s (%s): %s" % (n, f["id"], f.get("subject", ""), f.get("severity", "?"), f.get("evidence", ""))
              for n, f in enumerate(found, 1)]
    fixes = []
    for finding in found:
        if finding.get("remediation") and finding["id"] not in [i for i, _ in fixes]:
            fixes.append((finding["id"], " ".join(str(finding["remediation"]).split())))
    if fixes:
        parts.append("-- to close them: %s" % " ".join("[%s] %s" % fix for fix in fixes))
    return " ".join(parts)


__all__ = ["rollout_errors", "options_digest", "host_plan", "record", "probe_reuse", "skipped", "cloud_on",
           "still_exposed"]
