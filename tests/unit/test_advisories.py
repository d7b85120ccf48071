"""Advisories that no release fixes (OLLAMA-VER-003): the table's entries,
which versions they apply to, the toolkit's front read from its site file,
and the finding mitigated only where the front alone reaches Ollama."""

import os

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import (
    apply_mitigations, evaluate_host, unfixed_entries, vulnerable_entries)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_front_site import (
    ADVISORY_ROUTES, front_state, parse_front_config)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (
    build_report, open_at_or_above, records_from_results)

HERE = os.path.dirname(os.path.abspath(__file__))
ADDRESSES = ["172.30.61.5", "fd00:6c61:62::5"]
RULE_IN = "nftables table inet ollama_exposure_toolkit chain input drops tcp/11434"


def _entry(catalog, cve):
    return [e for e in catalog["vulnerable_versions"]["entries"] if e["cve"] == cve][0]


# -- the table ------------------------------------------------------------------

def test_the_table_keeps_its_date_and_a_source_for_every_entry(catalog):
    table = catalog["vulnerable_versions"]
    assert table["updated"] == "2026-08-31" and table["checked_up_to"] == "0.33.0-rc2"
    assert all(e.get("source") for e in table["entries"]), [e["cve"] for e in table["entries"] if not e.get("source")]
    assert len({e["cve"] for e in table["entries"]}) == len(table["entries"])


@pytest.mark.parametrize("cve, fixed_in, source", [
    ("CVE-2026-7482", "0.17.1", "GHSA-x8qc-fggm-mpqg"),
    ("CVE-2025-51471", "0.14.3", "PR #13738"),
    ("CVE-2026-7020", None, "GHSA-x99g-8v8j-25j2"),
    ("CVE-2026-5530", None, "vulndb"),
    ("CVE-2025-63389", None, "GHSA-f6mr-38g8-39rg"),
])
def test_new_entries(catalog, cve, fixed_in, source):
    entry = _entry(catalog, cve)
    assert entry["fixed_in"] == fixed_in and source in entry["source"]


def test_only_the_front_mitigated_advisories_are_unfixed_entries(catalog):
    unfixed = [e["cve"] for e in unfixed_entries(catalog["vulnerable_versions"])]
    assert unfixed == ["CVE-2026-7020", "CVE-2026-5530"]
    # Missing authentication is what BIND-001/NET-001 report; the crashes are listed for reference.
    assert "mitigation" not in _entry(catalog, "CVE-2025-63389")


@pytest.mark.parametrize("version, fixed", [
    ("0.14.2", {"CVE-2025-51471", "CVE-2026-7482"}),
    ("0.14.3", {"CVE-2026-7482"}),
    ("0.17.0", {"CVE-2026-7482"}),
    ("0.17.1", set()),
    ("0.20.2", set()),
    ("0.33.0-rc2", set()),
    ("9.9.9", set()),
    (None, set()),
])
def test_version_matching(catalog, version, fixed):
    """VER-001 by version; VER-003 on every version, known or not."""
    table = catalog["vulnerable_versions"]
    hits = {e["cve"] for e in vulnerable_entries(version, table)}
    assert hits == fixed
    assert not hits & {"CVE-2026-7020", "CVE-2026-5530", "CVE-2025-63389"}
    findings = evaluate_host({"installs": [{"subject": "ollama.service", "version": version}]}, catalog, "h")
    ver3 = [f for f in findings if f["id"] == "OLLAMA-VER-003"]
    assert len(ver3) == 1
    assert {"CVE-2026-7020", "CVE-2026-5530"} <= set(ver3[0]["references"])
    assert ver3[0]["subject"] == "advisories:ollama.service"
    assert (version or "(version unknown)") in ver3[0]["evidence"]


def test_a_fixed_release_moves_an_advisory_to_the_version_check(catalog):
    table = dict(catalog["vulnerable_versions"])
    table["entries"] = [dict(e, fixed_in="0.34.0") if e["cve"] == "CVE-2026-5530" else e for e in table["entries"]]
    assert [e["cve"] for e in unfixed_entries(table)] == ["CVE-2026-7020"]
    assert "CVE-2026-5530" in {e["cve"] for e in vulnerable_entries("0.33.0", table)}
    assert "CVE-2026-5530" not in {e["cve"] for e in vulnerable_entries("0.34.0", table)}


def test_no_install_no_advisory_finding(catalog):
    assert evaluate_host({"installs": []}, catalog, "h") == []


# -- the front, read from its site file ---------------------------------------------

SITE = """
server {
    listen 0.0.0.0:11443 ssl;
    listen [::]:11443 ssl;
    auth_basic_user_file /etc/nginx/ollama-front/users.htpasswd;
    location = /api/chat {
        limit_except POST {
            deny all;
        }
        proxy_pass http://ollama_front_upstream;
    }
%s
}
"""
ADMIN = """    location %s {
        limit_except POST {
            deny all;
        }
        if ($ollama_front_bearer_role = "user") {
            rewrite ^ /.ollama-front/403 last;
        }
        auth_basic_user_file /etc/nginx/ollama-front/admins.htpasswd;
        proxy_pass http://ollama_front_upstream;
    }
"""
USER = """    location %s {
        proxy_pass http://ollama_front_upstream;
    }
"""
ROUTES = ["= /api/pull", "= /api/push", "= /api/create", '~ "^/api/blobs/sha256[:-][0-9a-f]{64}$"']


