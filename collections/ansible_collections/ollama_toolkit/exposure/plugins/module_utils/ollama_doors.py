# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host read of every door (issue 26): pure functions over a process's
argv, environment and sockets.

- ``classify``: the kind of a listening socket's owner (a FORWARDERS key by
  its /proc/PID/comm, a SERVERS key by its argv, interpreters included).
- ``forwarder_argv``: where socat, ssh, kubectl and docker-proxy listen and
  what they forward to, from their argv (each tool's own syntax: socat(1)
  address specifications, ssh(1) ``-L``, ``kubectl port-forward``,
  moby's cmd/docker-proxy flags).
- ``server_facts``: bind, key, env, version and rebind of another model
  server, from its argv, environment and unit (SERVERS says how).
- ``mask_argv`` / ``mask_value``: no API key, token or password in a URL
  leaves the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import (
    address_scope, is_exposed_scope)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_servers import FORWARDERS, SERVERS

MASK = "********"
OLLAMA_PORT = 11434
_SECRET = re.compile(r"(key|token|secret|passw|auth|credential)", re.I)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")
_INTERPRETER = re.compile(r"^(python[0-9.]*|pypy[0-9.]*|env|sh|bash|dash|node|uv|uvx|pipx|poetry|conda|micromamba)\Z")
# Interpreter options that take a value (the program comes after it).
_INTERPRETER_VALUE = ("-W", "-X", "--from", "--with", "-p", "--python", "-n", "--name")


def mask_value(text):
    """A URL's user:password replaced (http://u:p@host -> http://********@host)."""
    return _USERINFO.sub(lambda m: m.group(1) + MASK + "@", text or "")


def _secret_flag(flag, key_flags=()):
    name = flag.lstrip("-")
    return flag in key_flags or bool(name and _SECRET.search(name))


def mask_argv(argv, key_flags=()):
    """argv with the value of every key, token or password option masked
    (``--api-key X``, ``--api-key=X``, ``API_KEY=X`` before the program), and
    credentials in URLs."""
    out, mask_next = [], False
    for word in argv or []:
        if mask_next:
            out.append(MASK)
            mask_next = False
            continue
        if word.startswith("-") and "=" in word:
            flag, _sep, _value = word.partition("=")
            if _secret_flag(flag, key_flags):
                out.append(flag + "=" + MASK)
                continue
        elif word.startswith("-") and _secret_flag(word, key_flags):
            out.append(word)
            mask_next = True
            continue
        elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word):
            name, _sep, _value = word.partition("=")
            if _SECRET.search(name):
                out.append(name + "=" + MASK)
                continue
        out.append(mask_value(word))
    return out


def program(argv, cwd=None):
    """(path, rest) of the program an argv runs, past interpreters and
    wrappers (``python3 -m vllm.entrypoints.openai.api_server``, ``env X=1
    prog``, ``uv run prog``); a relative script path is joined to ``cwd``."""
    words = list(argv or [])
    while words and _INTERPRETER.match(os.path.basename(words[0])):
        words = words[1:]
        while words:
            word = words[0]
            if word == "-m" and len(words) > 1:
                return words[1], words[2:]
            if word == "-c":
                return None, []
            if word in ("run", "exec", "tool") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word):
                words = words[1:]
            elif word in _INTERPRETER_VALUE:
                words = words[2:]
            elif word.startswith("-"):
                words = words[1:]
            else:
                break
    if not words:
        return None, []
    path = words[0]
    if cwd and not os.path.isabs(path) and ("/" in path or path.endswith(".py")):
        path = os.path.normpath(os.path.join(cwd, path))
    return path, words[1:]


def _patterns():
    """(kind, kind of match, pattern) of every SERVERS[kind].argv, lower-cased,
    and the words that can start a match (a quick test for most processes)."""
    out, words = [], set()
    for kind, facts in SERVERS.items():
        for pattern in facts["argv"]:
            low = pattern.lower()
            if " " in pattern and not pattern[0].isupper():
                out.append((kind, "program arg", low))
                words.add(low.split(" ")[0])
            elif "/" in pattern:
                out.append((kind, "path end", low))
                words.add(low.rsplit("/", 1)[1])
            else:
                out.append((kind, "name", low))
                words.add(low)
    return out, words


