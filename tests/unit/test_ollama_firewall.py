# -*- coding: utf-8 -*-
"""The firewall plan (plugin_utils/ollama_firewall.py) and the audit's
other_listeners field it reads (library/ollama_info.py)."""

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_firewall as fw
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import parse_ollama_host
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_netfilter import (
    detection, parse_ufw, unit_states)
from library import ollama_info

ALL_TOOLS = {"nft": "/usr/sbin/nft", "iptables": "/usr/sbin/iptables", "ip6tables": "/usr/sbin/ip6tables",
             "ufw": "/usr/sbin/ufw", "firewall-cmd": "/usr/bin/firewall-cmd"}


def state(tools=None, units=None, ufw_active=False, default_incoming=None, rules=()):
    return {"tools": dict(ALL_TOOLS if tools is None else tools), "units": units or {},
            "ufw": {"active": ufw_active, "default_incoming": default_incoming, "rules": list(rules)},
            "firewalld_zone": None}


NFT_ONLY = state(tools={"nft": "/usr/sbin/nft", "iptables": "/usr/sbin/iptables"})


def facts(listeners=(), services=(), processes=(), containers=(), others=()):
    return {"listeners": list(listeners), "services": list(services), "processes": list(processes),
            "containers": list(containers), "other_listeners": list(others)}


def listener(port, address="::", pid=10):
    return {"address": address, "port": port, "family": "ipv6", "pid": pid, "unit": "ollama.service",
            "scope": "wildcard"}


# -- ports ------------------------------------------------------------------------
def test_every_ollama_port_is_found_listeners_services_hand_started():
    found = fw.ollama_ports(facts(
        listeners=[listener(11434), listener(8080, "127.0.0.1")],
        services=[{"name": "ollama.service", "bind": parse_ollama_host("http://0.0.0.0"),
                   "running_bind": parse_ollama_host("0.0.0.0:11434")}],
        processes=[{"pid": 7, "unit": None, "container": False, "bind": parse_ollama_host("0.0.0.0:11500")},
                   {"pid": 8, "unit": None, "container": True, "bind": parse_ollama_host("0.0.0.0:9999")},
                   {"pid": 9, "unit": None, "container": False, "bind": parse_ollama_host(":0")}]))
    assert sorted(found) == [80, 8080, 11434, 11500]
    assert any("started by hand" in r for r in found[11500])


def test_docker_published_ports_except_loopback_ones():
    ctrs = [{"name": "ollama", "ports": [
        {"ip": "0.0.0.0", "private_port": 11434, "public_port": 11434},
        {"ip": "::", "private_port": 11434, "public_port": 11434},
        {"ip": "127.0.0.1", "private_port": 11434, "public_port": 12000},
        {"ip": "10.1.2.3", "private_port": 11434, "public_port": 12001},
        {"ip": "", "private_port": 11434, "public_port": None}]}]
    assert [d["port"] for d in fw.docker_ports(facts(containers=ctrs))] == [11434, 12001]


def test_conflict_when_another_program_serves_the_port_to_the_network():
    found = {8080: ["x"], 11434: ["y"]}
    others = [{"address": "10.0.0.5", "port": 8080}, {"address": "127.0.0.1", "port": 11434},
              {"address": "0.0.0.0", "port": 22}]
    assert fw.conflicts(found, facts(others=others)) == {8080: ["10.0.0.5"]}
    assert fw.conflicts(found, facts(others=others), ignore=[8080]) == {}


def test_plan_leaves_a_conflicting_port_open_and_reports_it():
    p = fw.plan(facts(listeners=[listener(11434)], others=[{"address": "0.0.0.0", "port": 8081}]),
                NFT_ONLY, ports=[8081])
    assert p["ports"] == [11434]
    assert p["conflicts"] == {"8081": ["0.0.0.0"]}


def test_docker_proxy_socket_is_not_a_conflict():
    ctrs = [{"name": "ollama", "ports": [{"ip": "0.0.0.0", "private_port": 11434, "public_port": 11434}]}]
    p = fw.plan(facts(containers=ctrs, others=[{"address": "0.0.0.0", "port": 11434}]), NFT_ONLY, ports=[11434])
    assert p["conflicts"] == {} and p["ports"] == [11434]
    assert [d["port"] for d in p["docker"]] == [11434]


def test_docker_user_off():
    ctrs = [{"name": "ollama", "ports": [{"ip": "0.0.0.0", "private_port": 11434, "public_port": 11434}]}]
    p = fw.plan(facts(containers=ctrs), NFT_ONLY, docker_user=False)
    assert p["docker"] == [] and p["ports"] == []


# -- Docker-published ports are closed in INPUT too --------------------------------
# Without ip6tables NAT (Docker's default), IPv6 to a published port reaches
# the userland proxy (docker-proxy on [::]:PORT) through INPUT, never through
# DOCKER-USER: the backend's INPUT rules must close it as well.
PUBLISHED = [{"name": "ollama", "id": "abc", "ports": [
    {"ip": "0.0.0.0", "private_port": 11434, "public_port": 11434},
    {"ip": "::", "private_port": 11434, "public_port": 11434},
    {"ip": "127.0.0.1", "private_port": 11434, "public_port": 12000}]}]
# What the audit sees of docker-proxy: sockets of another program.
PROXY = [{"address": "0.0.0.0", "port": 11434}, {"address": "::", "port": 11434}, {"address": "127.0.0.1", "port": 12000}]


def test_docker_published_port_is_closed_in_input_and_docker_user():
    p = fw.plan(facts(containers=PUBLISHED, others=PROXY), NFT_ONLY)
    assert p["ports"] == [11434]
    assert p["conflicts"] == {}
    assert [d["port"] for d in p["docker"]] == [11434]
    assert any("published by Docker container ollama" in r for r in p["reasons"]["11434"])
    assert "12000" not in p["reasons"]


def test_docker_published_port_in_every_backend_rule_shape():
    p = fw.plan(facts(containers=PUBLISHED, others=PROXY), NFT_ONLY)
    text = fw.nftables_ruleset(p)
    assert "\t\ttcp dport { 11434 } drop" in text and 'iif "lo" accept' in text
    for family in ("ipv4", "ipv6"):
        lines = [r["line"] for r in fw.iptables_rules(p, family)]
        assert lines[0] == "-A OLLAMA-TOOLKIT -i lo -j RETURN"
        assert lines[-1] == "-A OLLAMA-TOOLKIT -p tcp -m tcp --dport 11434 -j DROP"
    assert {"rule": "deny", "port": "11434", "from_ip": "any"} in fw.ufw_rules(p)
    assert fw.firewalld_rich_rules(p)[-1] == 'rule port port="11434" protocol="tcp" drop'
    # DOCKER-USER rules are as they were.
    assert fw.docker_user_rules(p, "ipv4") == [
        "! -s 127.0.0.0/8 -p tcp -m conntrack --ctorigdstport 11434 --ctdir ORIGINAL "
        "-m comment --comment ollama-exposure-toolkit -j DROP"]


def test_docker_published_and_host_ports_together():
    ctrs = [{"name": "ollama", "ports": [{"ip": "10.1.2.3", "private_port": 11434, "public_port": 8434}]}]
    p = fw.plan(facts(listeners=[listener(11434)], containers=ctrs, others=[{"address": "10.1.2.3", "port": 8434}]),
                NFT_ONLY)
    assert p["ports"] == [8434, 11434] and p["conflicts"] == {}
    assert "tcp dport { 8434, 11434 } drop" in fw.nftables_ruleset(p)


