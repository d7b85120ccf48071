# -*- coding: utf-8 -*-
"""OLLAMA_HOST parsing against upstream envconfig.Host() and Go's net package.

Upstream reference: ollama/ollama envconfig/config.go (Host, Var) and
envconfig/config_test.go (TestHost). Go: net.SplitHostPort, net.ParseIP,
strconv.ParseInt(port, 10, 32), net.JoinHostPort.
"""

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import (
    SplitError, address_scope, classify_address, clean_env_value, is_exposed_scope, join_host_port,
    listen_family, origins_wildcards, parse_ip, parse_ollama_host, parse_port, split_host_port)

W, L, A, H = "wildcard", "loopback", "address", "hostname"

# value -> (scheme, host as Go passes it to Listen, port, port_valid, scope, listen, path)
HOST_CASES = [
    # unset / empty: the upstream default
    (None, ("http", "127.0.0.1", 11434, True, L, "127.0.0.1:11434", "")),
    ("", ("http", "127.0.0.1", 11434, True, L, "127.0.0.1:11434", "")),
    ("   ", ("http", "127.0.0.1", 11434, True, L, "127.0.0.1:11434", "")),
    # the wildcard forms
    ("0.0.0.0", ("http", "0.0.0.0", 11434, True, W, "0.0.0.0:11434", "")),
    ("0.0.0.0:11434", ("http", "0.0.0.0", 11434, True, W, "0.0.0.0:11434", "")),
    (":11434", ("http", "", 11434, True, W, ":11434", "")),
    ("[::]", ("http", "::", 11434, True, W, "[::]:11434", "")),
    ("::", ("http", "::", 11434, True, W, "[::]:11434", "")),
    ("[::]:11434", ("http", "::", 11434, True, W, "[::]:11434", "")),
    ("::ffff:0.0.0.0", ("http", "0.0.0.0", 11434, True, W, "0.0.0.0:11434", "")),
    # after a successful split Go keeps the host text as written (no ParseIP round trip)
    ("[::ffff:0.0.0.0]:8080", ("http", "::ffff:0.0.0.0", 8080, True, W, "[::ffff:0.0.0.0]:8080", "")),
    # schemes change the default port, not the protocol
    ("http://0.0.0.0", ("http", "0.0.0.0", 80, True, W, "0.0.0.0:80", "")),
    ("http://0.0.0.0:11434", ("http", "0.0.0.0", 11434, True, W, "0.0.0.0:11434", "")),
    ("https://x", ("https", "x", 443, True, H, "x:443", "")),
    ("HTTP://0.0.0.0", ("HTTP", "0.0.0.0", 11434, True, W, "0.0.0.0:11434", "")),  # scheme is case-sensitive
    ("ftp://0.0.0.0", ("ftp", "0.0.0.0", 11434, True, W, "0.0.0.0:11434", "")),
    # invalid ports fall back to the default
    ("127.0.0.1:99999", ("http", "127.0.0.1", 11434, False, L, "127.0.0.1:11434", "")),
    ("0.0.0.0:", ("http", "0.0.0.0", 11434, False, W, "0.0.0.0:11434", "")),
    ("0.0.0.0:0x50", ("http", "0.0.0.0", 11434, False, W, "0.0.0.0:11434", "")),
    ("0.0.0.0:1_000", ("http", "0.0.0.0", 11434, False, W, "0.0.0.0:11434", "")),
    ("0.0.0.0:abc", ("http", "0.0.0.0", 11434, False, W, "0.0.0.0:11434", "")),
    ("http://0.0.0.0:99999", ("http", "0.0.0.0", 80, False, W, "0.0.0.0:80", "")),
    (":0", ("http", "", 0, True, W, ":0", "")),
    ("0.0.0.0:+8080", ("http", "0.0.0.0", 8080, True, W, "0.0.0.0:8080", "")),  # ParseInt takes a sign
    ("0.0.0.0:08080", ("http", "0.0.0.0", 8080, True, W, "0.0.0.0:8080", "")),
    ("0.0.0.0:-0", ("http", "0.0.0.0", 0, True, W, "0.0.0.0:0", "")),
    # a newline is not a digit for Go (the value is trimmed, so it hides before a path)
    ("0.0.0.0:80\n/x", ("http", "0.0.0.0", 11434, False, W, "0.0.0.0:11434", "x")),
    # hostnames
    ("myhost.example", ("http", "myhost.example", 11434, True, H, "myhost.example:11434", "")),
    ("myhost.example:8080", ("http", "myhost.example", 8080, True, H, "myhost.example:8080", "")),
    ("localhost", ("http", "localhost", 11434, True, L, "localhost:11434", "")),
    ("LOCALHOST:8080", ("http", "LOCALHOST", 8080, True, L, "LOCALHOST:8080", "")),
    ("ollama.com", ("https", "ollama.com", 443, True, H, "ollama.com:443", "")),
    ("ollama.com:11434", ("http", "ollama.com", 11434, True, H, "ollama.com:11434", "")),
    # quotes and spaces (Var(): TrimSpace, Trim quotes; Host(): TrimSpace again)
    ('"0.0.0.0:8080"', ("http", "0.0.0.0", 8080, True, W, "0.0.0.0:8080", "")),
    ("'0.0.0.0:8080'", ("http", "0.0.0.0", 8080, True, W, "0.0.0.0:8080", "")),
    ("  0.0.0.0:8080  ", ("http", "0.0.0.0", 8080, True, W, "0.0.0.0:8080", "")),
    ('\t" 0.0.0.0:8080 "\n', ("http", "0.0.0.0", 8080, True, W, "0.0.0.0:8080", "")),
    ("\"'0.0.0.0'\"", ("http", "0.0.0.0", 11434, True, W, "0.0.0.0:11434", "")),
    # a path is client-side only
    ("0.0.0.0:1234/foo", ("http", "0.0.0.0", 1234, True, W, "0.0.0.0:1234", "foo")),
    ("http://0.0.0.0/ollama/api", ("http", "0.0.0.0", 80, True, W, "0.0.0.0:80", "ollama/api")),
    ("/foo", ("http", "127.0.0.1", 11434, True, L, "127.0.0.1:11434", "foo")),
    # IPv6 literals
    ("[::1]:8080", ("http", "::1", 8080, True, L, "[::1]:8080", "")),
    ("::1", ("http", "::1", 11434, True, L, "[::1]:11434", "")),
    ("[fd00::5]:11434", ("http", "fd00::5", 11434, True, A, "[fd00::5]:11434", "")),
    ("::ffff:127.0.0.1", ("http", "127.0.0.1", 11434, True, L, "127.0.0.1:11434", "")),
    # forms SplitHostPort rejects: the whole hostport is an IP (brackets trimmed) or a name
    ("[::1", ("http", "::1", 11434, True, L, "[::1]:11434", "")),
    ("::1]", ("http", "::1", 11434, True, L, "[::1]:11434", "")),
    ("1.2.3.4:80:90", ("http", "1.2.3.4:80:90", 11434, True, H, "[1.2.3.4:80:90]:11434", "")),
    ("[::1]x:80", ("http", "[::1]x:80", 11434, True, H, "[[::1]x:80]:11434", "")),
    # addresses
    ("10.1.2.3", ("http", "10.1.2.3", 11434, True, A, "10.1.2.3:11434", "")),
    ("127.0.0.2:11434", ("http", "127.0.0.2", 11434, True, L, "127.0.0.2:11434", "")),
    # leading zeros: not an IP for Go's ParseIP (>= 1.17), so a name to resolve
    ("010.0.0.1", ("http", "010.0.0.1", 11434, True, H, "010.0.0.1:11434", "")),
    ("127.000.000.001:80", ("http", "127.000.000.001", 80, True, H, "127.000.000.001:80", "")),
    ("0.0.0.00", ("http", "0.0.0.00", 11434, True, H, "0.0.0.00:11434", "")),
]