_PATTERNS, _WORDS = _patterns()
_PATH_WORDS = [p for _k, how, p in _PATTERNS if how == "name" and " " in p]


def server_kind(argv, cwd=None):
    """The SERVERS kind an argv runs, or None. Each of SERVERS[kind].argv
    names it as the program's name (``llama-server``), program and first
    argument (``vllm serve``), a module (``-m vllm.entrypoints...``), an
    app argument (``uvicorn open_webui.main:app``) or the end of its path
    (``ComfyUI/main.py``, ``LM Studio``)."""
    if not argv:
        return None
    head = os.path.basename(argv[0]).lower()
    if not _INTERPRETER.match(head) and head not in _WORDS and head != "uvicorn" and \
            not any(p in argv[0].lower() for p in _PATH_WORDS):
        return None
    path, rest = program(argv, cwd)
    if not path:
        return None
    lowered = path.lower()
    base = os.path.basename(lowered)
    first = rest[0].lower() if rest else ""
    for kind, how, pattern in _PATTERNS:
        if how == "program arg":
            if "%s %s" % (base, first) == pattern:
                return kind
        elif how == "path end":
            if lowered.endswith("/" + pattern) or lowered == pattern:
                return kind
        elif base == pattern or first == pattern or ("/%s/" % pattern) in lowered:
            return kind
    return None


def classify(comm, argv, cwd=None):
    """kind of a socket's owner: a FORWARDERS key by its comm (sshd only for
    a session's forwarding - ``sshd: user@notty``, OpenSSH 9.8+'s
    sshd-session - not the daemon), else a SERVERS key by argv."""
    if comm == "sshd-session":
        # OpenSSH 9.8+ runs each session as sshd-session: a listening one forwards (-R).
        return "ssh"
    for kind, facts in FORWARDERS.items():
        if comm in facts["comm"]:
            if comm == "sshd" and not (argv and argv[0].startswith("sshd:") and "[listener]" not in argv[0]
                                       and "@" in argv[0]):
                return None
            return kind
    return server_kind(argv, cwd)


def flag_value(argv, names):
    """(flag, value) of the last of ``names`` in argv; value None for a bare
    flag; (None, None) when absent. ``--x=v`` and ``--x v`` both count."""
    found = (None, None)
    for index, word in enumerate(argv or []):
        for name in names:
            if word == name:
                nxt = argv[index + 1] if index + 1 < len(argv) else None
                found = (name, nxt if nxt is not None and not nxt.startswith("-") else None)
            elif word.startswith(name + "="):
                found = (name, word[len(name) + 1:])
    return found


def _split_host_port(text, default_port=None):
    if text.startswith("["):
        end = text.find("]")
        host, tail = text[1:end], text[end + 1:]
        return host, int(tail[1:]) if tail[1:].isdigit() else default_port
    if text.count(":") == 1:
        host, _sep, port = text.partition(":")
        return host, int(port) if port.isdigit() else default_port
    if text.isdigit():
        return "", int(text)
    return text, default_port


def socket_entry(address, port):
    """{address, port, family, scope} of a listening address as a tool names it."""
    if address in ("", "*"):
        address = "0.0.0.0"
    elif address == "localhost":
        address = "127.0.0.1"
    scope = "wildcard" if address in ("0.0.0.0", "::") else address_scope(address)
    return {"address": address, "port": port, "family": "ipv6" if ":" in address else "ipv4", "scope": scope}


_SOCAT_LISTEN = re.compile(r"^(?:(tcp[46]?)-l(?:isten)?|(openssl|ssl)-l(?:isten)?)\Z", re.I)
_SOCAT_CONNECT = re.compile(r"^(?:tcp[46]?|tcp[46]?-connect|openssl|ssl|openssl-connect)\Z", re.I)
_SOCAT_VALUE = ("-T", "-t", "-b", "-lf", "-lp", "-L", "-W", "-s")