def test_loopback_published_port_is_not_closed():
    ctrs = [{"name": "ollama", "ports": [{"ip": "127.0.0.1", "private_port": 11434, "public_port": 11434}]}]
    p = fw.plan(facts(containers=ctrs, others=[{"address": "127.0.0.1", "port": 11434}]), NFT_ONLY)
    assert p["ports"] == [] and p["docker"] == [] and p["conflicts"] == {}


def test_another_program_on_a_port_not_published_is_still_a_conflict():
    p = fw.plan(facts(containers=PUBLISHED, others=PROXY + [{"address": "0.0.0.0", "port": 8081}]), NFT_ONLY,
                ports=[8081])
    assert p["ports"] == [11434] and p["conflicts"] == {"8081": ["0.0.0.0"]}


def test_published_port_on_the_ssh_port_is_refused():
    ctrs = [{"name": "ollama", "ports": [{"ip": "0.0.0.0", "private_port": 11434, "public_port": 2222}]}]
    with pytest.raises(ValueError) as err:
        fw.plan(facts(containers=ctrs), NFT_ONLY, ssh_port=2222)
    assert "Docker-published" in str(err.value) and "ollama_firewall_ssh_port" in str(err.value)


def test_republished_container_loses_its_input_rule_unless_the_port_is_ollamas_otherwise():
    p = fw.plan(facts(containers=PUBLISHED, others=PROXY), NFT_ONLY)
    dropped = fw.drop_republished(p, facts(containers=PUBLISHED), ["ollama"])
    assert dropped["docker"] == [] and dropped["ports"] == [] and dropped["reasons"] == {}
    # The same port also in ollama_firewall_ports: it stays closed.
    p = fw.plan(facts(containers=PUBLISHED, others=PROXY), NFT_ONLY, ports=[11434])
    dropped = fw.drop_republished(p, facts(containers=PUBLISHED), ["ollama"])
    assert dropped["docker"] == [] and dropped["ports"] == [11434]
    assert dropped["reasons"] == {"11434": ["ollama_firewall_ports"]}
    # Another container still publishing it: kept.
    other = [dict(PUBLISHED[0], name="ollama2")]
    p = fw.plan(facts(containers=PUBLISHED + other), NFT_ONLY)
    dropped = fw.drop_republished(p, facts(containers=PUBLISHED + other), ["ollama"])
    assert dropped["ports"] == [11434] and [d["container"] for d in dropped["docker"]] == ["ollama2"]


# -- validation ---------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,name", [
    ({"ports": [70000]}, "ollama_firewall_ports"),
    ({"ports": [0]}, "ollama_firewall_ports"),
    ({"ports": ["http"]}, "ollama_firewall_ports"),
    ({"ports": "11434"}, "ollama_firewall_ports"),
    ({"front_port": 65536}, "ollama_firewall_front_port"),
    ({"front_sources": ["10.0.0.300/8"]}, "ollama_firewall_front_sources"),
    ({"front_sources": ["10.0.0.0/33"]}, "ollama_firewall_front_sources"),
    ({"front_sources": "0.0.0.0/0"}, "ollama_firewall_front_sources"),
    ({"ssh_port": "ssh"}, "ollama_firewall_ssh_port"),
    ({"backend": "pf"}, "ollama_firewall_backend"),
    ({"front_conn_limit": -1}, "ollama_firewall_front_conn_limit"),
    ({"front_conn_limit": "-1"}, "ollama_firewall_front_conn_limit"),
    ({"front_conn_limit": "many"}, "ollama_firewall_front_conn_limit"),
    ({"front_conn_limit": 1.5}, "ollama_firewall_front_conn_limit"),
    ({"front_conn_limit": True}, "ollama_firewall_front_conn_limit"),
    ({"front_conn_limit": None}, "ollama_firewall_front_conn_limit"),
    ({"front_conn_limit": [8]}, "ollama_firewall_front_conn_limit"),
    ({"front_conn_limit_ipv6_prefix": 0}, "ollama_firewall_front_conn_limit_ipv6_prefix"),
    ({"front_conn_limit_ipv6_prefix": 129}, "ollama_firewall_front_conn_limit_ipv6_prefix"),
    ({"front_conn_limit_ipv6_prefix": "/64"}, "ollama_firewall_front_conn_limit_ipv6_prefix"),
])
def test_bad_input_names_the_variable(kwargs, name):
    with pytest.raises(ValueError) as err:
        fw.plan(facts(listeners=[listener(11434)]), state(), **kwargs)
    assert name in str(err.value)


def test_every_bad_variable_is_reported_at_once():
    with pytest.raises(ValueError) as err:
        fw.plan(facts(), state(), ports=[70000], front_sources=["nope"], backend="pf")
    for name in ("ollama_firewall_ports", "ollama_firewall_front_sources", "ollama_firewall_backend"):
        assert name in str(err.value)


def test_sources_are_normalized_by_family():
    nets, errors = fw.normalize_sources(["10.1.2.3/8", "192.0.2.1", "2001:db8::1/32", "10.0.0.0/8"])
    assert errors == []
    assert nets == {"ipv4": ["10.0.0.0/8", "192.0.2.1/32"], "ipv6": ["2001:db8::/32"]}


# -- backend --------------------------------------------------------------------------
def units(**active):
    return dict((name.replace("_", "-") + ".service", {"active": value == "active", "enabled": value in ("active", "enabled"),
                                                       "loaded": True}) for name, value in active.items())


@pytest.mark.parametrize("st,expected", [
    (state(units=units(firewalld="active", nftables="active")), "firewalld"),
    (state(ufw_active=True, units=units(nftables="active")), "ufw"),
    (state(units=units(nftables="enabled")), "nftables"),
    (state(units=units(netfilter_persistent="enabled")), "iptables"),
    (state(), "nftables"),
    (state(tools={"iptables": "/usr/sbin/iptables"}), "iptables"),
])
def test_auto_backend_follows_the_active_firewall(st, expected):
    assert fw.choose_backend("auto", st) == (expected, None)


def test_no_firewall_at_all():
    backend, error = fw.choose_backend("auto", state(tools={}))
    assert backend is None and "ollama_firewall_backend" in error
    assert "ollama_firewall_install" in error


def test_no_firewall_plan_names_the_install_opt_in():
    with pytest.raises(ValueError) as err:
        fw.plan(facts(listeners=[listener(11434)]), state(tools={}))
    assert "no firewall found" in str(err.value) and "ollama_firewall_install" in str(err.value)


@pytest.mark.parametrize("requested,tools,packages", [
    ("auto", {}, ["nftables"]),
    ("auto", {"ip6tables": "/usr/sbin/ip6tables"}, ["nftables"]),
    ("auto", {"iptables": "/usr/sbin/iptables"}, []),
    ("auto", {"ufw": "/usr/sbin/ufw"}, []),
    ("auto", {"firewall-cmd": "/usr/bin/firewall-cmd"}, []),
    ("nftables", {"iptables": "/usr/sbin/iptables"}, ["nftables"]),
    ("nftables", {"nft": "/usr/sbin/nft"}, []),
    ("iptables", {}, []),
])
def test_install_needed(requested, tools, packages):
    assert fw.install_needed(requested, state(tools=tools)) == packages


def test_install_opt_in_plans_nftables_on_a_host_without_firewall():
    p = fw.plan(facts(listeners=[listener(11434)]), state(tools={}), install=True)
    assert p["backend"] == "nftables" and p["install"] == ["nftables"] and p["ports"] == [11434]
    # Once installed (detected again), nothing more to install.
    p = fw.plan(facts(listeners=[listener(11434)]), state(tools={"nft": "/usr/sbin/nft"}), install=True)
    assert p["backend"] == "nftables" and p["install"] == []
    # A host with a firewall keeps it; the opt-in changes nothing there.
    p = fw.plan(facts(listeners=[listener(11434)]), state(ufw_active=True), install=True)
    assert p["backend"] == "ufw" and p["install"] == []
    # Forced backends other than nftables are not installed.
    with pytest.raises(ValueError) as err:
        fw.plan(facts(listeners=[listener(11434)]), state(tools={}), backend="ufw", install=True)
    assert "ufw is not installed" in str(err.value)


