# -*- coding: utf-8 -*-
"""Discovery joins the fleet report (issue 29): a sweep's model servers on
addresses no inventory host has are hosts of status ``unmanaged`` with an
OLLAMA-DISC-001 (open) or OLLAMA-DISC-002 (asks for credentials) finding,
with stable fingerprints, through the same life cycle, exceptions and
documents as the audit's; managed addresses point to their audited entry
and add nothing. Synthetic sweeps in the record shape of the module
ollama_discover (address, port, scheme, kind, state, open, auth, version,
models, fingerprint)."""

import copy
import csv
import io
import json
import os
from xml.etree import ElementTree

import pytest
from conftest import without_unfixed

from ansible.errors import AnsibleActionFail

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_finding import fingerprint
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_render import (
    read_report, render_csv, render_junit)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (
    apply_history, build_report, discovery_exceptions, in_discovery_scope, join_discovery, merge_slices,
    records_from_results, validate_discovery)
from test_entry_report_action import action, audited

T1, T2, T3 = "2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z", "2026-12-03T10:00:00Z"


@pytest.fixture(scope="module")
def catalog(catalog):
    return without_unfixed(catalog)


def rec(address, port, kind, state, is_open=False, auth=False, version=None, models=None, scheme="http"):
    return {"address": address, "port": port, "scheme": scheme, "kind": kind, "state": state, "open": is_open,
            "auth": auth, "version": version, "models": models, "fingerprint": "%s:%s:%s" % (kind, address, port)}


def sweep(when=T1, ranges=("10.0.0.0/24", "fd00::/120"), hosts=None, exclude=()):
    """The hand-off playbooks/discover.yml writes (discover.json)."""
    if hosts is None:
        hosts = [
            {"address": "10.0.0.2", "managed": True, "ports": [rec("10.0.0.2", 11434, "ollama", "exposed", True,
                                                                   version="0.1.28", models=1)]},
            {"address": "10.0.0.3", "managed": True, "ports": [rec("10.0.0.3", 11434, "ollama", "exposed", True)]},
            {"address": "10.0.0.9", "managed": False, "ports": [
                rec("10.0.0.9", 80, "http", "open_other"),
                rec("10.0.0.9", 11434, "ollama", "exposed", True, version="0.6.1", models=2)]},
            {"address": "10.0.0.10", "managed": False, "ports": [rec("10.0.0.10", 8000, "vllm", "auth_required",
                                                                     auth=True)]},
            {"address": "10.0.0.11", "managed": False, "ports": [rec("10.0.0.11", 3000, "open_webui", "model_open",
                                                                     True, version="0.6.5")]},
            {"address": "10.0.0.12", "managed": False, "ports": [rec("10.0.0.12", 80, "http", "open_other")]},
            {"address": "fd00::9", "managed": False, "ports": [rec("fd00::9", 8080, "llama-server", "model_open",
                                                                   True, models=1)]},
        ]
    return {"swept_at": when, "ranges": list(ranges), "ports": [11434, 8000, 8080, 3000, 1234, 8188, 5000, 80, 443],
            "exclude": list(exclude), "inventory": {"10.0.0.2": "web-1", "10.0.0.3": "db-2"},
            "result": {"hosts": hosts, "scanned": {"addresses": 512}, "excluded": [], "elapsed": 1.5}}


@pytest.fixture
def fleet(catalog):
    return {"web-1": audited(catalog, "web-1", "0.0.0.0:11434", "0.0.0.0", "wildcard", "0.1.28"),
            "db-2": audited(catalog, "db-2", "127.0.0.1", "127.0.0.1", "loopback", "0.17.1")}


def joined(catalog, fleet, discovery, when, previous=None, exceptions=None, only=False):
    report = build_report(records_from_results(fleet), {}, catalog, when)
    join_discovery(report, discovery, catalog, only)
    return apply_history(report, previous, discovery_exceptions(exceptions, report))


def rows(report):
    return sorted((f["host"], f["id"], f["subject"], f["severity"], f["status"]) for f in report["findings"]
                  if f["id"].startswith("OLLAMA-DISC-"))


