# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe every way in from outside: connect, ask, fingerprint, classify.

Shared by the ollama_probe module and by ollama_report, which runs the probe
in its own process when it runs on the same machine (one module start-up
fewer per audit). Contacts only the targets it is given, one connection per
request, each bounded by the timeout; at most ``MAX_GETS`` GETs a port (and
one TLS retry of the first), never anything but GET, never a route that
loads or runs a model (no /api/generate, /api/pull, /v1/completions,
/prompt...).

Each result says what answered (``kind``: ``ollama``, a SERVERS kind of
module_utils/ollama_servers.py, ``http`` for another web server, None when
nothing spoke HTTP), whether it hands out a model without credentials
(``open``) and what it told (``details``: models, version, config). The
fingerprints are small pure functions of one answer (status, headers, body)
-> (kind, open, details) or None, each written from its upstream's source
(cited at each); ``open`` None there means that answer alone does not tell
(a route the server shows even with a key), and the sequence asks the
kind's guarded route.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import socket
import ssl
import threading

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_finding import make_finding, unique
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_http import http_get

# ``no_route`` before ``filtered``: a host one of whose addresses could not be
# reached from here is not proven silent. ``exposed``: Ollama's API answered
# without credentials (on whatever port); ``model_open``: another kind
# handed out a model (or its accounts) without credentials.
STATE_ORDER = ("exposed", "model_open", "auth_required", "open_other", "no_route", "filtered", "closed", "error")

# GETs asked of one port at most (besides one TLS retry of the first).
MAX_GETS = 5
# Ports probed per host at most (``build_targets``); the rest are reported.
MAX_PORTS = 64
# The scopes of a socket that reach the network: ollama_host.is_exposed_scope's
# answer (wildcard, or a non-loopback address; a hostname only by its
# resolution), restated so that the probe ships no more than it needs
# (tests/unit/test_ollama_probe.py holds the two equal).
WIDE_SCOPES = ("wildcard", "address")

# What a failed connect says about the target (docs/firewall.md, "What the
# probe's states prove"):
# - refused (RST): ``closed``; the host answered, the port is shut.
# - no answer before the timeout (also the kernel's ETIMEDOUT): ``filtered``;
#   something on the way or the host drops it (the toolkit's rules drop).
# - these: ``no_route``: the probe could not reach the address from where it
#   runs, so nothing is known of the host; never proof that a port is closed.
#   ENETUNREACH, ENETDOWN (no route, no interface); EHOSTUNREACH, EHOSTDOWN
#   (no neighbour answered ARP/NDP, or an ICMP host-unreachable, which a router
#   sends as well as a host firewall rejecting with icmp-host-prohibited or
#   admin-prohibited: the same errno either way, so it cannot stand for the
#   host's refusal; the toolkit's own rules never reject with ICMP);
#   EACCES, EPERM (an ICMPv6 administratively-prohibited from anywhere on the
#   path, or the scanner's own firewall); EADDRNOTAVAIL, EAFNOSUPPORT (no
#   source address or no stack of that family here); a name not resolved.
# - anything else: ``error`` (something answered; not silence either).
#   probe_one takes a request reset after the connection opened for
#   ``open_other``: something listens there that speaks no HTTP.
NO_ROUTE_ERRNOS = tuple(getattr(errno, name) for name in (
    "ENETUNREACH", "ENETDOWN", "EHOSTUNREACH", "EHOSTDOWN", "EACCES", "EPERM", "EADDRNOTAVAIL", "EAFNOSUPPORT")
    if hasattr(errno, name))


def classify_error(exc, timeout):
    """(state, evidence) of a connection that failed with ``exc``."""
    if isinstance(exc, ConnectionRefusedError):
        return "closed", "connection refused"
    if isinstance(exc, socket.timeout) or getattr(exc, "errno", None) == errno.ETIMEDOUT:
        return "filtered", "no answer within %.1fs" % timeout
    if isinstance(exc, socket.gaierror):
        return "no_route", "no route from here: the name does not resolve (%s); unproven" % exc
    code = getattr(exc, "errno", None)
    if code in NO_ROUTE_ERRNOS:
        return "no_route", "no route from here: %s (%s); unproven" % (errno.errorcode.get(code, code), exc)
    return "error", "connection failed: %s%s" % (
        ("%s " % errno.errorcode[code]) if code in errno.errorcode else "", exc)


