# -*- coding: utf-8 -*-
"""Fleet report: merging, statuses, CSV/JSON/Markdown rendering, change detection."""

import csv
import io
import json

import pytest
from conftest import without_unfixed

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import (
    evaluate_host, host_status)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_probe import probe_findings
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import parse_ollama_host
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_render import (
    CSV_COLUMNS, render_csv, render_json, render_markdown)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (
    blocked_hosts, build_report, comparable, open_at_or_above, option_sets)

OVERRIDE = "/etc/systemd/system/ollama.service.d/override.conf"


@pytest.fixture(scope="module")
def catalog(catalog):
    """Without OLLAMA-VER-003 (every install has it; test_ollama_findings.py tests it)."""
    return without_unfixed(catalog)


def _facts(catalog, host, services=(), listeners=(), installs=(), processes=()):
    facts = {"supported": True, "systemd": True, "os": {"ID": "debian", "VERSION_ID": "12"},
             "services": list(services), "listeners": list(listeners), "processes": list(processes),
             "containers": [], "installs": list(installs), "warnings_detail": []}
    facts["findings"] = evaluate_host(facts, catalog, host)
    facts["status"] = host_status(facts, facts["findings"], catalog)
    return facts


def _service(value, evidence_origin_line=2):
    return {"name": "ollama.service", "fragment": "/etc/systemd/system/ollama.service", "dropins": [OVERRIDE],
            "masked": False, "env": {"OLLAMA_HOST": value},
            "env_origin": {"OLLAMA_HOST": {"file": OVERRIDE, "line": evidence_origin_line, "via": "Environment"}},
            "bind": parse_ollama_host(value), "origins_wildcards": [], "errors": [], "active_state": "active"}


def _records(catalog):
    exposed = _facts(catalog, "web-1",
                     services=[_service("0.0.0.0:11434")],
                     listeners=[{"address": "::", "port": 11434, "family": "ipv6", "scope": "wildcard",
                                 "pid": 10, "unit": "ollama.service", "inferred": False}],
                     installs=[{"subject": "ollama.service", "version": "0.1.28"}])
    secure = _facts(catalog, "db-2", services=[_service("127.0.0.1")],
                    listeners=[{"address": "127.0.0.1", "port": 11434, "family": "ipv4", "scope": "loopback",
                                "pid": 11, "unit": "ollama.service", "inferred": False}],
                    installs=[{"subject": "ollama.service", "version": "0.17.1"}])
    quiet = _facts(catalog, "app-3", services=[_service("127.0.0.1")],
                   installs=[{"subject": "ollama.service", "version": "0.17.1"}])
    empty = _facts(catalog, "bare-4")
    return [
        {"host": "web-1", "reachable": True, "facts": exposed},
        {"host": "db-2", "reachable": True, "facts": secure},
        {"host": "app-3", "reachable": True, "facts": quiet},
        {"host": "bare-4", "reachable": True, "facts": empty},
        {"host": "gone-5", "reachable": False, "error": "UNREACHABLE: ssh timed out"},
        {"host": "bsd-6", "reachable": True, "facts": {"supported": False, "reason": "not Linux (FreeBSD)"}},
        {"host": "err-7", "reachable": True, "error": "MODULE FAILURE | python missing"},
    ]


def _probe(catalog):
    # db-2 answers from the network although its unit says loopback (a proxy, a NAT rule...)
    probe = {"scanner": "controller", "results": [
        {"address": "10.0.0.2", "port": 11434, "state": "exposed", "evidence": "GET / -> 200 \"Ollama is running\""},
        {"address": "10.0.0.2", "port": 8080, "state": "closed", "evidence": "refused"}]}
    probe["findings"] = probe_findings(probe, catalog, "db-2")
    return {"db-2": probe, "app-3": {"results": [], "findings": []}}


@pytest.fixture
def report(catalog):
    return build_report(_records(catalog), _probe(catalog), catalog, "2026-11-25T18:00:00Z")


def test_statuses(report):
    statuses = dict((name, entry["status"]) for name, entry in report["hosts"].items())
    assert statuses == {"web-1": "exposed", "db-2": "exposed", "app-3": "secure", "bare-4": "not_installed",
                        "gone-5": "unreachable", "bsd-6": "unsupported", "err-7": "unsupported"}
    assert report["hosts"]["gone-5"]["reason"] == "UNREACHABLE: ssh timed out"
    assert report["hosts"]["bsd-6"]["reason"] == "not Linux (FreeBSD)"
    assert blocked_hosts(report) == ["bsd-6", "err-7", "gone-5"]


