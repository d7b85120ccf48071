# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one OLLAMA_HOST parser of the toolkit.

It reproduces upstream Ollama's ``envconfig.Host()`` (and Go's
``net.SplitHostPort`` / ``net.ParseIP`` that it relies on) so that the audit
predicts exactly where ``ollama serve`` will listen:

* the value is whitespace-trimmed and surrounding ``"``/``'`` are stripped;
* ``scheme://`` selects the default port: none -> 11434, ``http`` -> 80,
  ``https`` -> 443 (Ollama still speaks plain HTTP there);
* anything after the first ``/`` is a client-side path;
* host:port that does not split means "no port": an IP literal (brackets
  allowed) or a hostname, empty means 127.0.0.1, port = the default;
* a port that does not parse or lies outside 0-65535 falls back to the default.

Everything here is pure (no I/O) so the unit tests can cover it as a table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

DEFAULT_PORT = 11434
SCHEME_DEFAULT_PORTS = {"http": 80, "https": 443}

SCOPE_LOOPBACK = "loopback"
SCOPE_WILDCARD = "wildcard"
SCOPE_ADDRESS = "address"
SCOPE_HOSTNAME = "hostname"

# \Z, not $: Go rejects "80\n", which $ would let through.
_PORT_RE = re.compile(r"^[+-]?[0-9]+\Z")
# Go's strings.TrimSpace (unicode.IsSpace); Python's str.strip() also eats \x1c-\x1f.
_GO_SPACE = u"\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" \
    u"\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
# An OLLAMA_ORIGINS entry whose host part is only "*" admits any web page.
_ORIGIN_ANY_RE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://)?\*(?::[0-9*]*)?/?\Z")
_INT32_MAX = 2 ** 31 - 1


class SplitError(ValueError):
    """Raised where Go's net.SplitHostPort returns an error."""


def clean_env_value(value):
    """Upstream ``envconfig.Var``: trim spaces, then surrounding quotes."""
    if value is None:
        return ""
    return value.strip(_GO_SPACE).strip("\"'").strip(_GO_SPACE)


def split_host_port(hostport):
    """Go's ``net.SplitHostPort``: return (host, port) or raise SplitError."""
    last = hostport.rfind(":")
    if last < 0:
        raise SplitError("missing port in address")
    start, end_skip = 0, 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise SplitError("missing ']' in address")
        if end + 1 == len(hostport):
            raise SplitError("missing port in address")
        if end + 1 != last:
            if hostport[end + 1] == ":":
                raise SplitError("too many colons in address")
            raise SplitError("missing port in address")
        host = hostport[1:end]
        start, end_skip = 1, end + 1
    else:
        host = hostport[:last]
        if ":" in host:
            raise SplitError("too many colons in address")
    if "[" in hostport[start:]:
        raise SplitError("unexpected '[' in address")
    if "]" in hostport[end_skip:]:
        raise SplitError("unexpected ']' in address")
    return host, hostport[last + 1:]


def parse_ip(text):
    """Go's ``net.ParseIP`` followed by ``IP.String()``; None if not an IP.

    IPv4-mapped IPv6 addresses print as IPv4, like Go does.
    """
    if not text or "%" in text:
        return None
    try:
        addr = ipaddress.ip_address(u"%s" % text)
    except ValueError:
        return None
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def parse_port(port_text, default_port):
    """Upstream's ``strconv.ParseInt(port, 10, 32)`` range check.

    Returns (port, valid). An invalid port yields the default port.
    """
    if not _PORT_RE.match(port_text or ""):
        return default_port, False
    number = int(port_text)
    if number > _INT32_MAX or number < -_INT32_MAX - 1 or number > 65535 or number < 0:
        return default_port, False
    return number, True


def address_scope(host):
    """Classify the host part Ollama will hand to ``net.Listen``."""
    if host == "":
        return SCOPE_WILDCARD
    ip = parse_ip(host)
    if ip is None:
        if host.lower() == "localhost":
            return SCOPE_LOOPBACK
        return SCOPE_HOSTNAME
    addr = ipaddress.ip_address(u"%s" % ip)
    if addr.is_unspecified:
        return SCOPE_WILDCARD
    if addr.is_loopback:
        return SCOPE_LOOPBACK
    return SCOPE_ADDRESS