def _json(body):
    try:
        return json.loads(body)
    except (ValueError, TypeError):
        return None


def _details(models=None, version=None, config=None):
    return {"models": models, "version": version, "config": dict(config or {})}


def _model_list(data):
    """The entries of an OpenAI-style model list ({"object": "list", "data": [...]}), or None."""
    if isinstance(data, dict) and data.get("object") == "list" and isinstance(data.get("data"), list):
        return [m for m in data["data"] if isinstance(m, dict)]
    return None


def _is_llamacpp(headers, data):
    # llama.cpp tools/server/server-http.cpp, server_http_context::init:
    # srv->set_default_headers({{"Server", "llama.cpp"}}) on every answer;
    # its model lists (server-context.cpp, handle_models) name themselves
    # {"owned_by", "llamacpp"}.
    if (headers or {}).get("server", "").lower().startswith("llama.cpp"):
        return True
    return any(m.get("owned_by") == "llamacpp" for m in _model_list(data) or [])


def fp_ollama_tags(status, headers, body):
    """GET /api/tags of Ollama's API: 200 {"models": [...]}.

    ollama/ollama server/routes.go (ListHandler, ``r.GET("/api/tags", ...)``):
    {"models": [{name, model, modified_at, size, digest, details}]}, no
    credentials. llama-server answers /api/tags too (2025 builds, "ollama
    specific endpoint"), with "object": "list" and "data" beside "models"
    and its own Server header: not Ollama (fp_llama_server). LocalAI's
    Ollama-compatible routes (core/http/routes/ollama.go) answer this shape
    as well: that is Ollama's API answering, and is reported as such.
    """
    if status != 200:
        return None
    data = _json(body)
    if not isinstance(data, dict) or not isinstance(data.get("models"), list) or "data" in data \
            or _is_llamacpp(headers, data):
        return None
    return "ollama", True, _details(models=len(data["models"]))


def fp_ollama_root(status, headers, body):
    """GET / of Ollama: 200 "Ollama is running" (server/routes.go, ``r.GET("/", ...)``)."""
    if status == 200 and "Ollama is running" in body and not _is_llamacpp(headers, None):
        return "ollama", True, _details()
    return None


def fp_llama_server(status, headers, body):
    """Any answer of llama.cpp's llama-server (tools/server).

    Its model lists (/v1/models, /models, /api/tags in 2025 builds) stay
    public with --api-key (server-http.cpp, get_public_endpoints: /health,
    /v1/health, /models, /v1/models, /): ``open`` None, GET /props decides
    (fp_llama_props).
    """
    data = _json(body)
    if not _is_llamacpp(headers, data):
        return None
    entries = _model_list(data)
    return "llama-server", None, _details(models=len(entries) if entries is not None else None)


def fp_llama_props(status, headers, body):
    """GET /props of llama-server: guarded by --api-key (not a public endpoint).

    tools/server/server-context.cpp (get_props): 200 JSON with
    default_generation_settings, total_slots, model_path, build_info; with a
    key and none given, server-http.cpp's middleware answers 401
    {"error": {"message": "Invalid API Key", "type": "authentication_error"}}.
    """
    data = _json(body)
    if status == 200 and isinstance(data, dict) and (
            "default_generation_settings" in data or "total_slots" in data or "build_info" in data):
        return "llama-server", True, _details(version=data.get("build_info") if isinstance(
            data.get("build_info"), str) else None)
    if status in (401, 403):
        return "llama-server", False, _details()
    return None


