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


def _every_door():
    """Facts and probe results that trigger every door control (issue 26)."""
    # (_everything's service has OLLAMA_HOST=http://0.0.0.0: Ollama's own port is 80 there)
    facts = dict(_everything(), forwarders=[_nginx(8081)], servers=[
        _server("vllm", 8000, version="0.9.1"), _server("rpc-server", 50052, origin="flag -H", version="b3400"),
        _server("open-webui", 3000, env={"OLLAMA_BASE_URL": "http://127.0.0.1:11434"})])
    results = [_result(8081, "exposed", "ollama", True), _result(8000, "model_open", "vllm", True, models=2),
               _result(3000, "open_other", "open-webui", False, config={"auth": True, "onboarding": True})]
    second = dict(facts, servers=[_server("open-webui", 3001, env={"WEBUI_AUTH": "False"})])
    third = dict(facts, servers=[_server("open-webui", 3002, env={"DEFAULT_USER_ROLE": "user"})])
    return [(facts, results), (second, []), (third, [])]


def test_every_finding_is_in_the_catalog(catalog):
    findings = evaluate_host(_everything(), catalog, HOST)
    for facts, results in _every_door():
        findings += evaluate_host(facts, catalog, HOST, results)
    probe = {"scanner": "controller", "results": [
        {"address": "192.168.1.10", "port": 11434, "state": "exposed", "evidence": "GET / -> Ollama is running"}]}
    findings += probe_findings(probe, catalog, HOST)
    # Discovery's (issue 29): a sweep's records of an address outside the inventory.
    from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import discovery_findings
    for record in ({"address": "192.168.1.20", "port": 11434, "kind": "ollama", "state": "exposed", "open": True},
                   {"address": "192.168.1.20", "port": 8000, "kind": "vllm", "state": "auth_required", "auth": True}):
        findings += discovery_findings(record, catalog, HOST)
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


# -- every way in: the doors (issue 26) -------------------------------------------------
# Fixture dicts in the contract's shapes (plugin_utils/ollama_doors.py's
# docstring: ollama_info's forwarders[], servers[], other_listeners[]; the
# probe's results with kind, open and details).

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import (  # noqa: E402
    apply_mitigations, mitigation, server_advisories, webui_config, webui_env)

NGINX_SITE = {"file": "/etc/nginx/sites-enabled/default", "line": 12}
A4, A6 = "172.30.61.5", "fd00:6c61:62::5"


def _wide(port):
    return [{"address": "0.0.0.0", "port": port, "family": "ipv4", "scope": "wildcard"},
            {"address": "::", "port": port, "family": "ipv6", "scope": "wildcard"}]


def _nginx(port=80, auth=False, to_model="ollama", pid=900):
    return {"kind": "nginx", "pid": pid, "unit": "nginx.service", "process": "nginx", "listen": _wide(port),
            "upstream": [{"host": "127.0.0.1", "port": 11434}], "to_model": to_model, "auth": auth,
            "location": NGINX_SITE,
            "evidence": "listen %s; proxy_pass http://127.0.0.1:11434 (%s)" % (port, "auth_basic" if auth else "no auth")}


def _server(kind, port, key=False, origin="default", version=None, env=None, wide=True, unit=None, container=None,
            pid=1300):
    listen = _wide(port) if wide else [{"address": "127.0.0.1", "port": port, "family": "ipv4", "scope": "loopback"}]
    return {"kind": kind, "source": "container" if container else "process", "pid": pid,
            "unit": unit if unit or container else "%s.service" % kind, "container": container, "image": None,
            "argv": [kind], "listen": listen,
            "bind": {"address": "0.0.0.0" if wide else "127.0.0.1", "port": port,
                     "scope": "wildcard" if wide else "loopback", "exposed": wide, "origin": origin},
            "key": {"set": key, "origin": "flag --api-key" if key else None}, "env": env or {}, "version": version,
            "rebind": {"possible": False, "env": None, "value": None, "why": "test"}}