def parse_ollama_host(raw):
    """Parse an OLLAMA_HOST value the way ``ollama serve`` does.

    Returns a dict with:
      raw, value (cleaned), scheme, host (as Go would pass it to Listen),
      port (int), path, default_port (bool: the port was not given or was
      invalid), port_valid (False when an invalid port fell back), scope
      (loopback / wildcard / address / hostname), exposed (True, False, or
      None for a hostname, which only resolution can decide), listen
      (host:port as ``net.JoinHostPort`` writes it), and notes (list of
      human-readable traps seen in the value).
    """
    value = clean_env_value(raw)
    notes = []
    default_port = DEFAULT_PORT
    if "://" in value:
        scheme, hostport = value.split("://", 1)
        default_port = SCHEME_DEFAULT_PORTS.get(scheme, DEFAULT_PORT)
    else:
        scheme, hostport = "http", value
        if value == "ollama.com":
            scheme, hostport = "https", "ollama.com:443"
    hostport, _sep, path = hostport.partition("/")

    port_given = True
    try:
        host, port_text = split_host_port(hostport)
    except SplitError:
        port_given = False
        host, port_text = "127.0.0.1", str(default_port)
        ip = parse_ip(hostport.strip("[]"))
        if ip is not None:
            host = ip
        elif hostport != "":
            host = hostport

    port, port_valid = parse_port(port_text, default_port)
    if default_port != DEFAULT_PORT and (not port_given or not port_valid):
        notes.append("scheme %s:// makes the port %d, not 11434" % (scheme, default_port))
    if not port_valid:
        notes.append("port %r is invalid; Ollama falls back to %d" % (port_text, default_port))
    if port == 0:
        notes.append("port 0 makes Ollama listen on a random port")

    scope = address_scope(host)
    if scope == SCOPE_WILDCARD:
        exposed = True
    elif scope == SCOPE_ADDRESS:
        exposed = True
    elif scope == SCOPE_LOOPBACK:
        exposed = False
    else:
        exposed = None
    return {
        "raw": raw,
        "value": value,
        "scheme": scheme,
        "host": host,
        "port": port,
        "path": path,
        "default_port": (not port_given) or (not port_valid),
        "port_valid": port_valid,
        "scope": scope,
        "exposed": exposed,
        "listen": join_host_port(host, port),
        "notes": notes,
    }


def join_host_port(host, port):
    """Go's ``net.JoinHostPort``."""
    if ":" in host:
        return "[%s]:%s" % (host, port)
    return "%s:%s" % (host, port)


def listen_family(host):
    """How Go's ``net.Listen("tcp", ...)`` opens the socket for this host.

    Returns "dual" for a wildcard (one IPv6 socket, IPv4 clients reach it
    too), "ipv4" or "ipv6" for an IP literal, "resolve" for a hostname.
    """
    scope = address_scope(host)
    if scope == SCOPE_WILDCARD:
        return "dual"
    ip = parse_ip(host)
    if ip is None:
        return "ipv4" if host.lower() == "localhost" else "resolve"
    return "ipv6" if ":" in ip else "ipv4"


def classify_address(address):
    """Scope of a socket's local address as read from /proc/net (an IP)."""
    return address_scope(address)


def is_exposed_scope(scope):
    """The one answer to "does a socket of this scope reach the network?":
    a wildcard or a non-loopback address does; loopback does not, nor a
    hostname, which only its resolution decides (``bind_exposed``)."""
    return scope in (SCOPE_WILDCARD, SCOPE_ADDRESS)


def bind_exposed(bind):
    """True when a parsed OLLAMA_HOST (``parse_ollama_host``, with the
    ``resolved_scopes`` of a hostname where ollama_info resolved it) makes
    Ollama listen beyond loopback. The audit's OLLAMA-BIND-002 and the bind
    wall's rebind both ask this (they cannot disagree): a hostname counts by
    the scope of the address it resolves to, and one that resolves to nothing
    (or was not resolved) is not exposed."""
    if not bind:
        return False
    if bind.get("exposed") is not None:
        return bool(bind["exposed"])
    return any(is_exposed_scope(scope) for scope in bind.get("resolved_scopes") or [])


def origins_wildcards(raw):
    """Entries of OLLAMA_ORIGINS that let any web page in (``*`` patterns).

    Upstream splits the cleaned value on commas and hands the entries to
    gin-contrib/cors with wildcards on: ``*`` allows every origin, and an
    entry whose host part is only ``*`` (``http://*``, ``https://*:8080``)
    allows every site of that scheme.
    """
    value = clean_env_value(raw)
    if not value:
        return []
    return [entry for entry in value.split(",") if _ORIGIN_ANY_RE.match(entry.strip())]