def test_probe_finding_makes_host_exposed(report):
    db = [f for f in report["findings"] if f["host"] == "db-2"]
    assert [f["id"] for f in db] == ["OLLAMA-NET-001"]
    assert db[0]["host_status"] == "exposed"
    assert report["hosts"]["db-2"]["probe"][0]["state"] == "exposed"


def test_findings_and_summary(report):
    web = [f["id"] for f in report["findings"] if f["host"] == "web-1"]
    assert web == ["OLLAMA-BIND-001", "OLLAMA-BIND-002", "OLLAMA-VER-001"]
    assert all(f["host_status"] == "exposed" and f["status"] == "new" for f in report["findings"])
    hosts_with_findings = set(f["host"] for f in report["findings"])
    assert hosts_with_findings == {"web-1", "db-2"}
    summary = report["summary"]
    assert summary["hosts"] == 7 and summary["findings"] == 4 == len(report["findings"])
    assert summary["by_status"] == {"exposed": 2, "secure": 1, "not_installed": 1, "unreachable": 1,
                                    "unsupported": 2}
    assert summary["by_severity"] == {"info": 0, "low": 0, "medium": 0, "high": 2, "critical": 2}
    assert report["generated_at"] == "2026-11-25T18:00:00Z"
    assert report["catalog_updated"] == "2026-12-07"


def test_host_entry_summary(report):
    web = report["hosts"]["web-1"]
    assert web["services"][0]["OLLAMA_HOST"] == "0.0.0.0:11434"
    assert web["services"][0]["listen"] == "0.0.0.0:11434" and web["services"][0]["scope"] == "wildcard"
    assert web["services"][0]["origin"]["file"] == OVERRIDE
    assert web["listeners"][0]["address"] == "::"


def test_csv(report):
    text = render_csv(report)
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + len(report["findings"])
    for row, finding in zip(rows[1:], report["findings"]):
        record = dict(zip(CSV_COLUMNS, row))
        assert record["host"] == finding["host"] and record["id"] == finding["id"]
        assert record["fingerprint"] == finding["fingerprint"]
        assert record["evidence"] == finding["evidence"]
        assert record["references"].split() == finding["references"]
    records = [dict(zip(CSV_COLUMNS, r)) for r in rows[1:]]
    net = [r for r in records if r["id"] == "OLLAMA-NET-001"][0]
    assert net["location"] == "10.0.0.2:11434"
    assert '"Ollama is running"' in net["evidence"]  # quotes survive the round trip
    bind2 = [r for r in records if r["id"] == "OLLAMA-BIND-002"][0]
    assert bind2["location"] == OVERRIDE + ":2"


def test_csv_quotes_commas_and_newlines(catalog):
    finding = {"host": "h,1", "host_status": "exposed", "id": "OLLAMA-BIND-001", "severity": "critical",
               "title": "t", "subject": "s", "evidence": 'a, "b"\nc', "location": None,
               "remediation": "r", "references": [], "fingerprint": "f"}
    rows = list(csv.reader(io.StringIO(render_csv({"findings": [finding]}))))
    record = dict(zip(CSV_COLUMNS, rows[1]))
    assert record["host"] == "h,1" and record["evidence"] == 'a, "b"\nc' and record["location"] == ""


def test_csv_without_findings():
    assert render_csv({"findings": []}) == ",".join(CSV_COLUMNS) + "\n"


def test_json_round_trip(report):
    text = render_json(report)
    assert text.endswith("\n")
    assert json.loads(text) == report


def test_markdown_lists_every_host(report):
    text = render_markdown(report)
    assert text.startswith("# Ollama exposure audit\n")
    host_rows = [line for line in text.splitlines() if line.startswith("| ") and " | " in line]
    for name, entry in report["hosts"].items():
        assert any(row.startswith("| %s | %s |" % (name, entry["status"])) for row in host_rows), name
    assert "| web-1 | exposed | [::]:11434 |" in text
    assert "MODULE FAILURE \\| python missing" in text  # pipes escaped inside a cell
    assert "7 hosts" in text and "4 findings: 2 critical, 2 high." in text
    for control in ("OLLAMA-BIND-001", "OLLAMA-BIND-002", "OLLAMA-VER-001", "OLLAMA-NET-001"):
        assert "- **%s**" % control in text


