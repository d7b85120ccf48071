# -*- coding: utf-8 -*-
"""The filter plugins as the roles use them: every name each FilterModule
declares resolves through Ansible's filter loader, and each filter works once
on what the roles hand it (an exposed host's ollama_audit_facts, the firewall
firewall detection and Docker configurations ollama_info reads, the front's credentials)."""

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible.plugins.loader import filter_loader

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_docker import recreate_config
from ansible_collections.ollama_toolkit.exposure.plugins.filter.wall_plan import wall_plan
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import parse_ollama_host
from filter_plugins import ollama_audit, ollama_bind, ollama_firewall, ollama_front

FILTER_PLUGINS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                               "filter_plugins"))
OVERRIDE = "/etc/systemd/system/ollama.service.d/override.conf"

# An exposed host as ollama_info reports it: a systemd service on every
# address, an Ollama started by hand on 11500 and a container publishing 11434.
FACTS = {
    "supported": True, "systemd": True,
    "services": [{"name": "ollama.service", "fragment": "/etc/systemd/system/ollama.service",
                  "dropins": [OVERRIDE], "masked": False, "environment_files": [],
                  "env": {"OLLAMA_HOST": "0.0.0.0:11434"},
                  "env_history": [{"key": "OLLAMA_HOST", "value": "0.0.0.0:11434", "file": OVERRIDE, "line": 2,
                                   "via": "Environment"}],
                  "bind": parse_ollama_host("0.0.0.0:11434"), "running_bind": parse_ollama_host("0.0.0.0:11434"),
                  "main_pid": 42, "active_state": "active"}],
    "processes": [{"pid": 42, "argv": ["/usr/local/bin/ollama", "serve"], "user": "ollama", "home": "/usr/share/ollama",
                   "unit": "ollama.service", "container": False, "env": {"OLLAMA_HOST": "0.0.0.0:11434"},
                   "bind": parse_ollama_host("0.0.0.0:11434")},
                  {"pid": 4242, "argv": ["/usr/local/bin/ollama", "serve"], "user": "ollama",
                   "home": "/usr/share/ollama", "unit": None, "container": False,
                   "env": {"OLLAMA_HOST": "0.0.0.0:11500"}, "bind": parse_ollama_host("0.0.0.0:11500")}],
    "listeners": [{"address": "0.0.0.0", "port": 11434, "family": "ipv4", "scope": "wildcard", "pid": 42,
                   "unit": "ollama.service", "inferred": False},
                  {"address": "0.0.0.0", "port": 11500, "family": "ipv4", "scope": "wildcard", "pid": 4242,
                   "unit": None, "inferred": False}],
    "containers": [{"id": "3f4e1c2a9b8d", "name": "ollama", "image": "ollama/ollama:0.5.7", "state": "running",
                    "ports": [{"ip": "0.0.0.0", "private_port": 11434, "public_port": 11434, "type": "tcp",
                               "exposed": True}]}],
    "other_listeners": [{"address": "0.0.0.0", "port": 22, "family": "ipv4", "scope": "wildcard"}],
}

# Which firewall the host has, as ollama_info returns it (firewall.detect):
# a Debian host with nftables only, Docker running.
DETECT = {
    "tools": {"nft": "/usr/sbin/nft", "iptables": "/usr/sbin/iptables", "ip6tables": "/usr/sbin/ip6tables",
              "ufw": "", "firewall-cmd": ""},
    "units": {"nftables.service": {"loaded": True, "active": False, "enabled": False},
              "docker.service": {"loaded": True, "active": True, "enabled": True}},
    "ufw": {"active": False, "default_incoming": None, "rules": []},
    "firewalld_zone": None,
}

