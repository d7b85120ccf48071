# -*- coding: utf-8 -*-
"""Every way in (issue 26): what answers on a port, from outside.

Two halves. The fingerprints are pure functions of one answer, tested on
answers shaped as each upstream's source writes them (the source file and
function are named at each case). The sequencing runs the real probe_one
against small HTTP servers on this process's loopback (one per case,
closed after): each answers a few paths exactly like its upstream (same
sources), records what it was asked, and the test checks the kind, the
state, ``open`` and that only GETs were asked, few of them, none of a
route that loads or runs a model.
"""

import json
import socket
import threading

try:
    from http.server import BaseHTTPRequestHandler, HTTPServer
except ImportError:  # pragma: no cover (Python 2 is not a controller here)
    raise

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils import ollama_probe
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import (
    SCOPE_ADDRESS, SCOPE_HOSTNAME, SCOPE_LOOPBACK, SCOPE_WILDCARD, is_exposed_scope)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_probe import (
    MAX_GETS, STATE_ORDER, WIDE_SCOPES, build_targets, fp_comfyui_stats, fp_llama_props, fp_llama_server,
    fp_localai_version, fp_localai_wellknown, fp_ollama_root, fp_ollama_tags, fp_open_webui_config,
    fp_openai_models, fp_tgi_info, html_hint, probe_one, run_probes, summarize, validate_targets)

JSON = {"content-type": "application/json"}