def test_markdown_without_findings(catalog):
    report = build_report([{"host": "only", "reachable": True, "facts": _facts(catalog, "only")}], {}, catalog, "t")
    text = render_markdown(report)
    assert "None." in text and "## Remediation" not in text
    assert "| only | not_installed | - |" in text


def test_comparable_ignores_generated_at(catalog, report):
    again = build_report(_records(catalog), _probe(catalog), catalog, "2027-01-01T00:00:00Z")
    assert again["generated_at"] != report["generated_at"]
    assert comparable(again) == comparable(report)
    changed = build_report(_records(catalog)[1:], _probe(catalog), catalog, "2026-11-25T18:00:00Z")
    assert comparable(changed) != comparable(report)
    assert "generated_at" in report  # comparable() does not modify its argument


@pytest.mark.parametrize("threshold,count", [
    ("critical", 2), ("high", 4), ("medium", 4), ("info", 4), ("nonsense", 0)])
def test_open_at_or_above(report, threshold, count):
    findings = open_at_or_above(report, threshold)
    assert len(findings) == count


def test_open_at_or_above_exact_ids(report):
    assert sorted(f["id"] for f in open_at_or_above(report, "critical")) == ["OLLAMA-BIND-001", "OLLAMA-NET-001"]


def test_records_are_sorted_and_empty_input(catalog):
    report = build_report([], None, catalog, "t")
    assert report["hosts"] == {} and report["findings"] == []
    assert report["summary"]["hosts"] == 0 and report["summary"]["by_status"] == {}
    assert "0 hosts" in render_markdown(report)


def test_unreachable_reason_is_its_first_line(catalog):
    records = [{"host": "a", "reachable": False,
                "error": "UNREACHABLE! ssh: connect timed out\nTraceback (most recent call last):"},
               {"host": "b", "reachable": False}]
    hosts = build_report(records, {}, catalog, "t")["hosts"]
    assert hosts["a"]["reason"] == "UNREACHABLE! ssh: connect timed out"
    assert hosts["b"]["reason"] == "unreachable"
    assert hosts["a"]["status"] == hosts["b"]["status"] == "unreachable"


# -- what the role hands the probe and report modules (audit_inputs) -------------------------

def test_audit_inputs_leave_out_skipped_hosts_and_default_what_is_missing():
    from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (
        audit_inputs, audited_hosts)
    hostvars = {"a": {"ollama_audit_facts": {"host_id": "a"}, "ollama_audit_probe_addresses": ["10.0.0.1"],
                      "ollama_audit_exceptions": [{"id": "OLLAMA-VER-001"}]},
                "b": {},
                "c": {"ollama_audit_facts": {"host_id": "c"}}}
    play = ["a", "b", "c"]
    skip = {"c": "not reached by the rollout"}
    assert audited_hosts(play, skip) == ["a", "b"] and audited_hosts(["a", "a"], None) == ["a"]
    assert audit_inputs(hostvars, play, skip, "results") == {"a": {"host_id": "a"}, "b": {}}
    assert audit_inputs(hostvars, play, skip, "addresses") == {"a": ["10.0.0.1"], "b": []}
    # Exceptions of every play host, skipped ones too (their carried findings keep them).
    assert audit_inputs(hostvars, play, skip, "exceptions") == {"a": [{"id": "OLLAMA-VER-001"}], "b": [], "c": []}
    assert audit_inputs(hostvars, play, {}, "results")["c"] == {"host_id": "c"}
    with pytest.raises(ValueError, match="unknown part"):
        audit_inputs(hostvars, play, skip, "facts")


def test_a_failed_audit_reaches_the_report_with_its_real_reason(catalog):
    """The role keeps a failed ollama_info result as registered (ollama_audit_facts,
    whole): the report explains it from its stderr, not from its msg."""
    from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (
        audit_inputs, records_from_results)
    failed = {"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error",
              "module_stderr": "/bin/sh: 1: sudo: not found\n", "module_stdout": "", "rc": 127}
    hostvars = {"a": {"ollama_audit_facts": failed}, "b": {}}
    results = audit_inputs(hostvars, ["a", "b"], {}, "results")
    assert results == {"a": failed, "b": {}}
    hosts = build_report(records_from_results(results), {}, catalog, "t")["hosts"]
    assert hosts["a"]["status"] == "error"
    assert hosts["a"]["reason"].startswith("become failed: sudo is not installed")
    assert "MODULE FAILURE" not in hosts["a"]["reason"]
    # A host without any result (its audit never ran) is an error too.
    assert (hosts["b"]["status"], hosts["b"]["reason"]) == ("error", "the audit module did not run")


