# -*- coding: utf-8 -*-
"""The rebind plan (plugin_utils/ollama_bind.py)."""

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_bind import (
    env_without, health, plan, plan_adoptions, plan_service, systemd_quote, unsettled)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import parse_ollama_host

DROPIN = "zz-ollama-exposure-toolkit.conf"
ENV_DIR = "/etc/ollama-exposure-toolkit"
OUR_DROPIN = "/etc/systemd/system/ollama.service.d/" + DROPIN
OUR_ENV = ENV_DIR + "/ollama.service.env"


def service(history, running=None, dropins=(), env_files=(), name="ollama.service"):
    return {"name": name, "env_history": history, "dropins": list(dropins), "environment_files": list(env_files),
            "running_bind": parse_ollama_host(running) if running is not None else None,
            "main_pid": 42 if running is not None else 0, "active_state": "active" if running is not None else "inactive"}


def h(key, value, path="/etc/systemd/system/ollama.service.d/override.conf", via="Environment"):
    return {"key": key, "value": value, "file": path, "line": 2, "via": via}


def test_faq_dropin_is_rebound_on_the_same_port():
    item = plan_service(service([h("OLLAMA_HOST", "0.0.0.0:11434")], running="0.0.0.0:11434"),
                        "127.0.0.1", [], True, DROPIN, ENV_DIR)
    assert item["action"] == "rebind"
    assert item["env"] == {"OLLAMA_HOST": "127.0.0.1:11434"}
    assert item["dropin"] == OUR_DROPIN and item["env_file"] == OUR_ENV


def test_environment_file_port_is_kept():
    history = [h("OLLAMA_HOST", "127.0.0.1"), h("OLLAMA_HOST", "0.0.0.0:8080", "/etc/default/ollama", "EnvironmentFile")]
    item = plan_service(service(history, running="0.0.0.0:8080"), "127.0.0.1", [], True, DROPIN, ENV_DIR)
    assert item["listen"] == "127.0.0.1:8080"


def test_http_scheme_keeps_port_80_and_ipv6_loopback_is_bracketed():
    item = plan_service(service([h("OLLAMA_HOST", "http://0.0.0.0")], running="http://0.0.0.0"),
                        "::1", [], True, DROPIN, ENV_DIR)
    assert item["listen"] == "[::1]:80"


def test_stopped_service_uses_the_configured_port():
    item = plan_service(service([h("OLLAMA_HOST", "[::]:9000")]), "127.0.0.1", [], True, DROPIN, ENV_DIR)
    assert item["listen"] == "127.0.0.1:9000" and item["running"] is False


def test_secure_service_is_left_alone():
    item = plan_service(service([], running=""), "127.0.0.1", [], True, DROPIN, ENV_DIR)
    assert item["action"] == "none"


def test_stale_process_is_restarted_only():
    item = plan_service(service([h("OLLAMA_HOST", "127.0.0.1:11434")], running="0.0.0.0:11434"),
                        "127.0.0.1", [], True, DROPIN, ENV_DIR)
    assert item["action"] == "restart"


def test_origins_wildcard_is_narrowed_even_on_loopback():
    item = plan_service(service([h("OLLAMA_ORIGINS", "*")], running=""), "127.0.0.1",
                        ["https://app.example.com"], True, DROPIN, ENV_DIR)
    assert item["action"] == "rebind"
    assert item["env"]["OLLAMA_ORIGINS"] == "https://app.example.com"
    untouched = plan_service(service([h("OLLAMA_ORIGINS", "*")], running=""), "127.0.0.1", [], False, DROPIN, ENV_DIR)
    assert untouched["action"] == "none"


def test_second_run_plans_what_the_first_wrote():
    before = service([h("OLLAMA_HOST", "0.0.0.0:11434"), h("OLLAMA_ORIGINS", "*")], running="0.0.0.0:11434")
    first = plan_service(before, "127.0.0.1", [], True, DROPIN, ENV_DIR)
    after = service([h("OLLAMA_HOST", "0.0.0.0:11434"), h("OLLAMA_ORIGINS", "*"),
                     h("OLLAMA_HOST", "127.0.0.1:11434", OUR_DROPIN),
                     h("OLLAMA_HOST", "127.0.0.1:11434", OUR_ENV, "EnvironmentFile"),
                     h("OLLAMA_ORIGINS", "", OUR_ENV, "EnvironmentFile")],
                    running="127.0.0.1:11434", dropins=[OUR_DROPIN],
                    env_files=[{"path": OUR_ENV, "exists": True}])
    second = plan_service(after, "127.0.0.1", [], True, DROPIN, ENV_DIR)
    assert second["env"] == first["env"] and second["action"] == "rebind"
    assert second["dropin_existed"] and second["env_file_existed"]


def test_env_without_ignores_the_toolkits_files():
    history = [h("OLLAMA_HOST", "0.0.0.0"), h("OLLAMA_HOST", "127.0.0.1:1", OUR_ENV)]
    assert env_without(history, (OUR_ENV,)) == {"OLLAMA_HOST": "0.0.0.0"}


def test_plan_rejects_an_unknown_service_and_a_non_loopback_address():
    facts = {"services": [service([])]}
    with pytest.raises(ValueError, match="'ollama-gpu.service' is not an Ollama service"):
        plan(facts, "127.0.0.1", services=["ollama-gpu.service"])
    with pytest.raises(ValueError, match="not a loopback address"):
        plan(facts, "0.0.0.0")
    assert [i["unit"] for i in plan(facts, "127.0.0.1")] == ["ollama.service"]


def test_port_override():
    item = plan({"services": [service([h("OLLAMA_HOST", "0.0.0.0:8080")], running="0.0.0.0:8080")]},
                "127.0.0.1", port=11500)[0]
    assert item["listen"] == "127.0.0.1:11500"