def test_a_sweep_gives_exactly_the_unmanaged_model_servers_as_findings(catalog, fleet):
    alone = apply_history(build_report(records_from_results(fleet), {}, catalog, T1))
    report = joined(catalog, fleet, sweep(), T1)
    assert rows(report) == [
        ("10.0.0.10", "OLLAMA-DISC-002", "vllm:10.0.0.10:8000", "info", "new"),
        ("10.0.0.11", "OLLAMA-DISC-001", "open-webui:10.0.0.11:3000", "critical", "new"),
        ("10.0.0.9", "OLLAMA-DISC-001", "ollama:10.0.0.9:11434", "critical", "new"),
        ("fd00::9", "OLLAMA-DISC-001", "llama-server:fd00::9:8080", "critical", "new"),
    ]
    nine = [f for f in report["findings"] if f["host"] == "10.0.0.9"][0]
    assert nine["evidence"] == ("http://10.0.0.9:11434 answers as Ollama (version 0.6.1, 2 model(s)) without "
                                "credentials (state exposed); no inventory host has this address")
    assert nine["fingerprint"] == fingerprint("10.0.0.9", "OLLAMA-DISC-001", "ollama:10.0.0.9:11434")
    assert nine["location"] == {"socket": "10.0.0.9:11434", "address": "10.0.0.9", "port": 11434, "scheme": "http"}
    assert nine["first_seen"] == nine["last_seen"] == T1 and nine["host_status"] == "unmanaged"
    assert [f for f in report["findings"] if f["host"] == "fd00::9"][0]["location"]["socket"] == "[fd00::9]:8080"
    # Unmanaged model servers are hosts of their own; plain HTTP (10.0.0.12) is none.
    assert {h: e["status"] for h, e in report["hosts"].items()} == {
        "web-1": "exposed", "db-2": "secure", "10.0.0.9": "unmanaged", "10.0.0.10": "unmanaged",
        "10.0.0.11": "unmanaged", "fd00::9": "unmanaged"}
    # Managed addresses point to their audited entry, with no finding and the same status:
    # the sweep saw Ollama open on db-2's address, the audit says secure, the report says secure.
    pointers = dict((p["address"], p) for p in report["discovery"]["hosts"])
    assert (pointers["10.0.0.2"]["host"], pointers["10.0.0.2"]["audited"]) == ("web-1", True)
    assert (pointers["10.0.0.3"]["host"], pointers["10.0.0.3"]["managed"]) == ("db-2", True)
    assert pointers["10.0.0.12"]["host"] is None and pointers["10.0.0.9"]["host"] == "10.0.0.9"
    assert report["hosts"]["db-2"]["discovered"][0]["state"] == "exposed"
    for name in ("web-1", "db-2"):
        assert report["hosts"][name]["status"] == alone["hosts"][name]["status"]
        assert [f["fingerprint"] for f in report["findings"] if f["host"] == name] == \
            [f["fingerprint"] for f in alone["findings"] if f["host"] == name]
    assert report["discovery"]["summary"] == {"addresses": 7, "managed": 2, "unmanaged": 4, "unmanaged_open": 3,
                                              "not_model_servers": 1}
    assert report["summary"]["by_status"] == {"exposed": 1, "secure": 1, "unmanaged": 4}
    assert report["summary"]["open"] == len([f for f in report["findings"] if f["status"] == "new"])