def test_a_read_without_findings_gets_them_from_the_report(catalog):
    """The audit role sends no catalog to the hosts: the report derives each
    read's findings on the controller, the same ones the host would have
    derived; a read never brings its own (ollama_info takes no catalog)."""
    records = _records(catalog)
    bare = []
    for record in records:
        facts = record.get("facts")
        if facts is not None:
            facts = dict((k, v) for k, v in facts.items() if k not in ("findings", "status"))
            facts["host_id"] = record["host"]
        bare.append(dict(record, facts=facts) if facts is not None else record)
    assert any("findings" not in (r.get("facts") or {"findings": 1}) for r in bare)
    derived = build_report(bare, _probe(catalog), catalog, "2026-11-25T18:00:00Z")
    given = build_report(records, _probe(catalog), catalog, "2026-11-25T18:00:00Z")
    assert derived == given
    assert derived["hosts"]["web-1"]["status"] == "exposed"
    assert "OLLAMA-BIND-001" in [f["id"] for f in derived["findings"] if f["host"] == "web-1"]
    # Findings in a read are not the host's word: the report derives them again.
    own = dict(records[0], facts=dict(records[0]["facts"], findings=[]))
    assert build_report([own], {}, catalog, "2026-11-25T18:00:00Z")["findings"] == \
        build_report([records[0]], {}, catalog, "2026-11-25T18:00:00Z")["findings"] != []


def test_option_sets_group_hosts_by_the_values_they_give_themselves():
    """tasks/fleet.yml checks each distinct set once: hosts that set nothing
    share one entry, a host with a value of its own gets its own, an option
    outside the names is not looked at."""
    names = ["ollama_audit_probe_timeout", "ollama_audit_exceptions"]
    hostvars = {"a": {"inventory_hostname": "a"},
                "b": {"ollama_audit_probe_timeout": "soon"},
                "c": {},
                "d": {"ollama_audit_probe_timeout": "soon", "unrelated": 1},
                "e": {"ollama_audit_exceptions": [{"id": "OLLAMA-BIND-001"}]}}
    sets = option_sets(hostvars, ["a", "b", "c", "d", "e"], names)
    assert sets == [{"hosts": ["a", "c"], "options": {}},
                    {"hosts": ["b", "d"], "options": {"ollama_audit_probe_timeout": "soon"}},
                    {"hosts": ["e"], "options": {"ollama_audit_exceptions": [{"id": "OLLAMA-BIND-001"}]}}]
    assert option_sets(hostvars, [], names) == []


# -- every way in (issue 26): the doors in the host entry and in every file ----------

def _door_facts(catalog):
    """Ollama on loopback; nginx without auth on :80 in front of it; a vLLM bound wide without a key; an
    Open WebUI with no account yet; an rpc-server of a build with advisories (fixture dicts of the contract)."""
    wide = lambda port: [{"address": "0.0.0.0", "port": port, "family": "ipv4", "scope": "wildcard"}]  # noqa: E731

    def server(kind, port, **extra):
        srv = {"kind": kind, "source": "process", "pid": 50, "unit": "%s.service" % kind, "container": None,
               "image": None, "argv": [kind], "listen": wide(port),
               "bind": {"address": "0.0.0.0", "port": port, "scope": "wildcard", "exposed": True, "origin": "default"},
               "key": {"set": False, "origin": None}, "env": {}, "version": None, "rebind": {"possible": False}}
        srv.update(extra)
        return srv
    facts = _facts(catalog, "door-5", services=[_service("127.0.0.1")],
                   listeners=[{"address": "127.0.0.1", "port": 11434, "family": "ipv4", "scope": "loopback",
                               "pid": 11, "unit": "ollama.service", "inferred": False}])
    facts.update(addresses=["10.0.0.5"], firewall={}, forwarders=[{
        "kind": "nginx", "pid": 90, "unit": "nginx.service", "process": "nginx", "listen": wide(80),
        "upstream": [{"host": "127.0.0.1", "port": 11434}], "to_model": "ollama", "auth": False,
        "location": {"file": "/etc/nginx/sites-enabled/default", "line": 12}, "evidence": "proxy_pass"}],
        servers=[server("vllm", 8000), server("open-webui", 3000, env={"OLLAMA_BASE_URL": "http://127.0.0.1:11434"}),
                 server("rpc-server", 50052, version="b3000")])
    results = [{"address": "10.0.0.5", "port": 80, "state": "exposed", "kind": "ollama", "open": True,
                "evidence": "GET /api/tags -> 200 (1 model)", "details": {}},
               {"address": "10.0.0.5", "port": 8000, "state": "model_open", "kind": "vllm", "open": True,
                "evidence": "GET /v1/models -> 200", "details": {"models": 1}},
               {"address": "10.0.0.5", "port": 3000, "state": "open_other", "kind": "open-webui", "open": False,
                "evidence": "GET /api/config -> 200", "details": {"config": {"auth": True, "onboarding": True}}}]
    return facts, {"door-5": {"results": results, "findings": probe_findings({"results": results}, catalog, "door-5")}}


