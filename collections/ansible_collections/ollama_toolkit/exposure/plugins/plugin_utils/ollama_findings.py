# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn what the audit saw into findings, using the control catalog: on
the controller (the report, the filters), never shipped to a host.

The catalog (roles/ollama_audit/files/catalog.yml, loaded by the lookup
ollama_toolkit.exposure.catalog) is data handed in by the caller; this file
holds only the rules that decide which control applies. One finding's
shape (fingerprint, make_finding, unique) is module_utils/ollama_finding.py,
shared with the prober's OLLAMA-NET-001; the front's state is read on the
host (module_utils/ollama_front_site.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_cloud import version_tuple
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_docker import EVERY_ADDRESS
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_finding import (  # noqa: F401
    fingerprint, make_finding, unique)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_front_site import ADVISORY_ROUTES
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import bind_exposed, is_exposed_scope, join_host_port
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_servers import SERVERS
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_doors import (
    FORWARDER_FIX, door_state, host_doors, ollama_ports, port_owner, probe_on_port)

STATUS_EXPOSED = "exposed"
STATUS_SECURE = "secure"
STATUS_NOT_INSTALLED = "not_installed"
STATUS_UNREACHABLE = "unreachable"
STATUS_UNSUPPORTED = "unsupported"
# Left out of this run on purpose (e.g. a rollout batch not reached yet).
STATUS_NOT_AUDITED = "not_audited"
# Ollama still listens beyond loopback (or is published), but every such port
# is closed by the toolkit's firewall rules, seen on the host and from outside.
STATUS_MITIGATED = "mitigated"
# The audit module could not run for a reason of access, not of the platform
# (become failed, the module crashed): the reason is the real stderr line.
STATUS_ERROR = "error"
STATUSES = (STATUS_EXPOSED, STATUS_MITIGATED, STATUS_SECURE, STATUS_NOT_INSTALLED, STATUS_UNREACHABLE,
            STATUS_UNSUPPORTED, STATUS_ERROR, STATUS_NOT_AUDITED)

SEVERITIES = ("info", "low", "medium", "high", "critical")


def severity_rank(severity):
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return -1


_VERSIONS = {}


def _version(text):
    """version_tuple(text), each text parsed once (the table's entries are
    compared with every host's version: 100,000 hosts, a report)."""
    try:
        return _VERSIONS[text]
    except KeyError:
        if len(_VERSIONS) >= 4096:
            _VERSIONS.clear()
        value = _VERSIONS[text] = version_tuple(text)
        return value
    except TypeError:  # not hashable: not a version text either
        return version_tuple(text)


def vulnerable_entries(version, table):
    """Entries of the vulnerable-version table that apply to ``version``."""
    current = _version(version)
    if current is None:
        return []
    hits = []
    for entry in (table or {}).get("entries", []):
        fixed = _version(entry.get("fixed_in") or "")
        if fixed is not None and current < fixed:
            hits.append(entry)
    return hits


def unfixed_entries(table):
    """Entries of the table that no release fixes and the front's policy
    mitigates (``mitigation``): they apply to every version (OLLAMA-VER-003).
    One that gets a ``fixed_in`` moves to OLLAMA-VER-001's version match."""
    return [e for e in (table or {}).get("entries", []) if not e.get("fixed_in") and e.get("mitigation")]


def _bind_text(bind):
    return "%s (%s)" % (bind.get("listen"), bind.get("scope"))


def _origin_text(origin):
    if not origin:
        return "not set (upstream default 127.0.0.1:11434)"
    return "%s:%s (%s=)" % (origin.get("file"), origin.get("line"), origin.get("via"))


# True when a parsed bind (with optional 'resolved' addresses) reaches the
# network: the one decision the bind wall acts on too (module_utils/ollama_host.py).
bind_is_exposed = bind_exposed


def evaluate_host(facts, catalog, host_id, probe_results=None):
    """All findings for one host's facts (as returned by ollama_info), with
    its doors joined with the outside probe's ``probe_results`` of the same
    host where given (``door_findings``; without them, from the read alone)."""
    findings = door_findings(facts, probe_results, catalog, host_id)

    def add(control_id, subject, evidence, location=None, references=None, port=None):
        findings.append(make_finding(catalog, host_id, control_id, subject, evidence, location, references, port))

    for sock in facts.get("listeners", []):
        if not is_exposed_scope(sock.get("scope")):
            continue
        owner = sock.get("unit") or ("pid %s" % sock["pid"] if sock.get("pid") else "owner unknown")
        extra = ""
        if sock.get("family") == "ipv6" and sock.get("scope") == "wildcard":
            extra = "; dual-stack, IPv4 clients reach it too"
        if sock.get("inferred"):
            extra += "; owner inferred from the port (no access to /proc/PID/fd)"
        add("OLLAMA-BIND-001", "socket:%s:%s" % (sock["address"], sock["port"]),
            "tcp%s %s port %s LISTEN (%s%s)" % ("6" if sock.get("family") == "ipv6" else "",
                                                sock["address"], sock["port"], owner, extra),
            location={"socket": "%s:%s" % (sock["address"], sock["port"])}, port=sock.get("port"))

    for svc in facts.get("services", []):
        unit = svc["name"]
        subject = "unit:%s" % unit
        bind = svc.get("bind") or {}
        origin = (svc.get("env_origin") or {}).get("OLLAMA_HOST")
        loc = {"file": origin["file"], "line": origin["line"]} if origin else {"file": svc.get("fragment")}
        if svc.get("masked"):
            continue
        if bind_is_exposed(bind):
            add("OLLAMA-BIND-002", subject,
                "%s: OLLAMA_HOST=%r from %s; next start listens on %s" % (
                    unit, bind.get("value", ""), _origin_text(origin), _bind_text(bind)), location=loc,
                port=bind.get("port"))
        if bind.get("notes") and bind.get("value"):
            add("OLLAMA-CFG-002", subject, "%s: OLLAMA_HOST=%r from %s: %s" % (
                unit, bind.get("value"), _origin_text(origin), "; ".join(bind["notes"])), location=loc)
        running = svc.get("running_bind")
        if running and running.get("listen") != bind.get("listen"):
            add("OLLAMA-BIND-003", subject, "%s runs with OLLAMA_HOST=%r (%s) but its configuration says %r (%s)" % (
                unit, running.get("value", ""), running.get("listen"), bind.get("value", ""), bind.get("listen")),
                location=loc)
        elif svc.get("need_daemon_reload"):
            add("OLLAMA-BIND-003", subject, "%s: unit files changed on disk, daemon-reload pending" % unit,
                location={"file": svc.get("fragment")})
        for wildcard in svc.get("origins_wildcards") or []:
            o_origin = (svc.get("env_origin") or {}).get("OLLAMA_ORIGINS") or {}
            add("OLLAMA-CORS-001", subject, "%s: OLLAMA_ORIGINS contains %r (%s)" % (
                unit, wildcard, _origin_text(o_origin)),
                location={"file": o_origin.get("file"), "line": o_origin.get("line")})
            break
        cloud = svc.get("cloud") or {}
        if cloud.get("enabled"):
            add(*cloud_finding(unit, subject, cloud, bind_is_exposed(bind) or bind_is_exposed(running)),
                location={"file": cloud.get("server_json")} if cloud.get("server_json") else None)
        for err in svc.get("errors") or []:
            add("OLLAMA-CFG-001", "file:%s:%s" % (err.get("file"), err.get("line")),
                "%s:%s: %s" % (err.get("file"), err.get("line"), err.get("reason")),
                location={"file": err.get("file"), "line": err.get("line")})

    for proc in facts.get("processes", []):
        if proc.get("unit") or proc.get("container"):
            continue
        cmd = " ".join(proc.get("argv") or [])
        subject = "process:%s" % cmd
        bind = proc.get("bind") or {}
        add("OLLAMA-BIND-004", subject, "pid %s `%s` (uid %s) runs outside systemd with OLLAMA_HOST=%r -> %s" % (
            proc.get("pid"), cmd, proc.get("uid"), bind.get("value", ""), _bind_text(bind)))
        for wildcard in proc.get("origins_wildcards") or []:
            add("OLLAMA-CORS-001", subject, "pid %s: OLLAMA_ORIGINS contains %r" % (proc.get("pid"), wildcard))
            break

    for ctr in facts.get("containers", []):
        # Docker lists a published port once per family (0.0.0.0 and ::):
        # one finding per container port, naming every address.
        published = {}
        for port in ctr.get("ports", []):
            if port.get("ip") in EVERY_ADDRESS and port.get("public_port"):
                entry = published.setdefault(port["public_port"], {"private": port.get("private_port"), "on": []})
                shown = _socket_text(port.get("ip") or "0.0.0.0", port["public_port"])
                if shown not in entry["on"]:
                    entry["on"].append(shown)
        for public, entry in sorted(published.items()):
            add("OLLAMA-DOCKER-001", "container:%s:%s" % (ctr.get("name"), public),
                "container %s (%s) publishes %s -> %s/tcp on every host address" % (
                    ctr.get("name"), ctr.get("image"), " and ".join(entry["on"]), entry["private"]), port=public)

    table = catalog.get("vulnerable_versions") or {}
    for install in facts.get("installs", []):
        version = install.get("version")
        if not version:
            add("OLLAMA-VER-002", "version:%s" % install["subject"],
                "%s: no answer from /api/version (%s)" % (install["subject"], install.get("reason", "not running")))
            continue
        hits = vulnerable_entries(version, table)
        if hits:
            add("OLLAMA-VER-001", "version:%s" % install["subject"],
                "%s runs Ollama %s: %s" % (install["subject"], version, ", ".join(
                    "%s (fixed in %s)" % (h["cve"], h["fixed_in"]) for h in hits)),
                references=[h["cve"] for h in hits])

    unfixed = unfixed_entries(table)
    front = facts.get("front") or {}
    for install in facts.get("installs", []) if unfixed else []:
        add("OLLAMA-VER-003", "advisories:%s" % install["subject"],
            "%s runs Ollama %s: %s (no fixed release); %s" % (
                install["subject"], install.get("version") or "(version unknown)",
                ", ".join(h["cve"] for h in unfixed),
                ("the toolkit's front is in place (port %s)" % ", ".join(str(p) for p in front.get("ports", [])))
                if front.get("in_place") else (front.get("why") or "no front of the toolkit")),
            references=[h["cve"] for h in unfixed])

    findings.sort(key=lambda f: (-severity_rank(f["severity"]), f["id"], f["subject"]))
    return unique(findings)


# -- every way in: the doors (issue 26) ------------------------------------------

def _advisory_version(text, fixed_in):
    """A comparable form of ``text`` against ``fixed_in``: llama.cpp build
    numbers (``b3561``; the server prints ``version: 3400 (abc1234)``)
    compare as numbers, anything else as a release (version_tuple). None
    when ``text`` is no version of that form."""
    if str(fixed_in).startswith("b"):
        match = re.match(r"^\s*(?:version:?\s*)?b?(\d+)\b", str(text or ""))
        return (int(match.group(1)),) if match else None
    return version_tuple(str(text or ""))


def server_advisories(kind, version):
    """The advisories of SERVERS[kind] that ``version`` is older than the fix of."""
    hits = []
    for entry in (SERVERS.get(kind) or {}).get("advisories") or []:
        current = _advisory_version(version, entry["fixed_in"])
        fixed = _advisory_version(entry["fixed_in"], entry["fixed_in"])
        if current is not None and fixed is not None and current < fixed:
            hits.append(entry)
    return hits


def server_fix(kind):
    """What closes a model server of ``kind``, from SERVERS: its loopback
    setting, its key, and whether the toolkit may set it."""
    spec = SERVERS.get(kind) or {}
    binds = list(spec.get("bind_flags") or []) + list(spec.get("bind_env") or [])
    keys = list(spec.get("key_flags") or []) + list(spec.get("key_env") or [])
    parts = ["bind it to loopback (%s 127.0.0.1)" % " or ".join(binds) if binds else "bind it to loopback"]
    parts.append("give it a key (%s)" % " or ".join(keys) if keys else "it has no credentials")
    rebind = spec.get("rebind")
    if rebind:
        parts.append("ollama_bind_other_servers sets %s=%s where a systemd unit runs it" % (
            rebind["env"], rebind["value"].replace("{port}", str(spec.get("port")))))
    elif spec.get("refuse"):
        parts.append("the toolkit does not rebind it: %s" % spec["refuse"])
    parts.append("or close its port (ollama_firewall_close_model_servers)")
    return "; ".join(parts)


# Open WebUI reads its booleans as ``os.environ.get(NAME, "True").lower() ==
# "true"`` (backend/open_webui/env.py WEBUI_AUTH, config.py ENABLE_SIGNUP,
# DEFAULT_USER_ROLE default "pending"): anything else is false. ENABLE_SIGNUP
# is forced off when WEBUI_AUTH is. A value saved in its admin panel wins over
# the variable (PersistentConfig): the outside probe's /api/config is the truth.
def webui_env(env):
    """(auth, signup, role) Open WebUI takes from ``env`` (defaults from SERVERS)."""
    defaults = SERVERS["open-webui"].get("auth_env") or {}
    env = env or {}

    def value(name):
        return str(env.get(name, defaults.get(name, ""))).strip().strip("\"'")

    auth = value("WEBUI_AUTH").lower() == "true"
    signup = auth and value("ENABLE_SIGNUP").lower() == "true"
    return auth, signup, value("DEFAULT_USER_ROLE") or "pending"


def webui_config(config):
    """(auth, signup, onboarding, role) from Open WebUI's ``GET /api/config``
    as the probe returns it (flat, or with upstream's ``features``); None
    where it does not say."""
    config = config or {}
    features = config.get("features") if isinstance(config.get("features"), dict) else {}

    def pick(*names):
        for name in names:
            if name in config and config[name] is not None:
                return config[name]
            if name in features and features[name] is not None:
                return features[name]
        return None

    return (pick("auth"), pick("enable_signup"), pick("onboarding"),
            pick("default_role", "default_user_role", "DEFAULT_USER_ROLE"))


def _where(facts, port):
    """(who listens on ``port``, its location, what the read says of it)."""
    for fwd in facts.get("forwarders") or []:
        if any(s.get("port") == port for s in fwd.get("listen") or []):
            who = fwd.get("process") or fwd.get("kind")
            if fwd.get("unit"):
                who = "%s (%s)" % (who, fwd["unit"])
            upstream = ", ".join(join_host_port(str(u.get("host")), u.get("port")) for u in fwd.get("upstream") or [])
            said = fwd.get("evidence") or ("forwards to %s" % upstream if upstream else "")
            return who, fwd.get("location"), said, fwd.get("kind")
    for srv in facts.get("servers") or []:
        if any(s.get("port") == port for s in srv.get("listen") or []) or \
                (srv.get("bind") or {}).get("port") == port:
            who = srv.get("kind")
            if srv.get("unit") or srv.get("container"):
                who = "%s (%s)" % (who, srv.get("unit") or "container %s" % srv.get("container"))
            env = srv.get("env") or {}
            said = ", ".join("%s=%s" % (k, env[k]) for k in (SERVERS.get(srv.get("kind")) or {}).get(
                "upstream_env") or [] if env.get(k))
            return who, srv.get("location"), said, srv.get("kind")
    owner = port_owner(facts, port)
    if owner:
        who = owner.get("process") or owner.get("kind") or "owner unknown"
        return ("%s (%s)" % (who, owner["unit"]) if owner.get("unit") else who), None, "", owner.get("kind")
    return "owner unknown (the host read lists no process on it)", None, "", None


def _loc_text(location):
    if not location:
        return ""
    return "%s:%s" % (location.get("file"), location.get("line")) if location.get("line") else str(location.get("file"))


def _server_at(facts, kind, port):
    for srv in facts.get("servers") or []:
        if srv.get("kind") != kind:
            continue
        if any(s.get("port") == port for s in srv.get("listen") or []) or (srv.get("bind") or {}).get("port") == port:
            return srv
    return {}


def _webui_fix():
    return "fix: WEBUI_AUTH=True, ENABLE_SIGNUP=false, DEFAULT_USER_ROLE=pending; HOST=127.0.0.1 or -p 127.0.0.1:3000:8080"


def door_findings(facts, probe_results, catalog, host_id):
    """The findings of a host's doors: its read (forwarders, servers) joined
    with the outside probe's results of the same host, by port.

    From the probe (never mitigated: they carry no ``port``): OLLAMA-DOOR-001
    (Ollama's API answered on a port that is none of Ollama's own),
    OLLAMA-SRV-001 (another model server answered without credentials),
    OLLAMA-WEBUI-001/002/003 (Open WebUI's /api/config). From the read alone
    (``port`` set: the toolkit's firewall rule on it, proven silent from
    outside, mitigates them): OLLAMA-DOOR-001 (a forwarder to Ollama without
    credentials on a wide address), OLLAMA-WEBUI-001/002 (its environment,
    bound wide), OLLAMA-SRV-002 (bound wide without a key; rpc-server bound
    wide at all). OLLAMA-SRV-003 from the version. A door the probe found
    asking for credentials (401/403) is no finding. Subjects name the kind
    and the port, never a pid: the same door keeps its fingerprint; the probe's
    and the read's finding of one door share it (one finding, both evidences).
    """
    facts = facts or {}
    found = []

    def add(control_id, subject, evidence, location=None, references=None, port=None):
        found.append(make_finding(catalog, host_id, control_id, subject, evidence, location, references, port))

    own = ollama_ports(facts)
    probed = sorted(set(r.get("port") for r in probe_results or [] if r.get("port")))
    # The probe's proof first (unique() keeps the first finding of a
    # subject). Each names its port; no firewall rule "mitigates" it, as
    # mitigation() asks for silence from outside on that very port.
    for port in probed:
        probe = probe_on_port(probe_results, port)
        who, location, said, owner_kind = _where(facts, port)
        seen = "%s: %s" % (", ".join(probe["answered"]) or "-", probe.get("evidence") or probe["state"])
        if probe["state"] == "exposed" and port not in own:
            fix = FORWARDER_FIX.get(owner_kind) or (_webui_fix() if owner_kind == "open-webui" else
                                                    "ask for credentials at this door or listen on loopback")
            add("OLLAMA-DOOR-001", "door:tcp/%s" % port,
                "tcp/%s serves Ollama's API without credentials from outside (%s); listening: %s%s%s; fix: %s" % (
                    port, seen, who, ("; configured at %s" % _loc_text(location)) if location else "",
                    ("; %s" % said) if said else "", fix), location=location, port=port)
        kind = probe.get("kind")
        if kind in SERVERS and kind != "open-webui" and (probe["state"] == "model_open" or probe.get("open")):
            models = (probe.get("details") or {}).get("models")
            add("OLLAMA-SRV-001", "server:%s:tcp/%s" % (kind, port),
                "tcp/%s answers as %s without credentials from outside (%s%s); listening: %s; fix: %s" % (
                    port, SERVERS[kind]["title"], seen, (", %s models" % models) if models is not None else "",
                    who, server_fix(kind)), location=location, port=port)
        if kind == "open-webui" and probe["answered"]:
            auth, signup, onboarding, role = webui_config((probe.get("details") or {}).get("config"))
            env_role = webui_env((_server_at(facts, "open-webui", port)).get("env"))[2]
            _webui_findings(add, port, "from outside (%s), /api/config" % seen, who, auth, signup, onboarding,
                            role or (env_role if _server_at(facts, "open-webui", port) else None), port)

    for door in host_doors(facts):
        port = door["port"]
        probe = probe_on_port(probe_results, port)
        if door_state(probe) == "auth_required":
            continue  # 401/403 from outside: the door asks for credentials
        proven = "not proven from outside (%s)" % (
            "not probed" if not probe else "%s: %s" % (probe["state"], probe.get("evidence") or ""))
        who, location, said, _kind = _where(facts, port)
        if door["category"] == "forwarder":
            if door.get("to_model") == "ollama" and door.get("credentials") is False and port not in own:
                listen = ", ".join(join_host_port(str(s.get("address")), s.get("port")) for s in door["listen"])
                add("OLLAMA-DOOR-001", "door:tcp/%s" % port,
                    "from the host read: %s listens on %s and forwards to Ollama without credentials%s%s; %s; fix: %s" % (
                        who, listen, ("; configured at %s" % _loc_text(location)) if location else "",
                        ("; %s" % said) if said else "", proven,
                        FORWARDER_FIX.get(door.get("kind")) or "ask for credentials or listen on loopback"),
                    location=location, port=port)
            continue
        srv = _server_at(facts, door["kind"], port)
        bind = srv.get("bind") or {}
        bound = "%s from %s" % (join_host_port(str(bind.get("address")), bind.get("port") or port),
                                bind.get("origin") or "?") if bind.get("address") else "listens beyond loopback"
        if door["kind"] == "open-webui":
            if probe and probe.get("kind") == "open-webui" and (probe.get("details") or {}).get("config"):
                continue  # its own /api/config from outside decided (a saved setting wins over the env)
            auth, signup, role = webui_env(srv.get("env"))
            _webui_findings(add, port, "from the host read (%s; its environment; %s)" % (bound, proven), who,
                            auth, signup, None, role, port)
        elif door["kind"] == "rpc-server" or door.get("credentials") is False:
            add("OLLAMA-SRV-002", "server:%s:tcp/%s" % (door["kind"], port),
                "from the host read: %s %s, %s; %s; fix: %s" % (
                    who, bound, "rpc-server has no credentials at all" if door["kind"] == "rpc-server" else
                    "no key set (%s)" % " / ".join(list((SERVERS.get(door["kind"]) or {}).get("key_flags") or [])
                                                  + list((SERVERS.get(door["kind"]) or {}).get("key_env") or [])),
                    proven, server_fix(door["kind"])), location=location, port=port)

    versions = []
    for srv in facts.get("servers") or []:
        ports = [s.get("port") for s in srv.get("listen") or []] + [(srv.get("bind") or {}).get("port")]
        versions.append((srv.get("kind"), srv.get("version"), srv.get("unit") or (
            "container %s" % srv["container"] if srv.get("container") else None) or "port %s" % next(
            (p for p in ports if p), "?"), [p for p in ports if p]))
    covered = set(p for v in versions for p in v[3])
    for port in probed:
        probe = probe_on_port(probe_results, port)
        if probe.get("kind") in SERVERS and port not in covered and (probe.get("details") or {}).get("version"):
            versions.append((probe["kind"], probe["details"]["version"], "tcp/%s" % port, [port]))
    for kind, version, where, _ports in versions:
        hits = server_advisories(kind, version)
        if hits:
            add("OLLAMA-SRV-003", "version:%s:%s" % (kind, where),
                "%s %s runs %s: %s; upgrade (the toolkit does not), until then keep it on loopback or close its "
                "port" % ((SERVERS.get(kind) or {}).get("title", kind), where, version, ", ".join(
                    "%s (%s, fixed in %s)" % (h["cve"], h["summary"], h["fixed_in"]) for h in hits)),
                references=[h["cve"] for h in hits])
    return found


def _webui_findings(add, port, how, who, auth, signup, onboarding, role, mitigable_port):
    """OLLAMA-WEBUI-001/002/003 of the Open WebUI on ``port``. With login off
    the others say nothing more: WEBUI-001 alone."""
    base = "Open WebUI on tcp/%s (%s) %s" % (port, who, how)
    if auth is False:
        add("OLLAMA-WEBUI-001", "webui:tcp/%s" % port, "%s: login is off (WEBUI_AUTH=False); %s" % (base, _webui_fix()),
            port=mitigable_port)
        return
    if onboarding:
        add("OLLAMA-WEBUI-003", "webui:tcp/%s" % port,
            "%s: no account yet, the first to sign up becomes its admin; create the admin account from the host "
            "now; %s" % (base, _webui_fix()), port=mitigable_port)
    if signup and str(role or "").lower() == "user":
        add("OLLAMA-WEBUI-002", "webui:tcp/%s" % port,
            "%s: signup is open (ENABLE_SIGNUP=True) and new accounts get the role user (DEFAULT_USER_ROLE=user); "
            "%s" % (base, _webui_fix()), port=mitigable_port)


def cloud_finding(unit, subject, cloud, reachable):
    """(control, subject, evidence) for a service whose cloud features are on:
    OLLAMA-CLOUD-001 when the service is also reachable from the network,
    else OLLAMA-CLOUD-002."""
    parts = ["%s: Ollama %s has cloud features on (%s)" % (unit, cloud.get("version"), cloud.get("reason"))]
    if cloud.get("remotes") and cloud["remotes"] != ["ollama.com"]:
        parts.append("OLLAMA_REMOTES=%s" % ",".join(cloud["remotes"]))
    if cloud.get("can_disable") is False:
        parts.append("OLLAMA_NO_CLOUD needs 0.16.2 or later: upgrade")
    parts.append("signed in to ollama.com: %s" % cloud.get("signed_in", "cannot tell"))
    if reachable:
        parts.append("and it is configured or running beyond loopback")
    return ("OLLAMA-CLOUD-001" if reachable else "OLLAMA-CLOUD-002"), subject, "; ".join(parts)


def _socket_text(address, port):
    return join_host_port(str(address), port)


# Findings a firewall rule on their port can close (NET-001 is the outside
# probe's own answer: never mitigated).
# The doors' findings from the read carry their port; the probe's carry none.
MITIGABLE = ("OLLAMA-BIND-001", "OLLAMA-BIND-002", "OLLAMA-DOCKER-001", "OLLAMA-DOOR-001", "OLLAMA-WEBUI-001",
             "OLLAMA-WEBUI-002", "OLLAMA-WEBUI-003", "OLLAMA-SRV-002")
SILENT = ("closed", "filtered")
# Probe states that say nothing of the host (no route from the scanner, a
# failure of the probe): never silence, never an answer either.
UNPROVEN = ("no_route", "error")


def _family(address):
    return "ipv6" if ":" in str(address) else "ipv4"


def mitigation(finding, closures, probe_results, addresses):
    """(what closes the finding's port, None) or (None, why it is not mitigated).

    Mitigated means both: on the host, a rule of the toolkit's that takes
    effect closes the port for every address family the host has
    (``closures``: ollama_info's ``firewall``; a Docker-published port needs
    the DOCKER-USER rule for IPv4, where Docker's DNAT sends it through
    FORWARD, and an input rule for IPv6, where docker-proxy answers); and from
    outside, the probe of that port got no answer on any address, over every
    family.
    """
    port = finding.get("port")
    if finding.get("id") not in MITIGABLE or not port:
        return None, "not a port exposure"
    families = sorted(set(_family(a) for a in addresses or []))
    if not families:
        return None, "the host has no network address to prove it from outside"
    closures = closures or {}
    rules = []
    for family in families:
        inbound = ((closures.get("input") or {}).get(family) or {}).get(str(port))
        forward = ((closures.get("forward") or {}).get(family) or {}).get(str(port))
        if finding["id"] == "OLLAMA-DOCKER-001":
            rule = forward if family == "ipv4" else (forward or inbound)
        else:
            rule = inbound
        if not rule:
            return None, "no firewall rule of the toolkit closes tcp/%s over %s" % (port, family)
        if rule not in rules:
            rules.append(rule)
    probed = [r for r in probe_results or [] if r.get("port") == port]
    for family in families:
        mine = [r for r in probed if _family(r.get("address")) == family]
        if not mine:
            return None, "tcp/%s was not probed from outside over %s" % (port, family)
        unproven = [r for r in mine if r.get("state") in UNPROVEN]
        loud = [r for r in mine if r.get("state") not in SILENT + UNPROVEN]
        if unproven and not loud:
            return None, "tcp/%s is unproven from outside on %s (%s: %s)" % (
                port, unproven[0].get("address"), unproven[0].get("state"), unproven[0].get("evidence") or "")
        if loud:
            return None, "tcp/%s answers from outside on %s (%s)" % (port, loud[0].get("address"), loud[0].get("state"))
    return "%s; no answer from outside on %s" % (
        "; ".join(rules), ", ".join("%s port %s" % (r["address"], port) for r in probed)), None


# Advisories no release fixes: mitigated by the front's policy, on a host
# whose Ollama only the front (and loopback) reaches.
ADVISORY_CONTROLS = ("OLLAMA-VER-003",)


def advisory_mitigation(facts, open_exposure):
    """(what mitigates OLLAMA-VER-003, None) or (None, why it stays open):
    no exposure finding open (Ollama on loopback, or its ports closed by the
    toolkit's firewall, proven from outside) and the toolkit's front in place."""
    front = (facts or {}).get("front") or {}
    if open_exposure:
        return None, "Ollama is reachable from the network without the front"
    if not front.get("in_place"):
        return None, front.get("why") or "no front of the toolkit"
    return ("only the toolkit's front (port %s) reaches Ollama from the network, and it lets only admins call "
            "%s" % (", ".join(str(p) for p in front.get("ports", [])), ", ".join(ADVISORY_ROUTES))), None


# Who reaches the Ollama API of a host: the severity of a control that
# depends on it (the catalog's severity_by_reach) is given in that context.
REACH_NETWORK = "network"
REACH_LOCAL = "local"


def api_reach(facts, open_exposure):
    """(reach, why): who can call the host's Ollama API.

    ``network`` where it is reachable from the network: an exposure finding
    is open (a bind beyond loopback, a published port, an answer to the
    outside probe on any probed port) or the toolkit's front is configured
    (it proxies remote clients to Ollama, whatever its state). ``local``
    otherwise: Ollama on loopback (or its ports closed by the toolkit's
    firewall, proven from outside) and no front, so only the host's own
    users reach it. A proxy that is not the toolkit's front, on a port the
    probe does not try, is not seen: probe its port (ollama_audit_probe_ports).
    """
    front = (facts or {}).get("front") or {}
    if open_exposure:
        return REACH_NETWORK, "Ollama is reachable from the network"
    if front.get("config"):
        return REACH_NETWORK, "the toolkit's front (%s) brings remote clients to Ollama" % front["config"]
    return REACH_LOCAL, "only local users reach Ollama (loopback or closed from outside, no front)"


def severity_in_context(control, reach):
    """A control's severity where the API's reach is ``reach``: its
    ``severity_by_reach`` entry for it, else its ``severity``."""
    return ((control or {}).get("severity_by_reach") or {}).get(reach) or control["severity"]


def apply_reach(findings, facts, open_exposure, catalog):
    """Give each finding of a control with ``severity_by_reach`` its severity
    in context and its ``reach`` (network or local) with why; the others are
    left as they are. Returns the findings."""
    controls = (catalog or {}).get("controls") or {}
    reach, why = api_reach(facts, open_exposure)
    for finding in findings:
        control = controls.get(finding["id"]) or {}
        if control.get("severity_by_reach"):
            finding["severity"] = severity_in_context(control, reach)
            finding["reach"] = reach
            finding["reach_why"] = why
    return findings


def apply_mitigations(findings, facts, probe_results, catalog):
    """Mark each exposure finding closed by the toolkit's rules (``mitigated_by``)
    and return the host's status: exposed (an exposure finding not mitigated),
    mitigated (every one mitigated), else what ``host_status`` says. An
    advisory finding (ADVISORY_CONTROLS) is marked mitigated where no exposure
    finding is open and the toolkit's front is in place; it never changes the
    host's status. A control with ``severity_by_reach`` gets its severity in
    context (``apply_reach``)."""
    exposure = set(catalog.get("exposure_controls") or [])
    open_exposure = False
    mitigated = False
    for finding in findings:
        if finding["id"] not in exposure:
            continue
        text, why = mitigation(finding, (facts or {}).get("firewall"), probe_results, (facts or {}).get("addresses"))
        if text:
            finding["mitigated_by"] = text
            mitigated = True
        else:
            open_exposure = True
            if " is unproven from outside " in why:
                # The toolkit's rules are there, the probe could not reach the host: said, not proof.
                finding["mitigation_unproven"] = why
    for finding in findings:
        if finding["id"] in ADVISORY_CONTROLS:
            text, _why = advisory_mitigation(facts, open_exposure)
            if text:
                finding["mitigated_by"] = text
    apply_reach(findings, facts, open_exposure, catalog)
    if open_exposure:
        return STATUS_EXPOSED
    if mitigated:
        return STATUS_MITIGATED
    return host_status(facts, findings, catalog)


def host_status(facts, findings, catalog):
    """exposed / secure / not_installed / unsupported for an audited host."""
    if facts is None or facts.get("supported") is False:
        return STATUS_UNSUPPORTED
    exposure = set(catalog.get("exposure_controls") or [])
    if any(f["id"] in exposure for f in findings):
        return STATUS_EXPOSED
    # Another model server, or a forwarder to a model, counts: such a host is
    # exposed or secure, never "not installed" (issue 26).
    installed = (facts.get("services") or facts.get("processes") or facts.get("containers")
                 or facts.get("servers") or [f for f in facts.get("forwarders") or [] if f.get("to_model")])
    if not installed:
        return STATUS_NOT_INSTALLED
    return STATUS_SECURE


def at_or_above(findings, threshold):
    """Findings whose severity is at or above ``threshold``."""
    rank = severity_rank(threshold)
    if rank < 0:
        return []
    return [f for f in findings if severity_rank(f.get("severity")) >= rank]
