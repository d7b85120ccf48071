# -*- coding: utf-8 -*-
"""The discovery lab (issue 29): containers odc-* on a network of its own.

Network ``ollama-discover`` (172.30.140.0/24, fd00:6c61:140::/64); its
gateway (.1, ::1, this machine's side of the bridge) is excluded from every
sweep of the tests and the benchmark: nothing else is ever contacted.

| container | address (.N and ::N) | what answers |
|---|---|---|
| odc-ollama-open | 10 | the Ollama stand-in, OLLAMA_HOST=0.0.0.0 (Go's dual-stack wildcard): 11434 over IPv4 and IPv6 |
| odc-ollama-front | 11 | nginx with auth_basic realm "Ollama" (as the toolkit's front asks) on :80 and [::]:80, Ollama on its loopback |
| odc-vllm-open | 12 | the vLLM stand-in, no key (IPv4 INADDR_ANY, as upstream without --host): 8000 |
| odc-vllm-key | 13 | the vLLM stand-in with --api-key: 8000, /v1 answers 401 |
| odc-quiet | 14 | nothing listening |
| odc-web | 15 | python3 -m http.server --bind :: 8080 (dual-stack): a web server, not a model server |

The stand-ins are tests/lab/standin's (mounted read-only); the images are
the lab's (ollama-lab:bookworm-front has nginx). No systemd: each container
runs its servers as its first process. ``python3 tests/discover/lab.py
create|destroy``.
"""

import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
STANDIN = os.path.join(REPO, "tests", "lab", "standin")
# The Ollama stand-in parses OLLAMA_HOST with the toolkit's own parser, found there.
HOST_PARSER = os.path.join(REPO, "collections", "ansible_collections", "ollama_toolkit", "exposure", "plugins",
                           "module_utils", "ollama_host.py")
NETWORK = "ollama-discover"
SUBNET4 = "172.30.140.0/24"
SUBNET6 = "fd00:6c61:140::/64"
GATEWAYS = ["172.30.140.1", "fd00:6c61:140::1"]
IMAGE = "ollama-lab:bookworm-front"
NGINX = """events {}
http {
    access_log off;
    server {
        listen 80;
        listen [::]:80;
        location / {
            auth_basic "Ollama";
            auth_basic_user_file /odc/users;
            proxy_pass http://127.0.0.1:11434;
        }
    }
}
"""
HOSTS = [
    ("odc-ollama-open", 10, "OLLAMA_HOST=0.0.0.0 exec python3 /standin/ollama serve"),
    ("odc-ollama-front", 11, "OLLAMA_HOST=127.0.0.1:11434 python3 /standin/ollama serve & "
                             "exec nginx -c /odc/nginx.conf -g 'daemon off;'"),
    ("odc-vllm-open", 12, "exec python3 /standin/vllm serve odc/tiny"),
    ("odc-vllm-key", 13, "exec python3 /standin/vllm serve odc/tiny --api-key odc-lab-key"),
    ("odc-quiet", 14, "exec sleep infinity"),
    ("odc-web", 15, "cd /tmp && exec python3 -m http.server --bind :: 8080"),
]
# What must answer before a sweep: (address, port).
READY = [("172.30.140.10", 11434), ("fd00:6c61:140::10", 11434), ("172.30.140.11", 80), ("fd00:6c61:140::11", 80),
         ("172.30.140.12", 8000), ("172.30.140.13", 8000), ("172.30.140.15", 8080), ("fd00:6c61:140::15", 8080)]


def docker(*args, check=True):
    return subprocess.run(["docker"] + list(args), check=check, capture_output=True, text=True)


def address(last, family=4):
    return "172.30.140.%d" % last if family == 4 else "fd00:6c61:140::%d" % last


def destroy():
    names = [name for name, _n, _c in HOSTS]
    docker("rm", "-f", *names, check=False)
    docker("network", "rm", NETWORK, check=False)


def wait_ready(deadline=60.0):
    import socket
    end = time.monotonic() + deadline
    waiting = list(READY)
    while waiting and time.monotonic() < end:
        for target in list(waiting):
            family = socket.AF_INET6 if ":" in target[0] else socket.AF_INET
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.5)
                if sock.connect_ex(target) == 0:
                    waiting.remove(target)
        if waiting:
            time.sleep(0.3)
    if waiting:
        raise RuntimeError("the discovery lab did not answer on %s" % waiting)


def create():
    destroy()
    conf = tempfile.mkdtemp(prefix="odc-")
    with open(os.path.join(conf, "nginx.conf"), "w") as handle:
        handle.write(NGINX)
    with open(os.path.join(conf, "users"), "w") as handle:
        handle.write("lab:{PLAIN}odc-lab-password\n")
    os.chmod(conf, 0o755)
    for name in ("nginx.conf", "users"):
        os.chmod(os.path.join(conf, name), 0o644)
    docker("network", "create", "--ipv6", "--subnet", SUBNET4, "--subnet", SUBNET6, NETWORK)
    for name, last, command in HOSTS:
        docker("run", "-d", "--name", name, "--hostname", name, "--network", NETWORK,
               "--ip", address(last), "--ip6", address(last, 6), "--entrypoint", "sh",
               "--sysctl", "net.ipv6.conf.all.disable_ipv6=0", "--sysctl", "net.ipv6.conf.default.disable_ipv6=0",
               "-v", "%s:/standin:ro" % STANDIN, "-v", "%s:/odc:ro" % conf,
               "-v", "%s:/usr/local/lib/ollama-standin/ollama_host.py:ro" % HOST_PARSER, IMAGE, "-c", command)
    wait_ready()


if __name__ == "__main__":
    {"create": create, "destroy": destroy}[sys.argv[1]]()