IMAGE_ID = "sha256:" + "a" * 64
# GET /containers/3f4e1c2a9b8d/json, as the Docker API answers it.
INSPECT = {
    "Id": "3f4e1c2a9b8d" + "0" * 52, "Name": "/ollama", "Image": IMAGE_ID,
    "Config": {"Hostname": "3f4e1c2a9b8d", "Env": ["OLLAMA_HOST=0.0.0.0:11434"], "Cmd": ["serve"],
               "Entrypoint": ["/bin/ollama"], "Image": "ollama/ollama:0.5.7", "Labels": {}},
    "HostConfig": {"PortBindings": {"11434/tcp": [{"HostIp": "", "HostPort": "11434"}]},
                   "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0}, "NetworkMode": "default",
                   "LogConfig": {"Type": "json-file", "Config": {}}, "ShmSize": 67108864, "Runtime": "runc"},
    "Mounts": [{"Type": "volume", "Name": "ollama", "Destination": "/root/.ollama", "RW": True}],
    "NetworkSettings": {"Networks": {"bridge": {}}},
}
# ollama_info with docker_inspect: each container with its config and image_id.
DOCKER_READ = {"containers": [dict(FACTS["containers"][0], config=recreate_config(INSPECT), image_id=IMAGE_ID)]}


@pytest.fixture(scope="module")
def loader():
    filter_loader.add_directory(FILTER_PLUGINS)
    return filter_loader


@pytest.mark.parametrize("plugin,names", [
    (ollama_audit, {"ollama_audit_inputs", "ollama_audit_option_sets"}),
    (ollama_bind, {"ollama_bind_backups", "ollama_bind_apply", "ollama_bind_relaunch", "ollama_bind_unsettled",
                   "ollama_bind_health"}),
    (ollama_firewall, {"ollama_firewall_plan", "ollama_firewall_republish", "ollama_firewall_stale",
                       "ollama_firewall_docker_state_file"}),
    (ollama_front, {"ollama_front_credentials"}),
])
def test_every_filter_name_resolves(loader, plugin, names):
    filters = plugin.FilterModule().filters()
    assert set(filters) == names
    for name, function in filters.items():
        assert callable(function), name
        found = loader.get(name)
        assert found is not None, "Ansible's filter loader does not resolve %s" % name
        assert found.j2_function.__name__ == function.__name__, name


# -- ollama_bind ---------------------------------------------------------------------------
BIND = ollama_bind.FilterModule().filters()


def bind_plan(**options):
    """The bind wall's plan as roles/ollama_bind/tasks/main.yml asks for it:
    the role's defaults, then ``options``."""
    with open(os.path.join(FILTER_PLUGINS, "..", "roles", "ollama_bind", "defaults", "main.yml")) as handle:
        values = yaml.safe_load(handle)
    values.update(("ollama_bind_" + k, v) for k, v in options.items())
    context = {"host": "h", "ansible_host": "h", "run_tags": ["all"], "skip_tags": [], "check_mode": False,
               "role_path": os.path.join(FILTER_PLUGINS, "..", "roles", "ollama_bind")}
    return wall_plan(FACTS, "bind", values, context)


def test_bind_plan_rebinds_the_service_on_its_port():
    [item] = bind_plan()["services"]
    assert (item["unit"], item["action"], item["listen"]) == ("ollama.service", "rebind", "127.0.0.1:11434")
    with pytest.raises(AnsibleFilterError, match="ollama_bind_address"):
        bind_plan(address="0.0.0.0")


def test_bind_adoptions_adopt_the_hand_started_server():
    [_service, item] = bind_plan(adopt=True)["services"]
    assert item["pid"] == 4242 and item["listen"] == "127.0.0.1:11500"
    assert item["unit"] == "ollama-11500.service"  # ollama.service is taken


def test_bind_plan_with_adopt_is_the_whole_host_plan_and_its_steps():
    whole = bind_plan(adopt=True, backup_dir="/var/backups/t")
    plan, steps = whole["services"], whole["steps"]
    assert [(i["unit"], i["action"]) for i in plan] == [("ollama.service", "rebind"), ("ollama-11500.service", "adopt")]
    assert [i["unit"] for i in steps["rebind"]] == ["ollama.service"] and steps["adopt"] == plan[1:]
    to_back_up = BIND["ollama_bind_backups"]({"results": [{"__ollama_bind_item": plan[0], "stat": {"exists": False}}]})
    assert to_back_up["services"] == plan[:1]
    env = {"results": [{"__ollama_bind_item": plan[0], "changed": True, "dest": plan[0]["env_file"]}]}
    applied = BIND["ollama_bind_apply"](steps, env, {}, restart=True)
    assert applied["restarts"] == plan[:1] and applied["created"] == [plan[0]["env_file"]]
    argv = BIND["ollama_bind_relaunch"](plan[1])
    assert argv[:6] == ["sh", "-c", 'exec "$@" </dev/null >/dev/null 2>&1', "sh", "setsid", "-f"]
    with pytest.raises(AnsibleFilterError, match="adoption record"):
        BIND["ollama_bind_relaunch"]({"uid": 0})