DOOR_CONTROLS = ("OLLAMA-DOOR-001", "OLLAMA-SRV-001", "OLLAMA-SRV-002", "OLLAMA-SRV-003", "OLLAMA-WEBUI-003")


def test_the_doors_are_in_the_host_entry_and_every_file(catalog, tmp_path):
    from xml.etree import ElementTree

    from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_render import (
        render_html, render_junit, render_ticket)
    from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import apply_history
    facts, probe_hosts = _door_facts(catalog)
    report = apply_history(build_report([{"host": "door-5", "reachable": True, "facts": facts}], probe_hosts,
                                        catalog, "2026-12-07T19:00:00Z"))
    entry = report["hosts"]["door-5"]
    assert entry["status"] == "exposed"
    assert [(d["port"], d["kind"], d["state"]) for d in entry["doors"]] == [
        (80, "nginx", "open"), (3000, "open-webui", "answers"), (8000, "vllm", "open"),
        (50052, "rpc-server", "unprobed")]
    assert entry["doors"][0]["location"] == {"file": "/etc/nginx/sites-enabled/default", "line": 12}
    assert "pid" not in json.dumps(entry["doors"]), "no pid in the doors: the report compares across runs"
    ids = set(f["id"] for f in report["findings"])
    assert set(DOOR_CONTROLS) <= ids
    as_json = json.loads(render_json(report))
    assert set(DOOR_CONTROLS) <= set(f["id"] for f in as_json["findings"]) and as_json["hosts"]["door-5"]["doors"]
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert set(DOOR_CONTROLS) <= set(r["id"] for r in rows)
    assert [r["location"] for r in rows if r["id"] == "OLLAMA-DOOR-001"] == ["/etc/nginx/sites-enabled/default:12"]
    markdown = render_markdown(report)
    html = render_html(report)
    for cid in DOOR_CONTROLS:
        assert cid in markdown and cid in html
    assert "doors: 80 nginx (open)" in markdown and "doors: 80 nginx (open)" in html
    junit = ElementTree.fromstring(render_junit(report, catalog))
    failed = set(c.get("name").split()[0] for c in junit.iter("testcase") if c.find("failure") is not None)
    assert set(DOOR_CONTROLS) <= failed
    door = [f for f in report["findings"] if f["id"] == "OLLAMA-DOOR-001"][0]
    ticket = render_ticket(door, catalog)
    assert "OLLAMA-DOOR-001" in ticket and "tcp/80" in ticket and "/etc/nginx/sites-enabled/default:12" in ticket
    assert "`ollama_firewall`" in ticket


def test_a_door_is_one_finding_not_also_the_probers_net_001():
    """nginx without auth on :80 in front of a loopback Ollama: the prober's
    OLLAMA-NET-001 on port 80 gives way to OLLAMA-DOOR-001 (which names nginx
    and its file:line); a NET-001 on Ollama's own port stays."""
    from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import outside_findings
    net = [{"id": "OLLAMA-NET-001", "subject": "net:192.0.2.5:80", "location": {"socket": "192.0.2.5:80"}},
           {"id": "OLLAMA-NET-001", "subject": "net:[2001:db8::5]:80", "location": {"socket": "[2001:db8::5]:80"}},
           {"id": "OLLAMA-NET-001", "subject": "net:192.0.2.5:11434", "location": {"socket": "192.0.2.5:11434"}}]
    door = [{"id": "OLLAMA-DOOR-001", "subject": "door:tcp/80"}]
    assert [f["subject"] for f in outside_findings(net, door)] == ["net:192.0.2.5:11434"]
    assert outside_findings(net, []) == net