def parse_socat(argv):
    """socat(1): ``TCP-LISTEN:8080,fork,bind=0.0.0.0 TCP:127.0.0.1:11434``."""
    addresses, words = [], list(argv[1:])
    while words:
        word = words.pop(0)
        if word in _SOCAT_VALUE:
            words = words[1:]
        elif word.startswith("-") and len(word) > 1:
            continue
        else:
            addresses.append(word)
    listen, upstream = [], []
    for spec in addresses[:2]:
        head, _sep, options = spec.partition(",")
        kind, _sep, params = head.partition(":")
        opts = dict((o.partition("=")[0].lower(), o.partition("=")[2]) for o in options.split(",") if o)
        match = _SOCAT_LISTEN.match(kind)
        if match and params.isdigit():
            family = (match.group(1) or "").lower()
            bind = opts.get("bind") or ("::" if family == "tcp6" or opts.get("pf") in ("ip6", "ipv6") else "0.0.0.0")
            host = bind.strip("[]") if bind.startswith("[") else _split_host_port(bind)[0]
            listen.append(socket_entry(host, int(params)))
        elif _SOCAT_CONNECT.match(kind):
            host, port = _split_host_port(params.strip()) if not params.startswith("[") else _split_host_port(params)
            if params.count(":") > 1 and not params.startswith("["):
                host, _sep, port = params.rpartition(":")
                port = int(port) if port.isdigit() else None
            if port:
                upstream.append({"host": host, "port": port})
    return listen, upstream


_SSH_VALUE = set("BbcDEeFIiJLlmOopQRSWw")


def parse_ssh(argv):
    """ssh(1) ``-L [bind_address:]port:host:hostport``: on loopback unless
    ``-g`` or ``GatewayPorts=yes`` (then every address) or an explicit
    bind_address (``*`` or empty: every address)."""
    specs, gateway, words = [], False, list(argv[1:])
    while words:
        word = words.pop(0)
        if not word.startswith("-") or word == "-":
            continue
        letters = word[1:]
        for pos, letter in enumerate(letters):
            if letter in _SSH_VALUE:
                value = letters[pos + 1:] or (words.pop(0) if words else "")
                if letter == "L":
                    specs.append(value)
                elif letter == "o" and re.match(r"(?i)^gatewayports[= ]+(yes|true)", value):
                    gateway = True
                break
            if letter == "g":
                gateway = True
    listen, upstream = [], []
    for spec in specs:
        parts = re.findall(r"\[[^\]]*\]|[^:]+|(?<=:)(?=:)", spec)
        parts = [p.strip("[]") for p in parts]
        if len(parts) == 4:
            bind, port, host, hostport = parts
            addresses = ["0.0.0.0", "::"] if bind in ("", "*") else [bind]
        elif len(parts) == 3:
            port, host, hostport = parts
            addresses = ["0.0.0.0", "::"] if gateway else ["127.0.0.1", "::1"]
        else:
            continue
        if not (port.isdigit() and hostport.isdigit()):
            continue
        listen.extend(socket_entry(a, int(port)) for a in addresses)
        upstream.append({"host": host, "port": int(hostport)})
    return listen, upstream


_KUBECTL_VALUE = ("-n", "--namespace", "--address", "--pod-running-timeout", "--kubeconfig", "--context",
                  "--cluster", "--user", "--token", "-s", "--server", "--request-timeout")


def parse_kubectl(argv):
    """``kubectl port-forward [--address a,b] TYPE/NAME [LOCAL:]REMOTE ...``
    (default address: localhost, both 127.0.0.1 and ::1)."""
    if "port-forward" not in argv:
        return [], []
    addresses, positional, words = ["127.0.0.1", "::1"], [], list(argv[argv.index("port-forward") + 1:])
    while words:
        word = words.pop(0)
        if word.startswith("--address"):
            value = word.partition("=")[2] if "=" in word else (words.pop(0) if words else "")
            addresses = ["127.0.0.1", "::1"] if value == "localhost" else \
                [a.strip() for a in value.split(",") if a.strip()]
        elif word in _KUBECTL_VALUE:
            words = words[1:]
        elif word.startswith("-"):
            continue
        else:
            positional.append(word)
    if not positional:
        return [], []
    target, listen, upstream = positional[0], [], []
    for spec in positional[1:]:
        local, _sep, remote = spec.rpartition(":")
        local = local if _sep else remote
        if not remote.isdigit():
            continue
        if local.isdigit():
            listen.extend(socket_entry(a, int(local)) for a in addresses)
        upstream.append({"host": target, "port": int(remote)})
    return listen, upstream


