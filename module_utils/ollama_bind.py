# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the rebind of each Ollama service to loopback (role ollama_bind).

Pure: the audit's facts in, one plan item per service out. The plan is made
from the service's configuration *without* the toolkit's own files, so a
second run plans exactly what the first one wrote (idempotence), and the
port kept is the one the service uses today.

How the fix wins (docs/systemd.md): the managed drop-in sorts last and
names an environment file of its own, and ``EnvironmentFile=`` values
override every ``Environment=`` value, the later file winning.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.ollama_host import (
    DEFAULT_PORT, SCOPE_LOOPBACK, origins_wildcards, parse_ollama_host)

ACTION_NONE = "none"
ACTION_RESTART = "restart"
ACTION_REBIND = "rebind"
LOOPBACK_ADDRESSES = ("127.0.0.1", "::1")


def env_file_path(env_dir, unit):
    return "%s/%s.env" % (env_dir.rstrip("/"), unit)


def dropin_path(unit, dropin_name, unit_dir="/etc/systemd/system"):
    return "%s/%s.d/%s" % (unit_dir, unit, dropin_name)


def env_without(history, excluded_files):
    """The effective environment from an audit history, ignoring some files."""
    env = {}
    for item in history or []:
        if item.get("file") in excluded_files:
            continue
        env[item["key"]] = item["value"]
    return env


def listen_value(address, port):
    return "[%s]:%d" % (address, port) if ":" in address else "%s:%d" % (address, port)


def plan_service(svc, address, origins, fix_origins, dropin_name, env_dir, port=None):
    """What to do for one audited service.

    Returns a dict: unit, action (none / restart / rebind), port, env (the
    managed OLLAMA_* values), dropin and env_file paths, managed (the
    toolkit's files are there already), running (bool), reasons.
    """
    if address not in LOOPBACK_ADDRESSES:
        raise ValueError("address %r is not a loopback address" % address)
    unit = svc["name"]
    dropin = dropin_path(unit, dropin_name)
    env_file = env_file_path(env_dir, unit)
    ours = (dropin, env_file)
    base_env = env_without(svc.get("env_history"), ours)
    base_bind = parse_ollama_host(base_env.get("OLLAMA_HOST", ""))
    running_bind = svc.get("running_bind")
    managed = dropin in (svc.get("dropins") or [])
    reasons = []

    if port is None:
        if running_bind and running_bind.get("port"):
            port = running_bind["port"]
        elif base_bind.get("port"):
            port = base_bind["port"]
        else:
            port = DEFAULT_PORT
            reasons.append("port 0 (random) replaced by %d" % DEFAULT_PORT)

    env = {"OLLAMA_HOST": listen_value(address, port)}
    wildcards = origins_wildcards(base_env.get("OLLAMA_ORIGINS", ""))
    if wildcards and fix_origins:
        env["OLLAMA_ORIGINS"] = ",".join(origins)
        reasons.append("OLLAMA_ORIGINS %s narrowed to %s" % (
            ",".join(wildcards), ",".join(origins) or "upstream defaults"))

    base_secure = base_bind["scope"] == SCOPE_LOOPBACK and not (wildcards and fix_origins)
    running_secure = running_bind is None or running_bind.get("scope") == SCOPE_LOOPBACK
    if base_bind["scope"] != SCOPE_LOOPBACK:
        reasons.append("configured OLLAMA_HOST=%r listens on %s" % (base_bind["value"], base_bind["listen"]))
    if not running_secure:
        reasons.append("running with OLLAMA_HOST=%r (%s)" % (running_bind.get("value"), running_bind.get("listen")))

    if managed or not base_secure:
        action = ACTION_REBIND
    elif not running_secure:
        action = ACTION_RESTART
    else:
        action = ACTION_NONE
    return {
        "unit": unit,
        "action": action,
        "port": port,
        "listen": env["OLLAMA_HOST"],
        "env": env,
        "dropin": dropin,
        "dropin_existed": managed,
        "env_file": env_file,
        "env_file_existed": any(f.get("path") == env_file and f.get("exists")
                                for f in svc.get("environment_files") or []),
        "running": bool(svc.get("main_pid")),
        "active_state": svc.get("active_state"),
        "reasons": reasons,
    }


def plan(facts, address, origins=(), fix_origins=True, services=None, dropin_name="zz-ollama-exposure-toolkit.conf",
         env_dir="/etc/ollama-exposure-toolkit", port=None):
    """Plan items for the audited services (all, or those named in ``services``).

    Raises ValueError naming the first unknown service.
    """
    audited = dict((s["name"], s) for s in (facts or {}).get("services", []) if not s.get("masked"))
    wanted = list(services) if services else sorted(audited)
    for name in wanted:
        if name not in audited:
            raise ValueError("service %r is not an Ollama service on this host (found: %s)" % (
                name, ", ".join(sorted(audited)) or "none"))
    return [plan_service(audited[name], address, list(origins), fix_origins, dropin_name, env_dir, port)
            for name in wanted]
