# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every way in: the other model servers, Open WebUI and the forwarders.

Data only, in one place (read from each project's 2025-2026 sources): how each kind is
recognised on a host (process argv, container image), where it listens by
default, which setting moves it to loopback or asks for a key, and whether
the toolkit can set that setting for the operator (``rebind``). The host
read (ollama_info), the outside probe, the findings, the bind role's plan
and the doors' documentation all read this table; none of them restates it.

A kind's ``rebind`` is an environment variable the toolkit may set in a
systemd drop-in of the unit that runs it, and only when the unit's own
``ExecStart`` does not pass the flag (a flag on the command line wins over
the variable for every kind listed). ``rebind: None`` comes with ``refuse``:
the reason the toolkit leaves it to the operator, said by name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# kind -> facts. ``argv``: substrings of the process's argv that name it
# (any one, matched against the basename of argv[0] and argv[1] for
# interpreters); ``images``: container image prefixes; ``bind_flags`` and
# ``key_flags``: command-line options; ``bind_env`` and ``key_env``:
# environment variables; ``port_flags`` and ``port_env``: where its port is
# set when the bind setting does not name one; ``open_paths``: routes that answer without a key
# even when one is set (information only, never a model).
SERVERS = {
    "vllm": {
        "title": "vLLM",
        "port": 8000,
        "default_bind": "wildcard",
        "argv": ["vllm serve", "vllm.entrypoints.openai.api_server"],
        "images": ["vllm/vllm-openai"],
        "bind_flags": ["--host"],
        "bind_env": [],
        "port_flags": ["--port"],
        "port_env": [],
        "key_flags": ["--api-key"],
        "key_env": ["VLLM_API_KEY"],
        "open_paths": ["/health", "/ping", "/version", "/metrics", "/docs", "/openapi.json"],
        "rebind": None,
        "refuse": "vLLM reads its bind address only from --host (or host: in its --config file): "
                  "the toolkit does not rewrite the operator's ExecStart",
        "advisories": [],
    },
    "tgi": {
        "title": "Hugging Face TGI",
        "port": 3000,
        "default_bind": "wildcard",
        "argv": ["text-generation-launcher", "text-generation-router"],
        "images": ["ghcr.io/huggingface/text-generation-inference"],
        "bind_flags": ["--hostname"],
        "bind_env": ["HOSTNAME"],
        "port_flags": ["--port", "-p"],
        "port_env": ["PORT"],
        "key_flags": ["--api-key"],
        "key_env": ["API_KEY"],
        "open_paths": ["/info", "/health", "/metrics", "/v1/models"],
        "rebind": {"env": "HOSTNAME", "value": "127.0.0.1"},
        "refuse": None,
        "advisories": [],
    },
    "localai": {
        "title": "LocalAI",
        "port": 8080,
        "default_bind": "wildcard",
        "argv": ["local-ai", "localai"],
        "images": ["localai/localai", "quay.io/go-skynet/local-ai"],
        "bind_flags": ["--address"],
        "bind_env": ["LOCALAI_ADDRESS", "ADDRESS"],
        "port_flags": [],
        "port_env": [],
        "key_flags": ["--api-keys"],
        "key_env": ["LOCALAI_API_KEY", "API_KEY"],
        "open_paths": ["/healthz", "/readyz", "/.well-known/localai.json"],
        "rebind": {"env": "LOCALAI_ADDRESS", "value": "127.0.0.1:{port}"},
        "refuse": None,
        "advisories": [
            {"cve": "CVE-2024-2029", "fixed_in": "2.10.0", "summary": "command injection in audio transcription"},
            {"cve": "CVE-2024-6983", "fixed_in": "2.19.4", "summary": "code execution through a model configuration"},
        ],
    },
    "llama-server": {
        "title": "llama.cpp llama-server",
        "port": 8080,
        "default_bind": "loopback",
        "argv": ["llama-server"],
        "images": ["ghcr.io/ggml-org/llama.cpp:server", "ghcr.io/ggerganov/llama.cpp:server"],
        "bind_flags": ["--host"],
        "bind_env": ["LLAMA_ARG_HOST"],
        "port_flags": ["--port"],
        "port_env": ["LLAMA_ARG_PORT"],
        "key_flags": ["--api-key", "--api-key-file"],
        "key_env": ["LLAMA_API_KEY"],
        "open_paths": ["/health", "/v1/health", "/models", "/v1/models", "/api/tags"],
        "rebind": {"env": "LLAMA_ARG_HOST", "value": "127.0.0.1"},
        "refuse": None,
        "advisories": [],
    },
    "rpc-server": {
        "title": "llama.cpp rpc-server",
        "port": 50052,
        "default_bind": "loopback",
        "argv": ["rpc-server"],
        "images": [],
        "bind_flags": ["-H", "--host"],
        "bind_env": [],
        "port_flags": ["-p", "--port"],
        "port_env": [],
        "key_flags": [],
        "key_env": [],
        "open_paths": [],
        "rebind": None,
        "refuse": "rpc-server takes its address only from -H and has no credentials at all: "
                  "stop it or firewall its port (ollama_firewall_close_model_servers)",
        # llama.cpp build numbers (bNNNN): the fix landed in b3561.
        "advisories": [
            {"cve": "CVE-2024-42477", "fixed_in": "b3561", "summary": "rpc-server out-of-bounds write (code execution)"},
            {"cve": "CVE-2024-42478", "fixed_in": "b3561", "summary": "rpc-server arbitrary read"},
            {"cve": "CVE-2024-42479", "fixed_in": "b3561", "summary": "rpc-server arbitrary write"},
        ],
    },
    "comfyui": {
        "title": "ComfyUI",
        "port": 8188,
        "default_bind": "loopback",
        "argv": ["comfyui", "ComfyUI/main.py"],
        "images": [],
        "bind_flags": ["--listen"],
        "bind_env": [],
        "port_flags": ["--port"],
        "port_env": [],
        "key_flags": [],
        "key_env": [],
        "open_paths": ["/prompt", "/upload/image", "/view", "/api/system_stats"],
        "rebind": None,
        "refuse": "ComfyUI takes its address only from --listen and has no credentials: "
                  "drop --listen from its ExecStart, or firewall its port",
        "advisories": [],
    },
    "lmstudio": {
        "title": "LM Studio",
        "port": 1234,
        "default_bind": "loopback",
        "argv": ["lms server", "llmster", "LM Studio", "lm-studio"],
        "images": [],
        "bind_flags": ["--bind"],
        "bind_env": [],
        "port_flags": ["--port"],
        "port_env": [],
        "key_flags": [],
        "key_env": [],
        "open_paths": ["/v1/models"],
        "rebind": None,
        "refuse": "LM Studio keeps 'Serve on Local Network' in its own settings: "
                  "turn it off there (or require API tokens), or firewall its port",
        "advisories": [],
    },
    "open-webui": {
        "title": "Open WebUI",
        "port": 8080,
        "default_bind": "wildcard",
        "argv": ["open-webui serve", "open_webui.main:app"],
        "images": ["ghcr.io/open-webui/open-webui"],
        "bind_flags": ["--host"],
        "bind_env": ["HOST"],
        "port_flags": ["--port"],
        "port_env": ["PORT"],
        "key_flags": [],
        "key_env": [],
        "open_paths": ["/api/config", "/health"],
        "rebind": {"env": "HOST", "value": "127.0.0.1"},
        "refuse": None,
        "advisories": [],
        # Open WebUI's own accounts: the settings that decide who gets in.
        "auth_env": {"WEBUI_AUTH": "True", "ENABLE_SIGNUP": "True", "DEFAULT_USER_ROLE": "pending"},
        "upstream_env": ["OLLAMA_BASE_URL", "OLLAMA_BASE_URLS"],
    },
}

# Forwarders: programs that listen on a port and pass its traffic on. The
# socket owner's process name (/proc/PID/comm) says which; what they
# forward to comes from their configuration or argv where the read can tell.
FORWARDERS = {
    "nginx": {"comm": ["nginx"], "config": ["/etc/nginx/nginx.conf"], "auth": ["auth_basic", "auth_request", "ssl_verify_client"]},
    "caddy": {"comm": ["caddy"], "config": ["/etc/caddy/Caddyfile"], "auth": ["basic_auth", "basicauth", "forward_auth"]},
    "traefik": {"comm": ["traefik"], "config": [], "auth": []},
    "haproxy": {"comm": ["haproxy"], "config": ["/etc/haproxy/haproxy.cfg"], "auth": ["http-request auth"]},
    "socat": {"comm": ["socat"], "config": [], "auth": []},
    "ssh": {"comm": ["ssh", "sshd"], "config": [], "auth": []},
    "kubectl": {"comm": ["kubectl"], "config": [], "auth": []},
    "docker-proxy": {"comm": ["docker-proxy"], "config": [], "auth": []},
}
