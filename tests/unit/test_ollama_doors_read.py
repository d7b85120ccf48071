# -*- coding: utf-8 -*-
"""module_utils/ollama_doors.py and ollama_info's doors read (issue 26):
which process owns a port, the other model servers from argv, environment
and container, the forwarders from argv, and no secret in what comes back."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_docker import image_kind, server_containers
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_doors import (
    MASK, caddy_proxies, classify, forwarder_argv, image_version, mask_argv, program, server_facts, server_kind, to_model)

from library import ollama_info
from test_entry_modules import module_exits, no_docker, run_module  # noqa: F401 (module_exits: autouse fixture)
from test_ollama_docker import serve_routes

SECRET = "sk-Zq81secretvalue"


# -- recognising a process ------------------------------------------------------------
@pytest.mark.parametrize("argv, cwd, kind", [
    (["/opt/venv/bin/python3", "/opt/venv/bin/vllm", "serve", "Qwen/Qwen2.5-7B"], None, "vllm"),
    (["python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "x"], None, "vllm"),
    (["/usr/bin/python3.11", "-u", "-m", "vllm.entrypoints.openai.api_server"], None, "vllm"),
    (["python", "main.py", "--listen"], "/home/ai/ComfyUI", "comfyui"),
    (["python", "/srv/ComfyUI/main.py"], None, "comfyui"),
    (["python", "main.py"], "/srv/webapp", None),
    (["/opt/ow/bin/python3", "/opt/ow/bin/uvicorn", "open_webui.main:app", "--host", "0.0.0.0"], None, "open-webui"),
    (["/usr/local/bin/open-webui", "serve", "--port", "3000"], None, "open-webui"),
    (["/usr/local/bin/llama-server", "-m", "model.gguf"], None, "llama-server"),
    (["/usr/local/bin/rpc-server", "-H", "0.0.0.0", "-p", "50052"], None, "rpc-server"),
    (["/usr/bin/text-generation-launcher", "--model-id", "x"], None, "tgi"),
    (["/usr/bin/local-ai", "run"], None, "localai"),
    (["/usr/bin/env", "LOCALAI_THREADS=4", "local-ai"], None, "localai"),
    (["/opt/LM Studio/lm-studio", "--no-sandbox"], None, "lmstudio"),
    (["/usr/sbin/sshd", "-D"], None, None),
    (["python3", "-c", "import vllm"], None, None),
    ([], None, None),
])
def test_a_server_is_recognised_by_argv_past_its_interpreter(argv, cwd, kind):
    assert server_kind(argv, cwd) == kind


def test_program_skips_interpreters_and_their_options():
    assert program(["python3", "-W", "ignore", "-m", "uvicorn", "open_webui.main:app"]) == (
        "uvicorn", ["open_webui.main:app"])
    assert program(["uv", "run", "vllm", "serve"]) == ("vllm", ["serve"])


@pytest.mark.parametrize("comm, argv, kind", [
    ("nginx", ["nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"], "nginx"),
    ("socat", ["socat", "TCP-LISTEN:8080,fork", "TCP:127.0.0.1:11434"], "socat"),
    ("sshd", ["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"], None),
    ("sshd", ["/usr/sbin/sshd", "-D"], None),
    ("sshd", ["sshd: tunnel@notty"], "ssh"),
    ("sshd-session", ["sshd-session: tunnel@notty"], "ssh"),
    ("docker-proxy", ["/usr/bin/docker-proxy", "-proto", "tcp"], "docker-proxy"),
    ("python3", ["python3", "-m", "vllm.entrypoints.openai.api_server"], "vllm"),
    ("python3", ["python3", "-m", "http.server"], None),
])
def test_a_socket_owner_is_a_forwarder_by_comm_else_a_server_by_argv(comm, argv, kind):
    assert classify(comm, argv) == kind


# -- forwarders from argv -------------------------------------------------------------
def test_socat_listen_and_upstream():
    listen, upstream = forwarder_argv("socat", ["socat", "-d", "-d", "TCP-LISTEN:8080,fork,reuseaddr",
                                                "TCP:127.0.0.1:11434"])
    assert listen == [{"address": "0.0.0.0", "port": 8080, "family": "ipv4", "scope": "wildcard"}]
    assert upstream == [{"host": "127.0.0.1", "port": 11434}]
    listen, upstream = forwarder_argv("socat", ["/usr/bin/socat", "TCP6-LISTEN:8081,fork,ipv6only=0",
                                                "TCP6:[::1]:11434"])
    assert listen[0]["address"] == "::" and upstream == [{"host": "::1", "port": 11434}]
    listen, _up = forwarder_argv("socat", ["socat", "TCP4-LISTEN:8082,bind=127.0.0.1,fork", "TCP4:localhost:11434"])
    assert listen[0]["scope"] == "loopback"


def test_ssh_local_forward_binds_loopback_unless_told():
    listen, upstream = forwarder_argv("ssh", ["ssh", "-N", "-L", "8080:localhost:11434", "gpu-box"])
    assert sorted(s["address"] for s in listen) == ["127.0.0.1", "::1"]
    assert upstream == [{"host": "localhost", "port": 11434}]
    listen, _up = forwarder_argv("ssh", ["ssh", "-gNL", "8080:localhost:11434", "gpu-box"])
    assert sorted(s["scope"] for s in listen) == ["wildcard", "wildcard"]
    listen, _up = forwarder_argv("ssh", ["ssh", "-N", "-L0.0.0.0:8080:127.0.0.1:11434", "-i", "/k", "gpu"])
    assert listen == [{"address": "0.0.0.0", "port": 8080, "family": "ipv4", "scope": "wildcard"}]
    listen, _up = forwarder_argv("ssh", ["ssh", "-o", "GatewayPorts=yes", "-L", "9000:127.0.0.1:11434", "h"])
    assert all(s["scope"] == "wildcard" for s in listen)


def test_kubectl_port_forward():
    listen, upstream = forwarder_argv("kubectl", ["kubectl", "-n", "ai", "port-forward", "--address", "0.0.0.0",
                                                  "svc/ollama", "8080:11434"])
    assert listen == [{"address": "0.0.0.0", "port": 8080, "family": "ipv4", "scope": "wildcard"}]
    assert upstream == [{"host": "svc/ollama", "port": 11434}]
    assert to_model(upstream, kind="kubectl") == "ollama"
    listen, _up = forwarder_argv("kubectl", ["kubectl", "port-forward", "pod/x", "11434"])
    assert sorted(s["scope"] for s in listen) == ["loopback", "loopback"]


def test_docker_proxy():
    listen, upstream = forwarder_argv("docker-proxy", [
        "/usr/bin/docker-proxy", "-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "3000",
        "-container-ip", "172.17.0.2", "-container-port", "8080"])
    assert listen[0]["port"] == 3000 and upstream == [{"host": "172.17.0.2", "port": 8080}]


def test_to_model():
    assert to_model([{"host": "127.0.0.1", "port": 11434}]) == "ollama"
    assert to_model([{"host": "127.0.0.1", "port": 11500}], ollama_ports={11500}) == "ollama"
    assert to_model([{"host": "127.0.0.1", "port": 8000}], server_ports={8000: "vllm"}) == "vllm"
    assert to_model([{"host": "10.9.9.9", "port": 11434}]) is None
    assert to_model([{"host": "192.0.2.7", "port": 11434}], ollama_ports={11434}, addresses=["192.0.2.7"]) == "ollama"
    assert to_model([]) is None


# -- servers: bind, key, env, rebind ---------------------------------------------------
def test_vllm_defaults_to_every_address_and_a_key_flag_is_masked():
    facts = server_facts("vllm", ["vllm", "serve", "m", "--api-key", SECRET], {"VLLM_API_KEY": SECRET})
    assert facts["bind"] == {"address": "0.0.0.0", "port": 8000, "scope": "wildcard", "exposed": True,
                             "origin": "default"}
    assert facts["key"] == {"set": True, "origin": "flag --api-key"}
    assert facts["argv"][-1] == MASK
    assert SECRET not in json.dumps(facts)
    assert facts["rebind"]["possible"] is False and "--host" in facts["rebind"]["why"]


def test_llama_server_defaults_to_loopback_and_takes_its_env():
    facts = server_facts("llama-server", ["llama-server", "-m", "x.gguf"], {})
    assert (facts["bind"]["address"], facts["bind"]["port"], facts["bind"]["exposed"]) == ("127.0.0.1", 8080, False)
    facts = server_facts("llama-server", ["llama-server"], {"LLAMA_ARG_HOST": "0.0.0.0", "LLAMA_ARG_PORT": "9090",
                                                             "LLAMA_API_KEY": SECRET},
                         unit="llama.service", exec_start=["/usr/bin/llama-server", "-m", "x"])
    assert facts["bind"]["origin"] == "env LLAMA_ARG_HOST" and facts["bind"]["port"] == 9090
    assert facts["key"] == {"set": True, "origin": "env LLAMA_API_KEY"}
    assert facts["rebind"] == {"possible": True, "env": "LLAMA_ARG_HOST", "value": "127.0.0.1", "why": None}
    assert SECRET not in json.dumps(facts)


def test_a_flag_in_execstart_refuses_the_rebind():
    argv = ["/usr/bin/llama-server", "--host", "0.0.0.0"]
    facts = server_facts("llama-server", argv, {}, unit="llama.service", exec_start=argv)
    assert facts["bind"]["origin"] == "flag --host" and facts["bind"]["exposed"]
    assert facts["rebind"]["possible"] is False and "passes --host" in facts["rebind"]["why"]
    facts = server_facts("llama-server", argv, {})
    assert "not run by a systemd unit" in facts["rebind"]["why"]


def test_comfyui_bare_listen_is_every_address():
    facts = server_facts("comfyui", ["python", "main.py", "--listen", "--port", "8189"], {})
    assert facts["bind"] == {"address": "0.0.0.0,::", "port": 8189, "scope": "wildcard", "exposed": True,
                             "origin": "flag --listen"}
    facts = server_facts("comfyui", ["python", "main.py", "--listen", "127.0.0.1"], {})
    assert facts["bind"]["exposed"] is False
    facts = server_facts("comfyui", ["python", "main.py"], {})
    assert (facts["bind"]["address"], facts["bind"]["origin"]) == ("127.0.0.1", "default")


def test_localai_address_and_tgi_hostname():
    facts = server_facts("localai", ["local-ai"], {"LOCALAI_ADDRESS": "127.0.0.1:9080"}, unit="localai.service",
                         exec_start=["/usr/bin/local-ai"])
    assert (facts["bind"]["address"], facts["bind"]["port"], facts["bind"]["exposed"]) == ("127.0.0.1", 9080, False)
    assert facts["rebind"]["value"] == "127.0.0.1:9080" and facts["rebind"]["possible"]
    facts = server_facts("tgi", ["text-generation-launcher", "--hostname", "127.0.0.1", "--port", "3001"], {})
    assert (facts["bind"]["scope"], facts["bind"]["port"]) == ("loopback", 3001)


def test_open_webui_env_keeps_only_its_account_and_upstream_settings():
    env = {"WEBUI_AUTH": "False", "ENABLE_SIGNUP": "True", "DEFAULT_USER_ROLE": "user",
           "OLLAMA_BASE_URL": "http://admin:%s@127.0.0.1:11434" % SECRET, "OPENAI_API_KEY": SECRET,
           "WEBUI_SECRET_KEY": SECRET, "HOST": "127.0.0.1"}
    facts = server_facts("open-webui", ["open-webui", "serve"], env)
    assert facts["env"] == {"WEBUI_AUTH": "False", "ENABLE_SIGNUP": "True", "DEFAULT_USER_ROLE": "user",
                            "OLLAMA_BASE_URL": "http://%s@127.0.0.1:11434" % MASK}
    assert facts["bind"]["origin"] == "env HOST" and not facts["bind"]["exposed"]
    assert SECRET not in json.dumps(facts)


@pytest.mark.parametrize("argv", [
    ["vllm", "serve", "--api-key=" + SECRET],
    ["llama-server", "--api-key", SECRET],
    ["kubectl", "port-forward", "--token", SECRET, "svc/x", "8080:11434"],
    ["env", "HF_TOKEN=" + SECRET, "text-generation-launcher"],
    ["python", "app.py", "--upstream", "http://u:%s@127.0.0.1:11434" % SECRET],
    ["tool", "--password", SECRET, "--db-secret=" + SECRET],
])
def test_mask_argv_leaves_no_secret(argv):
    masked = mask_argv(argv)
    assert SECRET not in " ".join(masked)
    assert len(masked) == len(argv)


def test_container_images_and_their_versions():
    assert image_kind("ghcr.io/open-webui/open-webui:main") == "open-webui"
    assert image_kind("vllm/vllm-openai:v0.6.3") == "vllm"
    assert image_kind("ghcr.io/ggml-org/llama.cpp:server-cuda") == "llama-server"
    assert image_kind("ghcr.io/ggml-org/llama.cpp:full") is None
    assert image_kind("vllm/vllm-openai-rocm:latest") is None
    assert image_kind("ollama/ollama:0.5.7") is None
    assert image_version("vllm/vllm-openai:v0.6.3") == "0.6.3"
    assert image_version("ghcr.io/ggml-org/llama.cpp:server-b4500") == "b4500"
    assert image_version("localai/localai:v2.19.4-aio-cpu") == "2.19.4"
    assert image_version("ghcr.io/open-webui/open-webui:main") is None
    assert image_version("vllm/vllm-openai") is None


def test_a_server_container_binds_where_docker_publishes_it():
    [ctr] = server_containers([
        {"Id": "a" * 64, "Names": ["/open-webui"], "Image": "ghcr.io/open-webui/open-webui:main", "State": "running",
         "Ports": [{"IP": "127.0.0.1", "PrivatePort": 8080, "PublicPort": 3000, "Type": "tcp"}]},
        {"Id": "b" * 64, "Names": ["/web"], "Image": "nginx:latest", "Ports": []}])
    assert (ctr["kind"], ctr["name"]) == ("open-webui", "open-webui")
    facts = server_facts("open-webui", [], {"WEBUI_AUTH": "False"}, image=ctr["image"], container=ctr["name"],
                         published=ctr["ports"])
    assert facts["bind"] == {"address": "127.0.0.1", "port": 3000, "scope": "loopback", "exposed": False,
                             "origin": "publish -p"}
    assert "container open-webui" in facts["rebind"]["why"]


# -- ollama_info on this host: real processes, loopback only ---------------------------
LISTENER = textwrap.dedent("""\
    #!%s
    import socket, sys, time
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    sys.stdout.write("%%d\\n" %% sock.getsockname()[1])
    sys.stdout.flush()
    time.sleep(60)
    """) % sys.executable


@pytest.fixture
def spawn(tmp_path):
    started = []

    def start(name, args, env=None):
        path = tmp_path / name
        path.write_text(LISTENER)
        path.chmod(0o755)
        proc = subprocess.Popen([str(path)] + args, stdout=subprocess.PIPE, env=dict(os.environ, **(env or {})))
        started.append(proc)
        port = int(proc.stdout.readline())
        return proc, port
    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_ollama_info_names_each_port_s_owner_and_reads_servers_and_forwarders(spawn, tmp_path):
    server, server_port = spawn("llama-server", ["--host", "127.0.0.1", "--api-key", SECRET],
                                env={"LLAMA_API_KEY": SECRET})
    fwd, fwd_port = spawn("socat", ["TCP-LISTEN:18080,fork,bind=127.0.0.1", "TCP:127.0.0.1:%d" % 11434])
    how, result = run_module(ollama_info, {"query_version": False, "docker_socket": no_docker(tmp_path)})
    assert how == "exit", result
    assert SECRET not in json.dumps(result)
    owners = dict((s["port"], s) for s in result["other_listeners"])
    assert (owners[server_port]["pid"], owners[server_port]["process"], owners[server_port]["kind"]) == (
        server.pid, "llama-server", "llama-server")
    assert (owners[fwd_port]["pid"], owners[fwd_port]["kind"]) == (fwd.pid, "socat")
    [srv] = [s for s in result["servers"] if s["pid"] == server.pid]
    assert srv["kind"] == "llama-server" and srv["source"] == "process"
    assert [s["port"] for s in srv["listen"]] == [server_port]
    assert srv["bind"]["origin"] == "flag --host" and srv["bind"]["exposed"] is False
    assert srv["key"] == {"set": True, "origin": "flag --api-key"}
    assert MASK in srv["argv"]
    [forwarder] = [f for f in result["forwarders"] if f["pid"] == fwd.pid]
    assert forwarder["kind"] == "socat" and forwarder["to_model"] == "ollama" and forwarder["auth"] is False
    assert forwarder["upstream"] == [{"host": "127.0.0.1", "port": 11434}]
    assert [s["port"] for s in forwarder["listen"]] == [fwd_port]


def test_ollama_info_reads_a_server_container_without_its_secrets(tmp_path, monkeypatch):
    monkeypatch.setattr(ollama_info, "is_ollama_serve", lambda argv: False)  # no Ollama on this host
    path = os.path.join(str(tmp_path), "docker.sock")
    listing = [{"Id": "c0ffee" * 8, "Names": ["/open-webui"], "Image": "ghcr.io/open-webui/open-webui:v0.6.5",
                "Command": "bash start.sh", "State": "running",
                "Ports": [{"IP": "0.0.0.0", "PrivatePort": 8080, "PublicPort": 3000, "Type": "tcp"}]}]
    inspect = {"Config": {"Env": ["WEBUI_AUTH=False", "OPENAI_API_KEY=" + SECRET, "WEBUI_SECRET_KEY=" + SECRET,
                                  "OLLAMA_BASE_URL=http://host.docker.internal:11434"],
                          "Cmd": ["bash", "start.sh"]},
               "State": {"Pid": 0}}
    thread, seen = serve_routes(path, {"/containers/json": (200, listing),
                                       "/containers/c0ffeec0ffee/json": (200, inspect)}, 2)
    how, result = run_module(ollama_info, {"query_version": False, "docker_socket": path, "timeout": 5.0})
    thread.join(5)
    assert how == "exit", result
    assert SECRET not in json.dumps(result)
    [srv] = [s for s in result["servers"] if s["source"] == "container"]
    assert (srv["kind"], srv["container"], srv["version"]) == ("open-webui", "open-webui", "0.6.5")
    assert srv["env"] == {"WEBUI_AUTH": "False", "OLLAMA_BASE_URL": "http://host.docker.internal:11434"}
    assert srv["bind"]["exposed"] is True and srv["bind"]["port"] == 3000
    assert result["containers"] == []
    assert result["processes"] == [] and result["services"] == []
    assert result["status"] == "unknown"  # another model server: never not_installed


# -- Caddy ------------------------------------------------------------------------------
DEBIAN_CADDYFILE = """# The Caddyfile is an easy way to configure your Caddy web server.
#
# Unless the file starts with a global options block, the first
# uncommented line is always the address of your site.
:80 {
	# Set this path to your site's directory.
	root * /usr/share/caddy

	# Enable the static file server.
	file_server

	# Another common task is to set up a reverse proxy:
	# reverse_proxy localhost:8080
}
"""


def test_debian_s_default_caddyfile_proxies_nothing():
    assert caddy_proxies(DEBIAN_CADDYFILE) == []


def test_caddy_reverse_proxy_with_and_without_basic_auth():
    text = """{
	admin off
}
:8080 {
	reverse_proxy 127.0.0.1:11434
}
ollama.example.com {
	basic_auth {
		alice $2a$14$Zkx19XLiW6VYouLHR5NmfOFU0z2GTNmpkT/5qqR7hx4IjWJPDhjvG
	}
	reverse_proxy http://localhost:11434
}
http://:8081, 127.0.0.1:8082 {
	handle /api/* {
		basic_auth /api/pull {
			admin $2a$14$Zkx19XLiW6VYouLHR5NmfOFU0z2GTNmpkT/5qqR7hx4IjWJPDhjvG
		}
		reverse_proxy {
			to 127.0.0.1:8000
		}
	}
}
"""
    found = caddy_proxies(text)
    assert [(p["line"], p["auth"], p["upstream"]) for p in found] == [
        (5, False, [{"host": "127.0.0.1", "port": 11434}]),
        (11, True, [{"host": "localhost", "port": 11434}]),
        (18, False, [{"host": "127.0.0.1", "port": 8000}])]
    assert found[0]["listen"] == [{"address": "0.0.0.0", "port": 8080, "family": "ipv4", "scope": "wildcard"}]
    assert [s["port"] for s in found[1]["listen"]] == [443]
    assert [(s["address"], s["port"]) for s in found[2]["listen"]] == [("0.0.0.0", 8081), ("127.0.0.1", 8082)]


# -- a forwarder's unit -----------------------------------------------------------------
def test_an_argv_forwarder_is_located_at_its_unit_s_execstart(monkeypatch):
    unit = "[Unit]\nDescription=socat to Ollama\n\n[Service]\nExecStart=/usr/bin/socat TCP-LISTEN:8080,fork TCP:127.0.0.1:11434\n"
    monkeypatch.setattr(ollama_info, "find_unit_files", lambda name: {
        "fragment": "/etc/systemd/system/%s" % name, "dropins": [], "masked": False})
    monkeypatch.setattr(ollama_info, "read_text", lambda path, binary=False: unit if path.endswith("socat-ollama.service") else None)
    auditor = ollama_info.Auditor.__new__(ollama_info.Auditor)
    argv, location = auditor.unit_exec("socat-ollama.service")
    assert location == {"file": "/etc/systemd/system/socat-ollama.service", "line": 5, "unit": "socat-ollama.service"}
    assert argv[0] == "/usr/bin/socat" and argv[-1] == "TCP:127.0.0.1:11434"
    assert auditor.unit_exec(None) == (None, None)


def test_forwarders_join_sockets_config_and_containers(monkeypatch):
    site = "http {\n  server {\n    listen 80;\n    location / {\n      proxy_pass http://127.0.0.1:11434;\n    }\n  }\n}\n"
    monkeypatch.setattr(ollama_info, "read_text", lambda path, binary=False: site if path == "/opt/nginx/main.conf" else None)
    auditor = ollama_info.Auditor.__new__(ollama_info.Auditor)
    auditor.warnings = []
    wide = {"address": "0.0.0.0", "family": "ipv4", "scope": "wildcard"}
    auditor.others = [dict(wide, port=80, pid=10, kind="nginx"), dict(wide, port=80, pid=11, kind="nginx"),
                      dict(wide, port=3000, pid=20, kind="docker-proxy"), dict(wide, port=22, pid=1, kind=None)]
    owners = {10: {"comm": "nginx", "argv": ["nginx: master process /usr/sbin/nginx -c /opt/nginx/main.conf"],
                   "unit": None, "kind": "nginx"},
              11: {"comm": "nginx", "argv": ["nginx: worker process"], "unit": None, "kind": "nginx"},
              20: {"comm": "docker-proxy", "unit": None, "kind": "docker-proxy",
                   "argv": ["/usr/bin/docker-proxy", "-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "3000",
                            "-container-ip", "172.17.0.3", "-container-port", "8080"]}}
    servers = [{"kind": "open-webui", "source": "container", "container": "webui", "bind": {"port": 3000},
                "listen": [dict(wide, port=3000)]}]
    found = auditor.forwarders(owners, [], [], servers, [])
    assert [(f["kind"], f["pid"], f["to_model"], f["auth"]) for f in found] == [
        ("nginx", 10, "ollama", False), ("docker-proxy", 20, "open-webui", None)]
    assert found[0]["location"] == {"file": "/opt/nginx/main.conf", "line": 5}  # nginx -c FILE
    assert found[1]["evidence"].startswith("publishes container webui (open-webui)")


def test_the_owners_pass_is_bounded(spawn, tmp_path, monkeypatch):
    _proc, port = spawn("socat", ["TCP-LISTEN:18081,bind=127.0.0.1", "TCP:127.0.0.1:11434"])
    monkeypatch.setattr(ollama_info, "MAX_FD_READS", 0)
    how, result = run_module(ollama_info, {"query_version": False, "docker_socket": no_docker(tmp_path)})
    assert how == "exit", result
    [sock] = [s for s in result["other_listeners"] if s["port"] == port]
    assert sock["pid"] is None and sock["kind"] is None
    assert any("stopped reading /proc/*/fd" in w for w in result["warnings_detail"])