def parse_docker_proxy(argv):
    """moby's docker-proxy: ``-proto tcp -host-ip IP -host-port N -container-ip IP -container-port M``."""
    values = {}
    for name in ("-proto", "-host-ip", "-host-port", "-container-ip", "-container-port"):
        flag, value = flag_value(argv, [name, "-" + name])
        if flag:
            values[name] = value
    if (values.get("-proto") or "tcp") != "tcp":
        return [], []
    listen, upstream = [], []
    if (values.get("-host-port") or "").isdigit():
        listen.append(socket_entry(values.get("-host-ip") or "0.0.0.0", int(values["-host-port"])))
    if (values.get("-container-port") or "").isdigit():
        upstream.append({"host": values.get("-container-ip") or "", "port": int(values["-container-port"])})
    return listen, upstream


ARGV_PARSERS = {"socat": parse_socat, "ssh": parse_ssh, "kubectl": parse_kubectl, "docker-proxy": parse_docker_proxy}


def forwarder_argv(kind, argv):
    """(listen, upstream) of an argv-configured forwarder; ([], []) for the others."""
    parser = ARGV_PARSERS.get(kind)
    if not parser or not argv:
        return [], []
    path, rest = program(argv)
    try:
        return parser([path or argv[0]] + rest)
    except (ValueError, IndexError):
        return [], []


def is_local(host, addresses=()):
    return host in ("localhost", "", "0.0.0.0", "::", "ip6-localhost") or host in addresses or \
        (address_scope(host) == "loopback")


def to_model(upstream, ollama_ports=(), server_ports=None, addresses=(), kind=None):
    """What a forwarder passes traffic to: ``ollama`` when an upstream is a
    local port Ollama listens on (or 11434 on loopback), a SERVERS kind when
    it is the port of such a server on this host, else None. kubectl's
    upstream is a pod: Ollama's port there counts as Ollama."""
    server_ports = server_ports or {}
    for item in upstream or []:
        host, port = item.get("host"), item.get("port")
        if kind == "kubectl" and port == OLLAMA_PORT:
            return "ollama"
        if not is_local(host, addresses):
            continue
        if port in ollama_ports or (port == OLLAMA_PORT and address_scope(host) == "loopback"):
            return "ollama"
        if port in server_ports:
            return server_ports[port]
    return None


# -- other model servers ------------------------------------------------------

def _bind_text(kind, value):
    """A bind flag's or variable's value -> (address, port or None)."""
    if kind == "comfyui":
        # --listen [IP]: bare means "0.0.0.0,::" (comfy/cli_args.py); a list of addresses.
        return (value or "0.0.0.0,::"), None
    if kind == "localai":
        host, port = _split_host_port(value or "", None)
        return host or "0.0.0.0", port
    return value, None


def _scope(address):
    scopes = [("wildcard" if a in ("0.0.0.0", "::", "") else address_scope(a))
              for a in (address or "").split(",")]
    for scope in ("wildcard", "address", "hostname", "loopback"):
        if scope in scopes:
            return scope
    return scopes[0] if scopes else "wildcard"


def server_bind(kind, argv, env):
    """{address, port, scope, exposed, origin} a server listens on by its argv
    (flag), environment (variable) or SERVERS default, in that order."""
    facts = SERVERS[kind]
    address, port, origin = None, None, "default"
    flag, value = flag_value(argv, facts["bind_flags"])
    if flag and (value is not None or kind == "comfyui"):
        address, port = _bind_text(kind, value)
        origin = "flag %s" % flag
    else:
        for name in facts["bind_env"]:
            if env.get(name):
                address, port = _bind_text(kind, env[name])
                origin = "env %s" % name
                break
    if address is None:
        address = "0.0.0.0" if facts["default_bind"] == "wildcard" else "127.0.0.1"
    if port is None:
        _flag, pvalue = flag_value(argv, facts.get("port_flags", ["--port"]))
        envport = [env.get(n) for n in facts.get("port_env", []) if env.get(n)]
        text = pvalue or (envport[0] if envport else "")
        port = int(text) if text and text.isdigit() else facts["port"]
    scope = _scope(address)
    return {"address": address, "port": port, "scope": scope, "exposed": is_exposed_scope(scope), "origin": origin}