@pytest.mark.parametrize("raw,expected", HOST_CASES, ids=[repr(c[0]) for c in HOST_CASES])
def test_parse_ollama_host_table(raw, expected):
    scheme, host, port, port_valid, scope, listen, path = expected
    result = parse_ollama_host(raw)
    got = (result["scheme"], result["host"], result["port"], result["port_valid"], result["scope"],
           result["listen"], result["path"])
    assert got == expected
    assert result["exposed"] == {W: True, A: True, L: False, H: None}[scope]
    assert result["raw"] == raw
    assert isinstance(result["port"], int)


# Upstream envconfig/config_test.go TestHost, verbatim: value -> Host().String()
UPSTREAM_TESTHOST = {
    "empty": ("", "http://127.0.0.1:11434"),
    "only address": ("1.2.3.4", "http://1.2.3.4:11434"),
    "only port": (":1234", "http://:1234"),
    "address and port": ("1.2.3.4:1234", "http://1.2.3.4:1234"),
    "hostname": ("example.com", "http://example.com:11434"),
    "hostname and port": ("example.com:1234", "http://example.com:1234"),
    "zero port": (":0", "http://:0"),
    "too large port": (":66000", "http://:11434"),
    "too small port": (":-1", "http://:11434"),
    "ipv6 localhost": ("[::1]", "http://[::1]:11434"),
    "ipv6 world open": ("[::]", "http://[::]:11434"),
    "ipv6 no brackets": ("::1", "http://[::1]:11434"),
    "ipv6 + port": ("[::1]:1337", "http://[::1]:1337"),
    "extra space": (" 1.2.3.4 ", "http://1.2.3.4:11434"),
    "extra quotes": ("\"1.2.3.4\"", "http://1.2.3.4:11434"),
    "extra space+quotes": (" \" 1.2.3.4 \" ", "http://1.2.3.4:11434"),
    "extra single quotes": ("'1.2.3.4'", "http://1.2.3.4:11434"),
    "http": ("http://1.2.3.4", "http://1.2.3.4:80"),
    "http port": ("http://1.2.3.4:4321", "http://1.2.3.4:4321"),
    "https": ("https://1.2.3.4", "https://1.2.3.4:443"),
    "https port": ("https://1.2.3.4:4321", "https://1.2.3.4:4321"),
    "proxy path": ("https://example.com/ollama", "https://example.com:443/ollama"),
}


