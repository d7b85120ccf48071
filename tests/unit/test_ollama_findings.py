# -*- coding: utf-8 -*-
"""Findings: version table, fingerprints, evaluate_host rules, host status."""

import copy
import re

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import (
    STATUS_EXPOSED, STATUS_NOT_INSTALLED, STATUS_SECURE, STATUS_UNSUPPORTED, at_or_above, bind_is_exposed,
    evaluate_host, fingerprint, host_status, make_finding, severity_rank, version_tuple,
    vulnerable_entries)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_probe import probe_findings
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_cloud import cloud_state
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import parse_ollama_host

HOST = "lab-1"
OVERRIDE = "/etc/systemd/system/ollama.service.d/override.conf"
FRAGMENT = "/etc/systemd/system/ollama.service"


# -- versions -----------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("0.1.29", (0, 1, 29, 0)),
    ("v0.17.1", (0, 17, 1, 0)),
    ("0.1.29-rc2", (0, 1, 29, -1)),
    (" 0.3.12 ", (0, 3, 12, 0)),
    ("0.5", (0, 5, 0, 0)),
    ("1", (1, 0, 0, 0)),
    ("0.6.8+build.1", (0, 6, 8, 0)),
    ("0.0.0", (0, 0, 0, 0)),
    ("garbage", None),
    ("", None),
    (None, None),
    ("version 0.1.2", None),
])
def test_version_tuple(text, expected):
    assert version_tuple(text) == expected


def test_version_ordering():
    assert version_tuple("0.1.29-rc2") < version_tuple("0.1.29") < version_tuple("0.1.30")
    assert version_tuple("0.9.0") < version_tuple("0.10.0")  # numeric, not lexical


def _cves(version, catalog):
    return [e["cve"] for e in vulnerable_entries(version, catalog["vulnerable_versions"])]


def test_catalog_table_shape(catalog):
    table = catalog["vulnerable_versions"]
    assert version_tuple(table["minimum_version"]) == (0, 17, 1, 0)
    fixed = [e for e in table["entries"] if e.get("fixed_in")]
    assert len(fixed) == 8
    assert all(version_tuple(e["fixed_in"]) for e in fixed)


def test_old_version_hits_every_fixed_cve(catalog):
    assert _cves("0.1.28", catalog) == [
        "CVE-2024-28224", "CVE-2024-37032", "CVE-2025-44779", "CVE-2024-39720", "CVE-2024-39722",
        "CVE-2024-45436", "CVE-2025-51471", "CVE-2026-7482"]


@pytest.mark.parametrize("version,first_cve,count", [
    ("0.1.29-rc1", "CVE-2024-28224", 8),  # a pre-release of the fix is still vulnerable
    ("0.1.29", "CVE-2024-37032", 7),
    ("0.1.34", "CVE-2024-39720", 5),
    ("0.1.47", "CVE-2025-51471", 2),
    ("0.14.3", "CVE-2026-7482", 1),
    ("v0.17.0", "CVE-2026-7482", 1),
])
def test_partial_hits(catalog, version, first_cve, count):
    hits = _cves(version, catalog)
    assert len(hits) == count and hits[0] == first_cve


@pytest.mark.parametrize("version", ["0.17.1", "v0.17.1", "0.18.0", "0.33.2", "1.0.0"])
def test_floor_and_later_hit_nothing(catalog, version):
    assert _cves(version, catalog) == []


@pytest.mark.parametrize("version", ["unknown", "", None, "dev"])
def test_unparseable_version_hits_nothing(catalog, version):
    assert _cves(version, catalog) == []


def test_null_fixed_in_never_matches(catalog):
    unfixed = set(e["cve"] for e in catalog["vulnerable_versions"]["entries"] if not e.get("fixed_in"))
    assert "CVE-2025-63389" in unfixed and len(unfixed) == 8
    for version in ("0.0.1", "0.1.28", "0.17.0", "9.9.9"):
        assert unfixed.isdisjoint(_cves(version, catalog))


def test_vulnerable_entries_empty_table():
    assert vulnerable_entries("0.1.0", None) == []
    assert vulnerable_entries("0.1.0", {}) == []


# -- fingerprints -------------------------------------------------------------

