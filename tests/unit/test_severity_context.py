# -*- coding: utf-8 -*-
"""A finding's severity in its context (issue 25, item 11): the advisories no
release fixes (OLLAMA-VER-003) are medium where the Ollama API is reachable
from the network (an exposure open, or the toolkit's front), low where only
the host's local users reach it (loopback, no front). They stay listed and
ticketed, but the headline (summary ``open``, a host's status, the report's
first lines and cards) counts what someone on the network can use; the
local-only ones are counted apart (``open_local``)."""

import copy
import json

import pytest
from test_advisories import ADDRESSES, RULE_IN, site
from test_advisories import _facts as advisory_facts

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import (
    REACH_LOCAL, REACH_NETWORK, api_reach, apply_reach, evaluate_host, severity_in_context)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_front_site import front_state
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_render import (
    render_html, render_markdown, write_report)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (
    apply_history, build_report, open_at_or_above, open_counts, records_from_results)

WHEN = "2026-12-07T12:00:00Z"
ALL_IN = {"input": {"ipv4": {"11434": RULE_IN}, "ipv6": {"11434": RULE_IN}}, "forward": {}}


# -- the decision, pure -------------------------------------------------------

@pytest.mark.parametrize("open_exposure, front, reach", [
    (True, None, REACH_NETWORK),                              # a wide bind, a published port, a probe's answer
    (True, "in place", REACH_NETWORK),                        # the front, but Ollama open beside it
    (False, "in place", REACH_NETWORK),                       # the front brings remote users to Ollama
    (False, "users may pull", REACH_NETWORK),                 # a front not in place is still a way in
    (False, None, REACH_LOCAL),                               # loopback (or closed from outside), no front
])
def test_api_reach(open_exposure, front, reach):
    text = site(users=["/api/pull"]) if front == "users may pull" else site()
    facts = {"front": front_state(text, [{"port": 11443}]) if front else front_state(None, [])}
    got, why = api_reach(facts, open_exposure)
    assert got == reach and why
    assert api_reach(None, open_exposure)[0] == (REACH_NETWORK if open_exposure else REACH_LOCAL)


def test_severity_in_context_is_the_catalogs_data(catalog):
    ver3 = catalog["controls"]["OLLAMA-VER-003"]
    assert ver3["severity_by_reach"] == {"network": "medium", "local": "low"}
    assert severity_in_context(ver3, REACH_NETWORK) == "medium"
    assert severity_in_context(ver3, REACH_LOCAL) == "low"
    # A control without severity_by_reach keeps its severity whatever the reach.
    bind = catalog["controls"]["OLLAMA-BIND-001"]
    assert [severity_in_context(bind, r) for r in (REACH_NETWORK, REACH_LOCAL)] == ["critical", "critical"]
    # The data is well formed: each reach is network or local, each severity one of the catalog's.
    for cid, control in catalog["controls"].items():
        by = control.get("severity_by_reach") or {}
        assert set(by) <= {REACH_NETWORK, REACH_LOCAL}, cid
        assert set(by.values()) <= set(catalog["severities"]), cid


def test_apply_reach_changes_only_the_controls_with_a_severity_by_reach(catalog):
    facts = {"installs": [{"subject": "ollama.service", "version": "0.17.1"}],
             "listeners": [{"address": "0.0.0.0", "port": 11434, "scope": "wildcard", "unit": "ollama.service"}],
             "front": front_state(None, [])}
    findings = evaluate_host(facts, catalog, "h")
    before = copy.deepcopy(findings)
    apply_reach(findings, facts, False, catalog)
    changed = [(f["id"], f["severity"], f["reach"]) for f in findings if f != [b for b in before
                                                                               if b["id"] == f["id"]][0]]
    assert changed == [("OLLAMA-VER-003", "low", REACH_LOCAL)]
    apply_reach(findings, facts, True, catalog)
    assert [(f["severity"], f["reach"]) for f in findings if f["id"] == "OLLAMA-VER-003"] == [
        ("medium", REACH_NETWORK)]


# -- in the report: visible, counted apart -------------------------------------

