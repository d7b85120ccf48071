# -*- coding: utf-8 -*-
"""The firewall wall's plan contract (plugin_utils/ollama_firewall.py:
wall_plan, called as ``ollama_audit_facts | wall_plan('firewall', options,
context)``): every decision roles/ollama_firewall/vars/main.yml used to
take in Jinja (the record, the facts, the stamp and its fast path)."""

import base64
import json
import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.core import to_nice_json

from ansible_collections.ollama_toolkit.exposure.plugins.filter.wall_plan import wall_plan as wall_plan_filter
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_firewall as fw

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ROLE = os.path.join(ROOT, "roles", "ollama_firewall")
NFT = {"tools": {"nft": "/usr/sbin/nft", "iptables": "/usr/sbin/iptables"}, "units": {}, "active": "nftables",
       "ufw": {"active": False, "rules": []}, "firewalld_zone": None}


def defaults():
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        values = yaml.safe_load(handle)
    values["ollama_firewall_ssh_port"] = 22
    values["ollama_firewall_front_conn_limit_exempt"] = []
    return values


def audit(containers=(), other=(), stamp=None, detect=NFT):
    facts = {"listeners": [{"address": "0.0.0.0", "port": 11434, "family": "ipv4", "pid": 10,
                            "unit": "ollama.service", "scope": "wildcard"}],
             "services": [], "processes": [], "containers": list(containers), "other_listeners": list(other),
             "systemd": True, "python": "/usr/bin/python3", "firewall": {"detect": detect}, "stamps": {}}
    if stamp is not None:
        facts["stamps"]["ollama_firewall"] = stamp
    return facts


def context(**extra):
    ctx = {"host": "h1", "ansible_host": "h1", "run_tags": ["all"], "skip_tags": [], "check_mode": False,
           "role_path": ROLE, "read": {"skipped": True}, "previous": {"skipped": True}}
    ctx.update(extra)
    return ctx


def call(facts=None, options=None, **ctx):
    return fw.wall_plan(audit() if facts is None else facts, options or defaults(), context(**ctx))


def test_the_contract_keys_and_the_stamp():
    p = call()
    assert p["wall"] == "firewall" and p["backend"] == "nftables" and p["ports"] == [11434]
    assert p["settled"] is True and p["in_place"] is False
    stamp = p["stamp"]
    assert stamp["name"] == "ollama_firewall" and len(stamp["inputs"]) == 64 and stamp["write"] is True
    assert stamp["files"] == ["/etc/nftables.d/ollama-exposure-toolkit.nft", "/etc/nftables.d",
                              "/var/lib/ollama-exposure-toolkit/firewall.json", "/var/lib/ollama-exposure-toolkit",
                              fw.SCRIPT, "/etc/systemd/system/" + fw.UNIT, "/etc/nftables.conf"]
    assert stamp["units"] == [fw.UNIT] and stamp["nft_chains"] == ["inet ollama_exposure_toolkit input"]
    assert stamp["data"] == p["record"]


def test_the_record_is_what_to_nice_json_wrote():
    p = call()
    assert p["record"] == {"backend": "nftables", "ports": [11434], "docker": [], "unit": True, "ufw_rules": [],
                           "ufw_enabled": False, "ufw_ssh_allow": False, "ufw_unit_enabled": False, "ssh_port": 22,
                           "firewalld_zone": "", "firewalld_rules": []}
    assert p["record_content"] == to_nice_json(p["record"]) + "\n"


def test_the_record_keeps_what_an_earlier_run_enabled():
    before = {"ufw_enabled": True, "ufw_ssh_allow": True, "ufw_unit_enabled": True, "ports": [1]}
    p = call(previous={"content": base64.b64encode(json.dumps(before).encode()).decode()})
    assert p["before"] == before
    assert p["record"]["ufw_enabled"] and p["record"]["ufw_ssh_allow"] and p["record"]["ufw_unit_enabled"]


def test_before_from_the_state_file_else_the_stamp_else_nothing():
    data = {"ports": [11434], "backend": "nftables"}
    stamp = {"present": True, "drift": [], "inputs": "x", "data": data}
    assert call(audit(stamp=stamp))["before"] == data  # the slurp skipped: the stamp's copy
    assert call(audit(stamp=stamp), previous={"failed": True})["before"] == {}  # no state file
    assert call(audit(stamp=dict(stamp, data=None)))["before"] == {}
    with pytest.raises(ValueError, match="ollama_firewall_state_file"):
        call(previous={"content": base64.b64encode(b"not json").decode()})