def _url_string(result):
    """What Go's url.URL{Scheme, Host: JoinHostPort(host, port), Path}.String() prints."""
    path = result["path"]
    return "%s://%s%s" % (result["scheme"], result["listen"], ("/" + path) if path else "")


@pytest.mark.parametrize("name", sorted(UPSTREAM_TESTHOST))
def test_upstream_testhost_cases(name):
    value, expect = UPSTREAM_TESTHOST[name]
    assert _url_string(parse_ollama_host(value)) == expect


def test_default_port_flags_and_notes():
    unset = parse_ollama_host("")
    assert unset["default_port"] is True and unset["notes"] == []
    given = parse_ollama_host("0.0.0.0:11434")
    assert given["default_port"] is False and given["notes"] == []
    http = parse_ollama_host("http://0.0.0.0")
    assert http["default_port"] is True
    assert any("port 80" in n for n in http["notes"])
    bad = parse_ollama_host("127.0.0.1:99999")
    assert bad["default_port"] is True
    assert any("99999" in n and "invalid" in n for n in bad["notes"])
    rnd = parse_ollama_host(":0")
    assert any("random port" in n for n in rnd["notes"])
    # an explicit port after a scheme is not a trap
    assert parse_ollama_host("http://0.0.0.0:11434")["notes"] == []


@pytest.mark.parametrize("hostport,expected", [
    ("0.0.0.0:11434", ("0.0.0.0", "11434")),
    (":11434", ("", "11434")),
    ("[::]:11434", ("::", "11434")),
    ("[::1]:", ("::1", "")),
    ("host:", ("host", "")),
    (":", ("", "")),
    ("[]:80", ("", "80")),
    ("[fe80::1%eth0]:80", ("fe80::1%eth0", "80")),
    ("a:b", ("a", "b")),
])
def test_split_host_port_ok(hostport, expected):
    assert split_host_port(hostport) == expected


@pytest.mark.parametrize("hostport,reason", [
    ("0.0.0.0", "missing port in address"),
    ("", "missing port in address"),
    ("::", "too many colons in address"),
    ("::1", "too many colons in address"),
    ("1.2.3.4:80:90", "too many colons in address"),
    ("[::1", "missing ']' in address"),
    ("[::1]", "missing port in address"),
    ("[::1]x:80", "missing port in address"),
    ("[::1]::80", "too many colons in address"),
    ("[a]:b]:80", "too many colons in address"),
    ("a[b:80", "unexpected '[' in address"),
    ("[a[b]:80", "unexpected '[' in address"),
    ("a]b:80", "unexpected ']' in address"),
    ("[a]:8]0", "unexpected ']' in address"),
])
def test_split_host_port_errors(hostport, reason):
    with pytest.raises(SplitError) as excinfo:
        split_host_port(hostport)
    assert str(excinfo.value) == reason