# -- answers shaped as upstream writes them ------------------------------------------------
# ollama/ollama server/routes.go: GET / and GET /api/tags (ListHandler), GET /api/version.
OLLAMA_TAGS = json.dumps({"models": [{
    "name": "llama3.2:1b", "model": "llama3.2:1b", "modified_at": "2026-11-02T10:00:00Z", "size": 1321098329,
    "digest": "baf6a787fdffd633537aa2eb51cfd54cb93ff08e28040095462bb63daf552878",
    "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                "parameter_size": "1.2B", "quantization_level": "Q8_0"}}]})
# llama.cpp tools/server/server-context.cpp (get_models, single-model mode):
# "models" (Ollama-shaped) beside the OpenAI "object"/"data"; server-http.cpp
# sets "Server: llama.cpp" on every answer.
LLAMA_MODELS = json.dumps({
    "models": [{"name": "qwen2.5-0.5b", "model": "qwen2.5-0.5b", "modified_at": "", "size": "", "digest": "",
                "type": "model", "description": "", "tags": [""], "capabilities": ["completion"],
                "parameters": "", "details": {"parent_model": "", "format": "gguf", "family": "",
                                              "families": [""], "parameter_size": "", "quantization_level": ""}}],
    "object": "list",
    "data": [{"id": "qwen2.5-0.5b", "object": "model", "created": 1764000000, "owned_by": "llamacpp",
              "meta": {"vocab_type": 2, "n_vocab": 151936, "n_ctx_train": 32768, "n_embd": 896,
                       "n_params": 494032768, "size": 531067904}}]})
LLAMA_HEADERS = {"server": "llama.cpp", "content-type": "application/json; charset=utf-8"}
# server-context.cpp get_props (abridged to the keys that tell it).
LLAMA_PROPS = json.dumps({"default_generation_settings": {"n_ctx": 4096}, "total_slots": 1,
                          "model_path": "/models/qwen2.5-0.5b.gguf", "build_info": "b6900-1a2b3c4d"})
# server-http.cpp middleware_validate_api_key.
LLAMA_401 = json.dumps({"error": {"message": "Invalid API Key", "type": "authentication_error", "code": 401}})
# vllm/entrypoints/openai/protocol.py ModelCard / ModelList.
VLLM_MODELS = json.dumps({"object": "list", "data": [{
    "id": "Qwen/Qwen2.5-0.5B-Instruct", "object": "model", "created": 1764000000, "owned_by": "vllm",
    "root": "Qwen/Qwen2.5-0.5B-Instruct", "parent": None, "max_model_len": 32768, "permission": [{
        "id": "modelperm-1", "object": "model_permission", "created": 1764000000, "allow_create_engine": False,
        "allow_sampling": True, "allow_logprobs": True, "allow_search_indices": False, "allow_view": True,
        "allow_fine_tuning": False, "organization": "*", "group": None, "is_blocking": False}]}]})
# vllm AuthenticationMiddleware (JSONResponse({"error": "Unauthorized"}, 401)); FastAPI's 404.
VLLM_401 = json.dumps({"error": "Unauthorized"})
FASTAPI_404 = json.dumps({"detail": "Not Found"})
# TGI router/src/lib.rs Info, server.rs openai_get_model_info (owned_by = model id).
TGI_INFO = json.dumps({
    "model_id": "HuggingFaceTB/SmolLM2-135M-Instruct", "model_sha": "abc", "model_pipeline_tag": "text-generation",
    "max_concurrent_requests": 128, "max_best_of": 2, "max_stop_sequences": 4, "max_input_tokens": 4095,
    "max_total_tokens": 4096, "validation_workers": 2, "max_client_batch_size": 4,
    "router": "text-generation-router", "version": "3.3.6", "sha": "deadbeef", "docker_label": None})
TGI_MODELS = json.dumps({"object": "list", "data": [{
    "id": "HuggingFaceTB/SmolLM2-135M-Instruct", "object": "model", "created": 1764000000,
    "owned_by": "HuggingFaceTB/SmolLM2-135M-Instruct"}]})
# LocalAI core/http/routes/localai.go (/.well-known/localai.json), core/schema/openai.go
# (OpenAIModel {id, object}), core/http/auth/middleware.go authError.
LOCALAI_WELLKNOWN = json.dumps({"version": "v3.8.0", "endpoints": {"models": "/v1/models",
                                                                    "chat_completions": "/v1/chat/completions"}})
LOCALAI_MODELS = json.dumps({"object": "list", "data": [{"id": "phi-2", "object": "model"}]})
LOCALAI_401 = json.dumps({"error": {"message": "An authentication key is required", "code": 401,
                                    "type": "invalid_request_error"}})
# ComfyUI server.py system_stats.
COMFY_STATS = json.dumps({"system": {"os": "posix", "ram_total": 8, "ram_free": 4, "comfyui_version": "0.3.66",
                                     "python_version": "3.12.3", "pytorch_version": "2.5.1",
                                     "embedded_python": False, "argv": ["main.py", "--listen"]},
                          "devices": [{"name": "cpu", "type": "cpu", "index": None, "vram_total": 0}]})
# Open WebUI backend/open_webui/main.py get_app_config, without a token.


def webui_config(auth=True, signup=False, onboarding=False):
    data = {"status": True, "name": "Open WebUI", "version": "0.6.40", "default_locale": "",
            "oauth": {"providers": {}, "auto_redirect": None},
            "features": {"slim": False, "auth": auth, "auth_trusted_header": False,
                         "enable_signup_password_confirmation": False, "enable_ldap": False,
                         "enable_signup": signup, "enable_login_form": True, "enable_websocket": True}}
    if onboarding:
        data = dict({"onboarding": True}, **data)
    return json.dumps(data)


WEBUI_INDEX = "<!doctype html><html><head><meta charset=\"utf-8\" /><title>Open WebUI</title></head><body></body></html>"
COMFY_INDEX = "<!doctype html><html><head><title>ComfyUI</title></head><body><div id=\"vue-app\"></div></body></html>"
NGINX_INDEX = "<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body></body></html>"


# -- the fingerprints, pure ------------------------------------------------------------------
@pytest.mark.parametrize("fingerprint, status, headers, body, expected", [
    (fp_ollama_tags, 200, JSON, OLLAMA_TAGS, ("ollama", True, 1)),
    (fp_ollama_tags, 200, JSON, json.dumps({"models": []}), ("ollama", True, 0)),
    # llama-server's /api/tags is not Ollama's, by its body or by its Server header alone.
    (fp_ollama_tags, 200, JSON, LLAMA_MODELS, None),
    (fp_ollama_tags, 200, {"server": "llama.cpp"}, json.dumps({"models": []}), None),
    (fp_ollama_tags, 401, JSON, "", None),
    (fp_ollama_tags, 200, {}, WEBUI_INDEX, None),
    (fp_ollama_root, 200, {}, "Ollama is running", ("ollama", True, None)),
    (fp_ollama_root, 200, {}, NGINX_INDEX, None),
    (fp_llama_server, 200, LLAMA_HEADERS, LLAMA_MODELS, ("llama-server", None, 1)),
    (fp_llama_server, 200, JSON, LLAMA_MODELS, ("llama-server", None, 1)),
    (fp_llama_server, 404, {"server": "llama.cpp"}, "", ("llama-server", None, None)),
    (fp_llama_server, 200, JSON, OLLAMA_TAGS, None),
    (fp_llama_props, 200, LLAMA_HEADERS, LLAMA_PROPS, ("llama-server", True, None)),
    (fp_llama_props, 401, LLAMA_HEADERS, LLAMA_401, ("llama-server", False, None)),
    (fp_llama_props, 404, {}, "404 page not found", None),
    (fp_openai_models, 200, JSON, VLLM_MODELS, ("vllm", True, 1)),
    (fp_openai_models, 401, JSON, VLLM_401, ("vllm", False, None)),
    (fp_openai_models, 401, JSON, LOCALAI_401, ("localai", False, None)),
    (fp_openai_models, 401, LLAMA_HEADERS, LLAMA_401, ("llama-server", False, None)),
    (fp_openai_models, 403, {}, "<html>403 Forbidden</html>", (None, False, None)),
    (fp_openai_models, 200, LLAMA_HEADERS, LLAMA_MODELS, ("llama-server", None, 1)),
    (fp_openai_models, 200, JSON, json.dumps({"object": "list", "data": [
        {"id": "qwen2.5-7b-instruct", "object": "model", "owned_by": "organization_owner"}]}), ("lmstudio", True, 1)),
    (fp_openai_models, 200, JSON, TGI_MODELS, ("http", True, 1)),
    (fp_openai_models, 200, JSON, LOCALAI_MODELS, ("http", True, 1)),
    (fp_openai_models, 200, {}, WEBUI_INDEX, None),
    (fp_openai_models, 404, JSON, FASTAPI_404, None),
    (fp_tgi_info, 200, JSON, TGI_INFO, ("tgi", None, 1)),
    (fp_tgi_info, 200, JSON, json.dumps({"model_id": "x", "version": "1"}), None),
    (fp_localai_wellknown, 200, JSON, LOCALAI_WELLKNOWN, ("localai", None, None)),
    (fp_localai_wellknown, 404, JSON, json.dumps({"message": "Not Found"}), None),
    (fp_localai_version, 200, JSON, json.dumps({"version": "v2.19.4"}), ("localai", True, None)),
    (fp_localai_version, 401, JSON, LOCALAI_401, None),
    (fp_comfyui_stats, 200, JSON, COMFY_STATS, ("comfyui", True, None)),
    (fp_comfyui_stats, 200, JSON, json.dumps({"system": {"os": "posix"}}), None),
    (fp_open_webui_config, 200, JSON, webui_config(), ("open-webui", False, None)),
    (fp_open_webui_config, 200, JSON, webui_config(auth=False), ("open-webui", True, None)),
    (fp_open_webui_config, 200, JSON, webui_config(onboarding=True, signup=True), ("open-webui", True, None)),
    (fp_open_webui_config, 200, JSON, webui_config(signup=True), ("open-webui", False, None)),
    (fp_open_webui_config, 200, {}, WEBUI_INDEX, None),
])
def test_each_fingerprint_reads_its_upstreams_answer(fingerprint, status, headers, body, expected):
    hit = fingerprint(status, headers, body)
    if expected is None:
        assert hit is None
        return
    kind, is_open, models = expected
    assert (hit[0], hit[1], hit[2]["models"]) == (kind, is_open, models)
    assert set(hit[2]) == {"models", "version", "config"}


def test_the_fingerprints_keep_versions_and_the_webui_settings_but_no_argv():
    assert fp_llama_props(200, LLAMA_HEADERS, LLAMA_PROPS)[2]["version"] == "b6900-1a2b3c4d"
    assert fp_tgi_info(200, JSON, TGI_INFO)[2]["version"] == "3.3.6"
    assert fp_localai_wellknown(200, JSON, LOCALAI_WELLKNOWN)[2]["version"] == "v3.8.0"
    comfy = fp_comfyui_stats(200, JSON, COMFY_STATS)[2]
    assert comfy["version"] == "0.3.66" and "argv" not in json.dumps(comfy)
    config = fp_open_webui_config(200, JSON, webui_config(auth=True, signup=True, onboarding=True))[2]
    assert config["version"] == "0.6.40"
    assert config["config"] == {"auth": True, "enable_signup": True, "enable_login_form": True,
                                "auth_trusted_header": False, "onboarding": True, "default_role": None,
                                "name": "Open WebUI"}
    assert fp_open_webui_config(200, JSON, webui_config())[2]["config"]["onboarding"] is False


def test_a_page_title_hints_the_web_ui():
    assert html_hint({}, WEBUI_INDEX) == "open-webui"
    assert html_hint({}, COMFY_INDEX) == "comfyui"
    assert html_hint({}, NGINX_INDEX) is None
    assert html_hint({}, '{"models": []}') is None


def test_the_probes_wide_scopes_are_the_hosts_answer():
    for scope in (SCOPE_LOOPBACK, SCOPE_WILDCARD, SCOPE_ADDRESS, SCOPE_HOSTNAME):
        assert (scope in WIDE_SCOPES) == is_exposed_scope(scope)


def test_model_open_ranks_after_exposed_and_before_auth_required():
    assert STATE_ORDER.index("exposed") < STATE_ORDER.index("model_open") < STATE_ORDER.index("auth_required")


# -- the sequence, against loopback servers shaped like upstream ------------------------------
class Canned(object):
    """An HTTP server on 127.0.0.1 answering ``routes`` {path: (status, headers, body)};
    every other path gets ``default``. Records (method, path) of each request."""

    def __init__(self, routes, default=(404, {"content-type": "text/plain"}, "404 page not found"), server=None):
        canned = self
        self.routes, self.default, self.asked = routes, default, []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                canned.asked.append(("GET", self.path))
                status, headers, body = canned.routes.get(self.path, canned.default)
                data = body.encode("utf-8")
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() != "server":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            def version_string(self):
                return server or "canned"

            def log_message(self, *_args):
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def canned():
    servers = []

    def start(routes, **kwargs):
        server = Canned(routes, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def ok(body, headers=None):
    return 200, dict(headers or JSON), body


# Routes that load or run a model, or change anything: never asked.
FORBIDDEN = ("/api/generate", "/api/chat", "/api/pull", "/api/create", "/v1/completions", "/v1/chat/completions",
             "/completion", "/prompt", "/models/apply", "/upload")

CASES = {
    # Ollama's own port, and nginx proxy_pass to it without auth: Ollama's API.
    "ollama": dict(routes={"/": ok("Ollama is running", {"content-type": "text/plain"}),
                           "/api/tags": ok(OLLAMA_TAGS), "/api/version": ok('{"version":"0.12.3"}')},
                   server="", expect=("ollama", True, "exposed"), asked=["/api/tags", "/api/version"]),
    "llama-server open": dict(routes={"/api/tags": ok(LLAMA_MODELS), "/v1/models": ok(LLAMA_MODELS),
                                      "/props": ok(LLAMA_PROPS)},
                              server="llama.cpp", expect=("llama-server", True, "model_open"),
                              asked=["/api/tags", "/props"]),
    # --api-key: its model lists stay public, /props answers 401.
    "llama-server with a key": dict(routes={"/api/tags": ok(LLAMA_MODELS), "/v1/models": ok(LLAMA_MODELS),
                                            "/props": (401, JSON, LLAMA_401)},
                                    server="llama.cpp", expect=("llama-server", False, "auth_required"),
                                    asked=["/api/tags", "/props"]),
    "vllm open": dict(routes={"/v1/models": ok(VLLM_MODELS)}, default=(404, JSON, FASTAPI_404), server="uvicorn",
                      expect=("vllm", True, "model_open"), asked=["/api/tags", "/", "/api/config", "/v1/models"]),
    "vllm with a key": dict(routes={"/v1/models": (401, JSON, VLLM_401)}, default=(404, JSON, FASTAPI_404),
                            server="uvicorn", expect=("vllm", False, "auth_required"),
                            asked=["/api/tags", "/", "/api/config", "/v1/models"]),
    "tgi": dict(routes={"/": ok(""), "/info": ok(TGI_INFO), "/v1/models": ok(TGI_MODELS)}, default=(404, {}, ""),
                server="", expect=("tgi", False, "open_other"), asked=["/api/tags", "/", "/v1/models", "/info"]),
    "localai (no Ollama routes)": dict(
        routes={"/v1/models": ok(LOCALAI_MODELS), "/.well-known/localai.json": ok(LOCALAI_WELLKNOWN)},
        default=(404, JSON, '{"message":"Not Found"}'), server="",
        expect=("localai", True, "model_open"), asked=["/api/tags", "/", "/v1/models", "/.well-known/localai.json"]),
    # An older LocalAI (no /.well-known/localai.json, no Ollama routes): its /version.
    "localai (older)": dict(
        routes={"/v1/models": ok(LOCALAI_MODELS), "/version": ok('{"version":"v2.19.4"}')},
        default=(404, JSON, '{"message":"Not Found"}'), server="",
        expect=("localai", True, "model_open"),
        asked=["/api/tags", "/", "/v1/models", "/.well-known/localai.json", "/version"]),
    "localai with a key": dict(routes={"/.well-known/localai.json": ok(LOCALAI_WELLKNOWN)},
                               default=(401, dict(JSON, **{"www-authenticate": "Bearer"}), LOCALAI_401), server="",
                               expect=(None, False, "auth_required"), asked=["/api/tags"]),
    "comfyui": dict(routes={"/": ok(COMFY_INDEX, {"content-type": "text/html"}), "/api/system_stats": ok(COMFY_STATS)},
                    default=(404, {"content-type": "text/plain"}, "404: Not Found"), server="Python/3.12 aiohttp/3.9.5",
                    expect=("comfyui", True, "model_open"), asked=["/api/tags", "/", "/api/system_stats"]),
    "open webui without login": dict(routes={"/api/config": ok(webui_config(auth=False))},
                                     default=ok(WEBUI_INDEX, {"content-type": "text/html"}), server="uvicorn",
                                     expect=("open-webui", True, "model_open"), asked=["/api/tags", "/api/config"]),
    "open webui, no account yet": dict(routes={"/api/config": ok(webui_config(signup=True, onboarding=True))},
                                       default=ok(WEBUI_INDEX, {"content-type": "text/html"}), server="uvicorn",
                                       expect=("open-webui", True, "model_open"), asked=["/api/tags", "/api/config"]),
    "open webui closed": dict(routes={"/api/config": ok(webui_config())},
                              default=ok(WEBUI_INDEX, {"content-type": "text/html"}), server="uvicorn",
                              expect=("open-webui", False, "open_other"), asked=["/api/tags", "/api/config"]),
    "lm studio (unverified)": dict(
        routes={"/v1/models": ok(json.dumps({"object": "list", "data": [
            {"id": "qwen2.5-7b-instruct", "object": "model", "owned_by": "organization_owner"}]}))},
        default=(200, JSON, '{"error":"Unexpected endpoint or method. (GET /)"}'), server="",
        expect=("lmstudio", True, "model_open"), asked=["/api/tags", "/", "/v1/models"]),
    # The toolkit's front, or nginx with auth_basic: one GET.
    "a front asking for credentials": dict(routes={}, default=(401, {"www-authenticate": 'Bearer realm="ollama"'}, ""),
                                           server="nginx", expect=(None, False, "auth_required"), asked=["/api/tags"]),
    "a web page": dict(routes={"/": ok(NGINX_INDEX, {"content-type": "text/html"})},
                       default=(404, {"content-type": "text/html"}, "<html>404</html>"), server="nginx",
                       expect=("http", False, "open_other"), asked=["/api/tags", "/", "/v1/models"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_probe_one_names_what_answers_with_few_gets(canned, name):
    case = CASES[name]
    server = canned(case["routes"], **dict((k, case[k]) for k in ("default", "server") if k in case))
    result = probe_one("127.0.0.1", server.port, 3.0)
    assert (result["kind"], result["open"], result["state"]) == case["expect"], result
    assert [path for _method, path in server.asked] == case["asked"], result
    assert set(method for method, _path in server.asked) == {"GET"}
    assert len(server.asked) <= MAX_GETS
    assert not [path for _m, path in server.asked if path.startswith(FORBIDDEN)]
    assert set(result["details"]) == {"models", "version", "config"}
    assert result["evidence"]


def test_the_probe_reports_versions_and_webui_settings(canned):
    ollama = canned(CASES["ollama"]["routes"], server="")
    result = probe_one("127.0.0.1", ollama.port, 3.0)
    assert result["version"] == "0.12.3" and result["details"]["version"] == "0.12.3"
    assert result["details"]["models"] == 1
    assert "without credentials" in result["evidence"]
    webui = canned({"/api/config": ok(webui_config(auth=True, signup=True, onboarding=True))},
                   default=ok(WEBUI_INDEX, {"content-type": "text/html"}), server="uvicorn")
    result = probe_one("127.0.0.1", webui.port, 3.0)
    assert result["details"]["config"]["onboarding"] is True and result["details"]["config"]["enable_signup"] is True
    assert result["version"] is None  # `version` stays Ollama's


def test_raw_tcp_that_speaks_no_http_is_open_other():
    """llama.cpp's rpc-server speaks its own binary protocol: it answers no
    HTTP (here: a listener that reads the request and closes)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _addr = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(1.0)
            try:
                conn.recv(64)
                conn.sendall(b"\x00\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            conn.close()

    thread = threading.Thread(target=serve)
    thread.daemon = True
    thread.start()
    try:
        result = probe_one("127.0.0.1", port, 1.0)
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    assert (result["state"], result["kind"], result["open"]) == ("open_other", None, False), result


def test_a_host_with_another_open_server_is_model_open_and_not_a_net_finding(canned, catalog):
    vllm = canned(CASES["vllm open"]["routes"], default=CASES["vllm open"]["default"], server="uvicorn")
    ollama = canned(CASES["ollama"]["routes"], server="")
    targets = [{"host": "a", "addresses": ["127.0.0.1"], "ports": [vllm.port]},
               {"host": "b", "addresses": ["127.0.0.1"], "ports": [vllm.port, ollama.port]}]
    hosts = summarize(targets, run_probes(targets, 3.0, 4), catalog, "test")
    assert hosts["a"]["state"] == "model_open"
    # OLLAMA-NET-001 stays "Ollama's API answered": the other doors are the findings' own controls.
    assert hosts["a"]["findings"] == []
    assert hosts["b"]["state"] == "exposed"
    assert [f["id"] for f in hosts["b"]["findings"]] == ["OLLAMA-NET-001"]
    assert [f["location"]["socket"] for f in hosts["b"]["findings"]] == ["127.0.0.1:%d" % ollama.port]


# -- targets: every port beyond loopback, bounded per host ----------------------------------
def sock(port, scope=SCOPE_WILDCARD, address="0.0.0.0"):
    return {"address": address, "port": port, "family": "ipv4", "scope": scope}


def test_build_targets_adds_every_port_beyond_loopback():
    facts = {
        "addresses": ["192.0.2.1"], "listeners": [sock(11434, SCOPE_LOOPBACK, "127.0.0.1")],
        "other_listeners": [sock(22), sock(80), sock(8080, SCOPE_LOOPBACK, "127.0.0.1"),
                            sock(5432, SCOPE_ADDRESS, "192.0.2.1"), sock(631, SCOPE_LOOPBACK, "::1")],
        "servers": [{"kind": "vllm", "listen": [sock(8000)]},
                    {"kind": "llama-server", "listen": [sock(8081, SCOPE_LOOPBACK, "127.0.0.1")]}],
        "forwarders": [{"kind": "socat", "listen": [sock(9000, SCOPE_ADDRESS, "192.0.2.1")]}],
    }
    targets = build_targets({"web": facts}, [11434], {})
    # Ollama's own port stays (probed even on loopback: the proof it is closed);
    # 8080, 8081 and 631 listen on loopback only: never targets.
    assert targets == [{"host": "web", "addresses": ["192.0.2.1"],
                        "ports": [22, 80, 5432, 8000, 9000, 11434]}]


def test_build_targets_bounds_the_ports_per_host_and_names_the_rest():
    facts = {"addresses": ["192.0.2.1"], "listeners": [sock(11434)],
             "other_listeners": [sock(p) for p in range(20000, 20010)],
             "servers": [{"kind": "comfyui", "listen": [sock(30000)]}]}
    target = build_targets({"h": facts}, [11434], {}, max_ports=4)[0]
    # Ollama's port always; then the servers' and forwarders' doors; then the others, by number.
    assert target["ports"] == [11434, 20000, 20001, 30000]
    assert target["skipped_ports"] == list(range(20002, 20010))
    assert "max_ports=4" in target["skipped_reason"]
    hosts = summarize([target], [], None, "test")
    assert hosts["h"]["skipped_ports"] == list(range(20002, 20010))
    assert "ollama_audit_probe_max_ports" in hosts["h"]["skipped_reason"]
    # Under the bound nothing is skipped, and the probe entry has no skipped_ports.
    target = build_targets({"h": facts}, [11434], {})[0]
    assert "skipped_ports" not in target and len(target["ports"]) == 12
    assert "skipped_ports" not in summarize([target], [], None, "test")["h"]
    # Ollama's own ports are never skipped, even past the bound.
    assert build_targets({"h": facts}, [11434, 11435], {}, max_ports=0)[0]["ports"] == [11434, 11435]


def test_validate_targets_names_a_bad_max_ports():
    assert validate_targets([], max_ports=-1) == ["max_ports: -1 is not a number of ports (0 or more)"]
    assert validate_targets([], max_ports=0) == []


def test_every_request_of_the_probe_has_the_timeout(monkeypatch):
    """A port that accepts and then stays silent costs one timeout per
    request, and the sequence stops: no request without the timeout."""
    seen = []

    def silent(address, port, path, timeout, tls, total=None):
        seen.append((path, timeout, tls, total))
        raise socket.timeout("timed out")
    monkeypatch.setattr(ollama_probe, "http_get", silent)
    result = probe_one("127.0.0.1", 9, 0.25)
    assert result["state"] == "filtered"
    assert seen == [("/api/tags", 0.25, False, 0.5)]


def test_a_server_that_drips_its_answer_holds_a_request_no_longer_than_its_bound():
    """Each read has the timeout, and the answer as a whole ``total``: a
    server sending a byte every 50 ms (never silent long enough for the
    timeout) is cut at the bound, and what came is parsed."""
    import time
    from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_http import http_get

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def drip():
        conn, _addr = listener.accept()
        conn.recv(1024)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        while not stop.is_set():
            try:
                conn.sendall(b"x")
            except OSError:
                break
            time.sleep(0.05)
        conn.close()

    thread = threading.Thread(target=drip)
    thread.daemon = True
    thread.start()
    started = time.monotonic()
    try:
        status, _headers, body = http_get("127.0.0.1", port, "/api/tags", 0.5, False, total=0.6)
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    assert time.monotonic() - started < 1.5
    assert status == 200 and body.startswith("x")


# -- the report's own probe passes max_ports through ----------------------------------------
def test_the_report_probes_other_ports_up_to_max_ports_and_names_the_rest(tmp_path, catalog, canned):
    from conftest import load_action, without_unfixed
    from test_entry_report_action import audited, report_args
    from ansible.errors import AnsibleActionFail

    catalog = without_unfixed(catalog)
    vllm = canned(CASES["vllm open"]["routes"], default=CASES["vllm open"]["default"], server="uvicorn")
    facts = audited(catalog, "web-1", "127.0.0.1", "127.0.0.1", "loopback", "0.17.1")
    facts["other_listeners"] = [sock(vllm.port), sock(vllm.port + 1 if vllm.port < 65535 else 1024),
                                sock(1, SCOPE_LOOPBACK, "127.0.0.1")]
    args = report_args(tmp_path / "r", {"web-1": facts}, catalog, probe_local=True, probe_ports=[],
                       probe_addresses={"web-1": ["127.0.0.1"]}, probe_timeout=2.0, probe_max_ports=2)
    result = load_action("ollama_report", args)[0].run(task_vars={})
    probe = result["probe"]["web-1"]
    ports = sorted(set(r["port"] for r in probe["results"]))
    # Ollama's own port (its listener), then the first wide port; the other one is named, not dropped.
    assert ports == sorted([11434, vllm.port])
    assert probe["skipped_ports"] == [facts["other_listeners"][1]["port"]]
    assert probe["state"] == "model_open"
    assert [r["kind"] for r in probe["results"] if r["port"] == vllm.port] == ["vllm"]
    args["probe_max_ports"] = -1
    with pytest.raises(AnsibleActionFail, match="probe_max_ports"):
        load_action("ollama_report", dict(args, dest=str(tmp_path / "s")))[0].run(task_vars={})