def test_fingerprint_stable_and_distinct():
    base = fingerprint("h1", "OLLAMA-BIND-001", "socket:0.0.0.0:11434")
    assert base == fingerprint("h1", "OLLAMA-BIND-001", "socket:0.0.0.0:11434")
    assert re.match(r"^[0-9a-f]{24}$", base)
    others = [fingerprint("h2", "OLLAMA-BIND-001", "socket:0.0.0.0:11434"),
              fingerprint("h1", "OLLAMA-BIND-002", "socket:0.0.0.0:11434"),
              fingerprint("h1", "OLLAMA-BIND-001", "socket:0.0.0.0:11435")]
    assert len(set([base] + others)) == 4


def test_fingerprint_unicode_subject():
    assert fingerprint(u"h\u00f6st", "X", u"\u2603") == fingerprint(u"h\u00f6st", "X", u"\u2603")


# -- evaluate_host --------------------------------------------------------------

def _listener(address, port=11434, family="ipv4", scope="wildcard", pid=4242, unit="ollama.service"):
    return {"address": address, "port": port, "family": family, "scope": scope, "pid": pid, "unit": unit,
            "inferred": False}


def _service(value, name="ollama.service", origin_line=2, **extra):
    svc = {"name": name, "fragment": FRAGMENT, "dropins": [OVERRIDE], "masked": False,
           "env": {"OLLAMA_HOST": value} if value else {},
           "env_origin": ({"OLLAMA_HOST": {"file": OVERRIDE, "line": origin_line, "via": "Environment"}}
                          if value else {}),
           "bind": parse_ollama_host(value), "origins_wildcards": [], "errors": [],
           "need_daemon_reload": False, "running_bind": None}
    svc.update(extra)
    return svc


def _process(value, pid=5151, unit=None, container=False, argv=None, **extra):
    proc = {"pid": pid, "argv": argv or ["/usr/local/bin/ollama", "serve"], "uid": 1000, "unit": unit,
            "container": container, "env": {"OLLAMA_HOST": value}, "bind": parse_ollama_host(value),
            "origins_wildcards": []}
    proc.update(extra)
    return proc


def _ids(findings):
    return [f["id"] for f in findings]


def test_no_facts_no_findings(catalog):
    assert evaluate_host({}, catalog, HOST) == []


def test_wildcard_listener(catalog):
    findings = evaluate_host({"listeners": [_listener("::", family="ipv6")]}, catalog, HOST)
    assert _ids(findings) == ["OLLAMA-BIND-001"]
    finding = findings[0]
    assert finding["subject"] == "socket::::11434"  # "socket:" + "::" + ":11434"
    assert "dual-stack" in finding["evidence"] and "tcp6" in finding["evidence"]
    assert finding["location"] == {"socket": ":::11434"}
    assert finding["severity"] == "critical" and finding["host"] == HOST


def test_listener_scopes(catalog):
    facts = {"listeners": [_listener("127.0.0.1", scope="loopback"), _listener("::1", family="ipv6", scope="loopback"),
                           _listener("192.168.1.10", scope="address", unit=None, pid=None)]}
    findings = evaluate_host(facts, catalog, HOST)
    assert [f["subject"] for f in findings] == ["socket:192.168.1.10:11434"]
    assert "owner unknown" in findings[0]["evidence"]


def test_inferred_listener_owner_is_said(catalog):
    sock = dict(_listener("0.0.0.0", unit=None), inferred=True)
    evidence = evaluate_host({"listeners": [sock]}, catalog, HOST)[0]["evidence"]
    assert "pid 4242" in evidence and "inferred" in evidence


@pytest.mark.parametrize("value", ["0.0.0.0:11434", "0.0.0.0", "[::]", ":11434", "10.0.0.5", "http://0.0.0.0"])
def test_service_with_exposed_bind(catalog, value):
    findings = evaluate_host({"services": [_service(value)]}, catalog, HOST)
    bind2 = [f for f in findings if f["id"] == "OLLAMA-BIND-002"]
    assert len(bind2) == 1
    assert bind2[0]["subject"] == "unit:ollama.service"
    assert bind2[0]["location"] == {"file": OVERRIDE, "line": 2}
    assert OVERRIDE in bind2[0]["evidence"]


@pytest.mark.parametrize("value", ["", "127.0.0.1", "127.0.0.1:11434", "[::1]:8080", "localhost"])
def test_service_with_loopback_bind(catalog, value):
    assert evaluate_host({"services": [_service(value)]}, catalog, HOST) == []