def test_in_place_when_the_stamp_holds_the_same_inputs_and_no_drift():
    first = call()
    stamp = {"present": True, "drift": [], "inputs": first["stamp"]["inputs"], "data": first["record"]}
    assert call(audit(stamp=stamp))["in_place"] is True
    assert call(audit(stamp=dict(stamp, drift=["nft chain inet ollama_exposure_toolkit input"])))["in_place"] is False
    other = dict(defaults(), ollama_firewall_ports=[8080])
    assert call(audit(stamp=stamp), other)["in_place"] is False


def test_only_the_nftables_backend_without_containers_is_stamped():
    iptables = (dict(NFT, active="iptables"), dict(defaults(), ollama_firewall_backend="iptables"), ())
    container = (NFT, defaults(), [{"name": "c", "ports": []}])
    for detect, options, containers in (iptables, container):
        p = call(audit(containers, detect=detect), options)
        assert p["stamp"]["write"] is False and p["in_place"] is False
        stamp = {"present": True, "drift": [], "inputs": p["stamp"]["inputs"]}
        assert call(audit(containers, stamp=stamp, detect=detect), options)["in_place"] is False


def test_the_stamp_is_written_only_after_a_whole_run_outside_check_mode():
    assert call(check_mode=True)["stamp"]["write"] is False
    assert call(run_tags=["OLLAMA-FW-003"])["stamp"]["write"] is False
    for skip in (["OLLAMA-FW-002"], ["ollama_firewall"], ["always"]):
        assert call(skip_tags=skip)["stamp"]["write"] is False
    assert call(skip_tags=["OLLAMA-FRONT-001"])["stamp"]["write"] is True


def test_nft_reload_on_a_drifted_chain_or_the_first_stamp():
    assert call()["nft_reload"] is True  # no stamp yet, this run writes one
    assert call(check_mode=True)["nft_reload"] is False
    stamp = {"present": True, "drift": [], "inputs": "x"}
    assert call(audit(stamp=stamp))["nft_reload"] is False
    assert call(audit(stamp=dict(stamp, drift=["nft chain inet ollama_exposure_toolkit input"])))["nft_reload"] is True
    assert call(audit(stamp=dict(stamp, drift=["file /etc/nftables.conf"])))["nft_reload"] is False


def test_a_port_conflict_is_not_settled():
    p = call(audit(other=[{"address": "0.0.0.0", "port": 11434, "scope": "wildcard", "process": "nginx"}]))
    assert p["conflicts"] and p["settled"] is False


def test_the_roles_own_read_says_which_firewall_and_stands_for_the_audit():
    read = dict(audit(detect=dict(NFT, active="iptables", tools={"iptables": "/usr/sbin/iptables"})), changed=False)
    assert call(audit(detect=None), read=read)["backend"] == "iptables"
    alone = fw.wall_plan({}, defaults(), context(read=read))
    assert alone["backend"] == "iptables" and alone["ports"] == [11434]


def test_republish_read_and_its_facts():
    ctr = {"name": "c", "ports": [{"ip": "0.0.0.0", "private_port": 11434, "public_port": 11434}]}
    assert call(audit(containers=[ctr]))["republish_read"] is False
    p = call(audit(containers=[ctr]), dict(defaults(), ollama_firewall_docker_republish=True))
    assert p["republish_read"] is True and p["republish_facts"] == {"containers": [ctr]}


def test_the_record_follows_the_republished_containers():
    ctr = {"name": "c", "id": "abc", "ports": [{"ip": "0.0.0.0", "private_port": 11434, "public_port": 12000}]}
    p = call(audit(containers=[ctr]), dict(defaults(), ollama_firewall_docker_republish=True))
    assert [d["port"] for d in p["record"]["docker"]] == [12000]
    p["docker"], p["ports"] = [], [11434]
    p.update(fw.record(p))
    assert p["record"]["docker"] == [] and '"docker": []' in p["record_content"]


def test_the_filter_names_the_variable_on_bad_input():
    with pytest.raises(AnsibleFilterError, match="ollama_firewall_front_port"):
        wall_plan_filter(audit(), "firewall", dict(defaults(), ollama_firewall_front_port="x"), context())
    with pytest.raises(AnsibleFilterError, match="ollama_firewall_state_file"):
        wall_plan_filter(audit(), "firewall", dict((k, v) for k, v in defaults().items()
                                                   if k != "ollama_firewall_state_file"), context())


