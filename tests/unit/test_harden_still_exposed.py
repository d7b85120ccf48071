# -*- coding: utf-8 -*-
"""harden.yml's failure of a host still exposed after the walls comes from
the report alone (issue 26): the ollama_report action's host entry (its
status and ``open``, the exposure findings no rule of the toolkit mitigates,
with their evidence and their control's remediation), put into words by
``still_exposed`` (filter harden_still_exposed). Nothing judges the doors a
second time.

The report side is run as harden.yml runs it (the action plugin, from the
hosts' ollama_info results and the outside probe), on synthetic reads and
probes in the contract's shapes (plugin_utils/ollama_doors.py's docstring;
the probe's results with kind, open and details, module_utils/ollama_probe.py):
only true failures fail, a door that asks for credentials or that the
walls closed (the toolkit's rule on both families, silent from outside)
does not.
"""

import pytest
from conftest import load_action, without_unfixed

from ansible_collections.ollama_toolkit.exposure.plugins.filter.harden_plan import FilterModule
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import parse_ollama_host
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_harden as h

A4, A6 = "192.0.2.10", "2001:db8::10"
SITE = {"file": "/etc/nginx/sites-enabled/ollama", "line": 14}
RULE = "nftables table inet ollama_exposure_toolkit chain input drops tcp/%s"


@pytest.fixture(scope="module")
def catalog(catalog):
    """Without OLLAMA-VER-003 (every install has it; test_ollama_findings.py tests it)."""
    return without_unfixed(catalog)


def wide(port):
    return [{"address": "0.0.0.0", "port": port, "family": "ipv4", "scope": "wildcard"},
            {"address": "::", "port": port, "family": "ipv6", "scope": "wildcard"}]


def nginx(auth=False):
    return {"kind": "nginx", "pid": 900, "unit": "nginx.service", "process": "nginx", "listen": wide(80),
            "upstream": [{"host": "127.0.0.1", "port": 11434}], "to_model": "ollama", "auth": auth,
            "location": SITE, "evidence": "listen 80; proxy_pass http://127.0.0.1:11434"}


def vllm(key=False):
    return {"kind": "vllm", "source": "process", "pid": 1300, "unit": "vllm.service", "container": None,
            "image": None, "process": "vllm", "argv": ["vllm", "serve"], "listen": wide(8000),
            "bind": {"address": "0.0.0.0", "port": 8000, "scope": "wildcard", "exposed": True, "origin": "default"},
            "key": {"set": key, "origin": "flag --api-key" if key else None}, "env": {}, "version": None,
            "rebind": {"possible": False, "env": None, "value": None, "why": "test"}}


def read(host, firewall=None, **doors):
    """ollama_info's result for a host whose Ollama is on loopback, with its doors."""
    facts = {"changed": False, "supported": True, "systemd": True, "host_id": host,
             "os": {"ID": "debian", "VERSION_ID": "12"}, "addresses": [A4, A6],
             "services": [{"name": "ollama.service", "fragment": "/etc/systemd/system/ollama.service",
                           "dropins": [], "masked": False, "env": {}, "env_origin": {},
                           "bind": parse_ollama_host(""), "origins_wildcards": [], "errors": [],
                           "active_state": "active"}],
             "listeners": [{"address": "127.0.0.1", "port": 11434, "family": "ipv4", "scope": "loopback",
                            "pid": 10, "unit": "ollama.service", "inferred": False}],
             "processes": [], "containers": [], "installs": [], "warnings_detail": [],
             "other_listeners": [], "forwarders": [], "servers": [], "firewall": firewall or {}}
    # No OLLAMA_HOST: upstream's default, 127.0.0.1:11434.
    facts.update(doors)
    return facts


def closed(*ports):
    rules = dict((str(p), RULE % p) for p in ports)
    return {"input": {"ipv4": dict(rules), "ipv6": dict(rules)}, "forward": {"ipv4": {}, "ipv6": {}}}


def probe(port, state, kind, is_open, evidence="GET /api/tags -> 200 without credentials"):
    results = [{"address": a, "port": port, "state": state, "kind": kind, "open": is_open, "evidence": evidence,
                "status_code": 200 if is_open else None, "details": {"models": 2 if is_open else None, "config": {}}}
               for a in (A4, A6)]
    return {"state": state, "results": results, "findings": []}