def test_life_cycle_across_two_sweeps_fixed_when_it_stops_answering_open(catalog, fleet):
    first = joined(catalog, fleet, sweep(T1), T1)
    later = sweep(T2, ranges=["10.0.0.0/24"])  # fd00::/120 not swept this time
    hosts = later["result"]["hosts"]
    hosts[:] = [h for h in hosts if h["address"] not in ("10.0.0.9", "fd00::9")]  # 10.0.0.9 answers no more
    for host in hosts:
        if host["address"] == "10.0.0.11":  # its login turned on
            host["ports"] = [rec("10.0.0.11", 3000, "open_webui", "auth_required", auth=True)]
    second = joined(catalog, fleet, later, T2, previous=json.loads(json.dumps(first)))
    assert rows(second) == [
        ("10.0.0.10", "OLLAMA-DISC-002", "vllm:10.0.0.10:8000", "info", "open"),
        ("10.0.0.11", "OLLAMA-DISC-001", "open-webui:10.0.0.11:3000", "critical", "fixed"),
        ("10.0.0.11", "OLLAMA-DISC-002", "open-webui:10.0.0.11:3000", "info", "new"),
        ("10.0.0.9", "OLLAMA-DISC-001", "ollama:10.0.0.9:11434", "critical", "fixed"),
        ("fd00::9", "OLLAMA-DISC-001", "llama-server:fd00::9:8080", "critical", "open"),
    ]
    by = dict(((f["host"], f["id"]), f) for f in second["findings"])
    assert by[("10.0.0.10", "OLLAMA-DISC-002")]["fingerprint"] == \
        [f for f in first["findings"] if f["host"] == "10.0.0.10"][0]["fingerprint"]
    assert by[("10.0.0.10", "OLLAMA-DISC-002")]["first_seen"] == T1
    assert by[("10.0.0.10", "OLLAMA-DISC-002")]["last_seen"] == T2
    assert by[("10.0.0.9", "OLLAMA-DISC-001")]["fixed_at"] == T2
    # Outside this sweep's ranges: carried, its host listed as not audited, not fixed.
    assert by[("fd00::9", "OLLAMA-DISC-001")]["carried"] is True
    assert second["hosts"]["fd00::9"]["status"] == "not_audited"
    assert "not in this sweep's ranges" in second["hosts"]["fd00::9"]["reason"]
    assert "10.0.0.9" not in second["hosts"]
    assert second["summary"]["by_lifecycle"]["fixed"] == 2


def test_an_excluded_address_or_a_port_not_swept_is_carried_not_fixed(catalog, fleet):
    first = joined(catalog, fleet, sweep(T1), T1)
    later = sweep(T2, exclude=["10.0.0.9/32"])
    later["result"]["hosts"] = [h for h in later["result"]["hosts"] if h["address"] != "10.0.0.9"]
    later["ports"] = [p for p in later["ports"] if p != 8000]
    later["result"]["hosts"] = [h for h in later["result"]["hosts"] if h["address"] != "10.0.0.10"]
    second = joined(catalog, fleet, later, T2, previous=first)
    states = dict(((f["host"], f["id"]), (f["status"], f.get("carried"))) for f in second["findings"]
                  if f["id"].startswith("OLLAMA-DISC-"))
    assert states[("10.0.0.9", "OLLAMA-DISC-001")] == ("open", True)
    assert states[("10.0.0.10", "OLLAMA-DISC-002")] == ("open", True)
    assert in_discovery_scope("10.0.0.9", 11434, sweep()) is True
    assert in_discovery_scope("10.0.0.9", 11434, later) is False
    assert in_discovery_scope("10.0.1.9", 11434, sweep()) is False
    assert in_discovery_scope("fd00::9", 8080, sweep()) is True


def test_exceptions_from_the_inventory_apply_to_discovered_hosts(catalog, fleet):
    group_all = [{"id": "OLLAMA-DISC-002", "host": "10.0.0.10", "reason": "the lab's vLLM, keyed",
                  "owner": "ml@example.com", "expires": "2027-01-31"},
                 {"id": "OLLAMA-DISC-001", "host": "fd00::9", "reason": "demo box", "owner": "sec@example.com",
                  "expires": "2026-11-30"}]
    exceptions = {"web-1": copy.deepcopy(group_all), "db-2": copy.deepcopy(group_all)}
    report = joined(catalog, fleet, sweep(), T1, exceptions=exceptions)
    status = dict((f["host"], f["status"]) for f in report["findings"] if f["id"].startswith("OLLAMA-DISC-"))
    assert status == {"10.0.0.10": "excepted", "fd00::9": "expired-exception", "10.0.0.9": "new",
                      "10.0.0.11": "new"}
    ten = [f for f in report["findings"] if f["host"] == "10.0.0.10"][0]
    assert ten["exception"] == {"reason": "the lab's vLLM, keyed", "owner": "ml@example.com", "expires": "2027-01-31"}
    # An entry with no host covers every discovered host of its control; the audited hosts keep their own.
    wide = {"web-1": [{"id": "OLLAMA-DISC-001", "reason": "lab range", "owner": "o", "expires": "2027-01-31"}]}
    report = joined(catalog, fleet, sweep(), T1, exceptions=wide)
    assert set(f["status"] for f in report["findings"] if f["id"] == "OLLAMA-DISC-001") == {"excepted"}
    assert "excepted" not in set(f["status"] for f in report["findings"] if f["host"] == "web-1")


