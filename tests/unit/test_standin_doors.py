# -*- coding: utf-8 -*-
"""The doors lab's stand-ins (tests/lab/standin/: vllm, text-generation-launcher,
local-ai, llama-server, rpc-server, comfyui-main.py, lms, open-webui): where
each listens by default and as its settings say, which routes its key guards
and the 401 it answers, its fingerprints. Each runs as a subprocess on
127.0.0.1 (port 0) and only loopback is ever contacted."""

from http.server import BaseHTTPRequestHandler, HTTPServer
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

STANDIN = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab", "standin"))
sys.path.insert(0, STANDIN)
import odr_standin  # noqa: E402

LISTEN_RE = re.compile(r"odr-standin: (\S+) listening on (\S+):(\d+)$")
TIMEOUT = 10


class Proc(object):
    """A stand-in subprocess; ``binds`` lists (address, port) as it logged them."""

    def __init__(self, script, args, env=None, sockets=1):
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("VLLM_", "LLAMA_", "LOCALAI_", "OLLAMA_", "WEBUI_", "ENABLE_", "DEFAULT_"))
                    and k not in ("API_KEY", "HOSTNAME", "HOST", "PORT", "ADDRESS", "MODEL_ID")}
        full_env.update(env or {})
        self.proc = subprocess.Popen([sys.executable, os.path.join(STANDIN, script)] + list(args), env=full_env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lines, self.binds = [], []
        ready = threading.Event()

        def drain():
            for raw in iter(self.proc.stderr.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.lines.append(line)
                match = LISTEN_RE.search(line)
                if match:
                    self.binds.append((match.group(2).strip("[]"), int(match.group(3))))
                    if len(self.binds) >= sockets:
                        ready.set()
            ready.set()

        self.reader = threading.Thread(target=drain, daemon=True)
        self.reader.start()
        if not ready.wait(TIMEOUT) or len(self.binds) < sockets:
            self.stop()
            raise AssertionError("stand-in %s did not start: %s" % (script, "\n".join(self.lines)))

    @property
    def port(self):
        return self.binds[0][1]

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(TIMEOUT)
        self.reader.join(TIMEOUT)
        self.proc.stderr.close()


@pytest.fixture()
def run():
    procs = []

    def start(script, *args, **kwargs):
        proc = Proc(script, args, **kwargs)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.stop()


def call(url, method="GET", body=None, headers=None):
    """(status, parsed JSON or text) of one request; errors are answers too."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw.decode()) if raw else raw.decode()
    except ValueError:
        return status, raw.decode()


def bearer(key):
    return {"Authorization": "Bearer %s" % key}


# -- argv parsing shared by the stand-ins --

@pytest.mark.parametrize("argv,expected", [
    (["--host", "0.0.0.0"], "0.0.0.0"),
    (["--host=::"], "::"),
    (["--listen"], "CONST"),
    (["--listen", "--port", "8188"], "CONST"),
    (["--listen", "10.0.0.1,::1"], "10.0.0.1,::1"),
    ([], "DEFAULT"),
])
def test_flag_parsing(argv, expected):
    names = ["--host", "--listen"]
    assert odr_standin.flag(argv, names, default="DEFAULT", const="CONST") == expected


# -- vLLM --

def test_vllm_binds_every_ipv4_interface_without_host(run):
    proc = run("vllm", "serve", "facebook/opt-125m", "--port", "0")
    assert proc.binds[0][0] == "0.0.0.0"
    status, answer = call(proc.url("/v1/models"))
    assert status == 200
    assert [(m["id"], m["owned_by"]) for m in answer["data"]] == [("facebook/opt-125m", "vllm")]


@pytest.mark.parametrize("how", ["flag", "env"])
def test_vllm_key_guards_v1_only(run, how):
    args = ["serve", "m", "--host", "127.0.0.1", "--port", "0"]
    env = {}
    if how == "flag":
        args += ["--api-key", "k-vllm"]
    else:
        env["VLLM_API_KEY"] = "k-vllm"
    proc = run("vllm", *args, env=env)
    assert call(proc.url("/v1/models")) == (401, {"error": "Unauthorized"})
    assert call(proc.url("/v1/chat/completions"), "POST", {"messages": []})[0] == 401
    assert call(proc.url("/v1/models"), headers=bearer("k-vllm"))[0] == 200
    assert call(proc.url("/health")) == (200, "")
    assert call(proc.url("/version"))[1]["version"]


def test_vllm_routes_as_fastapi_with_lora_updating_off_by_default(run):
    proc = run("vllm", "serve", "m", "--host", "127.0.0.1", "--port", "0")
    assert call(proc.url("/v1/chat/completions")) == (405, {"detail": "Method Not Allowed"})
    assert call(proc.url("/v1/models"), "DELETE") == (405, {"detail": "Method Not Allowed"})
    assert call(proc.url("/v1/nothing"), "POST", {}) == (404, {"detail": "Not Found"})
    assert call(proc.url("/v1/load_lora_adapter"), "POST", {"lora_name": "a", "lora_path": "/a"})[0] == 404
    status, answer = call(proc.url("/v1/chat/completions"), "POST", {"model": "m", "messages": []})
    assert status == 200 and answer["object"] == "chat.completion" and answer["id"].startswith("chatcmpl-")
    assert answer["choices"][0]["message"]["content"] and answer["usage"]["total_tokens"] == 6
    assert call(proc.url("/v1/completions"), "POST", {"model": "m", "prompt": "x"})[1]["object"] == "text_completion"


@pytest.mark.parametrize("value", ["True", "1"])
def test_vllm_lora_routes_with_runtime_updating(run, value):
    proc = run("vllm", "serve", "m", "--host", "127.0.0.1", "--port", "0", "--api-key", "k-vllm",
               env={"VLLM_ALLOW_RUNTIME_LORA_UPDATING": value})
    body = {"lora_name": "sql-lora", "lora_path": "/models/sql-lora"}
    assert call(proc.url("/v1/load_lora_adapter"), "POST", body)[0] == 401  # the key first
    req = urllib.request.Request(proc.url("/v1/load_lora_adapter"), data=json.dumps(body).encode(), method="POST",
                                 headers=dict(bearer("k-vllm"), **{"Content-Type": "application/json"}))
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
        assert resp.status == 200 and resp.headers.get("Content-Type") is None  # a bare Response
        assert resp.read() == b"Success: LoRA adapter 'sql-lora' added successfully."
    assert call(proc.url("/v1/unload_lora_adapter"), "POST", {"lora_name": "sql-lora"}, bearer("k-vllm")) == (
        200, "Success: LoRA adapter 'sql-lora' removed successfully.")
    assert call(proc.url("/v1/load_lora_adapter"), headers=bearer("k-vllm"))[0] == 405


# -- No stand-in logs a credential --

SECRET_KEY = "sk-standin-secret-9Hq2Xw7Lp4Zt"
SECRET_PASSWORD = "pw-standin-secret-3Rk8Vn1Jc6Yb"
WRONG_KEY = SECRET_KEY[::-1]


@pytest.mark.parametrize("script, args, env, paths", [
    ("vllm", ["serve", "m", "--host", "127.0.0.1", "--port", "0", "--api-key", SECRET_KEY], {},
     ["/v1/models", "/v1/chat/completions", "/health"]),
    ("vllm", ["serve", "m", "--host", "127.0.0.1", "--port", "0"], {}, ["/v1/models", "/v1/chat/completions"]),
    ("text-generation-launcher", ["--hostname", "127.0.0.1", "--port", "0", "--api-key", SECRET_KEY], {},
     ["/generate", "/v1/models"]),
    ("local-ai", ["run", "--address", "127.0.0.1:0"], {"LOCALAI_API_KEY": SECRET_KEY}, ["/v1/models", "/readyz"]),
    ("llama-server", ["--port", "0", "--api-key", SECRET_KEY], {}, ["/props", "/v1/chat/completions"]),
    ("comfyui-main.py", ["--port", "0"], {}, ["/api/system_stats"]),
    ("lms", ["server", "start", "--port", "0"], {}, ["/v1/models"]),
])
def test_no_stand_in_logs_a_credential(run, script, args, env, paths):
    """Right and wrong keys (Bearer, x-api-key), a Basic password and a body
    holding both: the stand-in's whole output names none of them, and it
    did log the requests (whether an Authorization header came)."""
    proc = run(script, *args, env=env)
    basic = "Basic " + __import__("base64").b64encode(("u:" + SECRET_PASSWORD).encode()).decode()
    for path in paths:
        for headers in (bearer(SECRET_KEY), bearer(WRONG_KEY), {"x-api-key": SECRET_KEY}, {"Authorization": basic}):
            call(proc.url(path), headers=headers)
            call(proc.url(path), "POST", {"api_key": SECRET_KEY, "password": SECRET_PASSWORD}, headers)
    call(proc.url(paths[0]))
    proc.stop()
    output = "\n".join(proc.lines)
    for secret in (SECRET_KEY, WRONG_KEY, SECRET_PASSWORD, basic.split()[1]):
        assert secret not in output, script
    assert "authorization=yes" in output and "authorization=no" in output, output  # the requests were logged


def test_open_webui_logs_no_password_or_token(run, tmp_path, ollama_upstream):
    proc = webui(run, tmp_path, ollama_upstream, WEBUI_ADMIN_EMAIL="admin@example.test",
                 WEBUI_ADMIN_PASSWORD=SECRET_PASSWORD)
    status, admin = call(proc.url("/api/v1/auths/signin"), "POST",
                         {"email": "admin@example.test", "password": SECRET_PASSWORD})
    assert status == 200
    assert call(proc.url("/ollama/api/tags"), headers=bearer(admin["token"]))[0] == 200
    assert call(proc.url("/api/v1/auths/signin"), "POST", {"email": "admin@example.test", "password": WRONG_KEY})[0] == 400
    proc.stop()
    output = "\n".join(proc.lines)
    for secret in (SECRET_PASSWORD, WRONG_KEY, admin["token"]):
        assert secret not in output
    assert "authorization=yes" in output, output


# -- TGI --

def test_tgi_info_and_open_routes_with_a_key(run):
    proc = run("text-generation-launcher", "--model-id", "org/m", "--hostname", "127.0.0.1", "--port", "0",
               "--api-key", "k-tgi")
    status, info = call(proc.url("/info"))
    assert status == 200 and info["router"] == "text-generation-router" and info["model_id"] == "org/m"
    assert call(proc.url("/v1/models"))[0] == 200
    assert call(proc.url("/generate"), "POST", {"inputs": "hi"}) == (401, "")
    assert call(proc.url("/v1/chat/completions"), "POST", {}, bearer("K-TGI"))[0] == 200


def test_tgi_defaults_to_every_interface_and_reads_env(run):
    proc = run("text-generation-launcher", "--port", "0")
    assert proc.binds[0][0] == "0.0.0.0"
    assert call(proc.url("/generate"), "POST", {"inputs": "hi"})[0] == 200
    proc = run("text-generation-launcher", env={"HOSTNAME": "127.0.0.1", "PORT": "0", "API_KEY": "k"})
    assert proc.binds[0][0] == "127.0.0.1"
    assert call(proc.url("/generate"), "POST", {"inputs": "hi"})[0] == 401


# -- LocalAI --

def test_localai_default_address_is_one_dual_stack_socket(run):
    proc = run("local-ai", "run", env={"LOCALAI_ADDRESS": ":0"})
    assert proc.binds[0][0] == "::"
    sock = socket.create_connection(("127.0.0.1", proc.port), timeout=TIMEOUT)
    sock.close()


def test_localai_key_guards_everything_but_health(run):
    proc = run("local-ai", "run", env={"LOCALAI_ADDRESS": "127.0.0.1:0", "LOCALAI_API_KEY": "a,b"})
    status, answer = call(proc.url("/v1/models"))
    assert status == 401
    assert answer == {"error": {"code": 401, "message": "An authentication key is required",
                                "type": "invalid_request_error"}}
    assert call(proc.url("/version"))[0] == 401
    assert call(proc.url("/readyz"))[0] == 200
    assert call(proc.url("/v1/models"), headers=bearer("b"))[0] == 200
    assert call(proc.url("/v1/models"), headers={"x-api-key": "a"})[0] == 200


def test_localai_without_key(run):
    proc = run("local-ai", "run", "--address", "127.0.0.1:0")
    assert call(proc.url("/version"))[1]["version"].startswith("v")
    assert [m["object"] for m in call(proc.url("/v1/models"))[1]["data"]] == ["model", "model"]


# -- llama-server --

def test_llama_server_defaults_to_loopback(run):
    proc = run("llama-server", "-m", "/models/tiny.gguf", env={"LLAMA_ARG_PORT": "0"})
    assert proc.binds[0][0] == "127.0.0.1"
    status, models = call(proc.url("/v1/models"))
    assert status == 200 and models["data"][0]["owned_by"] == "llamacpp"
    assert call(proc.url("/api/tags"))[1]["models"][0]["name"] == "tiny.gguf"
    assert "llama.cpp" in call(proc.url("/"))[1]
    assert "build_info" in call(proc.url("/props"))[1]


def test_llama_server_key_leaves_the_public_endpoints_open(run):
    proc = run("llama-server", "--port", "0", env={"LLAMA_API_KEY": "k-llama", "LLAMA_ARG_HOST": "127.0.0.1"})
    for path in ("/health", "/v1/models", "/models", "/api/tags"):
        assert call(proc.url(path))[0] == 200, path
    assert call(proc.url("/props")) == (401, {"error": {"code": 401, "message": "Invalid API Key",
                                                         "type": "authentication_error"}})
    assert call(proc.url("/v1/chat/completions"), "POST", {})[0] == 401
    assert call(proc.url("/props"), headers=bearer("k-llama"))[0] == 200


# -- rpc-server --

def test_rpc_server_speaks_bytes_not_http(run):
    proc = run("rpc-server", "-p", "0")
    assert proc.binds[0][0] == "127.0.0.1"
    with socket.create_connection(("127.0.0.1", proc.port), timeout=TIMEOUT) as sock:
        sock.sendall(bytes([14]) + struct.pack("<Q", 0))
        head = sock.recv(8)
        assert struct.unpack("<Q", head)[0] == 3
        assert len(sock.recv(3)) == 3
    with socket.create_connection(("127.0.0.1", proc.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            answer = sock.recv(64)
        except ConnectionResetError:   # closed with the request unread
            answer = b""
        assert answer == b""


def test_rpc_server_warns_off_loopback(run):
    proc = run("rpc-server", "-H", "0.0.0.0", "-p", "0")
    assert proc.binds[0][0] == "0.0.0.0"
    assert any("Never expose the RPC server" in line for line in proc.lines)


# -- ComfyUI --

def test_comfyui_defaults_to_loopback_and_has_no_auth(run):
    proc = run("comfyui-main.py", "--port", "0")
    assert proc.binds[0][0] == "127.0.0.1"
    for path in ("/api/system_stats", "/system_stats"):
        status, stats = call(proc.url(path))
        assert status == 200 and stats["system"]["comfyui_version"]
    assert "checkpoints" in call(proc.url("/models"))[1]
    assert "<title>ComfyUI</title>" in call(proc.url("/"))[1]


def test_comfyui_bare_listen_binds_ipv4_and_ipv6_apart(run):
    proc = run("comfyui-main.py", "--listen", "127.0.0.1,::1", "--port", "0", sockets=2)
    assert [b[0] for b in proc.binds] == ["127.0.0.1", "::1"]


# -- LM Studio --

def test_lmstudio_models(run):
    proc = run("lms", "server", "start", "--port", "0")
    assert proc.binds[0][0] == "127.0.0.1"
    status, models = call(proc.url("/v1/models"))
    assert status == 200 and {m["owned_by"] for m in models["data"]} == {"organization_owner"}


# -- Open WebUI --

@pytest.fixture()
def ollama_upstream():
    class Tags(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"models": [{"name": "llama3.2:1b"}]}).encode()
            self.send_response(200 if self.path == "/api/tags" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = HTTPServer(("127.0.0.1", 0), Tags)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def webui(run, tmp_path, upstream, **env):
    env = dict({"DATA_DIR": str(tmp_path), "OLLAMA_BASE_URL": upstream}, **env)
    return run("open-webui", "serve", "--host", "127.0.0.1", "--port", "0", env=env)


def test_webui_defaults_to_every_ipv4_interface(run, tmp_path, ollama_upstream):
    proc = run("open-webui", "serve", env={"DATA_DIR": str(tmp_path), "PORT": "0"})
    assert proc.binds[0][0] == "0.0.0.0"
    assert "<title>Open WebUI</title>" in call(proc.url("/"))[1]


def test_webui_without_auth_signs_anyone_in_as_admin(run, tmp_path, ollama_upstream):
    proc = webui(run, tmp_path, ollama_upstream, WEBUI_AUTH="False")
    config = call(proc.url("/api/config"))[1]
    assert config["features"]["auth"] is False and config["features"]["enable_signup"] is False
    assert call(proc.url("/ollama/api/tags")) == (401, {"detail": "Not authenticated"})
    status, session = call(proc.url("/api/v1/auths/signin"), "POST", {"email": "", "password": ""})
    assert status == 200 and session["role"] == "admin"
    status, tags = call(proc.url("/ollama/api/tags"), headers=bearer(session["token"]))
    assert status == 200 and tags["models"][0]["name"] == "llama3.2:1b"


def test_webui_fresh_install_the_first_signup_becomes_admin(run, tmp_path, ollama_upstream):
    proc = webui(run, tmp_path, ollama_upstream)
    config = call(proc.url("/api/config"))[1]
    assert config["onboarding"] is True and config["features"]["auth"] is True
    status, session = call(proc.url("/api/v1/auths/signup"), "POST",
                           {"name": "x", "email": "x@example.test", "password": "p"})
    assert status == 200 and session["role"] == "admin"
    config = call(proc.url("/api/config"))[1]
    assert "onboarding" not in config and config["features"]["enable_signup"] is False
    assert call(proc.url("/api/v1/auths/signup"), "POST", {"name": "y", "email": "y@example.test",
                                                           "password": "p"})[0] == 403


def test_webui_open_signup_with_role_user_gets_models(run, tmp_path, ollama_upstream):
    proc = webui(run, tmp_path, ollama_upstream, ENABLE_SIGNUP="True", DEFAULT_USER_ROLE="user",
                 WEBUI_ADMIN_EMAIL="admin@example.test", WEBUI_ADMIN_PASSWORD="pw")
    # The start-up admin turns signup off, as upstream; the admin turns it back on.
    assert call(proc.url("/api/config"))[1]["features"]["enable_signup"] is False
    admin = call(proc.url("/api/v1/auths/signin"), "POST", {"email": "admin@example.test", "password": "pw"})[1]
    status, conf = call(proc.url("/api/v1/auths/admin/config"), "POST", {"ENABLE_SIGNUP": True},
                        bearer(admin["token"]))
    assert status == 200 and conf["DEFAULT_USER_ROLE"] == "user"
    status, session = call(proc.url("/api/v1/auths/signup"), "POST",
                           {"name": "z", "email": "z@example.test", "password": "p"})
    assert status == 200 and session["role"] == "user"
    assert call(proc.url("/ollama/api/tags"), headers=bearer(session["token"]))[0] == 200
    # Persisted: a restart keeps the admin's setting over the environment.
    proc.stop()
    proc = webui(run, tmp_path, ollama_upstream, ENABLE_SIGNUP="False")
    assert call(proc.url("/api/config"))[1]["features"]["enable_signup"] is True


def test_webui_closed_pending_user_gets_nothing(run, tmp_path, ollama_upstream):
    proc = webui(run, tmp_path, ollama_upstream, ENABLE_SIGNUP="False", DEFAULT_USER_ROLE="pending",
                 WEBUI_ADMIN_EMAIL="admin@example.test", WEBUI_ADMIN_PASSWORD="pw")
    config = call(proc.url("/api/config"))[1]
    assert config["features"]["enable_signup"] is False and "onboarding" not in config
    assert call(proc.url("/api/v1/auths/signup"), "POST", {"name": "n", "email": "n@example.test",
                                                           "password": "p"})[0] == 403
    assert call(proc.url("/api/v1/auths/signin"), "POST", {"email": "n@example.test", "password": "p"})[0] == 400
    assert call(proc.url("/ollama/api/tags"))[0] == 401


def test_webui_pending_user_is_refused_the_models(run, tmp_path, ollama_upstream):
    proc = webui(run, tmp_path, ollama_upstream, WEBUI_ADMIN_EMAIL="admin@example.test", WEBUI_ADMIN_PASSWORD="pw")
    admin = call(proc.url("/api/v1/auths/signin"), "POST", {"email": "admin@example.test", "password": "pw"})[1]
    call(proc.url("/api/v1/auths/admin/config"), "POST", {"ENABLE_SIGNUP": True}, bearer(admin["token"]))
    session = call(proc.url("/api/v1/auths/signup"), "POST", {"name": "p", "email": "p@example.test",
                                                              "password": "p"})[1]
    assert session["role"] == "pending"
    status, answer = call(proc.url("/ollama/api/tags"), headers=bearer(session["token"]))
    assert status == 401 and "permission" in answer["detail"]
