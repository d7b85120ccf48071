# -*- coding: utf-8 -*-
"""plugin_utils/ollama_doors.py: the doors a host's read shows (issue 26)."""

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_servers import FORWARDERS, SERVERS
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_doors import host_doors

WIDE = {"address": "0.0.0.0", "port": 80, "scope": "wildcard"}
LOOP = {"address": "127.0.0.1", "port": 8081, "scope": "loopback"}


def test_a_forwarder_is_a_door_only_on_its_wide_ports():
    doors = host_doors({"forwarders": [{"kind": "nginx", "listen": [WIDE, LOOP], "to_model": "ollama", "auth": False,
                                        "location": {"file": "/etc/nginx/sites-enabled/default", "line": 3}}]})
    assert [(d["port"], d["category"], d["credentials"]) for d in doors] == [(80, "forwarder", False)]
    assert doors[0]["location"]["line"] == 3
    assert host_doors({"forwarders": [{"kind": "nginx", "listen": [LOOP]}]}) == []


def test_a_server_configured_wide_is_a_door_before_it_listens_and_a_key_counts():
    doors = host_doors({"servers": [
        {"kind": "vllm", "listen": [], "bind": {"exposed": True, "port": 8000}, "key": {"set": False}},
        {"kind": "tgi", "listen": [dict(WIDE, port=3000)], "key": {"set": True}},
        {"kind": "open-webui", "listen": [dict(WIDE, port=3001)]},
        {"kind": "comfyui", "listen": [dict(LOOP, port=8188)], "bind": {"exposed": False, "port": 8188}}]})
    assert [(d["port"], d["kind"], d["credentials"]) for d in doors] == [
        (3000, "tgi", True), (3001, "open-webui", None), (8000, "vllm", False)]


def test_every_kind_says_how_to_close_it():
    for kind, facts in SERVERS.items():
        assert facts["default_bind"] in ("wildcard", "loopback"), kind
        assert 0 < facts["port"] < 65536, kind
        # Either the toolkit can set a variable, or it says why not.
        assert bool(facts["rebind"]) != bool(facts["refuse"]), kind
        if facts["rebind"]:
            assert facts["rebind"]["env"] in facts["bind_env"], kind
    assert all(spec["comm"] for spec in FORWARDERS.values())


# -- the doors joined with the outside probe (plugin_utils/ollama_doors.py joined_doors) ----

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_doors import (  # noqa: E402
    FORWARDER_FIX, door_state, joined_doors, ollama_ports, probe_on_port)

NGINX = {"kind": "nginx", "process": "nginx", "unit": "nginx.service", "listen": [WIDE], "to_model": "ollama",
         "auth": False, "location": {"file": "/etc/nginx/sites-enabled/default", "line": 3}}


def _r(port, state, address="10.0.0.5", kind=None, is_open=False):
    return {"address": address, "port": port, "state": state, "kind": kind, "open": is_open, "evidence": state}


def test_ollamas_own_ports_are_its_listeners_binds_and_published_ports():
    facts = {"listeners": [{"port": 11434}], "services": [{"bind": {"port": 11500}}],
             "processes": [{"bind": {"port": 11600}}], "containers": [{"ports": [{"public_port": 8080}]}]}
    assert ollama_ports(facts) == {11434, 11500, 11600, 8080}
    assert ollama_ports({}) == set()


def test_probe_on_port_keeps_the_loudest_answer_over_every_address():
    results = [_r(80, "filtered"), _r(80, "exposed", "fd00::5", "ollama", True), _r(81, "exposed")]
    seen = probe_on_port(results, 80)
    assert seen["state"] == "exposed" and seen["answered"] == ["fd00::5"] and seen["addresses"] == ["10.0.0.5", "fd00::5"]
    assert probe_on_port(results, 82) is None


