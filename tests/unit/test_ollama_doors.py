# -*- coding: utf-8 -*-
"""plugin_utils/ollama_doors.py: the doors a host's read shows (issue 26)."""

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
