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

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_cloud import version_tuple
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_docker import EVERY_ADDRESS
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_finding import (  # noqa: F401
    fingerprint, make_finding, unique)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_front_site import ADVISORY_ROUTES
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import bind_exposed, is_exposed_scope, join_host_port

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


def vulnerable_entries(version, table):
    """Entries of the vulnerable-version table that apply to ``version``."""
    current = version_tuple(version)
    if current is None:
        return []
    hits = []
    for entry in (table or {}).get("entries", []):
        fixed = version_tuple(entry.get("fixed_in") or "")
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


def evaluate_host(facts, catalog, host_id):
    """All findings for one host's facts (as returned by ollama_info)."""
    findings = []

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
MITIGABLE = ("OLLAMA-BIND-001", "OLLAMA-BIND-002", "OLLAMA-DOCKER-001")
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
    installed = facts.get("services") or facts.get("processes") or facts.get("containers")
    if not installed:
        return STATUS_NOT_INSTALLED
    return STATUS_SECURE


def at_or_above(findings, threshold):
    """Findings whose severity is at or above ``threshold``."""
    rank = severity_rank(threshold)
    if rank < 0:
        return []
    return [f for f in findings if severity_rank(f.get("severity")) >= rank]
