# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx's configuration as the host read needs it (issue 26): which
``server`` blocks pass traffic on (``proxy_pass``), on which ports, to what,
and whether anything asks for credentials on the way.

The tokenizer follows nginx's own (src/core/ngx_conf_file.c,
ngx_conf_read_token): words separated by spaces, ``;`` ends a directive,
``{``/``}`` open and close a block, ``#`` starts a comment outside quotes,
single and double quotes with backslash escapes. ``include`` takes a glob,
relative to the directory of the main file (nginx's prefix/conf), and a
glob that matches nothing is not an error (a literal path that is missing
is, for nginx: here a warning). Auth directives inherit from http to server
to location as nginx's merge does (a lower level's value replaces the upper
one; ``auth_basic off`` switches it off there).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob as _glob
import os

MAIN = "/etc/nginx/nginx.conf"
MAX_FILES = 200
MAX_DEPTH = 10
# Directives that ask the client for credentials, and the values that say
# no. auth_basic and auth_request compare with "off" exactly
# (ngx_http_auth_basic_module.c: realm "off", ngx_strncmp; ngx_http_auth_
# request_module.c: ngx_strcmp): "Off" is a realm, and asks. ssl_verify_client
# is an enum, matched in any case (ngx_conf_set_enum_slot, ngx_strcasecmp).
AUTH = {"auth_basic": ("off",), "auth_request": ("off",), "ssl_verify_client": ("off", "optional", "optional_no_ca")}
CASELESS = ("ssl_verify_client",)


def tokenize(text):
    """[(token, line, quoted)] of one file; ``;``, ``{`` and ``}`` are tokens of their own."""
    tokens, pos, line, n = [], 0, 1, len(text or "")
    text = text or ""
    while pos < n:
        char = text[pos]
        if char == "\n":
            line += 1
            pos += 1
        elif char in " \t\r":
            pos += 1
        elif char == "#":
            while pos < n and text[pos] != "\n":
                pos += 1
        elif char in ";{}":
            tokens.append((char, line, False))
            pos += 1
        elif char in "\"'":
            quote, start_line, pos, out = char, line, pos + 1, []
            while pos < n and text[pos] != quote:
                if text[pos] == "\\" and pos + 1 < n:
                    pos += 1
                if text[pos] == "\n":
                    line += 1
                out.append(text[pos])
                pos += 1
            pos += 1
            tokens.append(("".join(out), start_line, True))
        else:
            start, out = pos, []
            while pos < n and text[pos] not in " \t\r\n;{}\"'":
                if text[pos] == "\\" and pos + 1 < n:
                    pos += 1
                elif text[pos] == "$" and text[pos + 1:pos + 2] == "{":
                    # ${var}: the brace belongs to the variable, not to a block.
                    end = text.find("}", pos)
                    end = n - 1 if end < 0 else end
                    out.append(text[pos:end + 1])
                    pos = end + 1
                    continue
                out.append(text[pos])
                pos += 1
            # '#' inside a word is part of it (nginx).
            tokens.append(("".join(out), line, False))
            if pos == start:
                pos += 1
    return tokens


def parse_config(main=MAIN, read_text=None, glob=None):
    """The directive tree of ``main`` and every file it includes.

    Each directive: {name, args, file, line, block: [directives] or None}.
    Returns (tree, files, problems): the files read, and what could not be
    read (a missing include, unbalanced braces, too many files).
    """
    read_text = read_text or _read_text
    glob = glob or _glob.glob
    prefix = os.path.dirname(main)
    files, problems = [], []

    stack = []   # the files being read, outermost first (an include loop comes back to one)

    def load(path, depth):
        if path in stack:
            # nginx has no loop check: it recurses until it fails (nginx -t
            # of 1.22.1 dies of SIGSEGV). Read once on the include path.
            problems.append("%s: include loop (%s), not read again" % (path, " -> ".join(stack + [path])))
            return []
        if depth > MAX_DEPTH or len(files) >= MAX_FILES:
            problems.append("%s: includes too deep or too many files, not read" % path)
            return []
        text = read_text(path)
        if text is None:
            problems.append("cannot read %s" % path)
            return []
        files.append(path)
        stack.append(path)
        try:
            tokens = tokenize(text)
            tree, _pos = block(tokens, 0, path, depth, top=True)
        finally:
            stack.pop()
        return tree

    def block(tokens, pos, path, depth, top=False):
        out, words = [], []
        while pos < len(tokens):
            token, line, quoted = tokens[pos]
            pos += 1
            if not quoted and token == ";":
                if words:
                    out.extend(directive(words, None, path, depth))
                words = []
            elif not quoted and token == "{":
                children, pos = block(tokens, pos, path, depth)
                if words:
                    out.extend(directive(words, children, path, depth))
                words = []
            elif not quoted and token == "}":
                if top:
                    problems.append("%s:%d: unexpected }" % (path, line))
                    continue
                return out, pos
            else:
                words.append((token, line))
        if not top:
            problems.append("%s: unexpected end of file (a { is not closed)" % path)
        return out, pos

    def directive(words, children, path, depth):
        name, line = words[0]
        args = [w for w, _line in words[1:]]
        if name == "include" and children is None and args:
            pattern = args[0] if os.path.isabs(args[0]) else os.path.join(prefix, args[0])
            if any(c in pattern for c in "*?["):
                matched = sorted(glob(pattern))
            else:
                matched = [pattern]
            included = []
            for item in matched:
                included.extend(load(item, depth + 1))
            return included
        return [{"name": name, "args": args, "file": path, "line": line, "block": children}]

    tree = load(main, 0)
    return tree, files, problems