def _result(port, state, kind, is_open, address=A4, models=None, config=None, version=None, evidence=None):
    return {"address": address, "port": port, "state": state, "kind": kind, "open": is_open,
            "evidence": evidence or "GET /api/tags -> 200", "status_code": 200,
            "details": {"models": models, "version": version, "config": config or {}}}


def _both(port, state, kind, is_open, **kw):
    return [_result(port, state, kind, is_open, **kw), _result(port, state, kind, is_open, address=A6, **kw)]


def _loopback_ollama(**extra):
    facts = {"supported": True, "addresses": [A4, A6], "firewall": {},
             "listeners": [_listener("127.0.0.1", scope="loopback")], "services": [_service("127.0.0.1")],
             "processes": [], "containers": [], "installs": [],
             "other_listeners": [dict(s, pid=900, process="nginx", unit="nginx.service", kind="nginx")
                                 for s in _wide(80)]}
    facts.update(extra)
    return facts


def _of(findings, control):
    return [f for f in findings if f["id"] == control]


def test_door_proven_by_the_probe_names_port_process_and_location(catalog):
    facts = _loopback_ollama(forwarders=[_nginx()])
    findings = evaluate_host(facts, catalog, HOST, _both(80, "exposed", "ollama", True))
    door = _of(findings, "OLLAMA-DOOR-001")
    assert len(door) == 1, "the probe's and the read's finding of one door are one finding"
    assert door[0]["subject"] == "door:tcp/80" and door[0]["severity"] == "critical"
    for words in ("tcp/80", "nginx (nginx.service)", "/etc/nginx/sites-enabled/default:12", A4, A6,
                  "auth_basic", "from the host read"):
        assert words in door[0]["evidence"], words
    assert door[0]["location"] == NGINX_SITE
    assert door[0]["port"] == 80
    # The probe's proof is never mitigated: a rule that closes the port on
    # paper does not count while the port answers from outside.
    closed = {"input": {"ipv4": {"80": "nft ollama_exposure"}, "ipv6": {"80": "nft ollama_exposure"}}}
    done, why = mitigation(door[0], closed, _both(80, "exposed", "ollama", True), [A4, A6])
    assert done is None and "answers from outside" in why


def test_door_on_ollamas_own_port_is_not_a_door(catalog):
    facts = _loopback_ollama()
    assert not _of(evaluate_host(facts, catalog, HOST, _both(11434, "exposed", "ollama", True)), "OLLAMA-DOOR-001")


def test_door_the_probe_finds_alone_names_the_socket_owner(catalog):
    """No forwarder in the read (a config it could not parse): other_listeners names the process."""
    door = _of(evaluate_host(_loopback_ollama(), catalog, HOST, _both(80, "exposed", "ollama", True)),
               "OLLAMA-DOOR-001")
    assert door and "listening: nginx (nginx.service)" in door[0]["evidence"]
    facts = _loopback_ollama(other_listeners=[])
    door = _of(evaluate_host(facts, catalog, HOST, [_result(8080, "exposed", "ollama", True)]), "OLLAMA-DOOR-001")
    assert door and "owner unknown" in door[0]["evidence"]


def test_door_from_the_read_alone_is_mitigable(catalog):
    door = _of(evaluate_host(_loopback_ollama(forwarders=[_nginx()]), catalog, HOST), "OLLAMA-DOOR-001")
    assert len(door) == 1 and door[0]["port"] == 80
    assert "from the host read" in door[0]["evidence"] and "not probed" in door[0]["evidence"]


@pytest.mark.parametrize("forwarder, results", [
    (_nginx(auth=True), []),                                        # the read shows auth_basic
    (_nginx(auth=True), _both(80, "auth_required", "http", False)),  # and 401 from outside
    (_nginx(auth=False), _both(80, "auth_required", "http", False)),  # 401 from outside proves it asks
    (_nginx(auth=None), []),                                        # the read cannot tell, nothing answered
    (_nginx(to_model=None), []),                                    # forwards elsewhere
    (dict(_nginx(), listen=[{"address": "127.0.0.1", "port": 80, "family": "ipv4", "scope": "loopback"}]), []),
])
def test_a_door_that_asks_for_credentials_is_no_finding(catalog, forwarder, results):
    facts = _loopback_ollama(forwarders=[forwarder])
    assert not _of(evaluate_host(facts, catalog, HOST, results), "OLLAMA-DOOR-001")