def site(users=()):
    return SITE % "".join((USER if r in users else ADMIN) % r for r in ROUTES)


def test_parse_front_config_reads_ports_and_admin_routes():
    parsed = parse_front_config(site())
    assert parsed["ports"] == [11443]
    assert parsed["routes"] == dict((r, "admin") for r in ADVISORY_ROUTES)
    assert parse_front_config(site(users=[ROUTES[3]]))["routes"]["/api/blobs/"] == "user"
    assert parse_front_config("") == {"ports": [], "routes": {}}


@pytest.mark.parametrize("text, listeners, in_place, why", [
    (site(), [{"port": 11443}], True, None),
    (None, [{"port": 11443}], False, "is missing"),
    (site(), [{"port": 443}], False, "nothing listens on the front's port 11443"),
    (site(), [], False, "nothing listens"),
    (site(users=["= /api/pull"]), [{"port": 11443}], False, "lets users call /api/pull"),
    (site().replace(" ssl;", ";"), [{"port": 11443}], False, "no TLS listen line"),
])
def test_front_state(text, listeners, in_place, why):
    state = front_state(text, listeners)
    assert state["in_place"] is in_place
    assert (state["why"] is None) if in_place else (why in state["why"])


# -- mitigated vs open -------------------------------------------------------------

def _facts(catalog, exposed=False, front=True, firewall=None, name="h"):
    facts = {"supported": True, "addresses": ADDRESSES, "firewall": firewall or {},
             "listeners": [{"address": "0.0.0.0" if exposed else "127.0.0.1", "port": 11434, "family": "ipv4",
                            "scope": "wildcard" if exposed else "loopback", "unit": "ollama.service"}],
             "services": [{"name": "ollama.service", "bind": {"exposed": exposed, "port": 11434}, "masked": False}],
             "processes": [], "containers": [],
             "installs": [{"subject": "ollama.service", "kind": "service", "version": "0.17.1"}],
             "front": front_state(site(), [{"port": 11443}]) if front else front_state(None, [])}
    facts["findings"] = evaluate_host(facts, catalog, name)
    return facts


def _report(catalog, facts, answers=()):
    probe = {"h": {"results": list(answers), "findings": []}}
    return build_report(records_from_results({"h": facts}), probe, catalog, "2026-11-30T00:00:00Z")


def _ver3(report):
    return [f for f in report["findings"] if f["id"] == "OLLAMA-VER-003"][0]


def test_rebound_with_the_front_is_mitigated_and_the_host_stays_secure(catalog):
    report = _report(catalog, _facts(catalog))
    assert report["hosts"]["h"]["status"] == "secure"
    assert "front (port 11443)" in _ver3(report)["mitigated_by"]
    assert "the toolkit's front is in place" in _ver3(report)["evidence"]
    assert open_at_or_above(report, "info") == []


def test_rebound_without_the_front_is_open_and_the_host_stays_secure(catalog):
    report = _report(catalog, _facts(catalog, front=False))
    assert report["hosts"]["h"]["status"] == "secure"
    ver3 = _ver3(report)
    assert not ver3.get("mitigated_by") and "ollama-front.conf is missing" in ver3["evidence"]
    # Only the host's local users reach this Ollama: the advisory is low here (severity in context).
    assert (ver3["severity"], ver3["reach"]) == ("low", "local")
    assert [f["id"] for f in open_at_or_above(report, "low")] == ["OLLAMA-VER-003"]
    assert open_at_or_above(report, "medium") == []


def test_exposed_with_the_front_is_open(catalog):
    report = _report(catalog, _facts(catalog, exposed=True))
    assert report["hosts"]["h"]["status"] == "exposed"
    assert not _ver3(report).get("mitigated_by")


def test_ports_closed_by_the_firewall_with_the_front_is_mitigated(catalog):
    firewall = {"input": {"ipv4": {"11434": RULE_IN}, "ipv6": {"11434": RULE_IN}}, "forward": {}}
    answers = [{"address": a, "port": 11434, "state": "filtered"} for a in ADDRESSES]
    report = _report(catalog, _facts(catalog, exposed=True, firewall=firewall), answers)
    assert report["hosts"]["h"]["status"] == "mitigated"
    assert _ver3(report)["mitigated_by"]


def test_the_advisory_never_sets_the_host_status(catalog):
    findings = [dict(f) for f in _facts(catalog)["findings"]]
    assert [f["id"] for f in findings] == ["OLLAMA-VER-003"]
    assert apply_mitigations(findings, _facts(catalog), [], catalog) == "secure"
    assert findings[0]["mitigated_by"]