def _read_text(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return None


def parse_listen(arg):
    """nginx ``listen`` address -> {address, port, family}; None for unix sockets."""
    if arg.startswith("unix:"):
        return None
    host, port = None, None
    if arg.startswith("["):
        end = arg.find("]")
        host, rest = arg[1:end], arg[end + 1:]
        port = rest[1:] if rest.startswith(":") else "80"
    elif ":" in arg:
        host, _sep, port = arg.rpartition(":")
    elif arg.isdigit():
        port = arg
    else:
        host, port = arg, "80"
    if not (port or "").isdigit():
        return None
    if host in (None, "", "*"):
        host = "0.0.0.0"
    elif host == "localhost":
        host = "127.0.0.1"
    return {"address": host, "port": int(port), "family": "ipv6" if ":" in host else "ipv4"}


def parse_upstream_url(target, upstreams):
    """``proxy_pass`` target -> [{host, port}] (an upstream block's servers), [] when it cannot be told."""
    scheme, sep, rest = target.partition("://")
    if not sep:
        scheme, rest = "", target
    if "$" in rest:
        return []
    hostport = rest.split("/", 1)[0]
    if hostport.startswith("unix:"):
        return []
    if hostport in upstreams:
        return list(upstreams[hostport])
    default = 443 if scheme == "https" else 80
    if hostport.startswith("["):
        end = hostport.find("]")
        host, tail = hostport[1:end], hostport[end + 1:]
        port = tail[1:] if tail.startswith(":") else str(default)
    elif ":" in hostport:
        host, _sep, port = hostport.rpartition(":")
    else:
        host, port = hostport, str(default)
    if not port.isdigit() or not host:
        return []
    return [{"host": host, "port": int(port)}]


def _auth(directives, inherited):
    """The auth state of one level from its parent's: each of AUTH (a
    level's own directive replaces the inherited one), ``satisfy`` and the
    access rules (``allow``/``deny``: a level with any replaces the parent's
    list whole, as ngx_http_access_module's merge does)."""
    state = dict(inherited)
    rules = None
    for item in directives:
        name, args = item["name"], item["args"]
        if name in AUTH and args:
            value = args[0].lower() if name in CASELESS else args[0]
            state[name] = value not in AUTH[name]
        elif name == "satisfy" and args:
            state["satisfy"] = args[0].lower()
        elif name in ("allow", "deny") and args:
            rules = (rules or []) + [(name, args[0].lower())]
    if rules is not None:
        state["access"] = rules
    return state


def _asks(state):
    """Whether a client from anywhere must present credentials: some auth
    directive is on, and not ``satisfy any`` with an ``allow all`` that no
    ``deny all`` comes before (nginx then lets the access module's allow do:
    ngx_http_core_module, satisfy; the access rules are tried in order and
    the first match wins)."""
    if not any(state.get(name) for name in AUTH):
        return False
    if state.get("satisfy") == "any":
        for action, who in state.get("access") or []:
            if who == "all":
                return action == "deny"
    return True


def _walk(directives, kind):
    for item in directives or []:
        if item["name"] == kind:
            yield item


def _server_listen(server):
    """(listen entries, each once, with default_server) of one server block;
    no listen at all is nginx's ``listen *:80`` (as root)."""
    out, seen = [], set()
    for item in _walk(server["block"], "listen"):
        if not item["args"]:
            continue
        entry = parse_listen(item["args"][0])
        if entry is None:
            continue
        key = (entry["address"], entry["port"])
        # nginx -t refuses a listen twice in one server ("a duplicate listen"); read once.
        if key in seen:
            continue
        seen.add(key)
        entry["default_server"] = any(a in ("default_server", "default") for a in item["args"][1:])
        out.append(entry)
    if not any(d["name"] == "listen" for d in server["block"]):
        out = [{"address": "0.0.0.0", "port": 80, "family": "ipv4", "default_server": False}]
    return out


def _mark_defaults(servers):
    """Each listen entry's ``default``: whether the server is the one nginx
    gives a request whose Host no server_name matches on that address and
    port (a scanner asking by address): the one with default_server, else
    the first server listening there (ngx_http_core_module, listen)."""
    marked = {}
    for listen in servers:
        for entry in listen:
            key = (entry["address"], entry["port"])
            if entry["default_server"] or key not in marked:
                if entry["default_server"] and key in marked and marked[key]["default_server"]:
                    continue  # a second default_server: nginx -t refuses it, the first is kept here
                if key in marked:
                    marked[key]["default"] = False
                entry["default"] = True
                marked[key] = entry
            else:
                entry["default"] = False


def _held(listen, listening):
    """The listen entries on a port nginx really holds (``listening``: the
    sockets whose owner is nginx; None: not known, all kept)."""
    if listening is None:
        return listen
    ports = set(s.get("port") for s in listening)
    return [entry for entry in listen if entry["port"] in ports]


def proxies(tree, listening=None):
    """One entry per ``proxy_pass`` of an http or stream server:
    {listen: [{address, port, family}], upstream: [{host, port}], target,
    path (the location, None in a stream server), auth: bool, server_names,
    default_ports (the listen ports where this server answers a Host no
    server_name matches, as a scanner asking by address gets), file, line
    (of the proxy_pass), server_file, server_line, stream: bool}.

    ``listening``: the host's listening sockets that nginx owns ({port, ...});
    when given, a listen on a port nginx does not hold (another process owns
    it, or the configuration changed since nginx read it) is left out, and a
    proxy left without one is not reported: that port is not nginx's door."""
    found = []
    for context in ("http", "stream"):
        blocks = [d for d in tree if d["name"] == context and d["block"] is not None]
        for ctx in blocks:
            upstreams = {}
            for item in _walk(ctx["block"], "upstream"):
                if item["args"] and item["block"] is not None:
                    servers = [s for s in _walk(item["block"], "server") if s["args"]]
                    upstreams[item["args"][0]] = [u for s in servers
                                                  for u in parse_upstream_url(s["args"][0], {})]
            ctx_auth = _auth(ctx["block"], {})
            servers = [s for s in _walk(ctx["block"], "server") if s["block"] is not None]
            listens = [_server_listen(server) for server in servers]
            _mark_defaults(listens)
            for server, listen in zip(servers, listens):
                listen = _held(listen, listening)
                if not listen:
                    continue
                names = [n for d in _walk(server["block"], "server_name") for n in d["args"]]
                default_ports = sorted(set(e["port"] for e in listen if e["default"]))
                listen = [dict((k, e[k]) for k in ("address", "port", "family")) for e in listen]
                server_auth = _auth(server["block"], ctx_auth)
                entries = []
                if context == "stream":
                    for item in _walk(server["block"], "proxy_pass"):
                        entries.append((item, None, {}))
                else:
                    _locations(server["block"], server_auth, None, entries)
                for item, path, auth in entries:
                    target = item["args"][0] if item["args"] else ""
                    found.append({
                        "listen": listen, "upstream": parse_upstream_url(target, upstreams), "target": target,
                        "path": path, "auth": _asks(auth), "server_names": names, "default_ports": default_ports,
                        "file": item["file"], "line": item["line"],
                        "server_file": server["file"], "server_line": server["line"],
                        "stream": context == "stream"})
    return found


def _locations(directives, auth, path, entries):
    for item in directives:
        if item["name"] == "proxy_pass" and path is not None:
            entries.append((item, path, auth))
        elif item["name"] in ("location", "if", "limit_except") and item["block"] is not None:
            child = " ".join(item["args"]) if item["name"] == "location" else path
            _locations(item["block"], _auth(item["block"], auth), child, entries)