# -- adopting Ollama started by hand -----------------------------------------

def hand_started(pid=4242, host="0.0.0.0:11500", argv=("/usr/local/bin/ollama", "serve"), **extra):
    env = {"OLLAMA_HOST": host}
    env.update(extra)
    return {"pid": pid, "argv": list(argv), "user": "ollama", "home": "/usr/share/ollama", "unit": None,
            "container": False, "env": env, "bind": parse_ollama_host(host)}


def test_hand_started_process_is_adopted_as_ollama_service_on_its_port():
    facts = {"services": [], "processes": [hand_started(OLLAMA_MODELS="/srv/models")], "listeners": []}
    [item] = plan_adoptions(facts, "127.0.0.1", env_dir=ENV_DIR)
    assert item["unit"] == "ollama.service" and item["unit_file"] == "/etc/systemd/system/ollama.service"
    assert item["env"] == {"OLLAMA_HOST": "127.0.0.1:11500", "OLLAMA_MODELS": "/srv/models"}
    assert item["original_env"]["OLLAMA_HOST"] == "0.0.0.0:11500"
    assert item["exec_start"] == "/usr/local/bin/ollama serve"
    assert item["user"] == "ollama" and item["env_file"] == ENV_DIR + "/ollama.service.env"


def test_no_adoption_on_a_host_without_systemd():
    facts = {"systemd": False, "services": [], "processes": [hand_started()], "listeners": []}
    assert plan_adoptions(facts, "127.0.0.1", env_dir=ENV_DIR) == []
    assert len(plan_adoptions(dict(facts, systemd=True), "127.0.0.1", env_dir=ENV_DIR)) == 1


def test_adoption_skips_units_and_containers_and_avoids_taken_names():
    procs = [hand_started(1, "0.0.0.0"), hand_started(2, "[::]:9000"),
             dict(hand_started(3), unit="ollama.service"), dict(hand_started(4), container=True)]
    facts = {"services": [{"name": "ollama.service"}], "processes": procs, "listeners": []}
    items = plan_adoptions(facts, "::1")
    assert [(i["pid"], i["unit"], i["listen"]) for i in items] == [
        (1, "ollama-11434.service", "[::1]:11434"), (2, "ollama-9000.service", "[::1]:9000")]


def test_adoption_port_zero_uses_the_socket_in_use_and_narrows_origins():
    proc = hand_started(7, "0.0.0.0:0", OLLAMA_ORIGINS="*")
    facts = {"services": [], "processes": [proc], "listeners": [{"pid": 7, "port": 40001}]}
    [item] = plan_adoptions(facts, "127.0.0.1", origins=["https://app.example"])
    assert item["listen"] == "127.0.0.1:40001" and item["env"]["OLLAMA_ORIGINS"] == "https://app.example"


def test_adoption_rejects_a_non_loopback_address():
    with pytest.raises(ValueError, match="loopback"):
        plan_adoptions({"processes": [hand_started()]}, "0.0.0.0")


@pytest.mark.parametrize("argv,expected", [
    (["/usr/bin/ollama", "serve"], "/usr/bin/ollama serve"),
    (["/opt/my ollama/ollama", "serve"], '"/opt/my ollama/ollama" serve'),
    (["ollama", "serve", "50%", "$HOME"], 'ollama serve "50%%" "$$HOME"'),
    (["a\"b", ";"], '"a\\"b" ";"'),
])
def test_systemd_quote(argv, expected):
    assert systemd_quote(argv) == expected


def test_unsettled_reports_each_unit_still_wrong():
    items = [{"unit": "a.service", "port": 11434}, {"unit": "b.service", "port": 8080},
             {"unit": "c.service", "port": 80}, {"unit": "d.service", "port": 9000}]
    listeners = [
        {"unit": "a.service", "address": "127.0.0.1", "port": 11434, "scope": "loopback"},
        {"unit": "b.service", "address": "0.0.0.0", "port": 8080, "scope": "wildcard"},
        {"unit": "c.service", "address": "127.0.0.1", "port": 81, "scope": "loopback"},
    ]
    assert unsettled(listeners, items) == [
        "b.service: still listening on 0.0.0.0:8080", "c.service: listening on port 81, expected 80",
        "d.service: not listening yet"]
    assert unsettled(listeners, items[:1]) == []


def _after(state="active", address="127.0.0.1", port=11434, version="0.12.3", reason=None):
    return {"services": [{"name": "ollama.service", "active_state": state}],
            "listeners": [{"unit": "ollama.service", "address": address, "port": port,
                           "scope": "loopback" if address.startswith("127.") else "wildcard"}]
            if state == "active" else [],
            "installs": [{"subject": "ollama.service", "kind": "service", "version": version, "reason": reason}]}


def test_health_is_empty_for_a_service_up_on_loopback_that_answers():
    assert health(_after(), [{"unit": "ollama.service", "port": 11434, "running": True}]) == []


def test_health_names_a_stopped_missing_exposed_or_silent_unit():
    item = {"unit": "ollama.service", "port": 11434, "running": True}
    assert health(_after(state="failed"), [item]) == ["ollama.service: failed"]
    assert health({"services": []}, [item]) == ["ollama.service: not found"]
    assert health(_after(address="0.0.0.0"), [item]) == ["ollama.service: still listening on 0.0.0.0:11434"]
    assert health(_after(version=None, reason="timed out"), [item]) == [
        "ollama.service: no answer to GET /api/version (timed out)"]


def test_health_ignores_units_that_were_not_running_before():
    assert health(_after(state="inactive"), [{"unit": "ollama.service", "port": 11434, "running": False}]) == []