def test_every_document_lists_the_discovered_findings(catalog, fleet):
    report = joined(catalog, fleet, sweep(), T1)
    table = list(csv.DictReader(io.StringIO(render_csv(report))))
    nine = [r for r in table if r["host"] == "10.0.0.9"]
    assert [(r["id"], r["host_status"], r["status"], r["location"]) for r in nine] == [
        ("OLLAMA-DISC-001", "unmanaged", "new", "10.0.0.9:11434")]
    suites = dict((s.get("name"), s) for s in ElementTree.fromstring(render_junit(report, catalog)))
    cases = [c.get("name").split()[0] for c in suites["10.0.0.9"]]
    assert cases == ["OLLAMA-DISC-001", "OLLAMA-DISC-002"]
    assert (suites["10.0.0.9"].get("failures"), suites["10.0.0.10"].get("failures")) == ("1", "1")
    assert int(suites["web-1"].get("tests")) == len(catalog["controls"])


def test_the_action_writes_a_discovery_only_report_then_audit_joins_the_hand_off(tmp_path, catalog, fleet):
    dest = str(tmp_path / "reports")
    os.makedirs(dest)
    path = os.path.join(dest, "discover.json")
    with open(path, "w") as handle:
        json.dump(sweep(T1), handle)
    base = {"dest": dest, "catalog": catalog, "discovery": path}
    alone = action(dict(base, results={}, discovery_only=True, generated_at=T1)).run(task_vars={})
    assert not alone.get("failed") and alone["discovery"]["summary"]["unmanaged"] == 4
    first = read_report(dest)
    assert sorted(first["hosts"]) == ["10.0.0.10", "10.0.0.11", "10.0.0.9", "fd00::9"]
    tickets = sorted(os.listdir(os.path.join(dest, "tickets")))
    assert tickets == sorted("%s.md" % f["fingerprint"] for f in first["findings"])
    html = open(os.path.join(dest, "report.html")).read()
    assert 'data-host="10.0.0.9"' in html and "OLLAMA-DISC-001" in html
    # audit.yml after: the same hand-off joined, the same findings open, the managed hosts new.
    audit = action(dict(base, results=fleet, generated_at=T2)).run(task_vars={})
    assert not audit.get("failed")
    second = read_report(dest)
    assert dict((f["host"], f["status"]) for f in second["findings"] if f["id"].startswith("OLLAMA-DISC-")) == {
        "10.0.0.9": "open", "10.0.0.10": "open", "10.0.0.11": "open", "fd00::9": "open"}
    assert set(f["status"] for f in second["findings"] if f["host"] in ("web-1", "db-2")) == {"new"}
    disc = [f for f in second["findings"] if f["host"] == "10.0.0.9"][0]
    assert (disc["first_seen"], disc["last_seen"]) == (T1, T1)  # seen by the sweep of T1, not by the audit
    # discover.yml alone again: the audited hosts are not audited now, their findings carried.
    action(dict(base, results={}, discovery_only=True, generated_at=T3)).run(task_vars={})
    third = read_report(dest)
    assert third["hosts"]["web-1"]["status"] == "not_audited"
    assert set((f["status"], f.get("carried")) for f in third["findings"] if f["host"] == "web-1") == {("open", True)}
    # Without a hand-off file, audit.yml joins nothing: the unmanaged hosts are carried, as not audited.
    os.unlink(path)
    action(dict(base, results=fleet, generated_at=T3)).run(task_vars={})
    fourth = read_report(dest)
    assert fourth["hosts"]["10.0.0.9"]["status"] == "not_audited" and "discovery" not in fourth
    assert set(f["status"] for f in fourth["findings"] if f["host"] == "10.0.0.9") == {"open"}


