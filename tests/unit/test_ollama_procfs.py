# -*- coding: utf-8 -*-
"""/proc parsers: sockets, environ, argv, cgroup, addresses, os-release."""

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_procfs import (
    is_ollama_serve, parse_environ, parse_fib_trie_local, parse_if_inet6, parse_os_release,
    parse_proc_net_tcp, split_nul, unit_from_cgroup)

TAIL = "00000000:00000000 00:00000000 00000000"

# Captured on x86_64 (little-endian), trimmed to the columns the kernel always prints.
PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2CAA 00000000:0000 0A {tail}   999        0 23456 1 0000000000000000 100 0 0 10 0
   1: 00000000:2CAA 00000000:0000 0A {tail}   999        0 23457 1 0000000000000000 100 0 0 10 0
   2: 00000000:0016 00000000:0000 0A {tail}     0        0 12345 1 0000000000000000 100 0 0 10 0
   3: 0100007F:2CAA 0100007F:B3C8 01 {tail}   999        0 34567 1 0000000000000000 20 4 30 10 -1
   4: 0A01A8C0:2CAA 0501A8C0:D431 06 {tail}     0        0 0 3 0000000000000000
""".format(tail=TAIL)

PROC_NET_TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:2CAA 00000000000000000000000000000000:0000 0A {tail}   999        0 45678 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:2CAB 00000000000000000000000000000000:0000 0A {tail}   999        0 45679 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:2CAC 00000000000000000000000000000000:0000 0A {tail}   999        0 45680 1 0000000000000000 100 0 0 10 0
   3: 0000000000000000FFFF00000A01A8C0:2CAD 00000000000000000000000000000000:0000 0A {tail}   999        0 45681 1 0000000000000000 100 0 0 10 0
   4: B80D0120000000000000000010000000:2CAA 00000000000000000000000000000000:0000 0A {tail}   999        0 45682 1 0000000000000000 100 0 0 10 0
   5: 00000000000000000000000001000000:2CAA 00000000000000000000000001000000:9C40 01 {tail}   999        0 45683 1 0000000000000000 20 4 30 10 -1
""".format(tail=TAIL)


def _by_inode(sockets):
    return dict((s["inode"], s) for s in sockets)


def test_proc_net_tcp_listeners_only():
    sockets = parse_proc_net_tcp(PROC_NET_TCP, "ipv4", byteorder="little")
    assert [(s["address"], s["port"], s["inode"]) for s in sockets] == [
        ("127.0.0.1", 11434, 23456), ("0.0.0.0", 11434, 23457), ("0.0.0.0", 22, 12345)]
    first = sockets[0]
    assert first == {"address": "127.0.0.1", "port": 11434, "family": "ipv4", "state": "0A",
                     "uid": 999, "inode": 23456}


def test_proc_net_tcp_all_states():
    sockets = parse_proc_net_tcp(PROC_NET_TCP, "ipv4", byteorder="little", listen_only=False)
    by_inode = _by_inode(sockets)
    assert len(sockets) == 5
    assert by_inode[34567]["state"] == "01"
    assert by_inode[0]["address"] == "192.168.1.10" and by_inode[0]["state"] == "06"


def test_proc_net_tcp6_addresses():
    by_inode = _by_inode(parse_proc_net_tcp(PROC_NET_TCP6, "ipv6", byteorder="little"))
    assert sorted(by_inode) == [45678, 45679, 45680, 45681, 45682]  # the ESTABLISHED line is gone
    assert (by_inode[45678]["address"], by_inode[45678]["port"]) == ("::", 11434)
    assert (by_inode[45679]["address"], by_inode[45679]["port"]) == ("::1", 11435)
    assert by_inode[45680]["address"] == "::ffff:127.0.0.1"
    assert by_inode[45681]["address"] == "::ffff:192.168.1.10"
    assert by_inode[45682]["address"] == "2001:db8::10"
    assert all(s["family"] == "ipv6" for s in by_inode.values())