def fp_openai_models(status, headers, body):
    """GET /v1/models of an OpenAI-compatible server, by who it says it is.

    - vLLM (vllm/entrypoints/openai/protocol.py, ModelCard): owned_by "vllm",
      max_model_len; with --api-key every route under /v1 answers 401
      {"error": "Unauthorized"} (vllm/entrypoints/openai/server_utils.py,
      AuthenticationMiddleware; /health /ping /version /metrics stay open).
    - llama-server: owned_by "llamacpp" (fp_llama_server; public even with a key).
    - LocalAI (core/schema/openai.go, OpenAIModel {id, object}, no owned_by;
      core/http/auth/middleware.go authError: 401 "An authentication key is
      required", WWW-Authenticate: Bearer).
    - TGI (router/src/server.rs, openai_get_model_info): owned_by is the
      model id; the route stays open with --api-key (only the generate
      routes take it).
    - LM Studio: owned_by "organization_owner" (UNVERIFIED: LM Studio is
      closed source; read from its documentation's sample answers only).
    Another list: kind ``http`` (an unknown server handing out a model list).
    """
    data = _json(body)
    if status in (401, 403):
        text = body if isinstance(body, str) else ""
        if isinstance(data, dict) and data.get("error") == "Unauthorized":
            return "vllm", False, _details()
        if "An authentication key is required" in text:
            return "localai", False, _details()
        if _is_llamacpp(headers, data) or "Invalid API Key" in text:
            return "llama-server", False, _details()
        return None, False, _details()
    entries = _model_list(data)
    if status != 200 or entries is None:
        return None
    if _is_llamacpp(headers, data):
        return fp_llama_server(status, headers, body)
    owners = set(m.get("owned_by") for m in entries)
    if "vllm" in owners or any("max_model_len" in m for m in entries):
        return "vllm", True, _details(models=len(entries))
    if "organization_owner" in owners:
        return "lmstudio", True, _details(models=len(entries))
    return "http", True, _details(models=len(entries))


def fp_tgi_info(status, headers, body):
    """GET /info of Hugging Face TGI (router/src/lib.rs, Info; server.rs get_model_info).

    {"model_id", ..., "router": "text-generation-router", "version", "sha"};
    open with or without --api-key, which guards only the generate routes
    (all POST, never asked): ``open`` None, the host read tells whether a
    key is set.
    """
    data = _json(body)
    if status == 200 and isinstance(data, dict) and str(data.get("router", "")).startswith(
            "text-generation-router"):
        return "tgi", None, _details(models=1 if data.get("model_id") else 0, version=data.get("version"))
    return None


def fp_localai_wellknown(status, headers, body):
    """GET /.well-known/localai.json of LocalAI (core/http/routes/localai.go).

    {"version": ..., "endpoints": {"models": "/v1/models", ...}, ...}; a
    public route (core/http/auth/public_routes.go): ``open`` None, its
    /v1/models (guarded by LOCALAI_API_KEY) decides.
    """
    data = _json(body)
    if status == 200 and isinstance(data, dict) and isinstance(data.get("endpoints"), dict) and "version" in data:
        return "localai", None, _details(version=data.get("version"))
    return None


def fp_localai_version(status, headers, body):
    """GET /version of LocalAI (core/http/routes/localai.go): {"version": "v3.8.0"}.

    Asked only of a server whose /v1/models listed models without owners
    (LocalAI's OpenAIModel {id, object}); vLLM's /version has the same
    shape but its models name their owner, so it is never asked there.
    Guarded by LOCALAI_API_KEY: an answer means no key.
    """
    data = _json(body)
    if status == 200 and isinstance(data, dict) and isinstance(data.get("version"), str) and len(data) == 1:
        return "localai", True, _details(version=data["version"])
    return None


def fp_comfyui_stats(status, headers, body):
    """GET /api/system_stats of ComfyUI (server.py, system_stats).

    {"system": {"os", "comfyui_version", "python_version", "argv", ...},
    "devices": [...]}. ComfyUI has no credentials at all: what answers this
    answers /prompt (runs a workflow) as well. Its argv is not kept.
    """
    data = _json(body)
    system = data.get("system") if isinstance(data, dict) else None
    if status == 200 and isinstance(system, dict) and "comfyui_version" in system:
        return "comfyui", True, _details(version=system.get("comfyui_version"))
    return None