def test_the_same_sweep_again_writes_the_same_report(tmp_path, catalog, fleet):
    dest = str(tmp_path / "r")
    accepted = {"db-2": [{"id": "OLLAMA-DISC-001", "host": "10.0.0.9", "reason": "r", "owner": "o",
                          "expires": "2027-01-31"}]}
    first = action({"dest": dest, "catalog": catalog, "results": fleet, "discovery": sweep(T1),
                    "generated_at": T1, "exceptions": accepted}).run(task_vars={})
    assert [f["status"] for f in read_report(dest)["findings"] if f["host"] == "10.0.0.9"] == ["excepted"]
    again = action({"dest": dest, "catalog": catalog, "results": fleet, "discovery": sweep(T2),
                    "generated_at": T2, "exceptions": accepted}).run(task_vars={})
    assert first["differs"] is True and again["differs"] is False


@pytest.mark.parametrize("args, message", [
    ({"results": {}, "discovery_only": True}, "discovery_only: true needs discovery"),
    ({"results": {}, "discovery_only": True, "discovery": "/nonexistent/discover.json"},
     "discovery: /nonexistent/discover.json does not exist"),
    ({"results": {}, "discovery": {"hosts": "10.0.0.9"}}, "discovery.hosts must be a list"),
    ({"results": {}, "discovery": {"result": {"hosts": [{"address": "10.0.0.9", "ports": [{"port": 0}]}]}}},
     "discovery.hosts, entry 1 (10.0.0.9): a port record without a port 1-65535"),
])
def test_a_bad_hand_off_is_refused_by_name_and_nothing_written(tmp_path, catalog, args, message):
    dest = str(tmp_path / "r")
    with pytest.raises(AnsibleActionFail) as err:
        action(dict(args, dest=dest, catalog=catalog, generated_at=T1)).run(task_vars={})
    assert message in str(err.value)
    assert not os.path.exists(dest)


def test_validate_discovery_reads_the_result_or_the_top(catalog):
    assert validate_discovery(sweep()) == []
    assert validate_discovery(sweep()["result"]) == []
    assert validate_discovery([]) == ["discovery must be the sweep's result (a mapping with hosts), got list"]


def test_slices_that_joined_one_sweep_merge_into_one_list(catalog, fleet):
    one = joined(catalog, {"web-1": fleet["web-1"]}, sweep(), T1)
    two = joined(catalog, {"db-2": fleet["db-2"]}, sweep(), T1)
    merged, _exceptions = merge_slices([("s1", one, None), ("s2", two, None)], T2)
    assert sorted(merged["hosts"]) == ["10.0.0.10", "10.0.0.11", "10.0.0.9", "db-2", "fd00::9", "web-1"]
    assert len([f for f in merged["findings"] if f["id"].startswith("OLLAMA-DISC-")]) == 4
    assert merged["discovery"]["swept_at"] == T1


def test_inventory_addresses_name_each_address_by_its_first_host():
    from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import inventory_addresses
    hostvars = {"web-1": {"ansible_host": "10.0.0.2"}, "10.0.0.7": {},
                "gpu": {"ansible_host": "10.0.0.8", "ollama_discover_addresses": ["fd00::0:5", "bogus"]},
                "twin": {"ansible_host": "10.0.0.2"}, "named": {"ansible_host": "olab-x"},
                "probe": {"ansible_host": "box", "ollama_audit_probe_addresses": ["10.0.0.20"]}}
    found = inventory_addresses(hostvars, ["web-1", "10.0.0.7", "gpu", "twin", "named", "probe"])
    assert found == {"10.0.0.2": "web-1", "10.0.0.7": "10.0.0.7", "10.0.0.8": "gpu", "fd00::5": "gpu",
                     "10.0.0.20": "probe"}