def test_proc_net_tcp_big_endian():
    text = ("   0: 7F000001:2CAA 00000000:0000 0A %s  999 0 1 1\n"
            "   1: 00000000000000000000000000000001:2CAA 00000000000000000000000000000000:0000 0A %s 999 0 2 1\n"
            % (TAIL, TAIL))
    sockets = parse_proc_net_tcp(text, byteorder="big")
    assert [s["address"] for s in sockets] == ["127.0.0.1", "::1"]
    # the same hex read as little-endian is another address
    assert parse_proc_net_tcp(text, byteorder="little")[0]["address"] == "1.0.0.127"


def test_proc_net_tcp_lowercase_state_and_hex():
    text = "   0: 0100007f:2caa 00000000:0000 0a %s 999 0 7 1\n" % TAIL
    sockets = parse_proc_net_tcp(text, byteorder="little")
    assert [(s["address"], s["port"], s["state"]) for s in sockets] == [("127.0.0.1", 11434, "0A")]


@pytest.mark.parametrize("line", [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "",
    "garbage",
    "   0: 0100007F:2CAA 00000000:0000 0A",  # truncated
    "   x: 0100007F:2CAA 00000000:0000 0A %s 999 0 1 1" % TAIL,  # bad slot
    "   0 0100007F:2CAA 00000000:0000 0A %s 999 0 1 1" % TAIL,  # slot without colon
    "   0: 0100007G:2CAA 00000000:0000 0A %s 999 0 1 1" % TAIL,  # not hex
    "   0: 0100007F0:2CAA 00000000:0000 0A %s 999 0 1 1" % TAIL,  # 9 hex digits
    "   0: 0100007F:ZZZZ 00000000:0000 0A %s 999 0 1 1" % TAIL,  # bad port
    "   0: 0100007F:FFFFFF 00000000:0000 0A %s 999 0 1 1" % TAIL,  # port > 65535
    "   0: 0100007F:2CAA 00000000:0000 0A %s uid 0 1 1" % TAIL,  # bad uid
    "   0: 0100007F:2CAA 00000000:0000 0A %s 999 0 inode 1" % TAIL,  # bad inode
    "   0: 0100007F 00000000:0000 0A %s 999 0 1 1" % TAIL,  # no port
])
def test_proc_net_tcp_skips_malformed(line):
    good = "   9: 0100007F:2CAA 00000000:0000 0A %s 999 0 99 1" % TAIL
    sockets = parse_proc_net_tcp(line + "\n" + good + "\n", byteorder="little")
    assert [s["inode"] for s in sockets] == [99]


def test_proc_net_tcp_empty_inputs():
    assert parse_proc_net_tcp(None) == []
    assert parse_proc_net_tcp("") == []


def test_split_nul_and_environ():
    data = b"PATH=/usr/local/bin:/usr/bin\0OLLAMA_HOST=0.0.0.0:11434\0EMPTY=\0NOEQUALS\0=nokey\0A=b=c\0\0"
    assert parse_environ(data) == {"PATH": "/usr/local/bin:/usr/bin", "OLLAMA_HOST": "0.0.0.0:11434",
                                   "EMPTY": "", "A": "b=c"}
    assert split_nul(b"/usr/local/bin/ollama\0serve\0") == ["/usr/local/bin/ollama", "serve"]
    assert split_nul("a\0\0b") == ["a", "b"]
    assert split_nul(None) == [] and parse_environ(b"") == {}


def test_environ_later_duplicate_wins_and_bad_utf8_is_replaced():
    env = parse_environ(b"OLLAMA_HOST=127.0.0.1\0OLLAMA_HOST=0.0.0.0\0X=\xff\xfe\0")
    assert env["OLLAMA_HOST"] == "0.0.0.0"
    assert env["X"] == u"\ufffd\ufffd"