def _facts(catalog, name, exposed=False, front=False, firewall=None):
    """A host's read and findings (test_advisories' model), named, without the front by default."""
    return advisory_facts(catalog, exposed=exposed, front=front, firewall=firewall, name=name)


@pytest.fixture
def fleet_report(catalog):
    """A loopback host without the front, one behind the front, one wide open, one
    closed by the toolkit's firewall (proven from outside), no front."""
    results = {"lo": _facts(catalog, "lo"), "fronted": _facts(catalog, "fronted", front=True),
               "wide": _facts(catalog, "wide", exposed=True),
               "walled": _facts(catalog, "walled", exposed=True, firewall=ALL_IN)}
    silent = [{"address": a, "port": 11434, "state": "filtered"} for a in ADDRESSES]
    probe = {"walled": {"results": silent, "findings": []}}
    report = build_report(records_from_results(results), probe, catalog, WHEN)
    return apply_history(report)


def _ver3(report, host):
    return [f for f in report["findings"] if f["id"] == "OLLAMA-VER-003" and f["host"] == host][0]


def test_each_host_gets_the_advisory_in_its_context(fleet_report):
    got = dict((h, (_ver3(fleet_report, h)["severity"], _ver3(fleet_report, h)["reach"]))
               for h in ("lo", "fronted", "wide", "walled"))
    assert got == {"lo": ("low", "local"), "walled": ("low", "local"),
                   "fronted": ("medium", "network"), "wide": ("medium", "network")}
    assert {h: e["status"] for h, e in fleet_report["hosts"].items()} == {
        "lo": "secure", "fronted": "secure", "wide": "exposed", "walled": "mitigated"}


def test_the_headline_counts_what_someone_on_the_network_can_use(fleet_report):
    findings = fleet_report["findings"]
    still = [f for f in findings if f["status"] in ("new", "open", "expired-exception")]
    local = [f for f in still if f.get("reach") == "local"]
    # Listed: every open finding is in the report, the local ones too ...
    assert sorted(f["host"] for f in local) == ["lo", "walled"]
    # ... but the headline leaves them out and counts them apart.
    assert fleet_report["summary"]["open"] == len(still) - 2
    assert fleet_report["summary"]["open_local"] == 2
    assert "OLLAMA-VER-003" in [f["id"] for f in still if f["host"] == "wide" and f not in local]
    assert open_counts(findings) == {"open": len(still) - 2, "open_local": 2}
    # fail_on=medium fails where the network reaches the advisory, not on the loopback host.
    failing = open_at_or_above(fleet_report, "medium")
    assert ("OLLAMA-VER-003", "wide") in [(f["id"], f["host"]) for f in failing]
    assert not [f for f in failing if f["host"] in ("lo", "walled")]


def test_the_documents_show_the_local_ones_and_keep_them_out_of_the_headline(fleet_report, catalog, tmp_path):
    summary = fleet_report["summary"]
    md = render_markdown(fleet_report)
    assert ("Open findings someone on the network can use: %d; open findings only the hosts' local users "
            "reach: 2" % summary["open"]) in md
    rows = [line for line in md.splitlines() if "| OLLAMA-VER-003 |" in line]
    assert len(rows) == 4
    assert [r.split(" | ")[0:4] for r in rows if "| lo |" in r] == [["| low", "OLLAMA-VER-003", "lo",
                                                                       "new, local users only"]]
    assert [r for r in rows if "| wide |" in r and "local users only" not in r]
    html = render_html(fleet_report)
    assert '<div class="card" data-count="open"><div class="n">%d</div>' % summary["open"] in html
    assert '<div class="card" data-count="open-local"><div class="n">2</div>' in html
    # Tickets: one per open finding, the local ones included (visible, owned, closed when fixed).
    write_report(str(tmp_path), fleet_report, catalog)
    tickets = sorted(p.name for p in (tmp_path / "tickets").iterdir())
    assert tickets == sorted("%s.md" % f["fingerprint"] for f in fleet_report["findings"]
                             if f["status"] in ("new", "open", "expired-exception"))
    written = json.loads((tmp_path / "findings.json").read_text())
    assert written["summary"]["open_local"] == 2 and _ver3(written, "lo")["reach"] == "local"
