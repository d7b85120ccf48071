# -*- coding: utf-8 -*-
"""Property tests: no input crashes a parser, and a few invariants hold for all inputs."""

import ipaddress
import re
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import version_tuple
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import (
    SplitError, join_host_port, origins_wildcards, parse_ip, parse_ollama_host, split_host_port)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_procfs import (
    is_ollama_serve, parse_environ, parse_fib_trie_local, parse_if_inet6, parse_os_release, parse_proc_net_tcp,
    unit_from_cgroup)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_systemd import (
    compute_environment, parse_env_file, parse_environment_assignment, parse_environment_files_property,
    parse_systemctl_show, parse_unit_text, split_words)

FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

SCOPES = ("loopback", "wildcard", "address", "hostname")
KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


def _texts(symbols):
    """Arbitrary unicode, or text drawn mostly from the symbols that matter to a parser."""
    return st.one_of(st.text(), st.text(alphabet=st.sampled_from(list(symbols)), max_size=80))


HOST_TEXT = _texts("[]:0123456789abcdefABCDEF.x/ \t\n\"'%-+_") | st.builds(
    lambda scheme, body: scheme + body,
    st.sampled_from(["", "http://", "https://", "HTTP://", "tcp://", "://"]),
    st.text(alphabet=st.sampled_from(list("[]:0123456789abcdef./ ")), max_size=40))

UNIT_TEXT = _texts("[]=\\#; \t\n\"'ServiceEnvironmentFileOLLAMA_HOST=0.1:-x%")
ENV_TEXT = _texts("=\\#; \t\n\"'$`exportOLLAMA_HOST01.:abc")
PROC_TEXT = _texts("0123456789ABCDEFabcdef: \n0A") | st.lists(
    st.builds(lambda a, p, st_, rest: "%4d: %s:%s 00000000:0000 %s %s" % (1, a, p, st_, rest),
              st.text(alphabet="0123456789ABCDEF", min_size=0, max_size=33),
              st.text(alphabet="0123456789ABCDEFZ-", min_size=0, max_size=7),
              st.sampled_from(["0A", "01", "0a", "zz"]),
              st.text(alphabet="0123456789: -x", max_size=60)),
    max_size=8).map("\n".join)


# -- OLLAMA_HOST -----------------------------------------------------------------

@FUZZ
@given(HOST_TEXT)
def test_parse_ollama_host_never_crashes(text):
    result = parse_ollama_host(text)
    assert isinstance(result["port"], int) and 0 <= result["port"] <= 65535
    assert result["scope"] in SCOPES
    expected = {"wildcard": True, "address": True, "loopback": False, "hostname": None}[result["scope"]]
    assert result["exposed"] is expected
    assert result["listen"] == join_host_port(result["host"], result["port"])
    assert "/" not in result["host"]
    if not result["port_valid"]:
        assert result["default_port"] and result["port"] in (11434, 80, 443)


IP_HOST_TEXT = st.builds(
    lambda scheme, address, port, path: scheme + (
        str(address) if port is None else join_host_port(str(address), port)) + path,
    st.sampled_from(["", "http://", "https://"]),
    st.ip_addresses(),
    st.one_of(st.none(), st.just(""), st.integers(-5, 70000).map(str)),
    st.sampled_from(["", "/", "/api"]))


@FUZZ
@given(st.one_of(HOST_TEXT, IP_HOST_TEXT))
def test_listen_reparses_to_the_same_address(text):
    """For an IP or empty host, the listen string Go would use parses back to itself."""
    result = parse_ollama_host(text)
    host = result["host"]
    if host == "" or parse_ip(host) is not None:
        again = parse_ollama_host(result["listen"])
        assert (again["host"], again["port"], again["scope"]) == (host, result["port"], result["scope"])
    else:
        assert result["scope"] == "hostname" or host.lower() == "localhost"


@FUZZ
@given(st.ip_addresses(), st.integers(min_value=0, max_value=65535))
def test_any_ip_and_valid_port(address, port):
    literal = str(address)
    result = parse_ollama_host(join_host_port(literal, port))
    assert result["port"] == port and result["port_valid"]
    assert ipaddress.ip_address(result["host"]) == address
    expected = "wildcard" if address.is_unspecified else "loopback" if address.is_loopback else "address"
    if address.version == 6 and address.ipv4_mapped is not None:
        mapped = address.ipv4_mapped
        expected = "wildcard" if mapped.is_unspecified else "loopback" if mapped.is_loopback else "address"
    assert result["scope"] == expected