def fp_open_webui_config(status, headers, body):
    """GET /api/config of Open WebUI, unauthenticated (backend/open_webui/main.py, get_app_config).

    Without a token it answers {"onboarding": true (only while no account
    exists: the first to sign up becomes admin), "status": true, "name",
    "version", "features": {"auth" (WEBUI_AUTH), "enable_signup",
    "enable_login_form", "auth_trusted_header", ...}}. DEFAULT_USER_ROLE is
    not in the unauthenticated answer (default_role None: the host read has
    it). ``open``: no login at all (auth false) or no account yet.
    """
    data = _json(body)
    features = data.get("features") if isinstance(data, dict) else None
    if status != 200 or not isinstance(features, dict) or "auth" not in features or "status" not in data:
        return None
    config = {
        "auth": features.get("auth"),
        "enable_signup": features.get("enable_signup"),
        "enable_login_form": features.get("enable_login_form"),
        "auth_trusted_header": features.get("auth_trusted_header"),
        "onboarding": bool(data.get("onboarding")),
        "default_role": None,
        "name": data.get("name"),
    }
    is_open = features.get("auth") is False or config["onboarding"]
    return "open-webui", bool(is_open), _details(version=data.get("version"), config=config)


# <title> of a web UI's page -> the kind whose own route tells the rest.
# Open WebUI: src/app.html <title>Open WebUI</title>; ComfyUI's frontend
# index.html <title>ComfyUI</title>; LocalAI's UI <title>LocalAI...</title>.
TITLE_HINTS = (("open webui", "open-webui"), ("comfyui", "comfyui"), ("localai", "localai"))


def html_hint(headers, body):
    """The kind a web page names in its <title>, or None."""
    lower = (body or "")[:8192].lower()
    start = lower.find("<title")
    if start < 0:
        return None
    title = lower[start:lower.find("</title>", start)]
    for needle, kind in TITLE_HINTS:
        if needle in title:
            return kind
    return None


def classify(status, headers, body, path):
    """State and evidence of one answer as Ollama's API (the existing contract: exposed,
    auth_required, or None for anything else)."""
    ctype = headers.get("content-type", "")
    if path == "/api/tags":
        hit = fp_ollama_tags(status, headers, body)
        if hit:
            models = hit[2]["models"]
            return "exposed", "GET /api/tags -> 200 %s (%d model%s) without credentials" % (
                ctype or "json", models, "" if models == 1 else "s")
    if fp_ollama_root(status, headers, body):
        return "exposed", "GET %s -> 200 'Ollama is running' without credentials" % path
    if status in (401, 403):
        realm = headers.get("www-authenticate", "")
        return "auth_required", "GET %s -> %d%s" % (path, status, (" (WWW-Authenticate: %s)" % realm) if realm else "")
    return None, "GET %s -> %s" % (path, status)


class _Asker(object):
    """GETs to one address and port, at most ``MAX_GETS``, each bounded by the timeout."""

    def __init__(self, address, port, timeout, tls):
        self.address, self.port, self.timeout, self.tls = address, port, timeout, tls
        self.answers = {}
        self.asked = []

    def get(self, path):
        if path in self.answers:
            return self.answers[path]
        if len(self.asked) >= MAX_GETS:
            return None
        self.asked.append(path)
        try:
            answer = http_get(self.address, self.port, path, self.timeout, self.tls, total=2 * self.timeout)
        except (OSError, socket.error, ssl.SSLError):
            answer = None
        self.answers[path] = answer
        return answer


