#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ollama_info
short_description: Find every Ollama installation on a host and where it listens
version_added: "1.0.0"
description:
  - Reads, in one round trip, everything that decides whether Ollama on this
    host answers to the network, and returns the facts. The findings are
    derived from them on the controller (M(ollama_report), the
    C(ollama_toolkit.exposure.host_findings) filter), with the control catalog.
  - Systemd services whose C(ExecStart) runs C(ollama serve) (by unit file
    content, and by the cgroup of running processes), with the unit, every
    drop-in in the order systemd applies it, the C(EnvironmentFile=)
    contents and the environment systemd will give the next start
    (C(EnvironmentFile=) overrides C(Environment=)).
  - Ollama server processes, including those started by hand, with the
    environment they really run with (C(/proc/PID/environ)).
  - Listening TCP sockets from C(/proc/net/tcp) and C(/proc/net/tcp6),
    mapped to their process (every socket, Ollama's or not, names its owner). Go opens wildcard listeners as one dual-stack
    IPv6 socket, so C(::) in tcp6 is reported as reachable over IPv4 too.
  - Whether each service's cloud features are on (version, C(OLLAMA_NO_CLOUD), C(server.json) of the
    service user, C(GET /api/status)) and C(OLLAMA_REMOTES); whether it is signed in to ollama.com is
    reported as C(cannot tell) (only ollama.com knows), never guessed.
  - The version each running server reports on the host's own loopback,
    known-vulnerable versions, C(OLLAMA_ORIGINS) wildcards, and Docker
    containers that publish Ollama ports (through the Docker socket).
  - C(OLLAMA_HOST) is parsed exactly as upstream C(envconfig.Host()) does
    (plugins/module_utils/ollama_host.py of the in-repo collection ollama_toolkit.exposure), including C(http://0.0.0.0) meaning port 80.
  - Every way in besides Ollama's own ports (issue 26) - other model servers and Open WebUI
    (C(servers)), forwarders such as nginx, socat, ssh and kubectl (C(forwarders)) - read from
    argv, environment, unit files, nginx's configuration and the Docker API.
  - Only C(OLLAMA_*) variables are ever returned; other environment values
    (tokens, keys) never leave the host, except a container's configuration
    when C(docker_inspect) asks for it. Of the other servers, only the settings that say who gets
    in are returned, and API keys in argv are masked.
  - Which firewall the host has (tools, firewall services, ufw's state and
    rules, firewalld's default zone) and the live rules of the toolkit, where
    Ollama is installed (or on every host with C(firewall=always)).
  - The module changes nothing. Without root it degrades gracefully and says
    what it could not read.
  - One C(systemctl show) answers for every unit the read asks about (the
    candidate services, the firewall's units, the units the stamps record).
author:
  - Ollama exposure toolkit contributors
options:
  host_id:
    description:
      - Stable name of this host used in findings and their fingerprints.
        The roles pass C(inventory_hostname).
    type: str
  query_version:
    description:
      - Ask each running server for its version with C(GET /api/version) on
        the host's own address (loopback where it listens on loopback or on
        every address).
    type: bool
    default: true
  docker_socket:
    description: Path of the Docker Engine API socket; skipped when absent.
    type: path
    default: /var/run/docker.sock
  timeout:
    description: Seconds to wait for each local HTTP or Docker API answer.
    type: float
    default: 2.0
  firewall:
    description:
      - When to read the host's firewall (C(firewall), the live rules and C(firewall.detect)).
      - C(auto) - only where Ollama is installed (a service, a process or a container).
      - C(always) - on every host (the ollama_firewall role's own read, which plans a firewall
        even where the audit found nothing to close).
    type: str
    choices: [auto, always]
    default: auto
  docker_inspect:
    description:
      - Also return, for each Ollama container, the configuration that recreates it (C(config))
        and the image its image name points to now (C(image_id)), from the Docker API.
      - That configuration holds the container's whole environment, not only C(OLLAMA_*)
        variables; use it with C(no_log). The ollama_firewall role does, for its
        C(ollama_firewall_docker_republish) opt-in; the audit does not ask for it.
    type: bool
    default: false
  stamps:
    description:
      - Read every stamp the walls and C(playbooks/harden.yml) wrote with M(ollama_stamp)
        (the files of one directory, found by glob). For each, whether the files, units and
        nftables chains it records are still as the wall left them (C(stamps)).
        A wall whose stamp shows no drift and the same inputs skips every task that
        would read or write the host.
    type: bool
    default: false
notes:
  - Supports check mode; it never changes anything.
  - Code paths for Ubuntu and the RHEL family (C(/usr/lib/systemd/system),
    cgroup v2) are the same as for Debian; only Debian 11, 12 and 13 are
    exercised by the Molecule scenarios.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
seealso:
  - module: ollama_probe
"""

EXAMPLES = r"""
- name: Audit Ollama on the host
  ollama_info:
    host_id: "{{ inventory_hostname }}"
  register: ollama

- name: Show where it listens
  ansible.builtin.debug:
    msg: "{{ ollama.listeners | map(attribute='address') | list }}"
"""

RETURN = r"""
stamps:
  description:
    - For each stamp by name (C(ollama_front), C(harden), ...), C(present) (a readable stamp), C(inputs) (the digest it was made
      from), C(drift) (what differs now, one sentence each, empty when nothing moved) and
      C(data) (what the role kept with it).
  returned: always (empty without stamps)
  type: dict
  sample: {ollama_front: {present: true, inputs: 4f2c..., data: null,
           drift: ["/etc/nginx/conf.d/ollama-front.conf: content changed"]}}
status:
  description: >-
    not_installed (no Ollama and no other model server found), unsupported, or unknown where Ollama or another
    model server is found (the controller decides exposed or secure).
  returned: always
  type: str
  sample: exposed
supported:
  description: False on a platform the module cannot audit (not Linux).
  returned: always
  type: bool
reason:
  description: Why the host is unsupported, or what could not be read.
  returned: when something could not be read
  type: str
os:
  description: ID, VERSION_ID and PRETTY_NAME from /etc/os-release.
  returned: always
  type: dict
systemd:
  description: Whether systemd is the running init system.
  returned: always
  type: bool
services:
  description:
    - Ollama systemd services, with unit files, effective OLLAMA_* environment and bind.
    - C(cloud) says whether the service's cloud features (C(*-cloud) models, web search, C(/api/me),
      signout; upstream v0.12.0+) are on - C(enabled) (true, false, or null when it cannot be told),
      upstream's C(source) (none, env, config, both), C(can_disable) (v0.16.2+), C(web_search) (v0.18.0+),
      C(env_disabled) (C(OLLAMA_NO_CLOUD) it runs with), C(config_disabled) (C(disable_ollama_cloud) in
      C($HOME/.ollama/server.json), path in C(server_json)), C(status) (C(GET /api/status) on its own
      address), C(next_start_enabled), C(remotes) (C(OLLAMA_REMOTES)), C(signed_in) (C(no), or
      C(cannot tell) - only ollama.com knows) and C(reason).
  returned: always
  type: list
  elements: dict
  sample:
    - name: ollama.service
      fragment: /etc/systemd/system/ollama.service
      dropins: [/etc/systemd/system/ollama.service.d/override.conf]
      env: {OLLAMA_HOST: "0.0.0.0:11434"}
      env_origin: {OLLAMA_HOST: {file: /etc/systemd/system/ollama.service.d/override.conf, line: 2, via: Environment}}
      bind: {listen: "0.0.0.0:11434", scope: wildcard, port: 11434, exposed: true}
      active_state: active
      cloud: {enabled: true, source: none, can_disable: true, remotes: [ollama.com], signed_in: cannot tell}
processes:
  description: >-
    Running C(ollama serve) processes (pid, argv, uid, gid, user and home, unit or null, OLLAMA_* environment,
    bind).
  returned: always
  type: list
  elements: dict
listeners:
  description: Listening sockets of Ollama processes (address, port, family, scope, pid, unit, inferred).
  returned: always
  type: list
  elements: dict
other_listeners:
  description:
    - Listening TCP sockets of other programs (address, port, family, scope). The firewall role reads
      them so that it never closes a port another service serves to the network.
    - Each names its owner, from one pass over C(/proc/*/fd) (null where the fds cannot be read) -
      C(pid), C(process) (C(/proc/PID/comm)), C(unit) (from its cgroup) and C(kind) (a forwarder
      by its process name - nginx, socat, ssh, kubectl, docker-proxy, caddy, haproxy, traefik - or
      another model server by its argv, as plugins/module_utils/ollama_servers.py names them; else null).
  returned: always
  type: list
  elements: dict
  sample:
    - {address: "0.0.0.0", port: 80, family: ipv4, scope: wildcard, pid: 812, process: nginx,
       unit: nginx.service, kind: nginx}
servers:
  description:
    - Other model servers and Open WebUI (vLLM, TGI, LocalAI, llama-server, rpc-server, ComfyUI, LM Studio,
      Open WebUI), as processes (by argv, through python, uvicorn or a script in their directory) and as
      Docker containers (by image).
    - Each - C(kind), C(source) (process or container), C(pid), C(unit), C(process), C(container), C(image),
      C(location) (the unit's ExecStart - file, line, unit - or null), C(argv) (values of key, token and
      password options masked), C(listen) (its sockets; for a container, its published ports),
      C(bind) (address, port, scope, exposed, and C(origin) - C(flag --host), C(env HOST), C(default), or
      C(publish -p) for a container), C(key) (C(set) and its C(origin), never its value), C(env) (only the kind's
      account and upstream settings - Open WebUI's C(WEBUI_AUTH), C(ENABLE_SIGNUP), C(DEFAULT_USER_ROLE),
      C(OLLAMA_BASE_URL(S)) with URL credentials masked), C(version) (where the image tag tells) and C(rebind)
      (C(possible) only for a systemd unit whose ExecStart does not pass the bind flag, C(env), C(value), C(why)).
  returned: always
  type: list
  elements: dict
  sample:
    - kind: vllm
      source: process
      pid: 2211
      unit: vllm.service
      process: vllm
      container: null
      image: null
      location: {file: /etc/systemd/system/vllm.service, line: 7, unit: vllm.service}
      argv: [/opt/vllm/bin/vllm, serve, Qwen/Qwen2.5-7B-Instruct, --api-key, "********"]
      listen: [{address: "0.0.0.0", port: 8000, family: ipv4, scope: wildcard}]
      bind: {address: "0.0.0.0", port: 8000, scope: wildcard, exposed: true, origin: default}
      key: {set: true, origin: flag --api-key}
      env: {}
      version: null
      rebind: {possible: false, env: null, value: null, why: "vLLM reads its bind address only from --host ..."}
forwarders:
  description:
    - Programs that listen on a port and pass its traffic on. nginx from its configuration
      (C(/etc/nginx/nginx.conf) and its includes; one entry per C(proxy_pass) of an http or stream server,
      C(location) the file and line of the C(proxy_pass), C(auth) from C(auth_basic), C(auth_request) and
      C(ssl_verify_client) at http, server or location level); socat, ssh C(-L), C(kubectl port-forward) and
      docker-proxy from their argv (C(location) their unit's ExecStart); caddy from C(/etc/caddy/Caddyfile)
      (one entry per C(reverse_proxy), C(auth) from C(basic_auth) or C(forward_auth)); haproxy and traefik by name.
    - Each - C(kind), C(pid), C(unit), C(process), C(listen), C(upstream) (host, port), C(to_model) (C(ollama)
      when an upstream is a local port Ollama listens on or 11434 on loopback, a server kind for that
      server's port, else null), C(auth) (true, false, or null when the read cannot tell), C(location) and
      C(evidence) (one line, secrets masked); a docker-proxy names the C(container) it publishes where the read knows it.
  returned: always
  type: list
  elements: dict
  sample:
    - kind: nginx
      pid: 812
      unit: nginx.service
      process: nginx
      listen: [{address: "0.0.0.0", port: 80, family: ipv4, scope: wildcard}, {address: "::", port: 80, family: ipv6, scope: wildcard}]
      upstream: [{host: 127.0.0.1, port: 11434}]
      to_model: ollama
      auth: false
      location: {file: /etc/nginx/sites-enabled/ollama, line: 8}
      evidence: location / proxy_pass http://127.0.0.1:11434
containers:
  description:
    - Docker containers running Ollama (id, name, image, state), with published ports.
    - With C(docker_inspect), also C(config) - the container's Id, Name, Image, Config, HostConfig,
      Mounts and networks (aliases, fixed addresses) as C(GET /containers/{id}/json) gives them, what
      the firewall role's republish planner needs to recreate it (null when the engine does not
      describe it) - and C(image_id), the image its image name points to now (null when none).
  returned: always
  type: list
  elements: dict
python:
  description: The Python interpreter that ran the module on the host (the one Ansible's modules use there).
  returned: always
  type: str
  sample: /usr/bin/python3
installs:
  description: Each installation (service, hand-started process, container, binary) with its version.
  returned: always
  type: list
  elements: dict
firewall:
  description:
    - The Ollama ports that the toolkit's own firewall rules close, read from the live ruleset
      (C(nft -j list ruleset), C(iptables-save), C(ip6tables-save)) only where Ollama is installed.
      C(input) is traffic to the host's sockets (the nftables table, the iptables chain, ufw,
      firewalld), C(forward) the toolkit's DOCKER-USER rules for Docker-published ports; each
      by family, port (a string) and the rule that closes it. A rule for another port, in a
      chain traffic never reaches, or flushed, is not listed. The report combines this with
      the outside probe to tell a mitigated host from an exposed one.
    - C(detect) says which firewall the host has, for the ollama_firewall role's plan -
      C(tools) (nft, iptables, ip6tables, ufw, firewall-cmd - each its path, or empty when missing),
      C(units) (nftables, ufw, firewalld, netfilter-persistent and docker services - loaded, active,
      enabled; empty without systemd), C(ufw) (active, default_incoming, rules as C(ufw status)
      prints them; for an inactive ufw from C(ufw show added)) and C(firewalld_zone) (the default
      zone of a running firewalld, else null). Returned where the firewall is read (see the
      C(firewall) option).
  returned: always
  type: dict
  sample:
    input: {ipv4: {"11434": "nftables table inet ollama_exposure_toolkit chain input drops tcp/11434"}, ipv6: {}}
    forward: {ipv4: {}, ipv6: {}}
    errors: []
    detect:
      tools: {nft: /usr/sbin/nft, iptables: /usr/sbin/iptables, ip6tables: /usr/sbin/ip6tables, ufw: "", firewall-cmd: ""}
      units: {nftables.service: {loaded: true, active: true, enabled: true}}
      ufw: {active: false, default_incoming: null, rules: []}
      firewalld_zone: null
front:
  description:
    - The toolkit's front (role ollama_front), read from its site file C(/etc/nginx/conf.d/ollama-front.conf)
      and the listening sockets - C(config) (the file, null when missing), C(ports) (its TLS ports),
      C(listening) (those a program other than Ollama listens on), C(open_routes) (of /api/pull, /api/push,
      /api/create and the blob routes, those users may call), C(in_place) and C(why) (why not).
    - OLLAMA-VER-003 is mitigated where it is in place and no exposure finding is open.
  returned: on Linux
  type: dict
  sample: {config: /etc/nginx/conf.d/ollama-front.conf, ports: [11443], listening: [11443], open_routes: [],
           in_place: true, why: null}
addresses:
  description:
    - The host's non-loopback interface addresses (targets for ollama_probe).
    - Addresses of container and VM bridges (docker0, br-*, virbr*...) are
      left out - nobody reaches the host through them from outside.
  returned: always
  type: list
  elements: str
addresses_skipped:
  description: Addresses left out of the probe targets, with the interface and why.
  returned: always
  type: list
  elements: dict
warnings_detail:
  description: What could not be read (permissions, missing files).
  returned: always
  type: list
  elements: str
"""

import glob
import grp
import json
import os
import pwd
import socket
import stat
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_doors import (
    caddy_proxies, classify, forwarder_argv, mask_argv, mask_value, server_facts, server_kind, socket_entry, to_model)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_front_site import (
    FRONT_CONFIG, front_state)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import (
    address_scope, origins_wildcards, parse_ollama_host)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_http import http_get
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_procfs import (
    is_ollama_serve, parse_environ, parse_fib_trie_local, parse_if_inet6, parse_ip_addr_json,
    parse_os_release, parse_proc_net_tcp, split_nul, split_probe_addresses, unit_from_cgroup)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_servers import FORWARDERS
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_stamp import (
    load_stamps, read_stamps, stamp_units)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_systemd import (
    UNIT_DIRS, compute_environment, find_unit_files, parse_systemctl_show,
    parse_unit_text, split_words)

# Imported where first needed, not here (issue 26's cost goal): Ansible
# ships every module_utils file this module imports anywhere, but a host
# compiles only what it imports, from source on every run (AnsiballZ keeps
# no bytecode): Docker's API where there is a socket, the nginx parser where
# nginx listens, the cloud rules where Ollama is, the firewall's reader where
# there is something to close.

BINARY_PATHS = ("/usr/local/bin/ollama", "/usr/bin/ollama", "/bin/ollama", "/opt/ollama/bin/ollama")
SHOW_PROPS = "Id,LoadState,ActiveState,SubState,MainPID,UnitFileState,NeedDaemonReload"
# The owners' pass reads at most this many file descriptors (a host with a
# busy database or proxy holds tens of thousands; listening sockets are found
# long before, lowest pid first).
MAX_FD_READS = 50000


def read_text(path, binary=False):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError):
        return None
    return data if binary else data.decode("utf-8", "replace")


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def ollama_env(env):
    """Only OLLAMA_* variables: nothing else leaves the host."""
    return dict((k, v) for k, v in env.items() if k.startswith("OLLAMA_"))


class Auditor(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.warnings = []
        # Listening sockets of other programs (the firewall role's conflict check).
        self.others = []
        # argv of every process (the doors read classifies them), by pid.
        self.argv = {}
        self.own_netns = None
        # The socket inode of each of self.others (same order): its owner's key in /proc/*/fd.
        self.other_inodes = []

    # -- processes and sockets -------------------------------------------
    def scan_processes(self):
        own_netns = None
        try:
            own_netns = os.readlink("/proc/self/ns/net")
        except OSError:
            pass
        procs = []
        self.own_netns = own_netns
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            argv = split_nul(read_text("/proc/%s/cmdline" % entry, binary=True) or b"")
            self.argv[int(entry)] = argv
            if not is_ollama_serve(argv):
                continue
            pid = int(entry)
            environ = read_text("/proc/%s/environ" % entry, binary=True)
            env = ollama_env(parse_environ(environ or b""))
            try:
                uid = os.stat("/proc/%s" % entry).st_uid
            except OSError:
                uid = None
            try:
                account = pwd.getpwuid(uid) if uid is not None else None
            except KeyError:
                account = None
            try:
                netns = os.readlink("/proc/%s/ns/net" % entry)
            except OSError:
                netns = None
            inodes, fd_readable = set(), True
            try:
                for fd in os.listdir("/proc/%s/fd" % entry):
                    try:
                        target = os.readlink("/proc/%s/fd/%s" % (entry, fd))
                    except OSError:
                        continue
                    if target.startswith("socket:["):
                        inodes.add(int(target[8:-1]))
            except OSError:
                fd_readable = False
                self.warnings.append("cannot read /proc/%s/fd (needs root with CAP_SYS_PTRACE): "
                                     "sockets mapped to pid %s by port" % (entry, entry))
            bind = parse_ollama_host(env.get("OLLAMA_HOST", ""))
            self.resolve(bind)
            procs.append({
                "pid": pid,
                "argv": argv,
                "uid": uid,
                "gid": account.pw_gid if account else None,
                "user": account.pw_name if account else None,
                "home": account.pw_dir if account else None,
                "unit": unit_from_cgroup(read_text("/proc/%s/cgroup" % entry)),
                "container": bool(own_netns and netns and netns != own_netns),
                "env_readable": environ is not None,
                "env": env,
                "bind": bind,
                "origins_wildcards": origins_wildcards(env.get("OLLAMA_ORIGINS", "")),
                "_inodes": inodes,
                "_fd_readable": fd_readable,
            })
        return procs

    def listeners(self, procs):
        sockets = parse_proc_net_tcp(read_text("/proc/net/tcp"), "ipv4") + \
            parse_proc_net_tcp(read_text("/proc/net/tcp6"), "ipv6")
        found, self.other_inodes = [], []
        for sock in sockets:
            owner, inferred = None, False
            for proc in procs:
                if proc["container"]:
                    continue
                if sock["inode"] in proc["_inodes"]:
                    owner = proc
                    break
            if owner is None:
                for proc in procs:
                    if proc["container"] or proc["_fd_readable"]:
                        continue
                    if proc["bind"]["port"] and proc["bind"]["port"] == sock["port"]:
                        owner, inferred = proc, True
                        break
            address = sock["address"]
            if address.startswith("::ffff:"):
                address = address[7:]
            if owner is None:
                self.others.append({"address": address, "port": sock["port"], "family": sock["family"],
                                    "scope": "wildcard" if address in ("::", "0.0.0.0") else address_scope(address)})
                self.other_inodes.append(sock["inode"])
                continue
            found.append({
                "address": address,
                "port": sock["port"],
                "family": sock["family"],
                "scope": address_scope("" if address in ("::", "0.0.0.0") else address)
                if address not in ("::", "0.0.0.0") else "wildcard",
                "pid": owner["pid"],
                "unit": owner["unit"],
                "inferred": inferred,
            })
        found.sort(key=lambda s: (s["port"], s["family"], s["address"]))
        return found

    def resolve(self, bind):
        if bind.get("scope") != "hostname":
            return
        try:
            infos = socket.getaddrinfo(bind["host"], None, 0, socket.SOCK_STREAM)
        except (socket.error, UnicodeError) as exc:
            bind["resolved"] = []
            bind["resolved_scopes"] = []
            bind["notes"] = list(bind.get("notes", [])) + ["%s does not resolve (%s): Ollama fails to start" % (bind["host"], exc)]
            return
        addrs = []
        for info in infos:
            addr = info[4][0]
            if addr not in addrs:
                addrs.append(addr)
        # Go listens on one address, IPv4 first.
        addrs.sort(key=lambda a: ":" in a)
        bind["resolved"] = addrs[:1]
        bind["resolved_scopes"] = [address_scope(a) for a in addrs[:1]]

    # -- systemd ----------------------------------------------------------
    def candidate_units(self, procs):
        names = set(p["unit"] for p in procs if p["unit"] and not p["container"])
        for directory in UNIT_DIRS:
            for path in glob.glob(os.path.join(directory, "*.service")):
                name = os.path.basename(path)
                if name in names:
                    continue
                text = read_text(path)
                if text and "ollama" in text and self.runs_ollama(parse_unit_text(text, path)[0]):
                    names.add(name)
            for path in glob.glob(os.path.join(directory, "*.service.d", "*.conf")):
                text = read_text(path)
                if text and "ollama" in text and self.runs_ollama(parse_unit_text(text, path)[0]):
                    names.add(os.path.basename(os.path.dirname(path))[:-2])
        return sorted(names)

    @staticmethod
    def runs_ollama(entries):
        for entry in entries:
            if entry["section"] == "Service" and entry["key"] == "ExecStart" and entry["value"]:
                words = split_words(entry["value"].lstrip("@-:+!"))[0]
                if is_ollama_serve(words):
                    return True
        return False

    def service(self, name, show):
        files = find_unit_files(name)
        entries, errors = [], []
        for path in ([files["fragment"]] if files["fragment"] else []) + files["dropins"]:
            text = read_text(path)
            if text is None:
                self.warnings.append("cannot read %s" % path)
                continue
            file_entries, file_errors = parse_unit_text(text, path)
            entries.extend(file_entries)
            errors.extend(file_errors)
        envinfo = compute_environment(entries, read_text)
        env = ollama_env(envinfo["env"])
        bind = parse_ollama_host(env.get("OLLAMA_HOST", ""))
        self.resolve(bind)
        exec_start = [e["value"] for e in entries if e["section"] == "Service" and e["key"] == "ExecStart" and e["value"]]
        user = [e["value"] for e in entries if e["section"] == "Service" and e["key"] == "User"]
        svc = {
            "name": name,
            "fragment": files["fragment"],
            "dropins": files["dropins"],
            "masked": files["masked"],
            "exec_start": exec_start[-1] if exec_start else None,
            "user": user[-1] if user else "root",
            "environment_files": envinfo["environment_files"],
            "env": env,
            "env_origin": dict((k, v) for k, v in envinfo["origin"].items() if k.startswith("OLLAMA_")),
            "env_history": [h for h in envinfo["history"] if h["key"].startswith("OLLAMA_")],
            "bind": bind,
            "origins_wildcards": origins_wildcards(env.get("OLLAMA_ORIGINS", "")),
            "errors": errors + envinfo["errors"],
            "load_state": show.get("LoadState"),
            "active_state": show.get("ActiveState"),
            "sub_state": show.get("SubState"),
            "unit_file_state": show.get("UnitFileState"),
            "need_daemon_reload": show.get("NeedDaemonReload") == "yes",
            "main_pid": int(show.get("MainPID") or 0),
            "running_env": None,
            "running_bind": None,
        }
        # $HOME of the next start: the unit's own HOME=, else the one systemd
        # gives User= (upstream reads ~/.ollama from $HOME).
        svc["_home"] = envinfo["env"].get("HOME") or self.home_of(svc["user"])
        if svc["main_pid"]:
            environ = read_text("/proc/%d/environ" % svc["main_pid"], binary=True)
            if environ is not None:
                full_env = parse_environ(environ)
                running_env = ollama_env(full_env)
                svc["running_env"] = running_env
                svc["running_bind"] = parse_ollama_host(running_env.get("OLLAMA_HOST", ""))
                svc["_home"] = full_env.get("HOME") or svc["_home"]
        return svc

    @staticmethod
    def home_of(user):
        try:
            return pwd.getpwuid(int(user)).pw_dir if str(user).isdigit() else pwd.getpwnam(user).pw_dir
        except (KeyError, ValueError):
            return None

    def cloud(self, svc, install):
        """svc['cloud']: whether its cloud features are on (module_utils/ollama_cloud.py)."""
        home = svc.pop("_home", None)
        server_json, key_exists = None, None
        if home:
            server_json = read_text(os.path.join(home, ".ollama", "server.json"))
            key_exists = os.path.exists(os.path.join(home, ".ollama", "id_ed25519"))
        running = svc.get("running_env")
        from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_cloud import cloud_state
        svc["cloud"] = cloud_state(install.get("version"), running if running is not None else svc["env"],
                                   server_json, install.pop("_status", None), key_exists, home,
                                   config_env=svc["env"])

    def systemctl_show(self, names):
        """{Id: block} of one ``systemctl show`` for every unit the read asks
        about (the candidates, the firewall's units, the stamps' units):
        systemctl costs a round trip to systemd, and the read makes one."""
        names = list(dict.fromkeys(names))
        if not names or not os.path.isdir("/run/systemd/system"):
            return {}
        systemctl = self.module.get_bin_path("systemctl")
        if not systemctl:
            return {}
        rc, out, err = self.module.run_command([systemctl, "show", "--no-pager", "-p", SHOW_PROPS, "--"] + names)
        if rc != 0:
            self.warnings.append("systemctl show failed: %s" % err.strip())
            return {}
        return dict((block.get("Id"), block) for block in parse_systemctl_show(out))

    # -- doors (issue 26) ------------------------------------------------------
    def socket_owners(self):
        """Each other listener's owner: one pass over /proc/*/fd, lowest pid
        first (nginx's master before its workers), stopping once every
        socket has one. A process whose fds cannot be read is skipped (one
        warning for all)."""
        wanted = set(self.other_inodes)
        owners, hidden, budget = {}, 0, MAX_FD_READS
        for pid in sorted(self.argv):
            if not wanted:
                break
            try:
                fds = os.listdir("/proc/%d/fd" % pid)
            except OSError:
                hidden += 1
                continue
            if len(fds) > budget:
                self.warnings.append("stopped reading /proc/*/fd after %d descriptors (at pid %d): "
                                     "%d listening sockets have no owner" % (MAX_FD_READS, pid, len(wanted)))
                break
            budget -= len(fds)
            for fd in fds:
                try:
                    target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if target.startswith("socket:[") and int(target[8:-1]) in wanted:
                    inode = int(target[8:-1])
                    owners[inode] = pid
                    wanted.discard(inode)
        if hidden and wanted:
            self.warnings.append("cannot read the fds of %d processes: %d listening sockets have no owner"
                                 % (hidden, len(wanted)))
        info = {}
        for sock, inode in zip(self.others, self.other_inodes):
            pid = owners.get(inode)
            if pid is not None and pid not in info:
                info[pid] = self.process_info(pid)
            sock.update(pid=pid, process=info[pid]["comm"] if pid else None,
                        unit=info[pid]["unit"] if pid else None, kind=info[pid]["kind"] if pid else None)
        return info

    def process_info(self, pid):
        comm = (read_text("/proc/%d/comm" % pid) or "").strip() or None
        argv = self.argv.get(pid) or []
        cwd = None
        if any(w.endswith(".py") and not w.startswith("/") for w in argv[:3]):
            try:
                cwd = os.readlink("/proc/%d/cwd" % pid)
            except OSError:
                pass
        return {"comm": comm, "argv": argv, "cwd": cwd,
                "unit": unit_from_cgroup(read_text("/proc/%d/cgroup" % pid)),
                "kind": classify(comm, argv, cwd)}

    def unit_exec(self, unit):
        """(argv of the unit's last ExecStart, location {file, line, unit}), from its files."""
        if not unit:
            return None, None
        files = find_unit_files(unit)
        found = None
        for path in ([files["fragment"]] if files["fragment"] else []) + files["dropins"]:
            for entry in parse_unit_text(read_text(path) or "", path)[0]:
                if entry["section"] == "Service" and entry["key"] == "ExecStart":
                    found = entry if entry["value"] else None
        if found is None:
            return None, {"file": files["fragment"], "line": None, "unit": unit}
        return split_words(found["value"].lstrip("@-:+!"))[0], {"file": found["file"], "line": found["line"],
                                                                "unit": unit}

    def servers(self, owners, container_items):
        """Other model servers: processes by argv (children of a server of
        the same kind folded into it; processes of other network namespaces
        are containers), and containers by image."""
        if container_items:
            from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_docker import (
                inspect_container, server_containers)
        found, matched = [], {}
        for pid, argv in sorted(self.argv.items()):
            kind = server_kind(argv)
            if kind is None and any(w.endswith("main.py") for w in argv[:3]):
                try:
                    kind = server_kind(argv, os.readlink("/proc/%d/cwd" % pid))
                except OSError:
                    kind = None
            if kind:
                matched[pid] = kind
        for pid, kind in sorted(matched.items()):
            stat_text = read_text("/proc/%d/stat" % pid) or ""
            fields = stat_text.rpartition(")")[2].split()
            ppid = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
            if ppid in matched and matched[ppid] == kind:
                continue
            try:
                netns = os.readlink("/proc/%d/ns/net" % pid)
            except OSError:
                netns = None
            if self.own_netns and netns and netns != self.own_netns:
                continue
            info = owners.get(pid) or self.process_info(pid)
            env = parse_environ(read_text("/proc/%d/environ" % pid, binary=True) or b"")
            exec_start, location = self.unit_exec(info["unit"])
            item = {"kind": kind, "source": "process", "pid": pid, "unit": info["unit"], "process": info["comm"],
                    "container": None, "image": None, "location": location,
                    "listen": [dict((k, s[k]) for k in ("address", "port", "family", "scope"))
                               for s in self.others if s.get("pid") == pid]}
            item.update(server_facts(kind, self.argv.get(pid) or [], env, info["unit"], exec_start))
            found.append(item)
        for ctr in server_containers(container_items) if container_items else []:
            env, argv, pid = {}, [], None
            inspect, problem = inspect_container(self.params["docker_socket"], self.params["timeout"], ctr["id"])
            if problem:
                self.warnings.append(problem)
            if inspect:
                config = inspect.get("Config") or {}
                env = parse_environ("\0".join(v for v in config.get("Env") or [] if isinstance(v, str)))
                argv = [w for w in (config.get("Entrypoint") or []) + (config.get("Cmd") or []) if isinstance(w, str)]
                pid = (inspect.get("State") or {}).get("Pid") or None
            item = {"kind": ctr["kind"], "source": "container", "pid": pid, "unit": None, "process": None,
                    "container": ctr["name"], "image": ctr["image"], "location": None,
                    "listen": [socket_entry(p.get("ip") or "0.0.0.0", p["public_port"]) for p in ctr["ports"]
                               if p.get("public_port")]}
            item.update(server_facts(ctr["kind"], argv, env, image=ctr["image"], container=ctr["name"],
                                     published=ctr["ports"]))
            found.append(item)
        return found

    def forwarders(self, owners, listeners, containers, servers, addresses):
        """Forwarders among the other listeners' owners: nginx from its
        configuration (one per proxy_pass), caddy from its Caddyfile (one per
        reverse_proxy), socat, ssh, kubectl and docker-proxy from argv,
        haproxy and traefik by name."""
        ollama_ports = set(s["port"] for s in listeners)
        server_ports = {}
        for srv in servers:
            for port in [s["port"] for s in srv["listen"]] + [srv["bind"].get("port")]:
                if port and srv["source"] == "process":
                    server_ports.setdefault(port, srv["kind"])
        # Host port -> (kind, container) of what Docker publishes there.
        published = {}
        for ctr in containers:
            for port in ctr["ports"]:
                if port.get("public_port"):
                    published[port["public_port"]] = ("ollama", ctr["name"])
        for srv in servers:
            if srv["source"] == "container":
                for sock in srv["listen"]:
                    published.setdefault(sock["port"], (srv["kind"], srv["container"]))
        by_pid = {}
        for sock in self.others:
            if sock.get("kind") in FORWARDERS:
                by_pid.setdefault(sock["pid"], []).append(dict((k, sock[k]) for k in ("address", "port", "family",
                                                                                        "scope")))
        found, nginx_done = [], False
        for pid in sorted(by_pid):
            info = owners[pid]
            kind = info["kind"]
            base = {"kind": kind, "pid": pid, "unit": info["unit"], "process": info["comm"]}
            if kind == "nginx":
                if nginx_done:
                    continue
                nginx_done = True
                # The master's title keeps its command line: "nginx: master process /usr/sbin/nginx -c FILE".
                words = " ".join(info["argv"]).split()
                main = words[words.index("-c") + 1] if "-c" in words[:-1] else None
                found.extend(self.nginx_forwarders(base, ollama_ports, server_ports, addresses, main))
                continue
            caddyfile = read_text(FORWARDERS["caddy"]["config"][0]) if kind == "caddy" else None
            if caddyfile is not None:
                for proxy in caddy_proxies(caddyfile, FORWARDERS["caddy"]["config"][0]):
                    model = to_model(proxy["upstream"], ollama_ports, server_ports, addresses)
                    found.append(dict(base, listen=proxy["listen"], upstream=proxy["upstream"], to_model=model,
                                      auth=proxy["auth"], location={"file": proxy["file"], "line": proxy["line"]},
                                      evidence="reverse_proxy %s" % mask_value(proxy["target"])))
                continue
            listen, upstream = forwarder_argv(kind, info["argv"])
            evidence = " ".join(mask_argv(info["argv"]))[:300]
            container = None
            if kind == "docker-proxy":
                model, container = published.get(listen[0]["port"], (None, None)) if listen else (None, None)
                if container:
                    evidence = "publishes container %s (%s): %s" % (container, model, evidence)
            else:
                model = to_model(upstream, ollama_ports, server_ports, addresses, kind)
            _exec, location = self.unit_exec(info["unit"])
            if location is None and kind in ("caddy", "haproxy") and FORWARDERS[kind]["config"]:
                path = FORWARDERS[kind]["config"][0]
                location = {"file": path, "line": None, "unit": None} if os.path.exists(path) else None
            # A docker-proxy publishing a container the read knows (Ollama's:
            # OLLAMA-DOCKER-001; another server's: servers[]) names it.
            found.append(dict(base, listen=by_pid[pid], upstream=upstream, to_model=model,
                              auth=False if model == "ollama" else None, location=location, evidence=evidence,
                              container=container))
        return found

    def nginx_forwarders(self, base, ollama_ports, server_ports, addresses, main=None):
        """One forwarder per proxy_pass of nginx's configuration (``main``,
        default nginx's own)."""
        from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_nginx import (
            MAIN, parse_config as parse_nginx, proxies as nginx_proxies)
        tree, _files, problems = parse_nginx(main or MAIN, read_text)
        self.warnings.extend(problems[:5])
        found = []
        # Only the ports nginx holds: a server block on a port another process owns is not nginx's door.
        for proxy in nginx_proxies(tree, [s for s in self.others if s.get("kind") == "nginx"]):
            listen = [socket_entry(item["address"], item["port"]) for item in proxy["listen"]]
            model = to_model(proxy["upstream"], ollama_ports, server_ports, addresses)
            evidence = "%s proxy_pass %s" % ("stream server" if proxy["stream"] else "location %s" % proxy["path"],
                                              mask_value(proxy["target"]))
            if proxy["file"] == FRONT_CONFIG:
                evidence = "the toolkit's front: " + evidence
            found.append(dict(base, listen=listen, upstream=proxy["upstream"], to_model=model, auth=proxy["auth"],
                              location={"file": proxy["file"], "line": proxy["line"]}, evidence=evidence))
        if not found and problems:
            found.append(dict(base, listen=[], upstream=[], to_model=None, auth=None, location=None,
                              evidence="nginx configuration not read: %s" % problems[0]))
        return found

    # -- docker -------------------------------------------------------------
    def containers(self):
        """Ollama containers; ``self.container_items`` keeps the engine's list for the doors read."""
        path = self.params["docker_socket"]
        self.container_items = []
        if not os.path.exists(path):
            return []
        from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_docker import (
            containers_from_api, read_container_items, read_recreate_configs)
        items, problem = read_container_items(path, self.params["timeout"])
        if problem:
            self.warnings.append(problem)
        self.container_items = items
        found = containers_from_api(items)
        if found and self.params["docker_inspect"]:
            self.warnings.extend(read_recreate_configs(path, self.params["timeout"], found))
        return found

    # -- versions -------------------------------------------------------------
    def version_at(self, address, port):
        host = "127.0.0.1" if address in ("::", "0.0.0.0", "") else address
        try:
            status, _headers, body = http_get(host, port, "/api/version", self.params["timeout"], False)
        except (socket.error, socket.timeout, ValueError) as exc:
            return None, "no answer on %s:%s (%s)" % (host, port, exc)
        try:
            return json.loads(body).get("version"), None
        except (ValueError, AttributeError):
            return None, "%s:%s answered %s" % (host, port, status)

    def status_at(self, address, port):
        """The cloud part of GET /api/status (v0.16.2+), or None."""
        host = "127.0.0.1" if address in ("::", "0.0.0.0", "") else address
        try:
            status, _headers, body = http_get(host, port, "/api/status", self.params["timeout"], False)
        except (socket.error, socket.timeout, ValueError):
            return None
        from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_cloud import parse_status
        return parse_status(body) if status == 200 else None

    def installs(self, services, procs, listeners, containers):
        installs = []
        by_pid = {}
        for sock in listeners:
            by_pid.setdefault(sock["pid"], []).append(sock)

        def version_for(pid, item=None):
            for sock in by_pid.get(pid, []):
                version, reason = self.version_at(sock["address"], sock["port"])
                if version:
                    from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_cloud import (
                        NO_CLOUD_SINCE, version_tuple)
                    if item is not None and (version_tuple(version) or ()) >= version_tuple(NO_CLOUD_SINCE):
                        item["_status"] = self.status_at(sock["address"], sock["port"])
                    return version, None
            return None, (reason if by_pid.get(pid) else "not listening")

        for svc in services:
            item = {"subject": svc["name"], "kind": "service", "version": None}
            if svc["main_pid"] and self.params["query_version"]:
                item["version"], item["reason"] = version_for(svc["main_pid"], item)
            elif not svc["main_pid"]:
                item["reason"] = "service not running"
            installs.append(item)
            self.cloud(svc, item)
        for proc in procs:
            if proc["unit"] or proc["container"]:
                continue
            item = {"subject": "pid %d (%s)" % (proc["pid"], " ".join(proc["argv"])), "kind": "process", "version": None}
            if self.params["query_version"]:
                item["version"], item["reason"] = version_for(proc["pid"])
            installs.append(item)
        for ctr in containers:
            item = {"subject": "container %s" % ctr["name"], "kind": "container", "version": None,
                    "reason": "no published port"}
            for port in ctr["ports"]:
                if port.get("public_port") and self.params["query_version"]:
                    ip = port.get("ip") or "127.0.0.1"
                    item["version"], item["reason"] = self.version_at(ip, port["public_port"])
                    if item["version"]:
                        break
            installs.append(item)
        if not installs:
            for path in BINARY_PATHS:
                if os.path.exists(path):
                    installs.append({"subject": "binary %s" % path, "kind": "binary", "version": None,
                                     "reason": "installed, no service and not running"})
        return installs

    # -- firewall --------------------------------------------------------------
    def firewall(self, shown):
        """What the toolkit's rules close, from the live ruleset, and which
        firewall the host has (``detect``; its units from ``shown``, the
        read's systemctl_show, empty without systemd). Read-only; a missing
        tool is skipped."""
        tools = dict((name, self.module.get_bin_path(name)) for name in ("nft", "iptables-save", "ip6tables-save"))

        def run(argv):
            return self.module.run_command(argv, environ_update={"LC_ALL": "C"})
        from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_netfilter import (
            read_closures, read_detection)
        result = read_closures(run, tools)
        result["detect"] = read_detection(run, self.module.get_bin_path, read_text, shown)
        return result

    # -- addresses -----------------------------------------------------------
    def addresses(self):
        """Non-loopback addresses to probe from outside, and those left out."""
        ip = self.module.get_bin_path("ip")
        if ip:
            rc, out, _err = self.module.run_command([ip, "-j", "addr", "show"])
            entries = parse_ip_addr_json(out) if rc == 0 else []
            if entries:
                return split_probe_addresses(entries)
        # No iproute2 JSON: the kernel's tables, without interface names.
        entries = [{"address": a, "interface": "", "scope": "global"}
                   for a in parse_fib_trie_local(read_text("/proc/net/fib_trie"))]
        entries += [{"address": i["address"], "interface": i["interface"],
                     "scope": "link" if i["scope"] == "20" else "global"}
                    for i in parse_if_inet6(read_text("/proc/net/if_inet6"))]
        return split_probe_addresses(entries)

    def run(self):
        result = {"changed": False, "supported": True, "systemd": False, "services": [], "processes": [],
                  "listeners": [], "containers": [], "installs": [], "addresses": [],
                  "other_listeners": [], "servers": [], "forwarders": [], "python": sys.executable}
        stamp_docs = load_stamps() if self.params["stamps"] else {}
        if not sys.platform.startswith("linux"):
            result["stamps"] = read_stamps(self.module, parse_systemctl_show, stamp_docs)
            result.update(supported=False, status="unsupported",
                          reason="platform %s is not Linux" % sys.platform, warnings_detail=[])
            return result
        result["os"] = dict((k, v) for k, v in parse_os_release(read_text("/etc/os-release")).items()
                            if k in ("ID", "ID_LIKE", "VERSION_ID", "PRETTY_NAME"))
        result["systemd"] = os.path.isdir("/run/systemd/system")
        procs = self.scan_processes()
        names = self.candidate_units(procs)
        listeners = self.listeners(procs)
        containers = self.containers()
        addresses, skipped = self.addresses()
        owners = self.socket_owners()
        result["servers"] = self.servers(owners, self.container_items)
        result["forwarders"] = self.forwarders(owners, listeners, containers, result["servers"], addresses)
        # Every service makes an install, and so does every other way to a
        # model (issue 26): the firewall is read where any is, so that its
        # closure of a door's port can be proven.
        installed = bool(names or procs or containers or result["servers"]
                         or any(f.get("to_model") for f in result["forwarders"]))
        read_firewall = installed or self.params["firewall"] == "always"
        if read_firewall:
            from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_netfilter import (
                UNITS as FIREWALL_UNITS)
        shows = self.systemctl_show(names + (list(FIREWALL_UNITS) if read_firewall else [])
                                    + stamp_units(stamp_docs))
        services = [self.service(name, shows.get(name, {})) for name in names]
        result["stamps"] = read_stamps(self.module, parse_systemctl_show, stamp_docs, shows)
        result["installs"] = self.installs(services, procs, listeners, containers)
        for proc in procs:
            proc.pop("_inodes")
            proc.pop("_fd_readable")
        if read_firewall:
            result["firewall"] = self.firewall(shows)
        else:
            from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_netfilter import (
                empty as no_closures)
            result["firewall"] = no_closures()
        self.others.sort(key=lambda s: (s["port"], s["family"], s["address"]))
        result["front"] = front_state(read_text(FRONT_CONFIG), self.others)
        result.update(services=services, processes=procs, listeners=listeners, containers=containers,
                      addresses=addresses, addresses_skipped=skipped, other_listeners=self.others)
        if os.geteuid() != 0:
            self.warnings.append("not running as root: other users' processes and files may be hidden")
        result["warnings_detail"] = self.warnings
        result["host_id"] = self.params["host_id"] or socket.gethostname()
        # Exposed or secure is the controller's word (plugin_utils/ollama_findings.py).
        # Another model server is a way in as much as Ollama (issue 26): never not_installed.
        result["status"] = "unknown" if services or procs or containers or result["servers"] else "not_installed"
        return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host_id=dict(type="str"),
            query_version=dict(type="bool", default=True),
            docker_socket=dict(type="path", default="/var/run/docker.sock"),
            timeout=dict(type="float", default=2.0),
            firewall=dict(type="str", default="auto", choices=["auto", "always"]),
            docker_inspect=dict(type="bool", default=False),
            stamps=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    result = Auditor(module).run()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