def test_service_without_origin_points_at_fragment(catalog):
    svc = _service("0.0.0.0", env_origin={})
    finding = evaluate_host({"services": [svc]}, catalog, HOST)[0]
    assert finding["location"] == {"file": FRAGMENT}


def test_masked_service_is_skipped(catalog):
    svc = _service("0.0.0.0", masked=True, origins_wildcards=["*"])
    assert evaluate_host({"services": [svc]}, catalog, HOST) == []


def test_hostname_bind_uses_resolution(catalog):
    svc = _service("myhost.example")
    assert evaluate_host({"services": [svc]}, catalog, HOST) == []
    svc["bind"]["resolved_scopes"] = ["address"]
    assert _ids(evaluate_host({"services": [svc]}, catalog, HOST)) == ["OLLAMA-BIND-002"]


def test_bind_is_exposed():
    assert bind_is_exposed(None) is False
    assert bind_is_exposed({}) is False
    assert bind_is_exposed({"exposed": True}) is True
    assert bind_is_exposed({"exposed": None, "resolved_scopes": ["loopback"]}) is False
    assert bind_is_exposed({"exposed": None, "resolved_scopes": ["wildcard"]}) is True


def test_port_trap_is_cfg_002(catalog):
    findings = evaluate_host({"services": [_service("http://127.0.0.1")]}, catalog, HOST)
    assert _ids(findings) == ["OLLAMA-CFG-002"]
    assert "port 80" in findings[0]["evidence"]
    findings = evaluate_host({"services": [_service("127.0.0.1:99999")]}, catalog, HOST)
    assert _ids(findings) == ["OLLAMA-CFG-002"]


def test_running_differs_from_configuration(catalog):
    svc = _service("127.0.0.1:11434", running_bind=parse_ollama_host("0.0.0.0:11434"))
    findings = evaluate_host({"services": [svc]}, catalog, HOST)
    assert _ids(findings) == ["OLLAMA-BIND-003"]
    assert "0.0.0.0:11434" in findings[0]["evidence"] and "127.0.0.1:11434" in findings[0]["evidence"]


def test_running_matches_configuration(catalog):
    svc = _service("127.0.0.1:11434", running_bind=parse_ollama_host('"127.0.0.1:11434"'))
    assert evaluate_host({"services": [svc]}, catalog, HOST) == []


def test_daemon_reload_pending(catalog):
    svc = _service("127.0.0.1", need_daemon_reload=True)
    findings = evaluate_host({"services": [svc]}, catalog, HOST)
    assert _ids(findings) == ["OLLAMA-BIND-003"]
    assert "daemon-reload" in findings[0]["evidence"]


def test_process_without_unit(catalog):
    findings = evaluate_host({"processes": [_process("0.0.0.0:11500")]}, catalog, HOST)
    assert _ids(findings) == ["OLLAMA-BIND-004"]
    assert findings[0]["subject"] == "process:/usr/local/bin/ollama serve"
    assert "0.0.0.0:11500" in findings[0]["evidence"]


def test_process_in_unit_or_container_is_ignored(catalog):
    facts = {"processes": [_process("0.0.0.0", unit="ollama.service"),
                           _process("0.0.0.0:11434", container=True, origins_wildcards=["*"])]}
    assert evaluate_host(facts, catalog, HOST) == []


def test_origins_wildcard(catalog):
    svc = _service("127.0.0.1", origins_wildcards=["*", "http://*"],
                   env_origin={"OLLAMA_ORIGINS": {"file": OVERRIDE, "line": 3, "via": "Environment"}})
    findings = evaluate_host({"services": [svc]}, catalog, HOST)
    assert _ids(findings) == ["OLLAMA-CORS-001"]  # once per unit
    assert findings[0]["location"] == {"file": OVERRIDE, "line": 3}
    proc = _process("127.0.0.1", origins_wildcards=["*"])
    assert sorted(_ids(evaluate_host({"processes": [proc]}, catalog, HOST))) == ["OLLAMA-BIND-004", "OLLAMA-CORS-001"]


def test_unit_errors_are_cfg_001(catalog):
    svc = _service("127.0.0.1", errors=[{"file": OVERRIDE, "line": 4, "reason": "not a key=value assignment"},
                                        {"file": "/etc/default/ollama", "line": 1, "reason": "bad"}])
    findings = evaluate_host({"services": [svc]}, catalog, HOST)
    assert _ids(findings) == ["OLLAMA-CFG-001", "OLLAMA-CFG-001"]
    assert [f["location"] for f in findings] == [{"file": "/etc/default/ollama", "line": 1},
                                                 {"file": OVERRIDE, "line": 4}]