def test_install_must_be_a_boolean():
    with pytest.raises(ValueError) as err:
        fw.plan(facts(listeners=[listener(11434)]), state(tools={}), install="maybe")
    assert "ollama_firewall_install" in str(err.value)
    assert fw.plan(facts(listeners=[listener(11434)]), state(tools={}), install="yes")["backend"] == "nftables"


@pytest.mark.parametrize("requested,st,words", [
    ("ufw", state(tools={"nft": "x"}), "ufw is not installed"),
    ("firewalld", state(tools={"iptables": "x"}), "firewall-cmd is not installed"),
    ("nftables", state(tools={"iptables": "x"}), "nft is not installed"),
    ("firewalld", state(), "not running"),
    ("ufw", state(), "ollama_firewall_ufw_enable"),
])
def test_forced_backend_must_be_usable(requested, st, words):
    backend, error = fw.choose_backend(requested, st)
    assert backend is None and words in error and "ollama_firewall_backend" in error


def test_forced_backend_that_is_usable():
    assert fw.choose_backend("iptables", state()) == ("iptables", None)
    assert fw.choose_backend("ufw", state(), ufw_enable=True) == ("ufw", None)


# -- SSH safety -------------------------------------------------------------------------
def test_ollama_on_the_ssh_port_is_refused():
    with pytest.raises(ValueError) as err:
        fw.plan(facts(listeners=[listener(2222)]), NFT_ONLY, ssh_port=2222)
    assert "refused" in str(err.value) and "ollama_firewall_ssh_port" in str(err.value)


def test_extra_port_equal_to_ssh_is_refused():
    with pytest.raises(ValueError):
        fw.plan(facts(), NFT_ONLY, ports=[22])


def test_front_port_must_not_be_an_ollama_port():
    with pytest.raises(ValueError) as err:
        fw.plan(facts(listeners=[listener(11443)]), NFT_ONLY)
    assert "ollama_firewall_front_port" in str(err.value)


def test_enabling_ufw_with_default_deny_and_no_ssh_rule_is_refused():
    st = state(ufw_active=False, default_incoming="deny")
    with pytest.raises(ValueError) as err:
        fw.plan(facts(listeners=[listener(11434)]), st, backend="ufw", ufw_enable=True)
    assert "refused" in str(err.value) and "ollama_firewall_ssh_allow" in str(err.value)
    p = fw.plan(facts(listeners=[listener(11434)]), st, backend="ufw", ufw_enable=True, ssh_allow=True)
    assert p["ufw"] == {"enable": True, "ssh_allow": True, "enable_unit": True}


def test_enabling_ufw_that_already_allows_ssh_is_fine():
    st = state(ufw_active=False, default_incoming="deny", rules=["22/tcp ALLOW IN Anywhere"])
    p = fw.plan(facts(listeners=[listener(11434)]), st, backend="ufw", ufw_enable=True)
    assert p["ufw"] == {"enable": True, "ssh_allow": False, "enable_unit": True}


def test_active_ufw_is_not_touched_for_ssh():
    p = fw.plan(facts(listeners=[listener(11434)]), state(ufw_active=True, default_incoming="deny"), backend="ufw")
    assert p["ufw"] == {"enable": False, "ssh_allow": False, "enable_unit": False}


def test_enabling_ufw_also_enables_its_unit_where_disabled():
    """`ufw enable` loads the rules now; only ufw.service loads them at boot."""
    st = state(ufw_active=False, default_incoming="allow")
    st["units"] = {"ufw.service": {"loaded": True, "active": False, "enabled": False}}
    assert fw.plan(facts(listeners=[listener(11434)]), st, backend="ufw", ufw_enable=True)["ufw"]["enable_unit"] is True
    st["units"]["ufw.service"]["enabled"] = True
    assert fw.plan(facts(listeners=[listener(11434)]), st, backend="ufw", ufw_enable=True)["ufw"]["enable_unit"] is False
    # No systemd: no unit to enable.
    st["units"]["ufw.service"]["enabled"] = False
    nosd = dict(facts(listeners=[listener(11434)]), systemd=False)
    assert fw.plan(nosd, st, backend="ufw", ufw_enable=True)["ufw"]["enable_unit"] is False


@pytest.mark.parametrize("rules,port,allowed", [
    (["22/tcp ALLOW IN Anywhere"], 22, True),
    (["22 ALLOW IN Anywhere"], 22, True),
    (["OpenSSH ALLOW IN Anywhere"], 22, True),
    (["2222/tcp LIMIT IN Anywhere"], 2222, True),
    (["20:30/tcp ALLOW IN Anywhere"], 22, True),
    (["22/udp ALLOW IN Anywhere"], 22, False),
    (["22/tcp DENY IN Anywhere"], 22, False),
    (["22/tcp ALLOW IN 10.0.0.0/8"], 22, False),
    (["22/tcp ALLOW OUT Anywhere"], 22, False),
])
def test_ufw_allows_port(rules, port, allowed):
    assert fw.ufw_allows_port(rules, port) is allowed


# -- what the tasks read from the plan ------------------------------------------------
def test_plan_detected_by_ollama_info_picks_the_backend():
    """ollama_info's firewall.detect (module_utils/ollama_netfilter.py) is the plan's input."""
    detect = detection({"nft": "/usr/sbin/nft", "ufw": "/usr/sbin/ufw"},
                       unit_states([{"Id": "ufw.service", "LoadState": "loaded", "ActiveState": "active",
                                     "UnitFileState": "enabled"}]),
                       parse_ufw("Status: active\nDefault: deny (incoming), allow (outgoing)\n"
                                 "22/tcp                     ALLOW IN    Anywhere\n"))
    assert fw.choose_backend("auto", detect) == ("ufw", None)
    p = fw.plan(facts(listeners=[listener(11434)]), detect)
    assert p["backend"] == "ufw" and p["tools"]["ufw"] == "/usr/sbin/ufw" and p["tools"]["iptables"] == ""


def test_plan_carries_every_backends_rules():
    p = fw.plan(facts(listeners=[listener(11434)], containers=PUBLISHED), NFT_ONLY, ports=[11500])
    assert p["nftables"] == fw.nftables_ruleset(p)
    assert p["iptables"] == {"ipv4": fw.iptables_rules(p, "ipv4"), "ipv6": fw.iptables_rules(p, "ipv6")}
    assert p["docker_user_rules"] == {"ipv4": fw.docker_user_rules(p, "ipv4"), "ipv6": fw.docker_user_rules(p, "ipv6")}
    assert p["ufw_rules"] == fw.ufw_rules(p) and p["rich_rules"] == fw.firewalld_rich_rules(p)
    assert p["iptables_chain"] is True and p["persist"] is True and p["act"] is True


def test_plan_act_when_something_to_close_or_an_earlier_run_to_undo():
    assert fw.plan(facts(), NFT_ONLY)["act"] is False
    assert fw.plan(facts(), NFT_ONLY, before={"backend": "nftables", "ports": [11434]})["act"] is True
    assert fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY)["act"] is True
    # Front open to anywhere and nothing to close: no chain.
    assert fw.plan(facts(), NFT_ONLY)["iptables_chain"] is False
    assert fw.plan(facts(), NFT_ONLY, front_sources=["10.0.0.0/8"])["iptables_chain"] is True