def test_bind_unsettled_and_health_after_the_restart():
    items = [{"unit": "ollama.service", "port": 11434, "running": True}]
    after = {"services": [{"name": "ollama.service", "active_state": "active"}],
             "listeners": [{"unit": "ollama.service", "address": "127.0.0.1", "port": 11434, "scope": "loopback"}],
             "installs": [{"subject": "ollama.service", "kind": "service", "version": "0.12.3", "reason": None}]}
    assert BIND["ollama_bind_unsettled"](after["listeners"], items) == []
    assert BIND["ollama_bind_unsettled"](FACTS["listeners"], items) == [
        "ollama.service: still listening on 0.0.0.0:11434"]
    assert BIND["ollama_bind_health"](after, items) == []


# -- ollama_firewall -------------------------------------------------------------------------
FW = ollama_firewall.FilterModule().filters()


@pytest.fixture
def fw_plan():
    return FW["ollama_firewall_plan"](FACTS, DETECT, backend="auto")


def test_firewall_plan_installs_only_without_a_firewall_tool():
    assert FW["ollama_firewall_plan"](FACTS, DETECT, install=True)["install"] == []
    bare = dict(DETECT, tools=dict((tool, "") for tool in DETECT["tools"]))
    assert FW["ollama_firewall_plan"](FACTS, bare, install=True)["install"] == ["nftables"]
    with pytest.raises(AnsibleFilterError, match="ollama_firewall_install"):
        FW["ollama_firewall_plan"](FACTS, bare)


def test_firewall_plan_closes_every_ollama_port(fw_plan):
    assert fw_plan["backend"] == "nftables"
    assert fw_plan["ports"] == [11434, 11500]
    assert [d["port"] for d in fw_plan["docker"]] == [11434]
    assert fw_plan["act"] is True and fw_plan["persist"] is True
    with pytest.raises(AnsibleFilterError):
        FW["ollama_firewall_plan"](FACTS, DETECT, backend="pf")


def test_firewall_plan_carries_what_the_tasks_apply(fw_plan):
    assert "table inet ollama_exposure_toolkit {" in fw_plan["nftables"]
    rules = fw_plan["iptables"]["ipv4"]
    assert rules and all(r["line"].startswith("-A OLLAMA-TOOLKIT") for r in rules)
    assert FW["ollama_firewall_stale"](["-N OLLAMA-TOOLKIT"] + [r["line"] for r in rules], rules) is False
    docker = fw_plan["docker_user_rules"]["ipv4"]
    assert docker and any("11434" in str(r) for r in docker)
    assert any("11434" in r["port"] for r in fw_plan["ufw_rules"])
    assert 'rule port port="11434" protocol="tcp" drop' in fw_plan["rich_rules"]
    assert fw_plan["docker_state_file"] is None
    assert FW["ollama_firewall_docker_state_file"]("/srv/t/fw.json") == "/srv/t/docker-republish.json"


def test_firewall_plan_takes_every_argument_the_role_passes():
    """As roles/ollama_firewall/tasks/plan.yml calls it."""
    p = FW["ollama_firewall_plan"](FACTS, DETECT, backend="auto", ports=[], front_enabled=True, front_port=11443,
                                   front_sources=["0.0.0.0/0", "::/0"], ssh_port=22, docker_user=True,
                                   ufw_enable=False, ssh_allow=False, docker_republish=False, install=False,
                                   firewalld_zone="", state_file="/srv/t/fw.json", before={"ports": [11434]})
    assert p["before"] == {"ports": [11434]} and p["docker_state_file"] == "/srv/t/docker-republish.json"