@pytest.mark.parametrize("ip,expected", [
    ("0.0.0.0", ["OLLAMA-DOCKER-001"]),
    ("::", ["OLLAMA-DOCKER-001"]),
    ("", ["OLLAMA-DOCKER-001"]),
    ("127.0.0.1", []),
    ("::1", []),
    ("192.168.1.10", []),
])
def test_docker_published_port(catalog, ip, expected):
    ctr = {"name": "ollama", "image": "ollama/ollama:latest",
           "ports": [{"ip": ip, "public_port": 11434, "private_port": 11434, "type": "tcp"}]}
    findings = evaluate_host({"containers": [ctr]}, catalog, HOST)
    assert _ids(findings) == expected
    if expected:
        assert findings[0]["subject"] == "container:ollama:11434"


def test_docker_port_published_over_both_families_is_one_finding(catalog):
    """Docker lists `-p 11434:11434` once for 0.0.0.0 and once for ::; the
    ticket key (fingerprint) must stay unique, so one finding names both."""
    ctr = {"name": "ollama", "image": "ollama/ollama",
           "ports": [{"ip": "0.0.0.0", "public_port": 11434, "private_port": 11434},
                     {"ip": "::", "public_port": 11434, "private_port": 11434},
                     {"ip": "0.0.0.0", "public_port": 8080, "private_port": 11434}]}
    findings = evaluate_host({"containers": [ctr]}, catalog, HOST)
    assert [(f["subject"], f["port"]) for f in findings] == [("container:ollama:11434", 11434),
                                                            ("container:ollama:8080", 8080)]
    assert "publishes 0.0.0.0:11434 and [::]:11434 -> 11434/tcp" in findings[0]["evidence"]


def test_fingerprints_are_unique_per_host(catalog):
    """Two readings of one subject (here the same socket listed twice) make one
    finding whose evidence keeps both."""
    sock = {"address": "0.0.0.0", "port": 11434, "scope": "wildcard", "family": "ipv4", "unit": "ollama.service"}
    findings = evaluate_host({"listeners": [sock, dict(sock, unit=None, pid=42)]}, catalog, HOST)
    assert len(findings) == 1 and len({f["fingerprint"] for f in findings}) == 1
    assert "ollama.service" in findings[0]["evidence"] and "pid 42" in findings[0]["evidence"]


def test_docker_unpublished_port(catalog):
    ctr = {"name": "ollama", "image": "ollama/ollama",
           "ports": [{"ip": "", "public_port": None, "private_port": 11434}]}
    assert evaluate_host({"containers": [ctr]}, catalog, HOST) == []


def test_versions(catalog):
    facts = {"installs": [{"subject": "ollama.service", "kind": "service", "version": None, "reason": "not running"},
                          {"subject": "container ollama", "kind": "container", "version": "0.1.28"},
                          {"subject": "pid 9 (ollama serve)", "kind": "process", "version": "0.17.1"}]}
    findings = evaluate_host(facts, catalog, HOST)
    # Every install, whatever its version (known or not), has the advisories no release fixes.
    assert _ids(findings) == ["OLLAMA-VER-001"] + ["OLLAMA-VER-003"] * 3 + ["OLLAMA-VER-002"]
    findings = [f for f in findings if f["id"] != "OLLAMA-VER-003"]
    ver1 = findings[0]
    assert ver1["subject"] == "version:container ollama"
    assert "CVE-2024-37032" in ver1["references"] and "CWE-1104" in ver1["references"]
    assert "CVE-2025-63389" not in ver1["evidence"]
    assert findings[1]["severity"] == "info" and "not running" in findings[1]["evidence"]


def test_findings_sorted_by_severity_then_id(catalog):
    facts = {"listeners": [_listener("0.0.0.0")], "services": [_service("0.0.0.0", need_daemon_reload=True)],
             "installs": [{"subject": "ollama.service", "version": None}]}
    findings = evaluate_host(facts, catalog, HOST)
    ranks = [severity_rank(f["severity"]) for f in findings]
    assert ranks == sorted(ranks, reverse=True)
    assert _ids(findings) == ["OLLAMA-BIND-001", "OLLAMA-BIND-002", "OLLAMA-BIND-003", "OLLAMA-VER-003",
                              "OLLAMA-VER-002"]