@pytest.mark.parametrize("text,expected", [
    ("0.0.0.0", "0.0.0.0"),
    ("127.0.0.1", "127.0.0.1"),
    ("::", "::"),
    ("::FFFF:1.2.3.4", "1.2.3.4"),
    ("::ffff:0.0.0.0", "0.0.0.0"),
    ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
    ("0:0:0:0:0:0:0:1", "::1"),
    ("::1.2.3.4", "::102:304"),
    ("010.0.0.1", None),
    ("1.2.3", None),
    ("1.2.3.256", None),
    ("fe80::1%eth0", None),
    ("[::1]", None),
    ("", None),
    ("localhost", None),
    (" 1.2.3.4", None),
])
def test_parse_ip_like_go(text, expected):
    assert parse_ip(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("11434", (11434, True)),
    ("0", (0, True)),
    ("65535", (65535, True)),
    ("65536", (11434, False)),
    ("-1", (11434, False)),
    ("2147483648", (11434, False)),
    ("", (11434, False)),
    (" 80", (11434, False)),
    ("80\n", (11434, False)),
    ("\u0661\u0662", (11434, False)),  # Arabic-Indic digits: not base-10 ASCII for Go
])
def test_parse_port(text, expected):
    assert parse_port(text, 11434) == expected


@pytest.mark.parametrize("host,port,expected", [
    ("0.0.0.0", 11434, "0.0.0.0:11434"),
    ("", 11434, ":11434"),
    ("::", 11434, "[::]:11434"),
    ("::1", "8080", "[::1]:8080"),
    ("fe80::1%eth0", 80, "[fe80::1%eth0]:80"),
    ("example.com", 443, "example.com:443"),
])
def test_join_host_port(host, port, expected):
    assert join_host_port(host, port) == expected


@pytest.mark.parametrize("host,expected", [
    ("", "dual"), ("0.0.0.0", "dual"), ("::", "dual"),
    ("127.0.0.1", "ipv4"), ("10.0.0.1", "ipv4"), ("localhost", "ipv4"),
    ("::1", "ipv6"), ("fd00::1", "ipv6"), ("example.com", "resolve"),
])
def test_listen_family(host, expected):
    assert listen_family(host) == expected


@pytest.mark.parametrize("address,expected", [
    ("0.0.0.0", W), ("::", W), ("127.0.0.1", L), ("127.9.9.9", L), ("::1", L),
    ("192.168.1.10", A), ("fe80::1", A), ("::ffff:127.0.0.1", L), ("::ffff:10.0.0.1", A),
])
def test_classify_address(address, expected):
    assert classify_address(address) == expected
    assert address_scope(address) == expected
    assert is_exposed_scope(expected) is (expected in (W, A))


@pytest.mark.parametrize("raw,expected", [
    ("value", "value"),
    (" value ", "value"),
    (" 'value' ", "value"),
    ('"value"', "value"),
    ('" value "', "value"),
    ("\u00a00.0.0.0\u3000", "0.0.0.0"),  # unicode.IsSpace
    (None, ""),
])
def test_clean_env_value(raw, expected):
    assert clean_env_value(raw) == expected


def test_clean_env_value_keeps_go_non_space():
    # Python's str.strip() would eat U+001C..U+001F; Go's TrimSpace does not.
    assert clean_env_value("\x1c0.0.0.0") == "\x1c0.0.0.0"


@pytest.mark.parametrize("raw,expected", [
    ("*", ["*"]),
    ("http://*", ["http://*"]),
    ("https://*:8080", ["https://*:8080"]),
    ("'*'", ["*"]),
    ("http://10.0.0.1,*", ["*"]),
    ("https://app.example.com,http://*", ["http://*"]),
    ("*:11434", ["*:11434"]),
    ("https://*.example.com", []),
    ("http://localhost", []),
    ("http://localhost:*", []),
    ("app://*.local", []),
    ("", []),
    (None, []),
    ("https://*.example.com:8443", []),
])
def test_origins_wildcards(raw, expected):
    assert origins_wildcards(raw) == expected