def test_a_socat_door_names_its_unit_and_execstart(catalog):
    socat = {"kind": "socat", "pid": 77, "unit": "ollama-fwd.service", "process": "socat", "listen": _wide(8080),
             "upstream": [{"host": "127.0.0.1", "port": 11434}], "to_model": "ollama", "auth": False,
             "location": {"file": "/etc/systemd/system/ollama-fwd.service", "line": 6},
             "evidence": "ExecStart: socat TCP-LISTEN:8080,fork TCP:127.0.0.1:11434"}
    door = _of(evaluate_host(_loopback_ollama(forwarders=[socat]), catalog, HOST), "OLLAMA-DOOR-001")[0]
    assert "socat (ollama-fwd.service)" in door["evidence"] and "ollama-fwd.service:6" in door["evidence"]
    assert "TCP-LISTEN:PORT,bind=127.0.0.1" in door["evidence"]


@pytest.mark.parametrize("config, env, expected", [
    ({"auth": False}, None, ["OLLAMA-WEBUI-001"]),
    ({"auth": True, "onboarding": True, "enable_signup": True}, None, ["OLLAMA-WEBUI-003"]),
    ({"auth": True, "enable_signup": True, "default_role": "user"}, None, ["OLLAMA-WEBUI-002"]),
    # the role from its environment where /api/config does not give it
    ({"auth": True, "enable_signup": True}, {"DEFAULT_USER_ROLE": "user"}, ["OLLAMA-WEBUI-002"]),
    ({"auth": True, "enable_signup": True}, {}, []),                        # pending by default
    ({"auth": True, "enable_signup": False, "default_role": "user"}, None, []),
    ({"features": {"auth": True, "enable_signup": True}, "onboarding": False}, None, []),
    ({"features": {"auth": False}}, None, ["OLLAMA-WEBUI-001"]),             # upstream's own shape
])
def test_open_webui_from_outside(catalog, config, env, expected):
    servers = [_server("open-webui", 3000, env=env, container="open-webui")] if env is not None else []
    facts = _loopback_ollama(servers=servers)
    findings = evaluate_host(facts, catalog, HOST, _both(3000, "open_other", "open-webui", False, config=config))
    got = [f for f in findings if f["id"].startswith("OLLAMA-WEBUI")]
    assert _ids(got) == expected
    for finding in got:
        assert finding["subject"] == "webui:tcp/3000" and finding["port"] == 3000
        assert "WEBUI_AUTH=True, ENABLE_SIGNUP=false, DEFAULT_USER_ROLE=pending" in finding["evidence"]
        assert "HOST=127.0.0.1 or -p 127.0.0.1:3000:8080" in finding["evidence"]


def test_open_webui_silent_from_outside_and_on_loopback_is_no_finding(catalog):
    closed = _both(3000, "filtered", None, False)
    facts = _loopback_ollama(servers=[_server("open-webui", 3000, env={"WEBUI_AUTH": "False"}, wide=False)])
    assert not [f for f in evaluate_host(facts, catalog, HOST, closed) if f["id"].startswith("OLLAMA-WEBUI")]


@pytest.mark.parametrize("env, expected", [
    ({"WEBUI_AUTH": "False"}, ["OLLAMA-WEBUI-001"]),
    ({"WEBUI_AUTH": "0"}, ["OLLAMA-WEBUI-001"]),          # Open WebUI: only "true" is true
    ({"DEFAULT_USER_ROLE": "user"}, ["OLLAMA-WEBUI-002"]),  # ENABLE_SIGNUP defaults to True
    ({"DEFAULT_USER_ROLE": "user", "ENABLE_SIGNUP": "false"}, []),
    ({}, []),
])
def test_open_webui_from_the_read_when_bound_wide(catalog, env, expected):
    facts = _loopback_ollama(servers=[_server("open-webui", 8080, env=env)])
    got = [f for f in evaluate_host(facts, catalog, HOST) if f["id"].startswith("OLLAMA-WEBUI")]
    assert _ids(got) == expected
    assert all(f["port"] == 8080 and "from the host read" in f["evidence"] for f in got)