def test_vars_main_holds_the_same_constants_and_no_expression():
    with open(os.path.join(ROLE, "vars", "main.yml")) as handle:
        text = handle.read()
    values = yaml.safe_load(text)
    assert values["__ollama_firewall_unit"] == fw.UNIT and values["__ollama_firewall_script"] == fw.SCRIPT
    assert values["__ollama_firewall_table"] == fw.TABLE and values["__ollama_firewall_chain"] == fw.CHAIN
    assert values["__ollama_firewall_comment"] == fw.COMMENT and values["__ollama_firewall_stamp"] == fw.STAMP


def test_every_private_variable_the_tasks_read_is_defined():
    """Each __ollama_firewall_* variable a task or template reads is a
    constant of vars/main.yml, registered, a loop or block variable."""
    import re
    defined, used = set(), set()
    with open(os.path.join(ROLE, "vars", "main.yml")) as handle:
        defined.update(yaml.safe_load(handle))
    for sub in ("tasks", "templates", "handlers"):
        for name in os.listdir(os.path.join(ROLE, sub)):
            with open(os.path.join(ROLE, sub, name)) as handle:
                text = handle.read()
            used.update(re.findall(r"__ollama_firewall_[a-z_]+", text))
            defined.update(re.findall(r"(?:register|loop_var|index_var): (__ollama_firewall_[a-z_]+)", text))
            defined.update(re.findall(r"^\s+(__ollama_firewall_[a-z_]+):", text, re.M))
    assert sorted(used - defined) == []
    assert ">-" not in text and "{%" not in text


def test_rules_no_stamp_covers_are_not_settled():
    """harden.yml records harden.json only where it can count on each wall's
    stamp: an iptables host keeps taking the walls (as before issue 27)."""
    read = dict(audit(detect=dict(NFT, active="iptables", tools={"iptables": "/usr/sbin/iptables"})), changed=False)
    p = call(audit(detect=None), read=read)
    assert p["backend"] == "iptables" and not p["conflicts"]
    assert p["settled"] is False and p["stamp"]["write"] is False
    assert call()["settled"] is True


def test_the_door_options_reach_the_plan_and_the_stamps_inputs():
    facts = audit(other=[{"address": "0.0.0.0", "port": 80, "scope": "wildcard", "process": "nginx"}])
    facts["forwarders"] = [{"kind": "nginx", "process": "nginx", "unit": "nginx.service", "to_model": "ollama",
                            "auth": False, "listen": [{"address": "0.0.0.0", "port": 80, "family": "ipv4",
                                                       "scope": "wildcard"}], "location": None}]
    plain = call(facts)
    assert plain["ports"] == [11434] and [d["close"] for d in plain["doors"]] == [False]
    closing = call(facts, dict(defaults(), ollama_firewall_close_forwarders=True))
    assert closing["ports"] == [80, 11434] and closing["record"]["ports"] == [80, 11434]
    assert closing["settled"] is True
    listed = call(facts, dict(defaults(), ollama_firewall_close_ports=[8000]))
    assert listed["ports"] == [8000, 11434]
    inputs = set(p["stamp"]["inputs"] for p in (plain, closing, listed,
                                                call(facts, dict(defaults(), ollama_firewall_close_model_servers=True))))
    assert len(inputs) == 4
    # A stamp of the run without the opt-in does not hold the rules of a run with it.
    stamp = {"present": True, "drift": [], "inputs": plain["stamp"]["inputs"], "data": plain["record"]}
    assert call(dict(facts, stamps={"ollama_firewall": stamp}))["in_place"] is True
    assert call(dict(facts, stamps={"ollama_firewall": stamp}),
                dict(defaults(), ollama_firewall_close_forwarders=True))["in_place"] is False


def test_the_door_options_are_required_and_in_the_roles_defaults():
    for name in ("ollama_firewall_close_forwarders", "ollama_firewall_close_model_servers",
                 "ollama_firewall_close_ports"):
        assert name in defaults()
        options = dict(defaults())
        del options[name]
        with pytest.raises(ValueError, match=name):
            call(options=options)
    bad = dict(defaults(), ollama_firewall_close_ports=[70000])
    with pytest.raises(ValueError, match="ollama_firewall_close_ports: 70000"):
        call(options=bad)