def test_firewall_republish_from_ollama_infos_read(fw_plan):
    planned = FW["ollama_firewall_republish"](fw_plan, FACTS, DOCKER_READ)
    [entry] = planned["republish"]
    assert planned["republish_refused"] == []
    assert entry["action"] == "republish" and entry["port"] == 11434
    assert entry["options"]["published_ports"] == ["127.0.0.1:11434:11434"]
    assert entry["original"]["published_ports"] == ["11434:11434"]
    assert planned["docker"] == [] and planned["ports"] == fw_plan["ports"]
    assert planned["docker_user_rules"] == {"ipv4": [], "ipv6": []}
    # A container the read does not describe is refused, its DOCKER-USER rule kept.
    refused = FW["ollama_firewall_republish"](fw_plan, FACTS, {"containers": []})
    assert refused["republish"] == [] and refused["docker"] == fw_plan["docker"]
    assert refused["republish_refused"][0]["reason"] == "the Docker API did not describe it"


# -- ollama_front ----------------------------------------------------------------------------
def test_front_credentials_hash_on_the_controller():
    credentials = [{"name": "alice", "password": "correct horse battery"},
                   {"name": "ci", "role": "admin", "api_key": "k" * 32}]
    made = ollama_front.FilterModule().filters()["ollama_front_credentials"](credentials, "web-1")
    [line] = made["users_htpasswd"]
    assert line.startswith("alice:$6$") and "correct horse" not in line
    assert made["api_keys"] == [{"name": "ci", "role": "admin", "key": "k" * 32}]
    assert made["names"] == {"alice": "user", "ci": "admin"}
    with pytest.raises(AnsibleFilterError, match="ollama_front_credentials: credential bob") as err:
        ollama_front.FilterModule().filters()["ollama_front_credentials"]([{"name": "bob", "password": "tooShort1"}],
                                                                         "web-1")
    assert "tooShort1" not in str(err.value)  # errors never quote a secret


def test_front_plan_through_the_wall_plan_filter():
    from ansible_collections.ollama_toolkit.exposure.plugins.filter.wall_plan import wall_plan
    context = {"host": "web-1", "ansible_host": "web-1", "run_tags": ["all"], "skip_tags": [], "check_mode": False,
               "role_path": os.path.join(os.path.dirname(__file__), "..", "..", "roles", "ollama_front"), "endpoints": [], "ciphers": "",
               "files": [], "stamp_paths": [], "families": {}}
    plan = wall_plan(FACTS, "front", {"ollama_front_listen": ["0.0.0.0", "[::]"], "ollama_front_port": 11443}, context)
    assert (plan["upstream_port"], plan["host_header"], plan["remove_default"], plan["upstream_max_conns"]) == (
        11434, "127.0.0.1:11434", False, 515)
    assert plan["check"]["url"] == "https://127.0.0.1:11443/api/version"
    with pytest.raises(AnsibleFilterError, match="ollama_front_credentials: credential bob") as err:
        wall_plan(FACTS, "front", {"ollama_front_credentials": [{"name": "bob", "password": "tooShort1"}]}, context)
    assert "tooShort1" not in str(err.value)


# -- ollama_audit ----------------------------------------------------------------------------
def test_audit_inputs_through_ansibles_hostvars(tmp_path):
    """The filter gets Ansible's HostVars (a lazy mapping of lazy mappings)."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.hostvars import HostVars
    from ansible.vars.manager import VariableManager

    inventory_file = tmp_path / "hosts.ini"
    inventory_file.write_text("a\nb\n")
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(inventory_file)])
    variables = VariableManager(loader=loader, inventory=inventory)
    variables.set_host_facts("a", {"ollama_audit_facts": FACTS})
    variables.set_host_variable("b", "ollama_audit_probe_addresses", ["10.0.0.2"])
    hostvars = HostVars(inventory=inventory, variable_manager=variables, loader=loader)
    inputs = ollama_audit.FilterModule().filters()["ollama_audit_inputs"]
    assert inputs(hostvars, ["a", "b"], {}, "results") == {"a": FACTS, "b": {}}
    assert inputs(hostvars, ["a", "b"], {"a": "skipped"}, "addresses") == {"b": ["10.0.0.2"]}
    with pytest.raises(AnsibleFilterError, match="unknown part"):
        inputs(hostvars, ["a"], {}, "facts")