@pytest.mark.parametrize("results, state", [
    ([], "unprobed"),
    ([_r(80, "exposed", kind="ollama", is_open=True)], "open"),
    ([_r(80, "model_open", kind="vllm", is_open=True)], "open"),
    ([_r(80, "auth_required"), _r(80, "filtered", "fd00::5")], "auth_required"),
    ([_r(80, "closed"), _r(80, "filtered", "fd00::5")], "silent"),
    ([_r(80, "no_route"), _r(80, "filtered", "fd00::5")], "unproven"),
    ([_r(80, "open_other")], "answers"),
])
def test_door_state(results, state):
    assert door_state(probe_on_port(results, 80)) == state


def test_joined_doors_carry_the_probe_on_their_port_and_add_the_doors_only_the_probe_shows():
    facts = {"forwarders": [NGINX], "listeners": [{"port": 11434}],
             "other_listeners": [dict(WIDE, port=9000, process="socat", unit="fwd.service", kind="socat"),
                                 dict(WIDE, port=22, process="sshd", unit="ssh.service", kind="ssh")]}
    results = [_r(80, "exposed", kind="ollama", is_open=True), _r(9000, "exposed", kind="ollama", is_open=True),
               _r(11434, "exposed", kind="ollama", is_open=True), _r(22, "open_other"),
               _r(8000, "model_open", kind="vllm", is_open=True)]
    doors = joined_doors(facts, results)
    assert [(d["port"], d["category"], d["kind"], d["state"]) for d in doors] == [
        (80, "forwarder", "nginx", "open"), (8000, "probe", "vllm", "open"), (9000, "probe", "socat", "open")]
    assert doors[2]["process"] == "socat" and doors[2]["unit"] == "fwd.service" and doors[2]["to_model"] == "ollama"
    assert doors[0]["probe"]["answered"] == ["10.0.0.5"]
    assert joined_doors(facts, [])[0]["state"] == "unprobed"


def test_every_forwarder_kind_says_how_to_close_it():
    assert set(FORWARDER_FIX) == set(FORWARDERS)


# -- docs/doors.md: its per-kind tables are what SERVERS and FORWARDERS render to ------------

import os  # noqa: E402

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_doors import (  # noqa: E402
    DOORS_BEGIN, DOORS_END, render_doors_page, render_doors_tables)

DOORS_PAGE = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "doors.md")


def test_doors_page_is_what_the_table_of_kinds_renders_to():
    with open(DOORS_PAGE) as handle:
        page = handle.read()
    assert page == render_doors_page(page, SERVERS, FORWARDERS), "docs/doors.md is out of date: run `make docs`"
    block = page[page.index(DOORS_BEGIN):page.index(DOORS_END)]
    for kind, spec in SERVERS.items():
        row = [line for line in block.splitlines() if "(`%s`)" % kind in line]
        assert len(row) == 1, kind
        assert (spec["refuse"] or spec["rebind"]["env"]) in row[0], kind
    for kind in FORWARDERS:
        assert "| `%s` |" % kind in block
    for control in ("OLLAMA-DOOR-001", "OLLAMA-WEBUI-001", "OLLAMA-WEBUI-002", "OLLAMA-WEBUI-003",
                    "OLLAMA-SRV-001", "OLLAMA-SRV-002", "OLLAMA-SRV-003"):
        assert control in page


def test_a_change_to_the_table_of_kinds_changes_the_page():
    with open(DOORS_PAGE) as handle:
        page = handle.read()
    changed = dict(SERVERS, vllm=dict(SERVERS["vllm"], port=8001))
    assert render_doors_page(page, changed, FORWARDERS) != page
    assert "| wildcard :8001 |" in render_doors_tables(changed, FORWARDERS)
    with pytest.raises(ValueError):
        render_doors_page("no block here", SERVERS, FORWARDERS)


def test_docker_proxy_of_a_known_container_is_the_containers_door_not_a_forwarders():
    proxy = {"kind": "docker-proxy", "listen": [dict(WIDE, port=11434)], "to_model": "ollama", "auth": False}
    assert host_doors({"forwarders": [dict(proxy, container="ollama")]}) == []
    # One the read cannot pin to a container stays a door of its own.
    assert [d["port"] for d in host_doors({"forwarders": [dict(proxy, container=None)]})] == [11434]