def test_plan_lists_the_earlier_runs_rules_no_longer_planned():
    before = {"ufw_rules": [{"rule": "deny", "port": "11434", "from_ip": "any"},
                            {"rule": "deny", "port": "11500", "from_ip": "any"}],
              "firewalld_rules": ['rule port port="11434" protocol="tcp" drop', 'rule port port="11500" protocol="tcp" drop']}
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, before=before)
    assert p["before"] == before
    assert p["ufw_stale"] == [{"rule": "deny", "port": "11500", "from_ip": "any"}]
    assert p["rich_stale"] == ['rule port port="11500" protocol="tcp" drop']
    assert fw.plan(facts(), NFT_ONLY)["ufw_stale"] == [] and fw.plan(facts(), NFT_ONLY)["before"] == {}


def test_plan_persists_nftables_iptables_and_docker_user_rules_only():
    ufw = state(ufw_active=True)
    assert fw.plan(facts(listeners=[listener(11434)]), ufw)["persist"] is False
    assert fw.plan(facts(listeners=[listener(11434)], containers=PUBLISHED), ufw)["persist"] is True
    assert fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, backend="iptables")["persist"] is True


def test_plan_firewalld_zone():
    fwd = state(tools={"firewall-cmd": "/usr/bin/firewall-cmd"}, units=units(firewalld="active"))
    fwd["firewalld_zone"] = "internal"
    assert fw.plan(facts(), fwd)["firewalld_zone"] == "internal"
    assert fw.plan(facts(), fwd, firewalld_zone="dmz")["firewalld_zone"] == "dmz"
    assert fw.plan(facts(), dict(fwd, firewalld_zone=None))["firewalld_zone"] == "public"
    assert fw.plan(facts(), NFT_ONLY, firewalld_zone="dmz")["firewalld_zone"] == ""


def test_plan_python_systemd_and_the_docker_record():
    p = fw.plan(dict(facts(), python="/opt/py/bin/python3", systemd=False), NFT_ONLY,
                state_file="/srv/toolkit/firewall.json")
    assert p["python"] == "/opt/py/bin/python3" and p["systemd"] is False
    assert p["docker_state_file"] == "/srv/toolkit/docker-republish.json"
    q = fw.plan(facts(), NFT_ONLY)
    assert q["python"] == "/usr/bin/python3" and q["systemd"] is True
    assert q["docker_state_file"] is None  # the role's default is stated in the role only
    assert q["republish"] == [] and q["republish_refused"] == []


def test_dropping_a_republished_container_renders_the_rules_again():
    p = fw.plan(facts(containers=PUBLISHED, others=PROXY), NFT_ONLY)
    assert p["docker_user_rules"]["ipv4"] and "11434" in p["nftables"]
    dropped = fw.drop_republished(p, facts(containers=PUBLISHED), ["ollama"])
    assert dropped["docker_user_rules"] == {"ipv4": [], "ipv6": []} and "11434" not in dropped["nftables"]
    assert dropped["act"] is False


# -- rendering --------------------------------------------------------------------------
def test_nftables_ruleset_front_anywhere():
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, ports=[11500])
    text = fw.nftables_ruleset(p)
    assert "table inet ollama_exposure_toolkit {" in text
    assert "delete table inet ollama_exposure_toolkit" in text
    assert "policy accept;" in text and "flush ruleset" not in text
    assert 'iif "lo" accept' in text
    assert "tcp dport 11443 accept" in text
    assert "tcp dport { 11434, 11500 } drop" in text
    assert text.index('iif "lo" accept') < text.index("drop")


def test_nftables_ruleset_front_restricted():
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_sources=["10.0.0.0/8", "2001:db8::/32"])
    text = fw.nftables_ruleset(p)
    assert "tcp dport 11443 ip saddr { 10.0.0.0/8 } accept" in text
    assert "tcp dport 11443 ip6 saddr { 2001:db8::/32 } accept" in text
    assert text.index("saddr { 10.0.0.0/8 }") < text.index("tcp dport 11443 drop")


def test_nftables_ruleset_without_front():
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_enabled=False)
    assert "11443" not in fw.nftables_ruleset(p)


def test_iptables_rules_in_order_and_as_iptables_prints_them():
    # Without the front's connection limit (0): the rules as they were before it.
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_sources=["10.0.0.0/8", "::/0"],
                front_conn_limit=0)
    v4 = [r["line"] for r in fw.iptables_rules(p, "ipv4")]
    assert v4 == ["-A OLLAMA-TOOLKIT -i lo -j RETURN",
                  "-A OLLAMA-TOOLKIT -s 10.0.0.0/8 -p tcp -m tcp --dport 11443 -j ACCEPT",
                  "-A OLLAMA-TOOLKIT -p tcp -m tcp --dport 11443 -j DROP",
                  "-A OLLAMA-TOOLKIT -p tcp -m tcp --dport 11434 -j DROP"]
    v6 = [r["line"] for r in fw.iptables_rules(p, "ipv6")]
    assert v6 == ["-A OLLAMA-TOOLKIT -i lo -j RETURN",
                  "-A OLLAMA-TOOLKIT -p tcp -m tcp --dport 11443 -j ACCEPT",
                  "-A OLLAMA-TOOLKIT -p tcp -m tcp --dport 11434 -j DROP"]
    assert fw.iptables_rules(p, "ipv4")[1]["source"] == "10.0.0.0/8"


def test_stale_chain():
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY)
    rules = fw.iptables_rules(p, "ipv4")
    live = ["-N OLLAMA-TOOLKIT"] + [r["line"] for r in rules]
    assert not fw.stale_chain(live, rules)
    assert not fw.stale_chain(live[:2], rules)  # missing rules are appended
    assert fw.stale_chain(live + ["-A OLLAMA-TOOLKIT -p tcp -m tcp --dport 9 -j DROP"], rules)
    assert fw.stale_chain(["-N OLLAMA-TOOLKIT", rules[1]["line"]], rules)  # order differs


def test_docker_user_rules_match_the_original_port():
    ctrs = [{"name": "ollama", "ports": [{"ip": "0.0.0.0", "private_port": 11434, "public_port": 8434}]}]
    p = fw.plan(facts(containers=ctrs), NFT_ONLY)
    assert fw.docker_user_rules(p, "ipv4") == [
        "! -s 127.0.0.0/8 -p tcp -m conntrack --ctorigdstport 8434 --ctdir ORIGINAL "
        "-m comment --comment ollama-exposure-toolkit -j DROP"]
    assert fw.docker_user_rules(p, "ipv6")[0].startswith("! -s ::1/128 ")


def test_ufw_rules():
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY)
    assert fw.ufw_rules(p) == [{"rule": "allow", "port": "11443", "from_ip": "any"},
                               {"rule": "deny", "port": "11434", "from_ip": "any"}]
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_sources=["10.0.0.0/8"])
    assert fw.ufw_rules(p) == [{"rule": "allow", "port": "11443", "from_ip": "10.0.0.0/8"},
                               {"rule": "deny", "port": "11443", "from_ip": "any"},
                               {"rule": "deny", "port": "11434", "from_ip": "any"}]


def test_firewalld_rich_rules():
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_sources=["10.0.0.0/8"])
    assert fw.firewalld_rich_rules(p) == [
        'rule priority="-2" family="ipv4" source address="10.0.0.0/8" port port="11443" protocol="tcp" accept',
        'rule priority="-1" port port="11443" protocol="tcp" drop',
        'rule port port="11434" protocol="tcp" drop']