@FUZZ
@given(st.ip_addresses(v=4), st.one_of(st.integers(max_value=-1), st.integers(min_value=65536)))
def test_out_of_range_port_falls_back(address, port):
    result = parse_ollama_host("%s:%d" % (address, port))
    assert (result["host"], result["port"], result["port_valid"]) == (str(address), 11434, False)


@FUZZ
@given(_texts("[]:abc01"))
def test_split_host_port_result_or_split_error(text):
    try:
        host, port = split_host_port(text)
    except SplitError:
        return
    assert ":" not in port and port == text[text.rfind(":") + 1:]
    assert host in text


@FUZZ
@given(_texts("*,:/ httpsx.'\""))
def test_origins_wildcards_are_entries(text):
    found = origins_wildcards(text)
    assert all("*" in entry for entry in found)
    assert all(entry in text for entry in found)


# -- /proc ----------------------------------------------------------------------

@FUZZ
@given(PROC_TEXT, st.sampled_from(["little", "big"]), st.booleans())
def test_parse_proc_net_tcp_never_crashes(text, byteorder, listen_only):
    for sock in parse_proc_net_tcp(text, "ipv4", byteorder=byteorder, listen_only=listen_only):
        assert 0 <= sock["port"] <= 65535
        ipaddress.ip_address(sock["address"])
        if listen_only:
            assert sock["state"] == "0A"


@FUZZ
@given(st.lists(st.tuples(st.ip_addresses(), st.integers(0, 65535), st.sampled_from(["0A", "01", "06"]),
                          st.integers(0, 2 ** 32 - 1)), max_size=6))
def test_proc_net_tcp_round_trip(sockets):
    """Lines written the way the kernel does (u32 words in little-endian) parse back."""
    lines = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"]
    for slot, (address, port, state, inode) in enumerate(sockets):
        packed = address.packed
        words = [packed[i:i + 4] for i in range(0, len(packed), 4)]
        hexaddr = "".join("%08X" % struct.unpack("<I", w)[0] for w in words)
        lines.append("%4d: %s:%04X %s:0000 %s 00000000:00000000 00:00000000 00000000  1000 0 %d 1"
                     % (slot, hexaddr, port, "0" * len(hexaddr), state, inode))
    parsed = parse_proc_net_tcp("\n".join(lines), byteorder="little", listen_only=False)
    assert len(parsed) == len(sockets)
    for sock, (address, port, state, inode) in zip(parsed, sockets):
        assert ipaddress.ip_address(sock["address"]) == address
        assert (sock["port"], sock["state"], sock["inode"], sock["uid"]) == (port, state, inode, 1000)


@FUZZ
@given(st.one_of(st.binary(), st.text()))
def test_parse_environ_never_crashes(data):
    env = parse_environ(data)
    for key, value in env.items():
        assert key and "=" not in key and "\0" not in key and "\0" not in value


@FUZZ
@given(st.dictionaries(st.text(alphabet="ABCXYZ_abc019", min_size=1, max_size=10).filter(lambda k: not k[0].isdigit()),
                       st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                               max_size=20),
                       max_size=6))
def test_environ_round_trip(env):
    data = b"".join(("%s=%s" % kv).encode("utf-8") + b"\0" for kv in env.items())
    assert parse_environ(data) == env


@FUZZ
@given(st.lists(st.text(), max_size=5))
def test_is_ollama_serve_never_crashes(argv):
    assert is_ollama_serve(argv) in (True, False)


@FUZZ
@given(_texts("0123456789:/.-@name=systemd,serviceslice\n\\"))
def test_unit_from_cgroup_never_crashes(text):
    unit = unit_from_cgroup(text)
    assert unit is None or (unit.endswith(".service") and "/" not in unit and unit in text)


@FUZZ
@given(_texts("|-+ /0123456789.hostLOCALUNICASTlink\n"))
def test_parse_fib_trie_never_crashes(text):
    found = parse_fib_trie_local(text)
    assert len(found) == len(set(found))
    assert all(address in text for address in found)