# Each case: (the read, the probe after the walls) -> the status the report gives.
CASES = {
    # A forwarder to Ollama without credentials, answering from outside.
    "nginx-open": (read("nginx-open", forwarders=[nginx()]), probe(80, "exposed", "ollama", True), "exposed"),
    # The same read, but the door asks for credentials from outside (401).
    "nginx-asks": (read("nginx-asks", forwarders=[nginx()]),
                   probe(80, "auth_required", "http", False, "GET /api/tags -> 401"), "secure"),
    # auth_basic in the read and 401 from outside.
    "nginx-auth": (read("nginx-auth", forwarders=[nginx(auth=True)]),
                   probe(80, "auth_required", "http", False, "GET /api/tags -> 401"), "secure"),
    # The walls closed it: the toolkit's rule on both families, silent from outside.
    "nginx-closed": (read("nginx-closed", firewall=closed(80), forwarders=[nginx()]),
                     probe(80, "filtered", None, False, "no answer within 1.5s"), "mitigated"),
    # The rule is there but only over IPv4: not closed, exposed.
    "nginx-half": (read("nginx-half", firewall=dict(closed(80), input={"ipv4": {"80": RULE % 80}, "ipv6": {}}),
                        forwarders=[nginx()]),
                   probe(80, "filtered", None, False, "no answer within 1.5s"), "exposed"),
    # Another model server without a key, answering with its models.
    "vllm-open": (read("vllm-open", servers=[vllm()]),
                  probe(8000, "model_open", "vllm", True, "GET /v1/models -> 200"), "exposed"),
    # Its key asks from outside.
    "vllm-key": (read("vllm-key", servers=[vllm(key=True)]),
                 probe(8000, "auth_required", "vllm", False, "GET /v1/models -> 401"), "secure"),
    # Closed by the walls.
    "vllm-closed": (read("vllm-closed", firewall=closed(8000), servers=[vllm()]),
                    probe(8000, "filtered", None, False, "no answer within 1.5s"), "mitigated"),
    # Not probed: the read alone (wide, no key) keeps it exposed.
    "vllm-unprobed": (read("vllm-unprobed", servers=[vllm()]), {"state": "closed", "results": [], "findings": []},
                      "exposed"),
}


@pytest.fixture(scope="module")
def hosts(catalog, tmp_path_factory):
    """The action's host entries for every case, as harden.yml's report after registers them."""
    args = {"dest": str(tmp_path_factory.mktemp("after")), "write": False, "skipped": {}, "catalog": catalog,
            "generated_at": "2026-12-07T23:00:00Z",
            "results": dict((name, case[0]) for name, case in CASES.items()),
            "probe": dict((name, case[1]) for name, case in CASES.items())}
    result = load_action("ollama_report", args)[0].run(task_vars={})
    assert not result.get("failed"), result
    return result["hosts"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_host_gets_the_status_of_its_doors(hosts, name):
    assert hosts[name]["status"] == CASES[name][2], hosts[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_host_fails_exactly_when_an_exposure_finding_is_open(hosts, name):
    entry = hosts[name]
    assert (entry["status"] == "exposed") == bool(entry["open"]), entry
    assert bool(h.still_exposed(entry)) == (entry["status"] == "exposed")


def test_an_open_forwarder_names_port_process_unit_location_and_the_settings(hosts):
    entry = hosts["nginx-open"]
    assert [(f["id"], f["subject"], f["port"]) for f in entry["open"]] == [("OLLAMA-DOOR-001", "door:tcp/80", 80)]
    door = entry["open"][0]
    assert door["location"] == SITE and door["severity"] == "critical"
    text = h.still_exposed(entry)
    for words in ("OLLAMA-DOOR-001 door:tcp/80 (critical)", "tcp/80 serves Ollama's API without credentials",
                  A4, A6, "nginx (nginx.service)", "/etc/nginx/sites-enabled/ollama:14", "auth_basic",
                  "ollama_firewall_close_forwarders", "ollama_firewall_close_ports"):
        assert words in text, (words, text)
    assert text.startswith("1 open exposure finding: [1] ")


def test_an_open_model_server_names_its_findings_once_each_and_the_settings(hosts):
    entry = hosts["vllm-open"]
    assert sorted((f["id"], f["port"]) for f in entry["open"]) == [("OLLAMA-SRV-001", 8000), ("OLLAMA-SRV-002", 8000)]
    text = h.still_exposed(entry)
    for words in ("tcp/8000 answers as vLLM without credentials", "vllm (vllm.service)", "--api-key",
                  "VLLM_API_KEY", "ollama_firewall_close_model_servers", "ollama_bind_other_servers"):
        assert words in text, (words, text)
    # Each control's remediation once, after the findings.
    assert text.count("[OLLAMA-SRV-001] ") == 1 and text.count("[OLLAMA-SRV-002] ") == 1
    assert text.index("to close them:") > text.index("[2] ")


def test_a_door_the_read_alone_shows_open_is_named_as_not_proven_from_outside(hosts):
    entry = hosts["vllm-unprobed"]
    assert [f["id"] for f in entry["open"]] == ["OLLAMA-SRV-002"]
    assert "not probed" in h.still_exposed(entry)


def test_a_rule_on_one_family_only_names_the_finding_still_open(hosts):
    assert [f["id"] for f in hosts["nginx-half"]["open"]] == ["OLLAMA-DOOR-001"]


def test_still_exposed_of_entries_without_open_findings():
    assert h.still_exposed({"status": "secure", "open": []}) == ""
    assert h.still_exposed({"status": "mitigated"}) == "" and h.still_exposed(None) == ""
    # An entry from an older report (ids only) still says which findings.
    assert h.still_exposed({"status": "exposed", "findings": ["OLLAMA-BIND-002"]}) == "findings OLLAMA-BIND-002"
    assert h.still_exposed({"status": "exposed"}) == "findings none named"


def test_the_filter_is_the_function(hosts):
    assert FilterModule().filters()["harden_still_exposed"](hosts["vllm-open"]) == h.still_exposed(hosts["vllm-open"])
    assert "harden_open_doors" not in FilterModule().filters()
    assert not hasattr(h, "open_doors")
