# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the upgrade of the Ollama binary from an operator's artifact (role ollama_upgrade).

Pure: the variables, the audit's facts and the installed binary's
``ollama --version`` output in; the input errors (each naming its
variable), the plan (install or not, which services to restart and where
each one answers on loopback) and the problems after the restart out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import (
    DEFAULT_PORT, parse_ollama_host)

VERSION_RE = re.compile(r"^v?(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})(?:-rc(0|[1-9][0-9]{0,3}))?\Z")
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}\Z")
URL_RE = re.compile(r"^(https?|ftp|file)://\S+\Z")
# `ollama --version` prints the server's version ("ollama version is X") and,
# when the client (the binary itself) differs or no server answers, a
# "Warning: client version is X" line: the binary's own version is that one.
CLIENT_RE = re.compile(r"client version is (\S+)")
SERVER_RE = re.compile(r"version is (\S+)")
EXEC_PREFIXES = "@-:+!"


def parse_version(text):
    """'0.1.33' -> (0, 1, 33, (1,)); '0.5.0-rc2' -> (0, 5, 0, (0, 2)) (a
    release candidate sorts before its release). ValueError when malformed."""
    match = VERSION_RE.match(str(text if text is not None else "").strip())
    if not match:
        raise ValueError("not a version like 0.20.0: %r" % (text,))
    major, minor, patch, rc = match.groups()
    return int(major), int(minor), int(patch), ((0, int(rc)) if rc is not None else (1,))


def normalize(text):
    """The version without a leading v ('v0.1.33' -> '0.1.33')."""
    parse_version(text)
    return str(text).strip().lstrip("v")


def compare(left, right):
    """-1, 0 or 1 as version `left` is older than, equal to or newer than `right`."""
    a, b = parse_version(left), parse_version(right)
    return (a > b) - (a < b)


def safe_version(text):
    """The normalized version, or None when `text` is not one."""
    try:
        return normalize(text)
    except ValueError:
        return None


def binary_version(output):
    """The binary's own version from `ollama --version` output (stdout and
    stderr together), or None."""
    text = output or ""
    for pattern in (CLIENT_RE, SERVER_RE):
        match = pattern.search(text)
        if match and safe_version(match.group(1)):
            return normalize(match.group(1))
    return None


def check_input(version, sha256, url="", src="", install_dir="/usr/local", wait_timeout=60,
                backup_dir="/var/lib/ollama-exposure-toolkit/upgrade"):
    """Every problem of the role's variables, each naming the variable; [] when fine."""
    errors = []
    if not str(version or "").strip():
        errors.append("ollama_upgrade_version is required (the release to install, like 0.20.0)")
    elif safe_version(version) is None:
        errors.append("ollama_upgrade_version must be a release like 0.20.0 or 0.20.0-rc1 (got %r)" % (version,))
    if not str(sha256 or "").strip():
        errors.append("ollama_upgrade_sha256 is required (the artifact's SHA-256, 64 hex digits)")
    elif not SHA256_RE.match(str(sha256).strip()):
        errors.append("ollama_upgrade_sha256 must be 64 hex digits (got %r)" % (sha256,))
    url, src = str(url or "").strip(), str(src or "").strip()
    if bool(url) == bool(src):
        errors.append("set exactly one of ollama_upgrade_url (a URL on your mirror) and ollama_upgrade_src "
                      "(a file on the controller) (got %s)" % ("both" if url else "neither"))
    elif url and not URL_RE.match(url):
        errors.append("ollama_upgrade_url must be an http(s):// ftp:// or file:// URL (got %r)" % (url,))
    for name, value in (("ollama_upgrade_install_dir", install_dir), ("ollama_upgrade_backup_dir", backup_dir)):
        value = str(value or "")
        if not value.startswith("/") or posixpath.normpath(value) in ("/", "") or ".." in value.split("/"):
            errors.append("%s must be an absolute path below / (got %r)" % (name, value))
    try:
        ok = int(str(wait_timeout)) > 0
    except ValueError:
        ok = False
    if not ok:
        errors.append("ollama_upgrade_wait_timeout must be a positive number of seconds (got %r)" % (wait_timeout,))
    return errors