def _everything():
    """Facts that trigger every host-side control."""
    return {
        "listeners": [_listener("::", family="ipv6")],
        "services": [_service("http://0.0.0.0", running_bind=parse_ollama_host("127.0.0.1"),
                              origins_wildcards=["*"], cloud=cloud_state("0.20.0", {}, None),
                              errors=[{"file": OVERRIDE, "line": 9, "reason": "bad"}]),
                     _service("127.0.0.1", name="local.service", cloud=cloud_state("0.20.0", {}, None))],
        "processes": [_process("0.0.0.0:11500")],
        "containers": [{"name": "ollama", "image": "ollama/ollama",
                        "ports": [{"ip": "0.0.0.0", "public_port": 11434, "private_port": 11434}]}],
        "installs": [{"subject": "ollama.service", "version": None},
                     {"subject": "container ollama", "version": "0.1.28"}],
    }


def test_every_finding_is_in_the_catalog(catalog):
    findings = evaluate_host(_everything(), catalog, HOST)
    probe = {"scanner": "controller", "results": [
        {"address": "192.168.1.10", "port": 11434, "state": "exposed", "evidence": "GET / -> Ollama is running"}]}
    findings += probe_findings(probe, catalog, HOST)
    assert set(_ids(findings)) == set(catalog["controls"])  # every control can fire
    for finding in findings:
        control = catalog["controls"][finding["id"]]
        assert finding["severity"] == control["severity"] and finding["severity"] in catalog["severities"]
        assert finding["title"] == control["title"] and finding["title"]
        assert finding["remediation"] == control["remediation"].strip() and finding["remediation"]
        assert re.match(r"^[0-9a-f]{24}$", finding["fingerprint"])
        assert finding["fingerprint"] == fingerprint(HOST, finding["id"], finding["subject"])
        assert set(control["references"] or []) <= set(finding["references"])
        assert finding["host"] == HOST and finding["evidence"]
    assert set(catalog["exposure_controls"]) <= set(catalog["controls"])


def test_fingerprints_do_not_depend_on_pids(catalog):
    first = evaluate_host(_everything(), catalog, HOST)
    facts = _everything()
    facts["listeners"][0]["pid"] = 1
    facts["processes"][0]["pid"] = 2
    second = evaluate_host(facts, catalog, HOST)
    assert [f["fingerprint"] for f in first] == [f["fingerprint"] for f in second]
    assert len(set(f["fingerprint"] for f in first)) == len(first)
    other_host = evaluate_host(_everything(), catalog, "lab-2")
    assert set(f["fingerprint"] for f in first).isdisjoint(f["fingerprint"] for f in other_host)


def test_evaluate_does_not_modify_facts(catalog):
    facts = _everything()
    before = copy.deepcopy(facts)
    evaluate_host(facts, catalog, HOST)
    assert facts == before


def test_make_finding_merges_references(catalog):
    finding = make_finding(catalog, HOST, "OLLAMA-BIND-001", "s", "e", references=["CWE-306", "X-1"])
    assert finding["references"] == catalog["controls"]["OLLAMA-BIND-001"]["references"] + ["X-1"]
    assert finding["references"].count("CWE-306") == 1
    assert "location" not in finding
    with pytest.raises(KeyError):
        make_finding(catalog, HOST, "OLLAMA-NOPE-001", "s", "e")


def test_probe_findings_only_exposed(catalog):
    probe = {"results": [{"address": "10.0.0.1", "port": 11434, "state": "exposed", "evidence": "200"},
                         {"address": "10.0.0.1", "port": 11435, "state": "closed", "evidence": "refused"},
                         {"address": "10.0.0.2", "port": 11434, "state": "filtered"}]}
    findings = probe_findings(probe, catalog, HOST)
    assert [(f["id"], f["subject"]) for f in findings] == [("OLLAMA-NET-001", "net:10.0.0.1:11434")]
    assert probe_findings({}, catalog, HOST) == []


# -- host status --------------------------------------------------------------

