# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker: recreate the Ollama containers published off loopback with their
Ollama port on 127.0.0.1 only (the ollama_firewall role's opt-in).

The planner runs on the controller (filter ``ollama_firewall_republish``);
what the containers are is read on the host by
plugins/module_utils/ollama_docker.py. All of it is pure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_docker import OLLAMA_PORT


# -- republishing on loopback (the ollama_firewall role's opt-in) ----------------
# Pure: from ``GET /containers/{id}/json`` (and the image the container's tag
# names now) to community.docker.docker_container options that recreate the
# container as it is, with its Ollama port published on 127.0.0.1 only.
LOOPBACK_HOST = "127.0.0.1"
COMPOSE_LABEL = "com.docker.compose.project"
SWARM_LABEL = "com.docker.swarm.service.id"
DEFAULT_SHM_SIZE = 64 * 1024 * 1024

# Settings the recreation does not carry over: when a container has one of
# them (not at Docker's default), it is refused rather than recreated without it.
UNSUPPORTED = (
    ("HostConfig", "Links", "links (--link)"),
    ("HostConfig", "VolumesFrom", "--volumes-from"),
    ("HostConfig", "Sysctls", "sysctls"),
    ("HostConfig", "Tmpfs", "--tmpfs mounts"),
    ("HostConfig", "AutoRemove", "--rm"),
    ("HostConfig", "UTSMode", "--uts"),
    ("HostConfig", "UsernsMode", "--userns"),
    ("HostConfig", "CgroupParent", "--cgroup-parent"),
    ("HostConfig", "GroupAdd", "--group-add"),
    ("HostConfig", "Dns", "--dns"),
    ("HostConfig", "DnsSearch", "--dns-search"),
    ("HostConfig", "DnsOptions", "--dns-option"),
    ("HostConfig", "PidsLimit", "--pids-limit"),
    ("HostConfig", "CpuShares", "--cpu-shares"),
    ("HostConfig", "CpuQuota", "--cpu-quota"),
    ("HostConfig", "CpusetCpus", "--cpuset-cpus"),
    ("HostConfig", "CpusetMems", "--cpuset-mems"),
    ("HostConfig", "MemoryReservation", "--memory-reservation"),
    ("HostConfig", "OomKillDisable", "--oom-kill-disable"),
    ("HostConfig", "ReadonlyRootfs", "--read-only"),
    ("HostConfig", "PublishAllPorts", "--publish-all"),
    ("HostConfig", "VolumeDriver", "--volume-driver"),
    ("HostConfig", "StorageOpt", "--storage-opt"),
    ("HostConfig", "DeviceCgroupRules", "--device-cgroup-rule"),
    ("Config", "Healthcheck", "a health check"),
    ("Config", "MacAddress", "--mac-address"),
    ("Config", "OnBuild", "ONBUILD triggers"),
)


def _is_loopback_ip(address):
    address = (address if isinstance(address, str) else "").strip("[]")
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _dict(value):
    return value if isinstance(value, dict) else {}


def _list(value):
    return value if isinstance(value, list) else []


def _set(value):
    """Whether a Docker setting differs from its default (empty, false, zero)."""
    if isinstance(value, dict) and "Test" in value:
        return _list(value.get("Test"))[:1] not in ([], ["NONE"])
    return bool(value) and value not in ("0", "private", "no")


def env_dict(env):
    """``Config.Env`` (``KEY=value`` strings) as a dict; the last one wins."""
    found = {}
    for item in _list(env):
        if isinstance(item, str) and "=" in item:
            key, _sep, value = item.partition("=")
            found[key] = value
    return found


def publish_spec(host_ip, host_port, container_port):
    """One binding in docker CLI syntax (``[IP:]HOST_PORT:PORT[/udp]``)."""
    port, _sep, proto = container_port.partition("/")
    suffix = "" if proto in ("", "tcp") else "/" + proto
    ip = host_ip or ""
    if ":" in ip:
        ip = "[%s]" % ip.strip("[]")
    host_port = host_port or ""
    if not ip:
        return "%s:%s%s" % (host_port, port, suffix) if host_port else "%s%s" % (port, suffix)
    return "%s:%s:%s%s" % (ip, host_port, port, suffix)


def published_ports(port_bindings, ollama_port=None):
    """docker_container ``published_ports`` for ``HostConfig.PortBindings``;
    with ``ollama_port``, that container port's bindings move to 127.0.0.1
    (keeping their host ports), the others are unchanged."""
    specs = []
    for container_port in sorted(_dict(port_bindings), key=lambda k: (int(k.partition("/")[0]) if
                                                                    k.partition("/")[0].isdigit() else 0, k)):
        for binding in _list(port_bindings[container_port]) or [{}]:
            binding = _dict(binding)
            host_ip, host_port = binding.get("HostIp") or "", binding.get("HostPort") or ""
            if ollama_port is not None and container_port == "%d/tcp" % ollama_port and not _is_loopback_ip(host_ip):
                host_ip = LOOPBACK_HOST
            spec = publish_spec(host_ip, host_port, container_port)
            if spec not in specs:
                specs.append(spec)
    return specs


def container_options(inspect):
    """(docker_container options that recreate the container as it is, problems).

    Carries the name, image, command and entrypoint, environment, labels,
    mounts (bind mounts and volumes, by name: the models stay), published
    ports, restart policy, GPU device requests and devices, networks (with
    aliases and fixed addresses), and the usual run options (user, working
    directory, hostname, capabilities, security options, shm size, runtime,
    init, logging, extra hosts, memory, CPUs, ulimits, IPC and PID modes,
    stop signal and timeout). ``problems`` lists what it cannot carry.
    """
    config, host = _dict(inspect.get("Config")), _dict(inspect.get("HostConfig"))
    problems = []
    labels = _dict(config.get("Labels"))
    name = (inspect.get("Name") or "").lstrip("/")
    if labels.get(COMPOSE_LABEL):
        problems.append("managed by Docker Compose (project %s): publish it on 127.0.0.1 in the compose file "
                        "(ports: [\"127.0.0.1:HOST_PORT:11434\"]) and run `docker compose up -d`"
                        % labels[COMPOSE_LABEL])
    if labels.get(SWARM_LABEL):
        problems.append("a task of a Swarm service: publish the service on 127.0.0.1 instead")
    for section, key, label in UNSUPPORTED:
        if _set(_dict(inspect.get(section)).get(key)):
            problems.append("it uses %s, which the recreation does not carry over" % label)
    network_mode = host.get("NetworkMode") or "default"
    if network_mode.startswith("container:"):
        problems.append("it shares another container's network (--network %s)" % network_mode)
    for key, flag in (("IpcMode", "--ipc"), ("PidMode", "--pid")):
        mode = host.get(key) or ""
        if mode not in ("", "private", "shareable", "host"):
            problems.append("it uses %s %s" % (flag, mode))
    opts = {"name": name, "image": config.get("Image") or inspect.get("Image")}
    if config.get("Cmd") is not None:
        opts["command"] = _list(config.get("Cmd"))
    if config.get("Entrypoint") is not None:
        opts["entrypoint"] = _list(config.get("Entrypoint"))
    opts["env"] = env_dict(config.get("Env"))
    opts["labels"] = dict((k, v if isinstance(v, str) else str(v)) for k, v in labels.items())
    mounts = []
    for mount in _list(inspect.get("Mounts")):
        mount = _dict(mount)
        kind = mount.get("Type")
        item = {"type": kind, "target": mount.get("Destination"), "read_only": not mount.get("RW", True)}
        if kind == "bind":
            item["source"] = mount.get("Source")
            if mount.get("Propagation") not in (None, "", "rprivate"):
                item["propagation"] = mount.get("Propagation")
        elif kind == "volume":
            item["source"] = mount.get("Name")
        else:
            problems.append("it has a %s mount at %s" % (kind, mount.get("Destination")))
            continue
        mounts.append(item)
    opts["mounts"] = mounts
    opts["published_ports"] = published_ports(host.get("PortBindings"))
    restart = _dict(host.get("RestartPolicy"))
    opts["restart_policy"] = restart.get("Name") or "no"
    if opts["restart_policy"] == "on-failure" and restart.get("MaximumRetryCount"):
        opts["restart_retries"] = restart.get("MaximumRetryCount")
    requests = []
    for req in _list(host.get("DeviceRequests")):
        req = _dict(req)
        item = {"driver": req.get("Driver") or "", "count": req.get("Count") or 0,
                "device_ids": _list(req.get("DeviceIDs")), "capabilities": _list(req.get("Capabilities")),
                "options": _dict(req.get("Options"))}
        requests.append(dict((k, v) for k, v in item.items() if v not in ("", [], {}) or k == "count"))
    if requests:
        opts["device_requests"] = requests
    devices = ["%s:%s:%s" % (d.get("PathOnHost"), d.get("PathInContainer"), d.get("CgroupPermissions") or "rwm")
               for d in (_dict(x) for x in _list(host.get("Devices")))]
    if devices:
        opts["devices"] = devices
    opts["network_mode"] = network_mode
    networks = []
    for net_name, net in sorted(_dict(_dict(inspect.get("NetworkSettings")).get("Networks")).items()):
        if net_name in ("bridge", "host", "none") or network_mode in ("host", "none"):
            continue
        net = _dict(net)
        ident = (inspect.get("Id") or "")[:12]
        item = {"name": net_name}
        aliases = [a for a in _list(net.get("Aliases")) if a not in (ident, name)]
        if aliases:
            item["aliases"] = aliases
        ipam = _dict(net.get("IPAMConfig"))
        for key, opt in (("IPv4Address", "ipv4_address"), ("IPv6Address", "ipv6_address")):
            if ipam.get(key):
                item[opt] = ipam[key]
        networks.append(item)
    if networks:
        opts["networks"] = networks
    if config.get("Hostname") and config.get("Hostname") != (inspect.get("Id") or "")[:12] and \
            network_mode != "host":
        opts["hostname"] = config["Hostname"]
    for key, opt in (("Domainname", "domainname"), ("User", "user"), ("WorkingDir", "working_dir"),
                     ("StopSignal", "stop_signal"), ("StopTimeout", "stop_timeout")):
        if config.get(key):
            opts[opt] = config[key]
    for key, opt in (("Tty", "tty"), ("OpenStdin", "interactive")):
        if config.get(key):
            opts[opt] = True
    for key, opt in (("CapAdd", "capabilities"), ("CapDrop", "cap_drop"), ("SecurityOpt", "security_opts")):
        if _list(host.get(key)):
            opts[opt] = _list(host.get(key))
    if host.get("Privileged"):
        opts["privileged"] = True
    if host.get("Init"):
        opts["init"] = True
    if host.get("ShmSize") and host.get("ShmSize") != DEFAULT_SHM_SIZE:
        opts["shm_size"] = str(host["ShmSize"])
    if host.get("Runtime") not in (None, "", "runc"):
        opts["runtime"] = host["Runtime"]
    log = _dict(host.get("LogConfig"))
    if log.get("Type"):
        opts["log_driver"] = log["Type"]
        if _dict(log.get("Config")):
            opts["log_options"] = _dict(log.get("Config"))
    hosts = {}
    for entry in _list(host.get("ExtraHosts")):
        key, _sep, value = (entry or "").partition(":")
        if key and value:
            hosts[key] = value
    if hosts:
        opts["etc_hosts"] = hosts
    if host.get("Memory"):
        opts["memory"] = str(host["Memory"])
        if host.get("MemorySwap") not in (None, 0, 2 * host["Memory"]):
            opts["memory_swap"] = str(host["MemorySwap"])
    if host.get("NanoCpus"):
        opts["cpus"] = host["NanoCpus"] / 1e9
    ulimits = ["%s:%s:%s" % (u.get("Name"), u.get("Soft"), u.get("Hard"))
               for u in (_dict(x) for x in _list(host.get("Ulimits")))]
    if ulimits:
        opts["ulimits"] = ulimits
    for key, opt in (("IpcMode", "ipc_mode"), ("PidMode", "pid_mode")):
        if host.get(key) == "host":
            opts[opt] = "host"
    return opts, problems


def ollama_container_port(inspect, exposed_ports):
    """(container port of Ollama, problem): OLLAMA_HOST's port when published,
    else the only container port published off loopback."""
    from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import (  # pylint: disable=import-outside-toplevel
        parse_ollama_host)
    env = env_dict(_dict(inspect.get("Config")).get("Env"))
    port = parse_ollama_host(env["OLLAMA_HOST"])["port"] if "OLLAMA_HOST" in env else OLLAMA_PORT
    bindings = _dict(_dict(inspect.get("HostConfig")).get("PortBindings"))
    if "%d/tcp" % port in bindings:
        return port, None
    exposed = sorted(set(exposed_ports))
    if len(exposed) == 1:
        return exposed[0], None
    return None, ("cannot tell which of its published ports (%s) is Ollama's"
                  % ", ".join(str(p) for p in exposed))


def republish_plan(containers, inspects, images=None):
    """What the opt-in does with each Ollama container published off loopback.

    ``containers``: the audit's ``containers`` facts; ``inspects``: {container
    id (as in the facts): ``GET /containers/{id}/json``}; ``images``: {image
    name: id of the image that name points to now, or None}. One entry per
    container: name, id, port (Ollama's container port), host_ports,
    action (``republish`` or ``refuse``), reason, and for ``republish`` the
    docker_container options: ``options`` (on 127.0.0.1) and ``original``
    (as it is: what the rollback restores).
    """
    plan = []
    images = images if isinstance(images, dict) else {}
    for ctr in containers if isinstance(containers, list) else []:
        ctr = _dict(ctr)
        exposed = [p for p in _list(ctr.get("ports")) if _dict(p).get("public_port") and
                   not _is_loopback_ip(_dict(p).get("ip"))]
        if not exposed:
            continue
        entry = {"name": ctr.get("name"), "id": ctr.get("id"), "action": "refuse", "reason": "",
                 "port": None, "host_ports": sorted(set(p["public_port"] for p in exposed))}
        plan.append(entry)
        inspect = _dict(_dict(inspects).get(ctr.get("id")))
        if not inspect:
            entry["reason"] = "the Docker API did not describe it"
            continue
        original, problems = container_options(inspect)
        port, problem = ollama_container_port(inspect, [p.get("private_port") for p in exposed])
        if problem:
            problems.append(problem)
        image_id = inspect.get("Image") or ""
        if original.get("image") in images and images[original["image"]] != image_id and image_id:
            # The tag now names another image: keep running the same one.
            original["image"] = image_id
        if problems:
            entry["reason"] = "; ".join(problems)
            continue
        options = dict(original)
        options["published_ports"] = published_ports(_dict(inspect.get("HostConfig")).get("PortBindings"), port)
        entry.update(action="republish", port=port, options=options, original=original,
                     reason="publish container port %d on %s only (was %s)"
                     % (port, LOOPBACK_HOST, ", ".join(original["published_ports"])))
    return plan