@pytest.mark.parametrize("argv,expected", [
    (["ollama", "serve"], True),
    (["/usr/local/bin/ollama", "serve"], True),
    (["/usr/bin/python3", "/usr/local/bin/ollama", "serve"], True),
    (["/bin/sh", "ollama", "serve"], True),
    (["ollama", "runner", "--model", "/x"], False),
    (["/usr/local/bin/ollama", "run", "llama3"], False),
    (["ollama-proxy", "serve"], False),
    (["/opt/ollama-proxy/bin/ollama-proxy", "serve"], False),
    (["ollama"], False),
    (["serve"], False),
    ([], False),
    (["/usr/local/bin/ollama", "serve", "--extra"], True),
    (["/usr/bin/env", "OLLAMA_HOST=0.0.0.0", "ollama", "serve"], False),  # argv[2]: not looked at
    (["/usr/local/bin/ollamax", "serve"], False),
])
def test_is_ollama_serve(argv, expected):
    assert is_ollama_serve(argv) is expected


CGROUP_V1 = """\
12:pids:/system.slice/ollama.service
11:memory:/system.slice/other.service
10:cpu,cpuacct:/system.slice/other.service
1:name=systemd:/system.slice/ollama.service
"""

CGROUP_HYBRID = """\
12:pids:/system.slice/ollama.service
1:name=systemd:/system.slice/ollama.service
0::/system.slice/ollama.service
"""


@pytest.mark.parametrize("text,expected", [
    ("0::/system.slice/ollama.service\n", "ollama.service"),
    ("0::/system.slice/system-ollama.slice/ollama@gpu0.service\n", "ollama@gpu0.service"),
    ("0::/system.slice/ollama\\x2dgpu.service\n", "ollama\\x2dgpu.service"),
    (CGROUP_V1, "ollama.service"),
    (CGROUP_HYBRID, "ollama.service"),
    # only the name=systemd hierarchy counts in v1
    ("11:memory:/system.slice/other.service\n1:name=systemd:/user.slice/user-0.slice/session-1.scope\n", None),
    # containers
    ("0::/system.slice/docker-0123456789abcdef.scope\n", None),
    ("1:name=systemd:/docker/0123456789abcdef\n", None),
    ("0::/\n", None),
    ("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-ab.scope\n", None),
    # a service of a systemd inside a container: the innermost unit
    ("0::/system.slice/docker-0123456789abcdef.scope/system.slice/ollama.service\n", "ollama.service"),
    ("0::/system.slice/docker.service\n", "docker.service"),
    # login sessions and the user manager's scopes: no service of their own
    ("0::/user.slice/user-1000.slice/session-4.scope\n", None),
    ("0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
     "app-org.gnome.Terminal.slice/vte-spawn-0a1b.scope\n", None),
    ("0::/user.slice/user-1000.slice/user@1000.service/init.scope\n", None),
    ("1:name=systemd:/user.slice/user-1000.slice/user@1000.service/app.slice/tmux-spawn-1.scope\n", None),
    # a user service keeps its name
    ("0::/user.slice/user-1000.slice/user@1000.service/app.slice/ollama.service\n", "ollama.service"),
    ("0::/init.scope\n", None),
    ("", None),
    (None, None),
    ("garbage\n::\n0:/system.slice/ollama.service\n", None),
])
def test_unit_from_cgroup(text, expected):
    assert unit_from_cgroup(text) == expected


FIB_TRIE = """\
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 172.17.0.0/16 2 0 2
        +-- 172.17.0.0/31 1 0 0
           |-- 172.17.0.0
              /16 link UNICAST
           |-- 172.17.0.1
              /32 host LOCAL
        |-- 172.17.255.255
           /32 link BROADCAST
     +-- 192.168.1.0/24 2 0 2
        +-- 192.168.1.0/28 2 0 2
           |-- 192.168.1.0
              /24 link UNICAST
           |-- 192.168.1.10
              /32 host LOCAL
        |-- 192.168.1.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 192.168.1.0/24 2 0 2
        +-- 192.168.1.0/28 2 0 2
           |-- 192.168.1.0
              /24 link UNICAST
           |-- 192.168.1.10
              /32 host LOCAL
        |-- 192.168.1.255
           /32 link BROADCAST
"""