def exec_binary(exec_start):
    """The program an ExecStart= line runs ('-/usr/bin/ollama serve' -> '/usr/bin/ollama')."""
    words = str(exec_start or "").split()
    return words[0].lstrip(EXEC_PREFIXES) if words else ""


def version_url(svc):
    """Where the service's /api/version answers on the host: its running bind
    (else configured), a wildcard read on 127.0.0.1."""
    bind = svc.get("running_bind") or svc.get("bind") or parse_ollama_host("")
    host, port = bind.get("host") or "127.0.0.1", bind.get("port") or DEFAULT_PORT
    if bind.get("scope") in ("wildcard", "hostname") or not host:
        host = "127.0.0.1"
    if ":" in host:
        host = "[%s]" % host
    return "http://%s:%s/api/version" % (host, port)


def plan(facts, version, binary=None, allow_downgrade=False, install_dir="/usr/local"):
    """The upgrade of one host. ValueError (naming the variable) for a
    downgrade without ollama_upgrade_allow_downgrade or a service that runs
    another binary."""
    target = normalize(version)
    bin_path = posixpath.join(install_dir, "bin", "ollama")
    facts = facts or {}
    installs = dict((i.get("subject"), i) for i in facts.get("installs") or [] if i.get("kind") == "service")
    installed = safe_version(binary)
    services = []
    for svc in facts.get("services") or []:
        program = exec_binary(svc.get("exec_start"))
        if program and program != bin_path and posixpath.basename(program) == "ollama":
            raise ValueError("%s runs %s, not %s: set ollama_upgrade_install_dir to %s's prefix (got %s)"
                             % (svc["name"], program, bin_path, program, install_dir))
        active = svc.get("active_state") == "active"
        running = safe_version((installs.get(svc["name"]) or {}).get("version"))
        services.append({"name": svc["name"], "active": active, "version": running, "url": version_url(svc)})
    known = [v for v in [installed] + [s["version"] for s in services] if v]
    newest = max(known, key=parse_version) if known else None
    downgrade = newest is not None and compare(target, newest) < 0
    if downgrade and not allow_downgrade:
        raise ValueError("ollama_upgrade_version %s is older than the installed %s: refused (set "
                         "ollama_upgrade_allow_downgrade: true to downgrade)" % (target, newest))
    install = installed is None or compare(installed, target) != 0
    for svc in services:
        svc["restart"] = svc["active"] and (install or svc["version"] is None or compare(svc["version"], target) != 0)
    restart = [s["name"] for s in services if s["restart"]]
    return {"version": target, "installed": installed, "binary": bin_path,
            "lib_dir": posixpath.join(install_dir, "lib", "ollama"), "downgrade": downgrade,
            "install": install, "services": services, "restart": restart, "act": install or bool(restart)}


def problems(items, results, version):
    """Why the restarted services do not answer `version` on loopback, from
    the registered uri results (one per item, in order); [] when they all do."""
    found = []
    for item, result in zip(items or [], results or []):
        if (result or {}).get("skipped"):
            continue
        answered = ((result or {}).get("json") or {}).get("version") if isinstance((result or {}).get("json"), dict) else None
        if answered == version:
            continue
        if answered:
            why = "answers version %s" % answered
        elif (result or {}).get("status", -1) not in (-1, None, 200):
            why = "answered HTTP %s" % result.get("status")
        else:
            why = "does not answer (%s)" % ((result or {}).get("msg") or "no answer")
        found.append("%s at %s %s, not %s" % (item.get("name"), item.get("url"), why, version))
    if len(results or []) < len(items or []):
        found.append("%d service(s) were not checked" % (len(items) - len(results or [])))
    return found
