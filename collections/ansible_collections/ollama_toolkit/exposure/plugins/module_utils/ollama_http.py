# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The toolkit's one small HTTP client: a bounded GET and the parser of a raw answer.

Used by the probe (Ollama's API, from outside), the audit module (the
version, on the host's own loopback) and the Docker Engine API reader. No
dependency beyond the standard library, so it runs on any managed host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import time

MAX_BYTES = 65536


def http_get(address, port, path, timeout, use_tls, total=None):
    """One bounded GET: (status, headers, body). Raises socket/SSL errors.

    ``timeout`` bounds each socket operation; ``total``, when given, the
    reading of the answer as a whole (a server that drips a byte now and
    then holds the read no longer than that): what came by then is parsed.
    """
    limit = time.monotonic() + total if total else None
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect((address, port))
    if use_tls:
        # Imported here: the audit module's reads on the host's loopback are
        # plain HTTP, and loading the TLS library costs each of them ~10 ms.
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock, server_hostname=None)
    host = "[%s]" % address if ":" in address else address
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: ollama-probe\r\nAccept: */*\r\n"
                  "Connection: close\r\n\r\n" % (path, host, port)).encode("ascii"))
    data = b""
    while len(data) < MAX_BYTES:
        if limit is not None:
            left = limit - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(min(timeout, left))
        try:
            chunk = sock.recv(8192)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    sock.close()
    return parse_response(data)


def parse_response(data):
    """(status code or None, headers dict, body text) of a raw HTTP answer."""
    text = data.decode("utf-8", "replace")
    head, _sep, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1]) if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit() else None
    headers = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep:
            headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = dechunk(body)
    return status, headers, body


def dechunk(body):
    out, rest = [], body
    while rest:
        size_line, sep, rest = rest.partition("\r\n")
        try:
            size = int(size_line.split(";")[0], 16)
        except ValueError:
            break
        if size == 0 or not sep:
            break
        out.append(rest[:size])
        rest = rest[size + 2:]
    return "".join(out)