def test_fib_trie_local_addresses():
    assert parse_fib_trie_local(FIB_TRIE) == ["127.0.0.1", "172.17.0.1", "192.168.1.10"]


def test_fib_trie_edge_cases():
    assert parse_fib_trie_local("") == [] and parse_fib_trie_local(None) == []
    # a /32 LOCAL line without a leaf before it belongs to nothing
    assert parse_fib_trie_local("   /32 host LOCAL\n") == []
    # a leaf that is only a route (UNICAST) is not local
    assert parse_fib_trie_local("     |-- 10.0.0.0\n        /8 link UNICAST\n") == []


IF_INET6 = """\
00000000000000000000000000000001 01 80 10 80       lo
fe80000000000000021122fffe334455 02 40 20 80     eth0
20010db8000000000000000000000010 02 40 00 00     eth0
zz010db8000000000000000000000010 02 40 00 00     eth0
20010db8 02 40 00 00     eth0
"""


def test_if_inet6():
    assert parse_if_inet6(IF_INET6) == [
        {"address": "::1", "interface": "lo", "scope": "10"},
        {"address": "fe80::211:22ff:fe33:4455", "interface": "eth0", "scope": "20"},
        {"address": "2001:db8::10", "interface": "eth0", "scope": "00"},
    ]
    assert parse_if_inet6(None) == []


OS_RELEASE = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
# a comment
HOME_URL='https://www.debian.org/'
EMPTY=
not a pair
"""


def test_os_release():
    info = parse_os_release(OS_RELEASE)
    assert info["ID"] == "debian"
    assert info["VERSION_ID"] == "12"
    assert info["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)"
    assert info["HOME_URL"] == "https://www.debian.org/"
    assert info["EMPTY"] == ""
    assert "# a comment" not in info and "not a pair" not in info
    assert parse_os_release('A="x\'') == {"A": "\"x'"}  # mismatched quotes stay
    assert parse_os_release(None) == {}


IP_ADDR_JSON = """[{"ifindex":1,"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host"},
 {"family":"inet6","local":"::1","prefixlen":128,"scope":"host"}]},
 {"ifindex":2,"ifname":"docker0","addr_info":[{"family":"inet","local":"172.17.0.1","prefixlen":16,"scope":"global"}]},
 {"ifindex":3,"ifname":"br-4f2a9c1d7e0b","addr_info":[{"family":"inet","local":"172.18.0.1","prefixlen":16,"scope":"global"}]},
 {"ifindex":4,"ifname":"veth53be4fb","addr_info":[]},
 {"ifindex":5,"ifname":"eth0","addr_info":[{"family":"inet","local":"192.0.2.10","prefixlen":24,"scope":"global"},
  {"family":"inet6","local":"2001:db8::10","prefixlen":64,"scope":"global"},
  {"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link"}]}]"""


def test_parse_ip_addr_json_and_probe_addresses():
    from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_procfs import (
        parse_ip_addr_json, split_probe_addresses)
    entries = parse_ip_addr_json(IP_ADDR_JSON)
    assert {"address": "192.0.2.10", "interface": "eth0", "family": "ipv4", "scope": "global"} in entries
    keep, skipped = split_probe_addresses(entries)
    assert keep == ["192.0.2.10", "2001:db8::10"]
    assert sorted(s["interface"] for s in skipped) == ["br-4f2a9c1d7e0b", "docker0"]


def test_parse_ip_addr_json_survives_garbage():
    from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_procfs import parse_ip_addr_json
    assert parse_ip_addr_json("not json") == []
    assert parse_ip_addr_json('{"a": 1}') == []
    assert parse_ip_addr_json('[1, {"addr_info": [2, {"family": "inet"}]}]') == []
