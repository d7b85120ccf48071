# -*- coding: utf-8 -*-
"""The opt-in that recreates Docker-published Ollama containers on 127.0.0.1:
docker_container options from ``GET /containers/{id}/json``, and the plan."""

import copy

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_docker_republish import (
    container_options, env_dict, ollama_container_port, publish_spec, published_ports, republish_plan)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_firewall import (
    as_bool, drop_republished, plan)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_docker import recreate_config
from filter_plugins import ollama_firewall as firewall_filters

IMAGE_ID = "sha256:" + "a" * 64

# What Docker 20.10 answers for
#   docker run -d --name ollama --restart unless-stopped --gpus all -p 11434:11434 -p 8080:8080
#     -e OLLAMA_HOST=0.0.0.0:11434 -v ollama:/root/.ollama -v /srv/cfg:/cfg:ro ollama/ollama:0.5.7
INSPECT = {
    "Id": "3f4e1c2a9b8d" + "0" * 52,
    "Name": "/ollama",
    "Image": IMAGE_ID,
    "Config": {
        "Hostname": "3f4e1c2a9b8d",
        "Env": ["OLLAMA_HOST=0.0.0.0:11434", "PATH=/usr/local/sbin:/usr/bin", "HF_TOKEN=a=b"],
        "Cmd": ["serve"],
        "Entrypoint": ["/bin/ollama"],
        "Image": "ollama/ollama:0.5.7",
        "Labels": {"org.opencontainers.image.version": "0.5.7"},
        "WorkingDir": "",
        "User": "",
        "Tty": False,
        "OpenStdin": False,
        "ExposedPorts": {"11434/tcp": {}, "8080/tcp": {}},
    },
    "HostConfig": {
        "PortBindings": {"11434/tcp": [{"HostIp": "", "HostPort": "11434"}],
                         "8080/tcp": [{"HostIp": "", "HostPort": "8080"}]},
        "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
        "NetworkMode": "default",
        "DeviceRequests": [{"Driver": "", "Count": -1, "DeviceIDs": None, "Capabilities": [["gpu"]],
                            "Options": {}}],
        "Devices": [],
        "CapAdd": None, "CapDrop": None, "Privileged": False, "SecurityOpt": None,
        "ShmSize": 67108864, "Runtime": "runc", "Init": None,
        "LogConfig": {"Type": "json-file", "Config": {}},
        "IpcMode": "private", "PidMode": "", "UTSMode": "", "UsernsMode": "",
        "Links": None, "VolumesFrom": None, "Tmpfs": None, "Sysctls": None, "AutoRemove": False,
        "Dns": [], "DnsSearch": [], "DnsOptions": [], "ExtraHosts": None, "GroupAdd": None,
        "Memory": 0, "MemorySwap": 0, "NanoCpus": 0, "CpuShares": 0, "PidsLimit": None,
        "ReadonlyRootfs": False, "PublishAllPorts": False, "Ulimits": None,
    },
    "Mounts": [
        {"Type": "volume", "Name": "ollama", "Source": "/var/lib/docker/volumes/ollama/_data",
         "Destination": "/root/.ollama", "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""},
        {"Type": "bind", "Source": "/srv/cfg", "Destination": "/cfg", "Mode": "ro", "RW": False,
         "Propagation": "rprivate"},
    ],
    "NetworkSettings": {"Networks": {"bridge": {"Aliases": None, "IPAMConfig": None}}},
}

FACTS_CONTAINER = {
    "id": "3f4e1c2a9b8d", "name": "ollama", "image": "ollama/ollama:0.5.7", "state": "running",
    "ports": [{"ip": "0.0.0.0", "private_port": 11434, "public_port": 11434, "type": "tcp", "exposed": True},
              {"ip": "::", "private_port": 11434, "public_port": 11434, "type": "tcp", "exposed": True},
              {"ip": "0.0.0.0", "private_port": 8080, "public_port": 8080, "type": "tcp", "exposed": True}],
}


def variant(**changes):
    """INSPECT with dotted paths changed (``HostConfig__Links=[...]``)."""
    data = copy.deepcopy(INSPECT)
    for key, value in changes.items():
        section, _sep, name = key.partition("__")
        if name:
            data[section][name] = value
        else:
            data[section] = value
    return data


def test_publish_spec_speaks_docker_cli_syntax():
    assert publish_spec("", "11434", "11434/tcp") == "11434:11434"
    assert publish_spec("127.0.0.1", "11434", "11434/tcp") == "127.0.0.1:11434:11434"
    assert publish_spec("::", "8080", "80/tcp") == "[::]:8080:80"
    assert publish_spec("127.0.0.1", "", "11434/tcp") == "127.0.0.1::11434"
    assert publish_spec("", "53", "53/udp") == "53:53/udp"
    assert publish_spec("", "", "11434/tcp") == "11434"


def test_published_ports_moves_only_ollamas_port_to_loopback():
    bindings = {"11434/tcp": [{"HostIp": "", "HostPort": "11434"}, {"HostIp": "::", "HostPort": "11434"}],
                "8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
                "9000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "9000"}]}
    assert sorted(published_ports(bindings)) == sorted(["11434:11434", "[::]:11434:11434", "0.0.0.0:8080:8080",
                                                        "127.0.0.1:9000:9000"])
    moved = published_ports(bindings, 11434)
    assert sorted(moved) == sorted(["127.0.0.1:11434:11434", "0.0.0.0:8080:8080", "127.0.0.1:9000:9000"])
    assert published_ports({}, 11434) == []


def test_env_dict_keeps_values_with_equal_signs():
    assert env_dict(["A=1", "B=x=y", "C=", "junk", None]) == {"A": "1", "B": "x=y", "C": ""}


def test_container_options_carry_what_matters_for_ollama():
    opts, problems = container_options(INSPECT)
    assert problems == []
    assert opts["name"] == "ollama"
    assert opts["image"] == "ollama/ollama:0.5.7"
    assert opts["command"] == ["serve"] and opts["entrypoint"] == ["/bin/ollama"]
    assert opts["env"]["OLLAMA_HOST"] == "0.0.0.0:11434" and opts["env"]["HF_TOKEN"] == "a=b"
    assert opts["labels"] == {"org.opencontainers.image.version": "0.5.7"}
    assert opts["mounts"] == [
        {"type": "volume", "source": "ollama", "target": "/root/.ollama", "read_only": False},
        {"type": "bind", "source": "/srv/cfg", "target": "/cfg", "read_only": True}]
    assert sorted(opts["published_ports"]) == ["11434:11434", "8080:8080"]
    assert opts["restart_policy"] == "unless-stopped" and "restart_retries" not in opts
    assert opts["device_requests"] == [{"count": -1, "capabilities": [["gpu"]]}]
    assert opts["network_mode"] == "default" and "networks" not in opts
    # Defaults are not written out: the generated hostname, shm size, runc, IPC.
    for key in ("hostname", "shm_size", "runtime", "ipc_mode", "user", "working_dir", "privileged", "devices"):
        assert key not in opts, key
    assert opts["log_driver"] == "json-file" and "log_options" not in opts


def test_container_options_carry_networks_devices_and_run_options():
    data = variant(
        HostConfig__NetworkMode="llm",
        HostConfig__Devices=[{"PathOnHost": "/dev/kfd", "PathInContainer": "/dev/kfd", "CgroupPermissions": "rwm"}],
        HostConfig__RestartPolicy={"Name": "on-failure", "MaximumRetryCount": 3},
        HostConfig__CapAdd=["SYS_NICE"], HostConfig__ShmSize=1073741824, HostConfig__Runtime="nvidia",
        HostConfig__IpcMode="host", HostConfig__ExtraHosts=["db:10.0.0.5", "v6:fd00::1"],
        HostConfig__Memory=8 * 2 ** 30, HostConfig__MemorySwap=16 * 2 ** 30, HostConfig__NanoCpus=2500000000,
        HostConfig__Ulimits=[{"Name": "memlock", "Soft": -1, "Hard": -1}], HostConfig__Init=True,
        Config__Hostname="llm-box", Config__User="1000:1000", Config__WorkingDir="/work",
        NetworkSettings={"Networks": {"llm": {"Aliases": ["3f4e1c2a9b8d", "ollama", "llm"],
                                              "IPAMConfig": {"IPv4Address": "172.30.0.10"}}}})
    opts, problems = container_options(data)
    assert problems == []
    assert opts["network_mode"] == "llm"
    assert opts["networks"] == [{"name": "llm", "aliases": ["llm"], "ipv4_address": "172.30.0.10"}]
    assert opts["devices"] == ["/dev/kfd:/dev/kfd:rwm"]
    assert opts["restart_policy"] == "on-failure" and opts["restart_retries"] == 3
    assert opts["capabilities"] == ["SYS_NICE"] and opts["shm_size"] == "1073741824"
    assert opts["runtime"] == "nvidia" and opts["ipc_mode"] == "host" and opts["init"] is True
    assert opts["etc_hosts"] == {"db": "10.0.0.5", "v6": "fd00::1"}
    assert opts["memory"] == str(8 * 2 ** 30) and "memory_swap" not in opts and opts["cpus"] == 2.5
    assert opts["ulimits"] == ["memlock:-1:-1"]
    assert opts["hostname"] == "llm-box" and opts["user"] == "1000:1000" and opts["working_dir"] == "/work"


@pytest.mark.parametrize("changes, words", [
    ({"Config__Labels": {"com.docker.compose.project": "llm"}}, ["Docker Compose", "llm", "127.0.0.1", "compose"]),
    ({"Config__Labels": {"com.docker.swarm.service.id": "x"}}, ["Swarm"]),
    ({"HostConfig__Links": ["/db:/ollama/db"]}, ["--link"]),
    ({"HostConfig__VolumesFrom": ["data"]}, ["--volumes-from"]),
    ({"HostConfig__Tmpfs": {"/tmp": ""}}, ["--tmpfs"]),
    ({"HostConfig__AutoRemove": True}, ["--rm"]),
    ({"HostConfig__Sysctls": {"net.core.somaxconn": "1024"}}, ["sysctls"]),
    ({"Config__Healthcheck": {"Test": ["CMD", "ollama", "ls"]}}, ["health check"]),
    ({"HostConfig__NetworkMode": "container:vpn"}, ["container:vpn"]),
    ({"HostConfig__PidMode": "container:x"}, ["--pid"]),
    ({"Mounts": [{"Type": "tmpfs", "Destination": "/scratch"}]}, ["tmpfs mount at /scratch"]),
])
def test_container_options_name_what_they_cannot_carry(changes, words):
    _opts, problems = container_options(variant(**changes))
    text = "; ".join(problems)
    for word in words:
        assert word in text


def test_a_healthcheck_disabled_is_not_a_problem():
    _opts, problems = container_options(variant(Config__Healthcheck={"Test": ["NONE"]}))
    assert problems == []


def test_ollama_container_port_from_ollama_host_or_the_only_published_port():
    assert ollama_container_port(INSPECT, [11434, 8080]) == (11434, None)
    moved = variant(Config__Env=["OLLAMA_HOST=0.0.0.0:8080"])
    assert ollama_container_port(moved, [11434, 8080]) == (8080, None)
    odd = variant(Config__Env=[], HostConfig__PortBindings={"5000/tcp": [{"HostIp": "", "HostPort": "80"}]})
    assert ollama_container_port(odd, [5000]) == (5000, None)
    two = variant(Config__Env=[], HostConfig__PortBindings={"5000/tcp": [], "6000/tcp": []})
    port, problem = ollama_container_port(two, [5000, 6000])
    assert port is None and "5000, 6000" in problem


def test_republish_plan_recreates_on_loopback_and_keeps_the_original():
    entries = republish_plan([FACTS_CONTAINER], {"3f4e1c2a9b8d": INSPECT}, {"ollama/ollama:0.5.7": IMAGE_ID})
    assert len(entries) == 1
    entry = entries[0]
    assert entry["action"] == "republish" and entry["port"] == 11434 and entry["host_ports"] == [8080, 11434]
    assert sorted(entry["options"]["published_ports"]) == ["127.0.0.1:11434:11434", "8080:8080"]
    assert sorted(entry["original"]["published_ports"]) == ["11434:11434", "8080:8080"]
    assert entry["options"]["mounts"] == entry["original"]["mounts"]
    assert entry["options"]["image"] == "ollama/ollama:0.5.7"
    assert "127.0.0.1" in entry["reason"]


def test_republish_plan_keeps_the_running_image_when_the_tag_moved_or_is_gone():
    for now in ("sha256:" + "b" * 64, None):
        entry = republish_plan([FACTS_CONTAINER], {"3f4e1c2a9b8d": INSPECT}, {"ollama/ollama:0.5.7": now})[0]
        assert entry["options"]["image"] == IMAGE_ID and entry["original"]["image"] == IMAGE_ID


def test_republish_plan_skips_loopback_and_refuses_with_reasons():
    local = dict(FACTS_CONTAINER, ports=[{"ip": "127.0.0.1", "private_port": 11434, "public_port": 11434}])
    assert republish_plan([local], {"3f4e1c2a9b8d": INSPECT}) == []
    assert republish_plan([dict(FACTS_CONTAINER, ports=[{"private_port": 11434}])], {}) == []
    missing = republish_plan([FACTS_CONTAINER], {"3f4e1c2a9b8d": None})[0]
    assert missing["action"] == "refuse" and "Docker API" in missing["reason"]
    compose = variant(Config__Labels={"com.docker.compose.project": "llm"})
    refused = republish_plan([FACTS_CONTAINER], {"3f4e1c2a9b8d": compose})[0]
    assert refused["action"] == "refuse" and "compose file" in refused["reason"] and "options" not in refused
    assert republish_plan(None, None) == [] and republish_plan("junk", {}) == []


def test_as_bool_accepts_booleans_and_their_spellings_only():
    assert as_bool(True) is True and as_bool("yes") is True and as_bool("1") is True and as_bool(1) is True
    assert as_bool(False) is False and as_bool("False") is False and as_bool(0) is False
    assert as_bool("maybe") is None and as_bool(None) is None and as_bool([]) is None


STATE = {"tools": {"nft": "/usr/sbin/nft", "iptables": "/usr/sbin/iptables"}, "units": {}, "ufw": {}}


def test_plan_rejects_a_bad_republish_flag_naming_it():
    with pytest.raises(ValueError) as err:
        plan({}, STATE, docker_republish="maybe", front_port=0)
    assert "ollama_firewall_docker_republish" in str(err.value) and "ollama_firewall_front_port" in str(err.value)
    assert plan({}, STATE, docker_republish="true")["docker_republish"] is True
    assert plan({}, STATE)["docker_republish"] is False


def test_drop_republished_leaves_the_others_in_docker_user():
    other = {"id": "b", "name": "other", "ports": [{"ip": "0.0.0.0", "private_port": 11434, "public_port": 11500}]}
    facts = {"containers": [FACTS_CONTAINER, other]}
    full = plan(facts, STATE)
    assert [d["port"] for d in full["docker"]] == [8080, 11434, 11500]
    assert [d["port"] for d in drop_republished(full, facts, ["ollama"])["docker"]] == [11500]
    assert full["docker"] and drop_republished(full, facts, [])["docker"] == full["docker"]
    assert drop_republished(plan(facts, STATE, docker_user=False), facts, ["ollama"])["docker"] == []


def load_filters():
    return firewall_filters.FilterModule().filters()


def read_of(*pairs):
    """ollama_info's result with docker_inspect: (container facts, inspect or None, image id)."""
    return {"containers": [dict(ctr, config=recreate_config(inspect) if inspect else None, image_id=image)
                           for ctr, inspect, image in pairs]}


def test_republish_filter_plans_from_ollama_infos_read():
    filters = load_filters()
    gone = dict(FACTS_CONTAINER, id="gone", name="gone")
    facts = {"containers": [FACTS_CONTAINER, gone]}
    read = read_of((FACTS_CONTAINER, INSPECT, "sha256:" + "c" * 64), (gone, None, None))
    planned = filters["ollama_firewall_republish"](plan(facts, STATE), facts, read)
    assert [e["name"] for e in planned["republish"]] == ["ollama"]
    assert [e["name"] for e in planned["republish_refused"]] == ["gone"]
    assert planned["republish"][0]["options"]["image"] == IMAGE_ID  # the tag moved: the running image is kept
    # The image name still points to the running image: the name is kept.
    same = filters["ollama_firewall_republish"](plan(facts, STATE), facts, read_of((FACTS_CONTAINER, INSPECT, IMAGE_ID)))
    assert same["republish"][0]["options"]["image"] == "ollama/ollama:0.5.7"
    # The republished container leaves DOCKER-USER; the one refused stays there.
    assert [d["container"] for d in planned["docker"]] == ["gone"] * len(planned["docker"])


def test_recreate_config_keeps_what_the_planner_reads():
    """ollama_info returns recreate_config(inspect), not the whole inspect: the
    planner must plan the same from it."""
    full = copy.deepcopy(INSPECT)
    full["State"] = {"Status": "running", "Pid": 4242}
    full["NetworkSettings"]["Ports"] = {"11434/tcp": [{"HostIp": "0.0.0.0", "HostPort": "11434"}]}
    kept = recreate_config(full)
    assert "State" not in kept and "Ports" not in kept["NetworkSettings"]
    assert container_options(kept) == container_options(full)
    images = {"ollama/ollama:0.5.7": IMAGE_ID}
    assert republish_plan([FACTS_CONTAINER], {"3f4e1c2a9b8d": kept}, images) == \
        republish_plan([FACTS_CONTAINER], {"3f4e1c2a9b8d": full}, images)