def _fingerprint(ask, first):
    """(kind, open, details, evidence) of a port whose GET /api/tags answered ``first``.

    The order asks the fewest GETs for the common cases: Ollama's API (1,
    and /api/version), a 401/403 (1), llama-server (2: /props), then GET /
    (a web UI's title or 'Ollama is running'), GET /v1/models, and one
    kind-specific route.
    """
    notes = []

    def note(path, answer):
        notes.append("GET %s -> %s" % (path, answer[0] if answer else "no answer"))

    note("/api/tags", first)
    status, headers, body = first
    hit = fp_llama_server(status, headers, body)
    if hit:
        return _llama_open(ask, hit, notes)
    hit = fp_ollama_tags(status, headers, body)
    if hit:
        return _ollama_version(ask, hit, notes)
    if status in (401, 403):
        return None, False, _details(), "; ".join(notes)

    # A web UI's pages answer every unknown path (Open WebUI's SPA): its
    # title may already be in the first answer; else GET / tells.
    hint = html_hint(headers, body)
    root = None
    if not hint:
        root = ask.get("/")
        note("/", root)
    if root:
        hit = fp_ollama_root(*root) or fp_llama_server(*root)
        if hit and hit[0] == "ollama":
            return _ollama_version(ask, hit, notes)
        if hit:
            return _llama_open(ask, hit, notes)
        hint = html_hint(root[1], root[2])
    server = ((root or first)[1] or {}).get("server", "").lower()
    # A web UI named by its page: its own route first.
    if hint == "open-webui" or (not hint and "uvicorn" in server):
        found = _ask_kind(ask, "/api/config", fp_open_webui_config, notes)
        if found:
            return found
    if hint == "comfyui" or (not hint and "aiohttp" in server):
        found = _ask_kind(ask, "/api/system_stats", fp_comfyui_stats, notes)
        if found:
            return found
    models = ask.get("/v1/models")
    note("/v1/models", models)
    hit = fp_openai_models(*models) if models else None
    if hit and hit[0] == "llama-server" and hit[1] is None:
        return _llama_open(ask, hit, notes)
    if hit and hit[0] == "http":
        entries = _model_list(_json(models[2])) or []
        # LocalAI lists {id, object} only; TGI names each model its own owner.
        if hint == "localai" or (entries and not any("owned_by" in m for m in entries)):
            # /.well-known/localai.json (2025+), else its /version: a list
            # without owners that answered with no key, and LocalAI's version.
            found = (_ask_kind(ask, "/.well-known/localai.json", fp_localai_wellknown, notes)
                     or _ask_kind(ask, "/version", fp_localai_version, notes))
            if found:
                return "localai", True, dict(found[2], models=hit[2]["models"]), found[3]
        elif entries and all(m.get("owned_by") == m.get("id") for m in entries):
            found = _ask_kind(ask, "/info", fp_tgi_info, notes)
            if found:
                return found[0], False, found[2], found[3] + "; TGI shows /info and /v1/models with or without " \
                    "--api-key, which guards only its POST routes: credentials unproven from outside"
    if hit:
        return hit[0], hit[1], hit[2], "; ".join(notes)
    if hint == "localai":
        found = _ask_kind(ask, "/.well-known/localai.json", fp_localai_wellknown, notes)
        if found:
            return found[0], False, found[2], found[3]
    return ("http" if (root or first)[0] is not None else None), False, _details(), "; ".join(notes)


def _ask_kind(ask, path, fingerprint, notes):
    answer = ask.get(path)
    notes.append("GET %s -> %s" % (path, answer[0] if answer else "no answer"))
    hit = fingerprint(*answer) if answer else None
    if hit:
        return hit[0], hit[1], hit[2], "; ".join(notes)
    return None


def _ollama_version(ask, hit, notes):
    details = dict(hit[2])
    answer = ask.get("/api/version")
    if answer and answer[0] == 200:
        data = _json(answer[2])
        if isinstance(data, dict) and isinstance(data.get("version"), str):
            details["version"] = data["version"]
    return "ollama", True, details, "; ".join(notes)


def _llama_open(ask, hit, notes):
    found = _ask_kind(ask, "/props", fp_llama_props, notes)
    if found:
        details = dict(hit[2], version=found[2]["version"] or hit[2]["version"])
        return "llama-server", found[1], details, found[3]
    return "llama-server", False, hit[2], "; ".join(notes)