@FUZZ
@given(_texts("0123456789abcdefx \nlo eth0"))
def test_parse_if_inet6_never_crashes(text):
    for item in parse_if_inet6(text):
        assert ipaddress.ip_address(item["address"]).version == 6


@FUZZ
@given(_texts("=\"'#\n ID"))
def test_parse_os_release_never_crashes(text):
    info = parse_os_release(text)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in info.items())


# -- systemd --------------------------------------------------------------------

@FUZZ
@given(UNIT_TEXT)
def test_parse_unit_text_never_crashes(text):
    entries, errors = parse_unit_text(text, "/u")
    n_lines = max(1, len(text.splitlines()))
    for entry in entries:
        assert entry["key"] and entry["section"] is not None and 1 <= entry["line"] <= n_lines
        assert entry["value"] == entry["value"].strip()
    for error in errors:
        assert 1 <= error["line"] <= n_lines and error["file"] == "/u"


@FUZZ
@given(ENV_TEXT)
def test_parse_env_file_never_crashes(text):
    entries, errors = parse_env_file(text, "/e")
    n_lines = max(1, len(text.splitlines()))
    for entry in entries:
        assert KEY_RE.match(entry["key"]) and 1 <= entry["line"] <= n_lines
    assert all(1 <= e["line"] <= n_lines for e in errors)


LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines() splits on


@FUZZ
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=LINE_BREAKS),
               max_size=40))
def test_env_file_double_quoting_round_trip(value):
    """A value written as KEY="..." with shell escapes reads back unchanged."""
    quoted = "".join("\\" + c if c in '"\\`$' else c for c in value)
    entries, errors = parse_env_file('KEY="%s"\n' % quoted)
    assert errors == [] and [(e["key"], e["value"]) for e in entries] == [("KEY", value)]


@FUZZ
@given(UNIT_TEXT)
def test_split_words_never_crashes(text):
    words, error = split_words(text)
    assert error in (None, "unbalanced quotes")
    assert all(isinstance(w, str) for w in words)
    pairs, problems = parse_environment_assignment(text)
    assert all(KEY_RE.match(k) for k, _v in pairs)


@FUZZ
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12), max_size=6))
def test_split_words_round_trip(words):
    """Words double-quoted with C escapes split back into the same words."""
    escaped = ['"%s"' % w.replace("\\", "\\\\").replace('"', '\\"') for w in words]
    assert split_words(" ".join(escaped)) == (words, None)


@FUZZ
@given(_texts("=\n IdEnvironmentFiles(ignore_errors=yes)/"))
def test_parse_systemctl_show_never_crashes(text):
    blocks = parse_systemctl_show(text)
    for block in blocks:
        assert block and all(isinstance(v, (str, list)) for v in block.values())
        parse_environment_files_property(block.get("EnvironmentFiles"))


@FUZZ
@given(UNIT_TEXT, ENV_TEXT)
def test_compute_environment_never_crashes(unit_text, env_text):
    entries, _errors = parse_unit_text(unit_text, "/u")
    result = compute_environment(entries, lambda path: env_text if path.endswith("a") else None)
    assert set(result["origin"]) == set(result["env"])
    for key, origin in result["origin"].items():
        assert origin["via"] in ("Environment", "EnvironmentFile")


@FUZZ
@given(st.one_of(st.none(), _texts("v0123456789.-rc+ ")))
def test_version_tuple_never_crashes(text):
    result = version_tuple(text)
    assert result is None or (len(result) == 4 and all(isinstance(n, int) for n in result))


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["ifname", "addr_info", "local", "family", "scope"]),
                                                 inner, max_size=4)), max_leaves=20)


@FUZZ
@given(st.one_of(st.text(), JSON_VALUE.map(__import__("json").dumps)))
def test_ip_addr_json_never_crashes(text):
    from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_procfs import (
        parse_ip_addr_json, split_probe_addresses)
    entries = parse_ip_addr_json(text)
    keep, skipped = split_probe_addresses([e for e in entries if isinstance(e["address"], str)])
    assert all(isinstance(a, str) for a in keep) and isinstance(skipped, list)


@FUZZ
@given(JSON_VALUE)
def test_containers_from_api_never_crashes(items):
    from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_docker import containers_from_api
    for ctr in containers_from_api(items if isinstance(items, list) else [items]):
        assert isinstance(ctr["ports"], list)