def test_host_status(catalog):
    assert host_status(None, [], catalog) == STATUS_UNSUPPORTED
    assert host_status({"supported": False}, [], catalog) == STATUS_UNSUPPORTED
    assert host_status({"supported": True}, [], catalog) == STATUS_NOT_INSTALLED
    secure = {"supported": True, "services": [_service("127.0.0.1")]}
    assert host_status(secure, evaluate_host(secure, catalog, HOST), catalog) == STATUS_SECURE
    # findings outside the exposure controls leave a host secure
    info_only = dict(secure, installs=[{"subject": "ollama.service", "version": None}])
    findings = evaluate_host(info_only, catalog, HOST)
    assert _ids(findings) == ["OLLAMA-VER-003", "OLLAMA-VER-002"]
    assert host_status(info_only, findings, catalog) == STATUS_SECURE
    for facts in ({"supported": True, "services": [_service("0.0.0.0")]},
                  {"supported": True, "listeners": [_listener("0.0.0.0")], "processes": [_process("0.0.0.0")]},
                  {"supported": True, "containers": _everything()["containers"]}):
        assert host_status(facts, evaluate_host(facts, catalog, HOST), catalog) == STATUS_EXPOSED
    net = probe_findings({"results": [{"address": "a", "port": 1, "state": "exposed"}]}, catalog, HOST)
    assert host_status({"supported": True}, net, catalog) == STATUS_EXPOSED
    assert host_status({"supported": True, "processes": [_process("127.0.0.1")]}, [], catalog) == STATUS_SECURE


def test_at_or_above():
    findings = [{"severity": s} for s in ("info", "low", "medium", "high", "critical")]
    assert [f["severity"] for f in at_or_above(findings, "high")] == ["high", "critical"]
    assert len(at_or_above(findings, "info")) == 5
    assert at_or_above(findings, "bogus") == []
    assert severity_rank("bogus") == -1 and severity_rank("critical") == 4


# -- cloud features (issue 14) -------------------------------------------------------------
@pytest.mark.parametrize("value, running, expected", [
    ("0.0.0.0", None, "OLLAMA-CLOUD-001"),                                   # configured beyond loopback
    ("127.0.0.1", parse_ollama_host("0.0.0.0"), "OLLAMA-CLOUD-001"),         # running beyond loopback
    ("127.0.0.1", None, "OLLAMA-CLOUD-002"),                                 # loopback only
    ("", parse_ollama_host(""), "OLLAMA-CLOUD-002"),                         # upstream's default
])
def test_cloud_on_fires_by_reach(catalog, value, running, expected):
    svc = _service(value, running_bind=running, cloud=cloud_state("0.20.0", {}, None, key_exists=True,
                                                                   home="/usr/share/ollama"))
    found = [f for f in evaluate_host({"services": [svc]}, catalog, HOST) if f["id"].startswith("OLLAMA-CLOUD")]
    assert _ids(found) == [expected]
    assert found[0]["severity"] == ("high" if expected == "OLLAMA-CLOUD-001" else "low")
    assert found[0]["subject"] == "unit:ollama.service"
    assert found[0]["location"] == {"file": "/usr/share/ollama/.ollama/server.json"}
    assert "signed in to ollama.com: cannot tell" in found[0]["evidence"]


@pytest.mark.parametrize("cloud", [
    cloud_state("0.20.0", {"OLLAMA_NO_CLOUD": "1"}, None),                       # off by the environment
    cloud_state("0.20.0", {}, '{"disable_ollama_cloud": true}'),                # off by server.json
    cloud_state("0.20.0", {}, None, status={"disabled": True, "source": "config"}),  # the server says off
    cloud_state("0.11.10", {}, None),                                             # before cloud models
    cloud_state(None, {}, None),                                                  # cannot tell: no finding
    None,
])
def test_cloud_off_or_unknown_does_not_fire(catalog, cloud):
    svc = _service("0.0.0.0", cloud=cloud)
    assert not [f for f in evaluate_host({"services": [svc]}, catalog, HOST) if f["id"].startswith("OLLAMA-CLOUD")]


def test_cloud_evidence_names_remotes_and_the_missing_switch(catalog):
    svc = _service("0.0.0.0", cloud=cloud_state("0.14.0", {"OLLAMA_REMOTES": "ollama.com,cloud.example.test",
                                                         "OLLAMA_NO_CLOUD": "1"}, None))
    finding = [f for f in evaluate_host({"services": [svc]}, catalog, HOST) if f["id"] == "OLLAMA-CLOUD-001"][0]
    assert "OLLAMA_REMOTES=ollama.com,cloud.example.test" in finding["evidence"]
    assert "OLLAMA_NO_CLOUD needs 0.16.2 or later" in finding["evidence"]