# -- the front's per-source connection limit ------------------------------------------------
LIMIT_V4 = ("-p tcp -m tcp --dport 11443 -m conntrack --ctstate NEW -m connlimit --connlimit-above %d "
            "--connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with tcp-reset")


def without_conn_limit(text):
    """An nftables table without the limit's sets and rules."""
    out, in_set = [], False
    for line in text.split("\n"):
        if line.startswith("\tset front_conn_"):
            in_set = True
        elif in_set:
            in_set = line != "\t}"
        elif "ct count over" not in line:
            out.append(line)
    return "\n".join(out)


def test_conn_limit_default_is_on_and_reported_applied():
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY)
    assert p["front_conn_limit"]["limit"] == 64 and p["front_conn_limit"]["ipv6_prefix"] == 64
    assert p["front_conn_limit"]["applied"] is True
    assert "64 concurrent connections" in p["front_conn_limit"]["why"] and "/64" in p["front_conn_limit"]["why"]


def test_conn_limit_digits_as_extra_vars_give():
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_conn_limit="8",
                front_conn_limit_ipv6_prefix="56")
    assert p["front_conn_limit"]["limit"] == 8 and p["front_conn_limit"]["ipv6_prefix"] == 56


def test_conn_limit_every_bad_variable_at_once():
    with pytest.raises(ValueError) as err:
        fw.plan(facts(), state(), front_conn_limit=-3, front_conn_limit_ipv6_prefix=200, ports=[0])
    for name in ("ollama_firewall_front_conn_limit must", "ollama_firewall_front_conn_limit_ipv6_prefix must",
                 "ollama_firewall_ports"):
        assert name in str(err.value)


def test_conn_limit_nftables_front_anywhere():
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_conn_limit=8)
    text = p["nftables"]
    v4 = "tcp dport 11443 ct state new add @front_conn_ipv4 { ip saddr ct count over 8 } reject with tcp reset"
    v6 = ("tcp dport 11443 ct state new add @front_conn_ipv6 "
          "{ ip6 saddr and ffff:ffff:ffff:ffff:: ct count over 8 } reject with tcp reset")
    assert "\t\t" + v4 + "\n" in text and "\t\t" + v6 + "\n" in text
    for family in ("ipv4", "ipv6"):
        assert ("\tset front_conn_%s {\n\t\ttype %s_addr\n\t\tsize 65535\n\t\tflags dynamic\n\t}\n"
                % (family, family)) in text
    # Loopback first, the limit before the accept, the Ollama port still dropped.
    assert text.index('iif "lo" accept') < text.index(v4) < text.index(v6) < text.index("tcp dport 11443 accept")
    assert "tcp dport { 11434 } drop" in text
    # The sets are in the toolkit's table (the rollback deletes the table).
    assert text.index("table inet ollama_exposure_toolkit {") < text.index("set front_conn_ipv4")


def test_conn_limit_nftables_ipv6_prefix():
    text = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_conn_limit_ipv6_prefix=56)["nftables"]
    assert "{ ip6 saddr and ffff:ffff:ffff:ff00:: ct count over 64 }" in text
    text = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_conn_limit_ipv6_prefix=128)["nftables"]
    assert "{ ip6 saddr ct count over 64 }" in text
    text = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_conn_limit_ipv6_prefix=60)["nftables"]
    assert "{ ip6 saddr and ffff:ffff:ffff:fff0:: ct count over 64 }" in text


def test_conn_limit_nftables_front_restricted():
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_sources=["10.0.0.0/8"], front_conn_limit=8)
    text = p["nftables"]
    limit = ("tcp dport 11443 ip saddr { 10.0.0.0/8 } ct state new add @front_conn_ipv4 "
             "{ ip saddr ct count over 8 } reject with tcp reset")
    assert limit in text
    assert text.index(limit) < text.index("tcp dport 11443 ip saddr { 10.0.0.0/8 } accept")
    # No IPv6 source is allowed: no IPv6 set or limit (the drop takes it).
    assert "front_conn_ipv6" not in text and "tcp dport 11443 drop" in text


def test_conn_limit_off_or_no_front_renders_the_rules_as_before():
    base = facts(listeners=[listener(11434)])
    off = fw.plan(base, NFT_ONLY, front_conn_limit=0)
    assert "ct count" not in off["nftables"] and "set front_conn" not in off["nftables"]
    assert "connlimit" not in str(off["iptables"])
    assert off["front_conn_limit"]["applied"] is False and "off" in off["front_conn_limit"]["why"]
    assert "ollama_firewall_front_conn_limit is 0" in off["front_conn_limit"]["why"]
    # The limit adds its sets and rules, and changes nothing else in the table.
    on = fw.plan(base, NFT_ONLY, front_conn_limit=8)
    assert without_conn_limit(on["nftables"]) == off["nftables"]
    assert [r for r in on["iptables"]["ipv4"] if not r["command"]] == off["iptables"]["ipv4"]
    nofront = fw.plan(base, NFT_ONLY, front_enabled=False, front_conn_limit=8)
    assert "11443" not in nofront["nftables"] and "connlimit" not in str(nofront["iptables"])
    assert nofront["front_conn_limit"]["applied"] is False
    assert "ollama_firewall_front_enabled" in nofront["front_conn_limit"]["why"]


def test_conn_limit_iptables_before_each_accept():
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, backend="iptables",
                front_sources=["10.0.0.0/8", "::/0"], front_conn_limit=8, front_conn_limit_ipv6_prefix=48)
    v4 = [r["line"] for r in p["iptables"]["ipv4"]]
    assert v4 == ["-A OLLAMA-TOOLKIT -i lo -j RETURN",
                  "-A OLLAMA-TOOLKIT -s 10.0.0.0/8 " + LIMIT_V4 % 8,
                  "-A OLLAMA-TOOLKIT -s 10.0.0.0/8 -p tcp -m tcp --dport 11443 -j ACCEPT",
                  "-A OLLAMA-TOOLKIT -p tcp -m tcp --dport 11443 -j DROP",
                  "-A OLLAMA-TOOLKIT -p tcp -m tcp --dport 11434 -j DROP"]
    v6 = [r["line"] for r in p["iptables"]["ipv6"]]
    assert v6 == ["-A OLLAMA-TOOLKIT -i lo -j RETURN",
                  "-A OLLAMA-TOOLKIT " + (LIMIT_V4 % 8).replace("--connlimit-mask 32", "--connlimit-mask 48"),
                  "-A OLLAMA-TOOLKIT -p tcp -m tcp --dport 11443 -j ACCEPT",
                  "-A OLLAMA-TOOLKIT -p tcp -m tcp --dport 11434 -j DROP"]
    # The module cannot express connlimit: the tasks insert it with the command, its args as -S prints it.
    assert [r["command"] for r in p["iptables"]["ipv4"]] == [False, True, False, False, False]
    limit = p["iptables"]["ipv4"][1]
    assert limit["line"] == "-A OLLAMA-TOOLKIT " + limit["args"] and limit["jump"] == "REJECT"
    assert p["front_conn_limit"]["applied"] is True and p["front_conn_limit"]["why"].startswith("iptables:")
    # A chain whose live rules lack the limit (an earlier version's) is stale: flushed and rebuilt.
    old = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, backend="iptables", front_conn_limit=0)
    live = ["-N OLLAMA-TOOLKIT"] + [r["line"] for r in old["iptables"]["ipv4"]]
    new = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, backend="iptables", front_conn_limit=8)
    assert fw.stale_chain(live, new["iptables"]["ipv4"])
    assert not fw.stale_chain(["-N OLLAMA-TOOLKIT"] + [r["line"] for r in new["iptables"]["ipv4"]],
                              new["iptables"]["ipv4"])
    # ...and so is one with another limit.
    other = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, backend="iptables", front_conn_limit=9)
    assert fw.stale_chain(["-N OLLAMA-TOOLKIT"] + [r["line"] for r in new["iptables"]["ipv4"]],
                          other["iptables"]["ipv4"])