def server_key(kind, argv, env):
    """{set, origin}: a key flag or variable, never its value."""
    facts = SERVERS[kind]
    flag, value = flag_value(argv, facts["key_flags"])
    if flag and value:
        return {"set": True, "origin": "flag %s" % flag}
    for name in facts["key_env"]:
        if env.get(name):
            return {"set": True, "origin": "env %s" % name}
    return {"set": False, "origin": None}


def server_env(kind, env):
    """The kind's account and upstream settings only (Open WebUI's
    WEBUI_AUTH, ENABLE_SIGNUP, DEFAULT_USER_ROLE, OLLAMA_BASE_URL(S)), URL
    credentials masked."""
    facts = SERVERS[kind]
    names = list(facts.get("auth_env") or []) + list(facts.get("upstream_env") or [])
    return dict((n, mask_value(env[n])) for n in names if n in env)


_VERSION = re.compile(r"^v?(\d+\.\d+(?:\.\d+)?)(?:[-.+][0-9A-Za-z.+-]*)?\Z")
_BUILD = re.compile(r"(?:^|[-_])(b\d{3,})(?:\Z|[-_])")


def image_version(image):
    """The version an image tag tells (``vllm/vllm-openai:v0.6.3`` -> 0.6.3,
    ``localai/localai:v2.19.4-aio-cpu`` -> 2.19.4,
    ``ghcr.io/ggml-org/llama.cpp:server-b4500`` -> b4500), None for ``latest``
    and the like."""
    if not image or "@" in image.split("/")[-1] and ":" not in image.split("/")[-1]:
        return None
    last = image.split("/")[-1].split("@")[0]
    if ":" not in last:
        return None
    tag = last.split(":", 1)[1]
    match = _VERSION.match(tag)
    if match:
        return match.group(1)
    match = _BUILD.search(tag)
    return match.group(1) if match else None


def rebind(kind, unit, exec_start, bind, container=None):
    """{possible, env, value, why}: the toolkit may set SERVERS[kind].rebind
    in a drop-in only for a systemd unit whose ExecStart does not pass the
    bind flag (a flag wins over the variable)."""
    facts = SERVERS[kind]
    spec = facts.get("rebind")
    out = {"possible": False, "env": spec["env"] if spec else None,
           "value": spec["value"].format(port=bind.get("port")) if spec else None, "why": None}
    if not spec:
        out["why"] = facts.get("refuse")
    elif container:
        out["why"] = "runs in container %s: publish its port on 127.0.0.1 (-p 127.0.0.1:...)" % container
    elif not unit:
        out["why"] = "not run by a systemd unit: nothing the toolkit can give a drop-in"
    elif exec_start is None:
        out["why"] = "the ExecStart of %s cannot be read" % unit
    else:
        flag, _value = flag_value(exec_start, facts["bind_flags"])
        if flag:
            out["why"] = "the ExecStart of %s passes %s, which wins over %s: the toolkit does not rewrite it" % (
                unit, flag, spec["env"])
        else:
            out["possible"] = True
    return out


def server_facts(kind, argv, env, unit=None, exec_start=None, image=None, container=None, published=None):
    """One ``servers[]`` entry's derived fields. ``published``: for a
    container, its published ports ({ip, private_port, public_port}) - the
    host address Docker listens on is its bind."""
    env = env or {}
    bind = server_bind(kind, argv or [], env)
    if published is not None:
        ports = [p for p in published if p.get("public_port")]
        wanted = [p for p in ports if p.get("private_port") == bind["port"]] or ports
        if wanted:
            address = ",".join(sorted(set(p.get("ip") or "0.0.0.0" for p in wanted)))
            scope = _scope(address)
            bind = {"address": address, "port": wanted[0]["public_port"], "scope": scope,
                    "exposed": is_exposed_scope(scope), "origin": "publish -p"}
        else:
            bind = {"address": None, "port": None, "scope": None, "exposed": False, "origin": "not published"}
    return {
        "argv": mask_argv(argv or [], SERVERS[kind]["key_flags"]),
        "bind": bind,
        "key": server_key(kind, argv or [], env),
        "env": server_env(kind, env),
        "version": image_version(image),
        "rebind": rebind(kind, unit, exec_start, bind, container),
    }


