# -*- coding: utf-8 -*-
"""Shared plumbing of the doors lab's stand-ins (vllm, text-generation-launcher,
local-ai, llama-server, rpc-server, ComfyUI's main.py, lms, open-webui).
NOT production code: test stand-ins for the model servers the toolkit must
find on a host (issue 26), each faithful to its upstream for the routes,
defaults and authentication the audit touches (see each script's header).

Stdlib only; Python 3.9 to 3.13. Each server logs one line
``odr-standin: <kind> listening on ADDR:PORT`` per socket on stderr (the
unit tests read the port from it when they ask for port 0), and one line a
request: ``<kind>: CLIENT - "METHOD PATH HTTP/1.1" STATUS - authorization=yes|no``
(whether an Authorization header came, never a credential: no header value
or body is ever logged; tests/unit/test_standin_doors.py checks it).
"""

import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20   # bytes read from a request body at most


def log(kind, msg):
    sys.stderr.write("%s: %s\n" % (kind, msg))
    sys.stderr.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, family, v6only=None):
        self.address_family = family
        self._v6only = v6only
        ThreadingHTTPServer.__init__(self, address, handler, bind_and_activate=False)
        try:
            if family == socket.AF_INET6 and v6only is not None:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
            self.server_bind()
            self.server_activate()
        except Exception:
            self.server_close()
            raise


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def serve(kind, handler, binds, state=None):
    """Serve ``handler`` on every (host, port, v6only) of ``binds`` until killed.

    host "" is IPv4's INADDR_ANY (Python's and uvicorn's meaning); a Go-style
    wildcard (":8080") is passed as ("::", port, False): one dual-stack socket.
    """
    servers = []
    for host, port, v6only in binds:
        srv = Server((host, port), handler, family_of(host), v6only)
        srv.state = state
        servers.append(srv)
        addr, real_port = srv.socket.getsockname()[:2]
        shown = "[%s]" % addr if ":" in addr else addr
        log("odr-standin", "%s listening on %s:%d" % (kind, shown, real_port))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers[1:]]
    for thread in threads:
        thread.start()
    try:
        servers[0].serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for srv in servers:
            srv.server_close()


class Handler(BaseHTTPRequestHandler):
    """JSON helpers; subclasses route in do_GET / do_POST."""

    server_version = "uvicorn"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    kind = "standin"

    def log_message(self, fmt, *args):
        # Whether the request carried an Authorization header, never its
        # value: the front scenario proves from it that the front passes no
        # credential on (test-only; upstream's access logs show neither).
        headers = getattr(self, "headers", None)
        said = "yes" if headers is not None and headers.get("Authorization") is not None else "no"
        log(self.kind, "%s - %s authorization=%s" % (self.client_address[0], fmt % args, said))

    @property
    def state(self):
        return self.server.state

    @property
    def route(self):
        return self.path.split("?", 1)[0]

    def body(self):
        try:
            length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        except ValueError:
            length = 0
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            return json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            return None

    def bearer(self):
        value = self.headers.get("Authorization") or ""
        if value[:7].lower() == "bearer ":
            return value[7:].strip()
        return None

    def send(self, status, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        if ctype:  # None: no Content-Type at all (a bare Starlette Response)
            self.send_header("Content-Type", ctype)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def not_found(self, body=None):
        self.send(404, body if body is not None else {"detail": "Not Found"})


def flag(argv, names, default=None, const=None):
    """The value of the last of ``names`` in argv (``--x v`` or ``--x=v``);
    ``const`` when the flag is given without a value (next arg is a flag or
    the end); ``default`` when absent."""
    value = default
    i = 0
    while i < len(argv):
        arg = argv[i]
        for name in names:
            if arg == name:
                if i + 1 < len(argv) and not (argv[i + 1].startswith("-") and len(argv[i + 1]) > 1
                                               and not argv[i + 1][1:].isdigit()):
                    value = argv[i + 1]
                    i += 1
                elif const is not None:
                    value = const
                break
            if arg.startswith(name + "="):
                value = arg[len(name) + 1:]
                break
        i += 1
    return value


def port_arg(value, what):
    try:
        port = int(value)
        if 0 <= port <= 65535:
            return port
    except (TypeError, ValueError):
        pass
    sys.stderr.write("%s: invalid port %r\n" % (what, value))
    sys.exit(2)