def test_conn_limit_iptables_chain_is_wanted_for_the_limit_alone():
    before = {"backend": "iptables", "ports": [11434]}
    # Front open to anywhere, nothing to close, an earlier run to keep in step: the limit needs the chain.
    p = fw.plan(facts(), NFT_ONLY, backend="iptables", before=before)
    assert p["act"] is True and p["iptables_chain"] is True
    assert [r["line"] for r in p["iptables"]["ipv4"]][1:] == [
        "-A OLLAMA-TOOLKIT " + LIMIT_V4 % 64, "-A OLLAMA-TOOLKIT -p tcp -m tcp --dport 11443 -j ACCEPT"]
    assert fw.plan(facts(), NFT_ONLY, backend="iptables", before=before, front_conn_limit=0)["iptables_chain"] is False
    # Nothing to do on the host: nothing applied, said so.
    idle = fw.plan(facts(), NFT_ONLY, backend="iptables")
    assert idle["act"] is False and idle["front_conn_limit"]["applied"] is False
    assert "no rule is added" in idle["front_conn_limit"]["why"]


def test_conn_limit_ufw_and_firewalld_cannot_and_say_so():
    ufw = fw.plan(facts(listeners=[listener(11434)]), state(ufw_active=True), front_conn_limit=8)
    assert ufw["backend"] == "ufw"
    assert ufw["front_conn_limit"] == {"limit": 8, "ipv6_prefix": 64, "exempt": {"ipv4": [], "ipv6": []},
                                       "applied": False, "why": fw.UFW_NO_CONN_LIMIT}
    assert "ufw" in fw.UFW_NO_CONN_LIMIT and "rate" in fw.UFW_NO_CONN_LIMIT and "not applied" in fw.UFW_NO_CONN_LIMIT
    # Nothing faked: no ufw `limit` rule, the rules are those without the limit.
    assert ufw["ufw_rules"] == fw.plan(facts(listeners=[listener(11434)]), state(ufw_active=True),
                                       front_conn_limit=0)["ufw_rules"]
    assert all(r["rule"] != "limit" for r in ufw["ufw_rules"])
    fwd_state = state(tools={"firewall-cmd": "/usr/bin/firewall-cmd"}, units=units(firewalld="active"))
    fwd = fw.plan(facts(listeners=[listener(11434)]), fwd_state, front_conn_limit=8)
    assert fwd["backend"] == "firewalld" and fwd["front_conn_limit"]["applied"] is False
    assert fwd["front_conn_limit"]["why"] == fw.FIREWALLD_NO_CONN_LIMIT and "rich rules" in fw.FIREWALLD_NO_CONN_LIMIT
    assert not any("limit" in r for r in fwd["rich_rules"])
    assert fwd["rich_rules"] == fw.plan(facts(listeners=[listener(11434)]), fwd_state,
                                        front_conn_limit=0)["rich_rules"]


# -- sources the limit does not count (ollama_firewall_front_conn_limit_exempt) -----------
def test_conn_limit_exempt_default_is_none_and_entries_are_collapsed_by_family():
    assert fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY)["front_conn_limit"]["exempt"] == {
        "ipv4": [], "ipv6": []}
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_conn_limit_exempt=[
        "10.0.0.5", "10.0.0.0/8", " 192.168.1.7/24", "192.168.2.0/24", "2001:db8::1", "2001:db8::/64"])
    # An entry inside another goes; host bits are dropped; adjacent networks stay apart (no overlap).
    assert p["front_conn_limit"]["exempt"] == {"ipv4": ["10.0.0.0/8", "192.168.1.0/24", "192.168.2.0/24"],
                                               "ipv6": ["2001:db8::/64"]}
    why = p["front_conn_limit"]["why"]
    assert why.endswith("not counted (exempt): 10.0.0.0/8, 192.168.1.0/24, 192.168.2.0/24, 2001:db8::/64"), why


@pytest.mark.parametrize("exempt", [["10.0.0.300"], ["nat-gateway"], ["10.0.0.0/33"], [5], [True], [None],
                                    "10.0.0.1", {"a": 1}])
def test_conn_limit_exempt_bad_entries_are_named(exempt):
    with pytest.raises(ValueError) as err:
        fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_conn_limit_exempt=exempt)
    assert "ollama_firewall_front_conn_limit_exempt" in str(err.value)
    assert "ollama_front_rate_exempt" in str(err.value)


def test_conn_limit_exempt_every_bad_entry_and_variable_at_once():
    with pytest.raises(ValueError) as err:
        fw.plan(facts(), state(), front_conn_limit=-1, front_conn_limit_exempt=["10.0.0.1", "bad", "::g"])
    text = str(err.value)
    assert "ollama_firewall_front_conn_limit must" in text and "'bad'" in text and "'::g'" in text
    assert "'10.0.0.1'" not in text


def test_conn_limit_exempt_nftables_skips_the_limit_not_the_sources():
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_sources=["10.0.0.0/8", "::/0"], front_conn_limit=8,
                front_conn_limit_exempt=["10.1.2.3", "192.0.2.0/24", "2001:db8::/64"])
    text = p["nftables"]
    v4 = ("tcp dport 11443 ip saddr { 10.0.0.0/8 } ip saddr != { 10.1.2.3/32, 192.0.2.0/24 } ct state new "
          "add @front_conn_ipv4 { ip saddr ct count over 8 } reject with tcp reset")
    v6 = ("tcp dport 11443 ip6 saddr != { 2001:db8::/64 } ct state new add @front_conn_ipv6 "
          "{ ip6 saddr and ffff:ffff:ffff:ffff:: ct count over 8 } reject with tcp reset")
    assert "\t\t" + v4 + "\n" in text and "\t\t" + v6 + "\n" in text
    # The exempt sources reach only what the sources allow: the accept and the drop are unchanged.
    assert without_conn_limit(text) == without_conn_limit(fw.plan(
        facts(listeners=[listener(11434)]), NFT_ONLY, front_sources=["10.0.0.0/8", "::/0"], front_conn_limit=8)["nftables"])
    assert text.index(v4) < text.index("tcp dport 11443 ip saddr { 10.0.0.0/8 } accept") < text.index(
        "tcp dport 11443 drop")
    assert "192.0.2.0/24 } accept" not in text