def probe_one(address, port, timeout):
    """What answers on one address and port, in at most MAX_GETS GETs (and one TLS retry)."""
    result = {"address": address, "port": port, "state": "error", "evidence": "", "status_code": None,
              "version": None, "tls": False, "kind": None, "open": False, "details": _details()}
    try:
        first = http_get(address, port, "/api/tags", timeout, False, total=2 * timeout)
    except (ConnectionResetError, BrokenPipeError):
        # The port took the connection (a refusal is ECONNREFUSED at connect)
        # and reset the request: something listens that speaks no HTTP, as
        # llama.cpp's rpc-server does with a first byte it does not know.
        first = (None, {}, "reset")
    except (OSError, socket.error) as exc:
        state, evidence = classify_error(exc, timeout)
        result.update(state=state, evidence=evidence)
        return result
    status, headers, body = first
    plain_http_refused = status == 400 and "HTTPS" in body
    if status is None or plain_http_refused:
        try:
            first = http_get(address, port, "/api/tags", timeout, True, total=2 * timeout)
            result["tls"] = True
        except (OSError, socket.error, ssl.SSLError):
            # Raw TCP that does not speak HTTP (llama.cpp's rpc-server, sshd...): the host read names it.
            result.update(state="open_other", evidence=(
                "open, no HTTP answer%s" % (" (the request was reset)" if body == "reset" else "")
                if status is None else "open, plain HTTP refused and TLS failed"))
            return result
        status, headers, body = first
        if status is None:
            result.update(state="open_other", evidence="TLS: open, no HTTP answer")
            return result
    result["status_code"] = status
    ask = _Asker(address, port, timeout, result["tls"])
    ask.answers["/api/tags"] = first
    ask.asked.append("/api/tags")
    kind, is_open, details, evidence = _fingerprint(ask, first)
    if kind == "ollama":
        state = "exposed"
        result["version"] = details.get("version")
        if details.get("models") is not None:
            evidence = classify(status, headers, body, "/api/tags")[1]
        else:
            evidence = "%s; GET / -> 200 'Ollama is running' without credentials" % evidence.split(";")[0]
    elif is_open:
        state = "model_open"
        evidence = "%s answers without credentials (%s)" % (kind, evidence)
    elif status in (401, 403):
        state, evidence = classify(status, headers, body, "/api/tags")
    elif _asked_credentials(ask):
        state = "auth_required"
        evidence = "%s asks for credentials (%s)" % (kind or "a model route", evidence)
    else:
        state = "open_other"
        what = "%s, no model without credentials proven" % kind if kind else "open, not a model server"
        evidence = "%s (%s)" % (what, evidence)
    if result["tls"]:
        evidence = "TLS: " + evidence
    result.update(state=state, evidence=evidence, kind=kind, open=bool(is_open), details=details)
    return result


def _asked_credentials(ask):
    """True when a model route of this port (/v1/models, /props) answered 401/403."""
    return any(ask.answers.get(path) and ask.answers[path][0] in (401, 403) for path in ("/v1/models", "/props"))


def run_probes(targets, timeout, workers):
    jobs = []
    for target in targets:
        for address in target["addresses"]:
            for port in sorted(set(target["ports"])):
                jobs.append((target["host"], address, port))
    results = [None] * len(jobs)
    lock = threading.Lock()
    cursor = [0]

    def worker():
        while True:
            with lock:
                index = cursor[0]
                cursor[0] += 1
            if index >= len(jobs):
                return
            host, address, port = jobs[index]
            item = probe_one(address, port, timeout)
            item["host"] = host
            results[index] = item

    threads = [threading.Thread(target=worker) for _ in range(max(1, min(workers, len(jobs))))]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join()
    return results


def probe_findings(probe, catalog, host_id):
    """OLLAMA-NET-001 findings from an outside probe result for one host."""
    findings = []
    for result in probe.get("results", []):
        if result.get("state") == "exposed":
            findings.append(make_finding(
                catalog, host_id, "OLLAMA-NET-001", "net:%s:%s" % (result["address"], result["port"]),
                "from %s: %s" % (probe.get("scanner", "the controller"), result.get("evidence")),
                location={"socket": "%s:%s" % (result["address"], result["port"])}))
    return unique(findings)