def test_open_webui_its_own_answer_wins_over_its_environment(catalog):
    facts = _loopback_ollama(servers=[_server("open-webui", 3000, env={"WEBUI_AUTH": "False"})])
    results = _both(3000, "open_other", "open-webui", False, config={"auth": True, "enable_signup": False})
    assert not [f for f in evaluate_host(facts, catalog, HOST, results) if f["id"].startswith("OLLAMA-WEBUI")]


def test_webui_env_and_config_readers():
    assert webui_env({}) == (True, True, "pending")
    assert webui_env({"WEBUI_AUTH": "False", "ENABLE_SIGNUP": "True"}) == (False, False, "pending")
    assert webui_env({"WEBUI_AUTH": "'true'"})[0] is True
    assert webui_config({"auth": False, "onboarding": True}) == (False, None, True, None)
    assert webui_config(None) == (None, None, None, None)


def test_another_server_open_from_outside(catalog):
    facts = _loopback_ollama(servers=[_server("vllm", 8000)])
    findings = evaluate_host(facts, catalog, HOST, _both(8000, "model_open", "vllm", True, models=3))
    srv1 = _of(findings, "OLLAMA-SRV-001")
    assert len(srv1) == 1 and srv1[0]["subject"] == "server:vllm:tcp/8000" and srv1[0]["port"] == 8000
    assert "vLLM" in srv1[0]["evidence"] and "3 models" in srv1[0]["evidence"] and "--api-key" in srv1[0]["evidence"]
    srv2 = _of(findings, "OLLAMA-SRV-002")
    assert len(srv2) == 1 and srv2[0]["port"] == 8000 and "no key set" in srv2[0]["evidence"]
    assert "--host 127.0.0.1" in srv2[0]["evidence"] and "does not rebind it" in srv2[0]["evidence"]


@pytest.mark.parametrize("server, fires", [
    (_server("vllm", 8000), True),
    (_server("vllm", 8000, key=True), False),                  # a key: the door asks
    (_server("vllm", 8000, wide=False), False),                 # loopback
    (_server("tgi", 3000), True),
    (_server("rpc-server", 50052, key=False), True),
    (dict(_server("rpc-server", 50052), key={"set": True, "origin": "?"}), True),  # no credentials at all
    (_server("rpc-server", 50052, wide=False), False),
    (_server("comfyui", 8188, origin="flag --listen"), True),
])
def test_another_server_bound_wide_from_the_read(catalog, server, fires):
    srv2 = _of(evaluate_host(_loopback_ollama(servers=[server]), catalog, HOST), "OLLAMA-SRV-002")
    assert bool(srv2) is fires
    if fires:
        assert srv2[0]["subject"] == "server:%s:tcp/%s" % (server["kind"], server["bind"]["port"])
        assert server["bind"]["origin"] in srv2[0]["evidence"]


def test_another_server_asking_for_a_key_from_outside_is_no_finding(catalog):
    facts = _loopback_ollama(servers=[_server("vllm", 8000)])
    findings = evaluate_host(facts, catalog, HOST, _both(8000, "auth_required", "vllm", False))
    assert not [f for f in findings if f["id"] in ("OLLAMA-SRV-001", "OLLAMA-SRV-002")]