def test_conn_limit_exempt_iptables_accepts_the_exempt_part_of_each_source_first():
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, backend="iptables",
                front_sources=["10.0.0.0/8", "172.16.5.0/24", "192.168.0.0/16", "::/0"], front_conn_limit=8,
                front_conn_limit_exempt=["10.9.9.9", "172.16.0.0/12", "203.0.113.0/24", "2001:db8::/64"])
    v4 = [r["line"] for r in p["iptables"]["ipv4"]]
    assert v4 == ["-A OLLAMA-TOOLKIT -i lo -j RETURN",
                  # Inside the source: accepted before the limit counts it.
                  "-A OLLAMA-TOOLKIT -s 10.9.9.9/32 -p tcp -m tcp --dport 11443 -j ACCEPT",
                  "-A OLLAMA-TOOLKIT -s 10.0.0.0/8 " + LIMIT_V4 % 8,
                  "-A OLLAMA-TOOLKIT -s 10.0.0.0/8 -p tcp -m tcp --dport 11443 -j ACCEPT",
                  # The whole source is exempt: no limit for it.
                  "-A OLLAMA-TOOLKIT -s 172.16.5.0/24 -p tcp -m tcp --dport 11443 -j ACCEPT",
                  # Apart from every exempt network: limited as before; 203.0.113.0/24 is not allowed at all.
                  "-A OLLAMA-TOOLKIT -s 192.168.0.0/16 " + LIMIT_V4 % 8,
                  "-A OLLAMA-TOOLKIT -s 192.168.0.0/16 -p tcp -m tcp --dport 11443 -j ACCEPT",
                  "-A OLLAMA-TOOLKIT -p tcp -m tcp --dport 11443 -j DROP",
                  "-A OLLAMA-TOOLKIT -p tcp -m tcp --dport 11434 -j DROP"]
    assert [r["command"] for r in p["iptables"]["ipv4"]] == [False, False, True, False, False, True, False, False, False]
    assert p["iptables"]["ipv4"][1]["source"] == "10.9.9.9/32" and p["iptables"]["ipv4"][1]["jump"] == "ACCEPT"
    v6 = [r["line"] for r in p["iptables"]["ipv6"]]
    assert v6[:4] == ["-A OLLAMA-TOOLKIT -i lo -j RETURN",
                      "-A OLLAMA-TOOLKIT -s 2001:db8::/64 -p tcp -m tcp --dport 11443 -j ACCEPT",
                      "-A OLLAMA-TOOLKIT " + (LIMIT_V4 % 8).replace("--connlimit-mask 32", "--connlimit-mask 64"),
                      "-A OLLAMA-TOOLKIT -p tcp -m tcp --dport 11443 -j ACCEPT"]
    # A chain built without the exemption is stale: flushed and rebuilt.
    old = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, backend="iptables", front_conn_limit=8)
    new = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, backend="iptables", front_conn_limit=8,
                  front_conn_limit_exempt=["10.9.9.9"])
    assert fw.stale_chain(["-N OLLAMA-TOOLKIT"] + [r["line"] for r in old["iptables"]["ipv4"]], new["iptables"]["ipv4"])


def test_conn_limit_exempt_everything_or_without_limit():
    p = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, backend="iptables", front_conn_limit=8,
                front_conn_limit_exempt=["0.0.0.0/0"])
    assert "connlimit" not in str(p["iptables"]["ipv4"]) and "connlimit" in str(p["iptables"]["ipv6"])
    # Without a limit there is nothing to exempt: the rules are those without exemption.
    off = fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, backend="iptables", front_conn_limit=0,
                  front_conn_limit_exempt=["10.9.9.9", "2001:db8::/64"])
    assert off["iptables"] == fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, backend="iptables",
                                      front_conn_limit=0)["iptables"]
    assert "!=" not in fw.plan(facts(listeners=[listener(11434)]), NFT_ONLY, front_conn_limit=0,
                               front_conn_limit_exempt=["10.9.9.9"])["nftables"]


EXEMPT_PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [%s/roles/ollama_firewall/defaults/main.yml]
  tasks:
    - ansible.builtin.debug:
        msg: >-
          {{ {'listeners': [{'port': 11434, 'address': '::', 'pid': 1}]} | ollama_firewall_plan(
             {'tools': {'nft': '/usr/sbin/nft'}, 'units': {'nftables.service': {'active': true}}},
             front_conn_limit=8, front_conn_limit_exempt=ollama_firewall_front_conn_limit_exempt) }}
"""


def exempt_play(tmp_path, *extra):
    from playbook_run import ROOT, ansible_playbook
    play = tmp_path / "exempt.yml"
    play.write_text(EXEMPT_PLAY % ROOT)
    return ansible_playbook([str(play), "-i", "localhost,"] + list(extra), env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"},
                            merge=False)


def test_conn_limit_exempt_defaults_to_the_fronts_list_in_the_role(tmp_path):
    """Ansible itself: the role's default takes the front's ollama_front_rate_exempt
    into the plan; a bad entry there fails naming both variables."""
    import json
    run = exempt_play(tmp_path, "-e", '{"ollama_front_rate_exempt": ["198.51.100.7", "2001:db8:1::/64"]}')
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    plan = json.loads(run.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    assert plan["front_conn_limit"]["exempt"] == {"ipv4": ["198.51.100.7/32"], "ipv6": ["2001:db8:1::/64"]}
    assert "ip saddr != { 198.51.100.7/32 }" in plan["nftables"]
    unset = exempt_play(tmp_path)
    assert unset.returncode == 0, unset.stdout[-2000:] + unset.stderr[-2000:]
    plan = json.loads(unset.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    assert plan["front_conn_limit"]["exempt"] == {"ipv4": [], "ipv6": []} and "!=" not in plan["nftables"]
    bad = exempt_play(tmp_path, "-e", '{"ollama_front_rate_exempt": ["office-nat"]}')
    assert bad.returncode != 0
    assert "ollama_firewall_front_conn_limit_exempt: 'office-nat' is not a valid address or CIDR" in bad.stdout


# -- ollama_info: other_listeners ---------------------------------------------------------
TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0
   1: 0100007F:2CAA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 222 1 0 100 0 0 10 0
   2: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0 100 0 0 10 0
"""


def test_other_listeners_are_reported_without_ollamas_own(monkeypatch):
    monkeypatch.setattr(ollama_info, "read_text", lambda path, binary=False: TCP if path == "/proc/net/tcp" else "")
    auditor = ollama_info.Auditor.__new__(ollama_info.Auditor)
    auditor.warnings, auditor.others = [], []
    procs = [{"pid": 5, "container": False, "_inodes": {222}, "_fd_readable": True, "unit": "ollama.service",
              "bind": parse_ollama_host("")}]
    found = auditor.listeners(procs)
    assert [(s["address"], s["port"]) for s in found] == [("127.0.0.1", 11434)]
    assert auditor.others == [{"address": "0.0.0.0", "port": 22, "family": "ipv4", "scope": "wildcard"},
                              {"address": "0.0.0.0", "port": 8081, "family": "ipv4", "scope": "wildcard"}]


# -- the doors (issue 26): forwarders and other model servers ----------------------------
# Fixture facts shaped per ollama_info's contract (plugin_utils/ollama_doors.py).
def wide(port, address="0.0.0.0", family="ipv4"):
    return {"address": address, "port": port, "family": family, "scope": "wildcard"}


NGINX = {"kind": "nginx", "pid": 40, "unit": "nginx.service", "process": "nginx",
         "listen": [wide(80), wide(80, "::", "ipv6")], "upstream": [{"host": "127.0.0.1", "port": 11434}],
         "to_model": "ollama", "auth": False,
         "location": {"file": "/etc/nginx/sites-enabled/default", "line": 12}, "evidence": "proxy_pass"}
NGINX_AUTH = dict(NGINX, listen=[wide(8443)], auth=True, location={"file": "/etc/nginx/sites-enabled/auth", "line": 4})
WEBSITE = dict(NGINX, listen=[wide(8088)], upstream=[], to_model=None, auth=None, location=None)
SOCAT = {"kind": "socat", "pid": 41, "unit": "socat-ollama.service", "process": "socat", "listen": [wide(8081)],
         "upstream": [{"host": "127.0.0.1", "port": 11434}], "to_model": "ollama", "auth": None, "location": None,
         "evidence": "socat TCP-LISTEN:8081,fork TCP:127.0.0.1:11434"}
SSHD = {"kind": "ssh", "pid": 2, "unit": "ssh.service", "process": "sshd", "listen": [wide(22), wide(2222)],
        "upstream": [{"host": "127.0.0.1", "port": 11434}], "to_model": "ollama", "auth": None, "location": None,
        "evidence": "GatewayPorts"}