# -- Caddy ------------------------------------------------------------------------------

CADDY_AUTH = ("basic_auth", "basicauth", "forward_auth")


def _caddy_lines(text):
    """[(line number, words, opens a block, closes a block)] of a Caddyfile
    (caddyconfig/caddyfile/lexer.go: words split on spaces, quotes and
    backquotes group, ``#`` at a word's start comments out the rest)."""
    out = []
    for number, raw in enumerate((text or "").splitlines(), 1):
        words, word, quote, pos = [], [], None, 0
        while pos < len(raw):
            char = raw[pos]
            if quote:
                if char == "\\" and pos + 1 < len(raw) and quote == '"':
                    pos += 1
                    word.append(raw[pos])
                elif char == quote:
                    quote = None
                else:
                    word.append(char)
            elif char in "\"`":
                quote = char
            elif char == "#" and not word:
                break
            elif char in " \t":
                if word:
                    words.append("".join(word))
                    word = []
            else:
                word.append(char)
            pos += 1
        if word:
            words.append("".join(word))
        while words:
            if words[0] == "}":
                out.append((number, [], False, True))
                words = words[1:]
            else:
                break
        if not words:
            continue
        opens = words[-1] == "{"
        out.append((number, words[:-1] if opens else words, opens, False))
    return out


def _caddy_address(address):
    """A site address -> [{address, port}] where Caddy listens for it."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "", address
    rest = rest.split("/", 1)[0]
    host, port = _split_host_port(rest) if rest else ("", None)
    if port is None:
        port = 80 if scheme == "http" else 443
    host = "" if host in ("", "*") or "." in host and not re.match(r"^[0-9.]+\Z", host) else host
    return [{"address": host or "0.0.0.0", "port": port}]


def _caddy_upstream(target):
    scheme, sep, rest = target.partition("://")
    if not sep:
        scheme, rest = "", target
    host, port = _split_host_port(rest.split("/", 1)[0], 443 if scheme == "https" else 80)
    return {"host": host or "localhost", "port": port} if port else None


def caddy_proxies(text, path="/etc/caddy/Caddyfile"):
    """One entry per ``reverse_proxy`` of a Caddyfile site: {listen,
    upstream, target, auth, file, line}. ``auth``: a ``basic_auth``,
    ``basicauth`` or ``forward_auth`` without a matcher in the same block
    or one that encloses it."""
    found, stack, site = [], [], None
    for number, words, opens, closes in _caddy_lines(text):
        if closes:
            if stack:
                stack.pop()
            if not stack:
                site = None
            continue
        if not stack and opens:
            site = [a.rstrip(",") for a in words if a.rstrip(",")] or None  # None: the global options block
            stack.append({"auth": False, "bind": None})
            continue
        if site is None:
            if opens:
                stack.append({"auth": False, "bind": None})
            continue
        name, args = words[0], words[1:]
        current = stack[-1]
        if name in CADDY_AUTH and not (args and args[0][:1] in "/@*"):
            current["auth"] = True
        elif name == "bind" and args:
            stack[0]["bind"] = args
        elif name == "reverse_proxy":
            upstream_args = args[1:] if args and args[0][:1] in "/@*" else args
            entry = {"site": site, "upstream": [u for u in map(_caddy_upstream, upstream_args) if u],
                     "target": " ".join(upstream_args), "file": path, "line": number, "stack": list(stack)}
            found.append(entry)
        elif name == "to" and len(stack) > 1 and found and found[-1]["line"] < number and found[-1]["stack"] == stack[:-1]:
            found[-1]["upstream"].extend(u for u in map(_caddy_upstream, args) if u)
        if opens:
            stack.append({"auth": False, "bind": None})
    out = []
    for entry in found:
        listen = []
        for address in entry["site"]:
            for item in _caddy_address(address):
                binds = entry["stack"][0]["bind"] or [item["address"]]
                listen.extend(socket_entry(b, item["port"]) for b in binds)
        out.append({"listen": listen, "upstream": entry["upstream"], "target": entry["target"],
                    "auth": any(level["auth"] for level in entry["stack"]), "file": entry["file"],
                    "line": entry["line"]})
    return out