def summarize(targets, results, catalog, scanner):
    hosts = {}
    for target in targets:
        hosts[target["host"]] = {"state": "none", "results": [], "findings": []}
        if target.get("skipped_ports"):
            hosts[target["host"]].update(skipped_ports=list(target["skipped_ports"]),
                                         skipped_reason=target.get("skipped_reason"))
    for item in results:
        hosts[item["host"]]["results"].append(item)
    for name, entry in hosts.items():
        states = [r["state"] for r in entry["results"]]
        for state in STATE_ORDER:
            if state in states:
                entry["state"] = state
                break
        if catalog:
            entry["findings"] = probe_findings({"results": entry["results"], "scanner": scanner}, catalog, name)
    return hosts


def validate_targets(targets, max_ports=MAX_PORTS):
    """Messages naming each target whose ports are out of range (and a bad ``max_ports``)."""
    problems = []
    if not isinstance(max_ports, int) or isinstance(max_ports, bool) or max_ports < 0:
        problems.append("max_ports: %r is not a number of ports (0 or more)" % (max_ports,))
    for target in targets:
        bad = [p for p in target.get("ports", []) if not isinstance(p, int) or not 0 < p < 65536]
        if bad:
            problems.append("targets[%s].ports: %s out of range 1-65535" % (target.get("host"), bad))
    return problems


def wide_ports(facts):
    """Ports the host listens on beyond loopback, other than Ollama's own:
    the doors of its read (servers[].listen, forwarders[].listen) first, then
    every other listening socket (other_listeners). Loopback-only ports are
    never in it: nothing outside reaches them."""
    ranked = {}
    groups = ([(0, s) for srv in facts.get("servers") or [] for s in srv.get("listen") or []]
              + [(0, s) for fwd in facts.get("forwarders") or [] for s in fwd.get("listen") or []]
              + [(1, s) for s in facts.get("other_listeners") or []])
    for rank, sock in groups:
        port = sock.get("port")
        if sock.get("scope") in WIDE_SCOPES and isinstance(port, int) and 0 < port < 65536:
            ranked[port] = min(rank, ranked.get(port, rank))
    return sorted(ranked, key=lambda port: (ranked[port], port))


def build_targets(results, extra_ports=(11434,), address_overrides=None, max_ports=MAX_PORTS):
    """Probe targets from the hosts' ollama_info results.

    ``results``: {host: registered ollama_info result}. Each reachable host
    is probed on its own non-loopback addresses (or ``address_overrides[host]``)
    and on every port it reported for Ollama (listeners, configured binds,
    published container ports) plus ``extra_ports``, always; then on every
    other port it listens on beyond loopback (``wide_ports``: its servers'
    and forwarders' first), up to ``max_ports`` ports in all. The ports
    beyond are not probed and are named in the target's ``skipped_ports``
    with ``skipped_reason``. Hosts without addresses are left out: nothing
    else is ever contacted.
    """
    targets = []
    overrides = address_overrides or {}
    for host in sorted(results):
        facts = results[host] or {}
        if facts.get("unreachable") or facts.get("failed"):
            continue
        addresses = list(overrides.get(host) or facts.get("addresses") or [])
        ports = set(int(p) for p in extra_ports)
        ports.update(s.get("port") for s in facts.get("listeners", []))
        ports.update((s.get("bind") or {}).get("port") for s in facts.get("services", []))
        for ctr in facts.get("containers", []):
            ports.update(p.get("public_port") for p in ctr.get("ports", []))
        ports = set(p for p in ports if isinstance(p, int) and 0 < p < 65536)
        others = [p for p in wide_ports(facts) if p not in ports]
        room = max(0, max_ports - len(ports))
        skipped = others[room:]
        ports = sorted(ports.union(others[:room]))
        if addresses and ports:
            target = {"host": host, "addresses": addresses, "ports": ports}
            if skipped:
                target["skipped_ports"] = sorted(skipped)
                target["skipped_reason"] = (
                    "not probed: over max_ports=%d per host (%d listening beyond loopback besides Ollama's "
                    "%d; raise ollama_audit_probe_max_ports to probe them)" % (
                        max_ports, len(others), len(ports) - len(others[:room])))
            targets.append(target)
    return targets