@pytest.mark.parametrize("kind, version, cves", [
    ("rpc-server", "b3400", ["CVE-2024-42477", "CVE-2024-42478", "CVE-2024-42479"]),
    ("rpc-server", "version: 3560 (abc1234)", ["CVE-2024-42477", "CVE-2024-42478", "CVE-2024-42479"]),
    ("rpc-server", "b3561", []),
    ("rpc-server", "b10000", []),           # numeric, not lexical ("b10000" < "b3561" as text)
    ("localai", "2.9.0", ["CVE-2024-2029", "CVE-2024-6983"]),
    ("localai", "v2.19.3", ["CVE-2024-6983"]),
    ("localai", "2.19.4", []),
    ("localai", "2.100.0", []),
    ("localai", None, []),                  # unknown version: no finding
    ("localai", "master", []),
    ("vllm", "0.1.0", []),                  # no advisory in the table
])
def test_server_advisories(catalog, kind, version, cves):
    assert [h["cve"] for h in server_advisories(kind, version)] == cves
    findings = _of(evaluate_host({"servers": [_server(kind, 9000, version=version, wide=False)]}, catalog, HOST),
                   "OLLAMA-SRV-003")
    assert [r for f in findings for r in f["references"] if r.startswith("CVE")] == cves
    if cves:
        assert findings[0]["subject"] == "version:%s:%s.service" % (kind, kind)


def test_server_advisory_from_the_probe_version(catalog):
    findings = evaluate_host(_loopback_ollama(), catalog, HOST,
                             [_result(8080, "model_open", "localai", True, version="2.19.0")])
    srv3 = _of(findings, "OLLAMA-SRV-003")
    assert srv3 and srv3[0]["subject"] == "version:localai:tcp/8080" and "CVE-2024-6983" in srv3[0]["references"]


def test_door_fingerprints_do_not_depend_on_pids_or_versions(catalog):
    def run(pid, version):
        facts = _loopback_ollama(forwarders=[_nginx(pid=pid)], servers=[
            _server("localai", 8080, version=version, pid=pid), _server("rpc-server", 50052, pid=pid)])
        return sorted(f["fingerprint"] for f in evaluate_host(facts, catalog, HOST, _both(80, "exposed", "ollama", True)))
    assert run(100, "2.9.0") == run(200, "2.10.1")


def test_door_controls_make_the_host_exposed_and_read_doors_are_mitigated_by_the_firewall(catalog):
    rule = "nftables table inet ollama_exposure_toolkit chain input drops tcp/80"
    closed = {"input": {"ipv4": {"80": rule}, "ipv6": {"80": rule}}, "forward": {"ipv4": {}, "ipv6": {}}}
    facts = _loopback_ollama(forwarders=[_nginx()], firewall=closed)
    silent = _both(80, "filtered", None, False, evidence="no answer within 1.5s")
    findings = evaluate_host(facts, catalog, HOST, silent)
    assert apply_mitigations(findings, facts, silent, catalog) == "mitigated"
    assert rule in _of(findings, "OLLAMA-DOOR-001")[0]["mitigated_by"]
    # the same rules, but the probe got Ollama's answer through the door: exposed, never mitigated
    loud = _both(80, "exposed", "ollama", True)
    findings = evaluate_host(facts, catalog, HOST, loud)
    assert apply_mitigations(findings, facts, loud, catalog) == "exposed"
    assert not _of(findings, "OLLAMA-DOOR-001")[0].get("mitigated_by")


def test_the_door_controls_in_the_catalog(catalog):
    controls, exposure = catalog["controls"], set(catalog["exposure_controls"])
    doors = {"OLLAMA-DOOR-001": "critical", "OLLAMA-WEBUI-001": "critical", "OLLAMA-WEBUI-002": "high",
             "OLLAMA-WEBUI-003": "critical", "OLLAMA-SRV-001": "critical", "OLLAMA-SRV-002": "high",
             "OLLAMA-SRV-003": "high"}
    assert dict((c, controls[c]["severity"]) for c in doors) == doors
    assert set(doors) - exposure == {"OLLAMA-SRV-003"}
    assert "CWE-306" in controls["OLLAMA-DOOR-001"]["references"]
    for setting in ("auth_basic", "bind=127.0.0.1", "GatewayPorts no", "--address 127.0.0.1",
                    "ollama_firewall_close_forwarders"):
        assert setting in " ".join(controls["OLLAMA-DOOR-001"]["remediation"].split())
    for setting in ("VLLM_API_KEY", "LOCALAI_ADDRESS", "LLAMA_ARG_HOST", "ollama_firewall_close_model_servers"):
        assert setting in " ".join(controls["OLLAMA-SRV-001"]["remediation"].split())