def server(kind, port, key=False, container=None, listen=None):
    return {"kind": kind, "source": "container" if container else "process", "pid": 50, "unit":
            None if container else "%s.service" % kind, "container": container, "image": None, "argv": [kind],
            "process": kind, "listen": [wide(port)] if listen is None else listen,
            "bind": {"address": "0.0.0.0", "port": port, "scope": "wildcard", "exposed": True, "origin": "default"},
            "key": {"set": key, "origin": "env" if key else None}, "env": {}, "version": None,
            "rebind": {"possible": False, "env": None, "value": None, "why": "x"}}


def door_facts(forwarders=(), servers=(), others=()):
    found = facts(listeners=[listener(11434, "127.0.0.1")], others=others)
    found.update(forwarders=list(forwarders), servers=list(servers))
    return found


def test_doors_are_not_closed_without_the_opt_ins():
    doors = door_facts([NGINX, SOCAT], [server("vllm", 8000)], others=[wide(80), wide(8081), wide(8000)])
    p = fw.plan(doors, NFT_ONLY)
    assert p["ports"] == [11434] and p["conflicts"] == {}
    assert [(d["port"], d["close"]) for d in p["doors"]] == [(80, False), (8000, False), (8081, False)]
    assert "left open (ollama_firewall_close_forwarders is off)" in p["doors"][0]["why"]
    assert "left open (ollama_firewall_close_model_servers is off)" in p["doors"][1]["why"]


def test_close_forwarders_closes_each_open_forwarder_and_says_why():
    doors = door_facts([NGINX, NGINX_AUTH, SOCAT, WEBSITE], [server("vllm", 8000)],
                       others=[wide(80), wide(8081), wide(8443), wide(8088)])
    p = fw.plan(doors, NFT_ONLY, close_forwarders=True)
    assert p["ports"] == [80, 8081, 11434]
    # Another program's socket on a door closed on purpose is no conflict.
    assert p["conflicts"] == {}
    why = p["reasons"]["80"][0]
    for words in ("forwarder nginx", "process nginx", "unit nginx.service", "/etc/nginx/sites-enabled/default:12",
                  "port 80", "serves ollama without credentials", "ollama_firewall_close_forwarders"):
        assert words in why
    assert "socat" in p["reasons"]["8081"][0] and "no credentials the read can see" in p["reasons"]["8081"][0]
    left = dict((d["port"], d["why"]) for d in p["doors"] if not d["close"])
    assert "asks for credentials" in left[8443]
    assert "cannot tell that it forwards to a model" in left[8088] and "ollama_firewall_close_ports" in left[8088]
    assert "ollama_firewall_close_model_servers is off" in left[8000]
    assert "tcp dport { 80, 8081, 11434 } drop" in p["nftables"]
    assert {"rule": "deny", "port": "80", "from_ip": "any"} in p["ufw_rules"]
    assert 'rule port port="8081" protocol="tcp" drop' in p["rich_rules"]
    assert any(r["line"].endswith("--dport 80 -j DROP") for r in p["iptables"]["ipv6"])


def test_close_model_servers_closes_servers_without_a_key_and_open_webui():
    doors = door_facts([NGINX], [server("vllm", 8000), server("tgi", 3000, key=True), server("open-webui", 3001),
                                 server("localai", 8080, listen=[])])
    p = fw.plan(doors, NFT_ONLY, close_model_servers=True)
    # LocalAI configured wide but not listening now: its next start is closed too.
    assert p["ports"] == [3001, 8000, 8080, 11434]
    assert "server vllm (process vllm, unit vllm.service) on port 8000 serves vllm without credentials" \
        in p["reasons"]["8000"][0]
    assert "with no credentials the read can see" in p["reasons"]["3001"][0]
    assert [d["close"] for d in p["doors"] if d["port"] == 3000] == [False]
    assert "80" not in p["reasons"]


def test_the_ssh_port_and_the_fronts_port_are_never_closed_as_doors():
    doors = door_facts([SSHD, dict(NGINX, listen=[wide(11443)])], [server("vllm", 2200)])
    p = fw.plan(doors, NFT_ONLY, close_forwarders=True, close_model_servers=True, ssh_port=2200)
    assert p["ports"] == [2222, 11434]
    left = dict((d["port"], d["why"]) for d in p["doors"] if not d["close"])
    assert "the SSH port is never closed" in left[22] and "the SSH port is never closed" in left[2200]
    assert "the front's port" in left[11443]
    # Without the front its port is a door like another.
    assert 11443 in fw.plan(doors, NFT_ONLY, close_forwarders=True, ssh_port=2200, front_enabled=False)["ports"]


def test_close_ports_closes_whatever_listens_there():
    p = fw.plan(door_facts(others=[wide(9000)]), NFT_ONLY, close_ports=[9000, "9001", 9000])
    assert p["ports"] == [9000, 9001, 11434] and p["conflicts"] == {}
    assert p["reasons"]["9000"] == ["ollama_firewall_close_ports"]
    assert p["close"] == {"forwarders": False, "model_servers": False, "ports": [9000, 9001]}
    # ollama_firewall_ports, as before: another program's port is a conflict, left open.
    assert fw.plan(door_facts(others=[wide(9000)]), NFT_ONLY, ports=[9000])["conflicts"] == {"9000": ["0.0.0.0"]}


@pytest.mark.parametrize("kwargs, words", [
    ({"close_ports": [22]}, "refused: ollama_firewall_close_ports holds 22, the SSH port"),
    ({"close_ports": [2222], "ssh_port": 2222}, "ollama_firewall_close_ports holds 2222"),
    ({"close_ports": [11443]}, "ollama_firewall_close_ports holds 11443, the front's port"),
    ({"close_ports": [0]}, "ollama_firewall_close_ports: 0 is not a TCP port"),
    ({"close_ports": ["http"]}, "ollama_firewall_close_ports: 'http' is not a TCP port"),
    ({"close_ports": [True]}, "ollama_firewall_close_ports: True is not a TCP port"),
    ({"close_ports": "8000"}, "ollama_firewall_close_ports must be a list"),
    ({"close_forwarders": "maybe"}, "ollama_firewall_close_forwarders must be a boolean"),
    ({"close_model_servers": 3}, "ollama_firewall_close_model_servers must be a boolean"),
])
def test_bad_door_input_names_the_variable(kwargs, words):
    with pytest.raises(ValueError) as err:
        fw.plan(door_facts([NGINX]), NFT_ONLY, **kwargs)
    assert words in str(err.value)


def test_door_opt_ins_take_what_extra_vars_give():
    p = fw.plan(door_facts([NGINX], [server("vllm", 8000)]), NFT_ONLY, close_forwarders="true",
                close_model_servers="no")
    assert p["ports"] == [80, 11434]


def test_a_door_in_a_container_is_closed_in_docker_user_too_and_stays_after_a_republish():
    p = fw.plan(door_facts([], [server("vllm", 8000, container="vllm")]), NFT_ONLY, close_model_servers=True)
    assert p["ports"] == [8000, 11434]
    assert [(d["port"], d["container"], d.get("door")) for d in p["docker"]] == [(8000, "vllm", True)]
    assert any("--ctorigdstport 8000" in r for r in p["docker_user_rules"]["ipv4"])
    kept = fw.drop_republished(p, door_facts(), ["ollama"])
    assert [d["port"] for d in kept["docker"]] == [8000] and kept["ports"] == [8000, 11434]
    assert fw.plan(door_facts([], [server("vllm", 8000, container="vllm")]), NFT_ONLY, close_model_servers=True,
                   docker_user=False)["docker"] == []
