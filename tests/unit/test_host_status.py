"""The host status decision table: exposed, mitigated (closed by the
toolkit's rules, proven on the host and from outside), secure; and why a
host could not be audited, in the operator's words."""

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import (
    apply_mitigations, evaluate_host, host_status, mitigation)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import build_report, explain_failure, records_from_results

RULE_IN = "nftables table inet ollama_exposure_toolkit chain input drops tcp/11434"
RULE_FWD = "iptables DOCKER-USER drops tcp/11434 (Docker-published) from all but loopback"
ADDRESSES = ["172.30.61.5", "fd00:6c61:62::5"]


def closures(inbound=("ipv4", "ipv6"), forward=(), port="11434"):
    return {"input": dict((f, {port: RULE_IN} if f in inbound else {}) for f in ("ipv4", "ipv6")),
            "forward": dict((f, {port: RULE_FWD} if f in forward else {}) for f in ("ipv4", "ipv6")),
            "errors": []}


def probe(state4="filtered", state6="filtered", port=11434):
    results = []
    if state4:
        results.append({"address": "172.30.61.5", "port": port, "state": state4})
    if state6:
        results.append({"address": "fd00:6c61:62::5", "port": port, "state": state6})
    return results


SOCKET = {"id": "OLLAMA-BIND-001", "port": 11434}
PUBLISHED = {"id": "OLLAMA-DOCKER-001", "port": 11434}


@pytest.mark.parametrize("finding, rules, answers, mitigated, why", [
    # closed by the input rule on both families, silent from outside on both
    (SOCKET, closures(), probe(), True, None),
    (SOCKET, closures(), probe("closed", "filtered"), True, None),
    # the IPv6 path is open: no rule for it, or the probe got an answer
    (SOCKET, closures(inbound=("ipv4",)), probe(), False, "over ipv6"),
    (SOCKET, closures(), probe("filtered", "exposed"), False, "answers from outside"),
    # not proven from outside: not probed at all, or not over IPv6
    (SOCKET, closures(), [], False, "not probed"),
    (SOCKET, closures(), probe(state6=None), False, "not probed from outside over ipv6"),
    # a rule for another port closes nothing
    (SOCKET, closures(port="8080"), probe(), False, "no firewall rule"),
    # flushed: no rule at all, although the probe was silent (e.g. network down)
    (SOCKET, {}, probe(), False, "no firewall rule"),
    # Docker-published: DOCKER-USER for IPv4 (DNAT goes through FORWARD) ...
    (PUBLISHED, closures(forward=("ipv4",), inbound=("ipv6",)), probe(), True, None),
    # ... an INPUT rule alone does not stop DNAT'd IPv4 (wrong chain)
    (PUBLISHED, closures(inbound=("ipv4", "ipv6")), probe(), False, "over ipv4"),
    # ... and IPv6 reaches docker-proxy through INPUT
    (PUBLISHED, closures(forward=("ipv4",), inbound=()), probe(), False, "over ipv6"),
    # the outside probe's own answer is never mitigated
    ({"id": "OLLAMA-NET-001", "port": 11434}, closures(), probe(), False, "not a port exposure"),
    ({"id": "OLLAMA-BIND-001"}, closures(), probe(), False, "not a port exposure"),
])
def test_mitigation_table(finding, rules, answers, mitigated, why):
    text, reason = mitigation(finding, rules, answers, ADDRESSES)
    assert bool(text) is mitigated
    if mitigated:
        assert reason is None and "no answer from outside" in text
    else:
        assert text is None and why in reason


def test_a_host_without_ipv6_needs_no_ipv6_rule():
    text, _ = mitigation(SOCKET, closures(inbound=("ipv4",)), probe(state6=None), ["172.30.61.5"])
    assert text and RULE_IN in text


def test_no_address_no_proof():
    assert mitigation(SOCKET, closures(), probe(), [])[0] is None


def _facts(catalog, firewall, sock_port=11434):
    facts = {"supported": True, "addresses": ADDRESSES, "firewall": firewall,
             "listeners": [{"address": "::", "port": sock_port, "family": "ipv6", "scope": "wildcard",
                            "pid": 7, "unit": None}],
             "processes": [{"pid": 7, "argv": ["ollama", "serve"], "unit": None, "container": None,
                            "bind": {"value": "0.0.0.0", "listen": "0.0.0.0:11434", "port": 11434}}],
             "services": [], "containers": [], "installs": []}
    facts["findings"] = evaluate_host(facts, catalog, "h")
    return facts


@pytest.mark.parametrize("firewall, answers, status", [
    (closures(), probe(), "mitigated"),
    (closures(), probe("exposed", "exposed"), "exposed"),
    ({}, probe(), "exposed"),
    (closures(inbound=("ipv4",)), probe(), "exposed"),
])
def test_host_status_in_the_report(catalog, firewall, answers, status):
    facts = _facts(catalog, firewall)
    records = records_from_results({"h": facts})
    from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_probe import probe_findings
    probe_hosts = {"h": {"results": answers, "findings": probe_findings({"results": answers}, catalog, "h")}}
    report = build_report(records, probe_hosts, catalog, "2026-11-29T00:00:00Z")
    assert report["hosts"]["h"]["status"] == status
    bind = [f for f in report["findings"] if f["id"] == "OLLAMA-BIND-001"]
    assert bind, "the finding stays visible until the service itself is fixed"
    assert bool(bind[0].get("mitigated_by")) is (status == "mitigated")
    assert report["summary"]["by_status"] == {status: 1}


def test_report_keeps_what_the_rules_close_not_which_firewall(catalog):
    """ollama_info's firewall.detect is for the firewall role's plan, not for findings.json."""
    fw = dict(closures(), detect={"tools": {"nft": "/usr/sbin/nft"}, "units": {}, "ufw": {}, "firewalld_zone": None})
    report = build_report(records_from_results({"h": _facts(catalog, fw)}), {}, catalog, "2026-11-29T00:00:00Z")
    assert report["hosts"]["h"]["firewall"] == closures()


def test_apply_mitigations_leaves_other_hosts_alone(catalog):
    facts = {"supported": True, "services": [], "processes": [], "containers": []}
    assert apply_mitigations([], facts, [], catalog) == "not_installed"


@pytest.mark.parametrize("result, status, words", [
    ({"unreachable": True, "msg": "Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 9: "
                                  "Connection refused"}, "unreachable", "Connection refused"),
    ({"failed": True, "msg": "Module result deserialization failed: No start of json char found",
      "module_stderr": "/bin/sh: 1: sudo: not found\n", "module_stdout": "", "rc": 127},
     "error", "become failed: sudo is not installed"),
    ({"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error",
      "module_stderr": "sudo: a password is required\n", "rc": 1}, "error", "asks for a password"),
    ({"failed": True, "msg": "Incorrect sudo password"}, "error", "password was refused"),
    ({"failed": True, "msg": "MODULE FAILURE", "module_stderr": "sudo: sorry, you must have a tty to run sudo\n"},
     "error", "requiretty"),
    ({"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error",
      "module_stderr": "/bin/sh: 1: /usr/bin/python-missing: not found\n", "rc": 127},
     "unsupported", "/usr/bin/python-missing: not found"),
    ({"failed": True, "msg": "MODULE FAILURE", "module_stderr":
      "Traceback (most recent call last):\n  File \"x\", line 1, in <module>\nKeyError: 'services'\n"},
     "error", "crashed: KeyError: 'services'"),
    ({"failed": True, "msg": "Module result deserialization failed: No start of json char found",
      "module_stderr": "", "module_stdout": "Killed\n"}, "error", "did not run: Killed"),
])
def test_explain_failure_gives_the_real_cause(result, status, words):
    got_status, reason = explain_failure(result)
    assert got_status == status
    assert words in reason
    assert "deserialization" not in reason and "No start of json" not in reason


def test_records_carry_the_explained_status(catalog):
    records = records_from_results({"a": {"failed": True, "msg": "Module result deserialization failed: x",
                                          "module_stderr": "/bin/sh: 1: sudo: not found"}})
    report = build_report(records, {}, catalog, "2026-11-29T00:00:00Z")
    assert report["hosts"]["a"]["status"] == "error"
    assert "sudo is not installed" in report["hosts"]["a"]["reason"]


# -- every way in (issue 26): a host is secure only when no door is open ------------

NGINX_SITE = {"file": "/etc/nginx/sites-available/ollama", "line": 9}


def _wide(port):
    return [{"address": "0.0.0.0", "port": port, "family": "ipv4", "scope": "wildcard"},
            {"address": "::", "port": port, "family": "ipv6", "scope": "wildcard"}]


def _door_host(forwarders=(), servers=(), firewall=None, ollama=True):
    """Ollama on its default 127.0.0.1:11434 (the issue's host), with nginx or other servers beside it."""
    listeners = [{"address": "127.0.0.1", "port": 11434, "family": "ipv4", "scope": "loopback", "pid": 7,
                  "unit": "ollama.service"}] if ollama else []
    services = [{"name": "ollama.service", "fragment": "/etc/systemd/system/ollama.service", "masked": False,
                 "env": {}, "env_origin": {}, "bind": {"value": "", "listen": "127.0.0.1:11434", "host": "127.0.0.1",
                                                       "port": 11434, "scope": "loopback"},
                 "origins_wildcards": [], "errors": []}] if ollama else []
    others = [dict(s, pid=900, process=f["process"], unit=f["unit"], kind=f["kind"])
              for f in forwarders for s in f["listen"]]
    return {"supported": True, "addresses": ADDRESSES, "firewall": firewall or {}, "listeners": listeners,
            "services": services, "processes": [], "containers": [], "installs": [],
            "other_listeners": others, "forwarders": list(forwarders), "servers": list(servers)}


def _nginx(auth):
    return {"kind": "nginx", "pid": 900, "unit": "nginx.service", "process": "nginx", "listen": _wide(80),
            "upstream": [{"host": "127.0.0.1", "port": 11434}], "to_model": "ollama", "auth": auth,
            "location": NGINX_SITE, "evidence": "proxy_pass http://127.0.0.1:11434"}


def _vllm(wide=True, key=False):
    listen = _wide(8000) if wide else [{"address": "127.0.0.1", "port": 8000, "family": "ipv4", "scope": "loopback"}]
    return {"kind": "vllm", "source": "process", "pid": 1300, "unit": "vllm.service", "container": None,
            "image": None, "argv": ["vllm", "serve"], "listen": listen,
            "bind": {"address": listen[0]["address"], "port": 8000, "scope": listen[0]["scope"], "exposed": wide,
                     "origin": "default" if wide else "flag --host"},
            "key": {"set": key, "origin": "env VLLM_API_KEY" if key else None}, "env": {}, "version": None,
            "rebind": {"possible": False, "env": None, "value": None, "why": "flag only"}}


def _answers(port, state, kind=None, is_open=False):
    return [{"address": a, "port": port, "state": state, "kind": kind, "open": is_open, "evidence": state,
             "details": {}} for a in ADDRESSES]


def _report(catalog, facts, results):
    from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_probe import probe_findings
    probe_hosts = {"h": {"results": results, "findings": probe_findings({"results": results}, catalog, "h")}}
    return build_report(records_from_results({"h": facts}), probe_hosts, catalog, "2026-12-07T19:00:00Z")


@pytest.mark.parametrize("auth, answers, status", [
    # the host: Ollama on loopback, nginx without auth on :80, the API open from outside
    (False, _answers(80, "exposed", "ollama", True), "exposed"),
    # the same read, nothing probed yet: the read alone makes it exposed
    (False, [], "exposed"),
    # with auth_basic: 401 from outside, and the read says so too
    (True, _answers(80, "auth_required", "http"), "secure"),
    (True, [], "secure"),
])
def test_ollama_on_loopback_behind_nginx(catalog, auth, answers, status):
    report = _report(catalog, _door_host(forwarders=[_nginx(auth)]), answers)
    assert report["hosts"]["h"]["status"] == status
    doors = [f for f in report["findings"] if f["id"] == "OLLAMA-DOOR-001"]
    assert bool(doors) is (status == "exposed")
    if doors:
        assert doors[0]["host_status"] == "exposed" and "nginx" in doors[0]["evidence"]
    door = report["hosts"]["h"]["doors"][0]
    assert (door["port"], door["process"], door["credentials"], door["location"]) == (80, "nginx", auth, NGINX_SITE)
    assert door["state"] == ("unprobed" if not answers else "open" if not auth else "auth_required")


def test_an_open_door_makes_the_host_exposed_whatever_ollamas_bind_says(catalog):
    """Ollama on loopback, its own port silent from outside (the old audit's "secure"), a door open."""
    answers = _answers(11434, "closed") + _answers(80, "exposed", "ollama", True)
    assert _report(catalog, _door_host(forwarders=[_nginx(None)]), answers)["hosts"]["h"]["status"] == "exposed"
    assert _report(catalog, _door_host(forwarders=[_nginx(None)]), _answers(11434, "closed"))["hosts"]["h"]["status"] \
        == "secure"


def test_the_toolkits_firewall_closing_the_door_mitigates_the_host(catalog):
    rule = "nftables table inet ollama_exposure_toolkit chain input drops tcp/80"
    firewall = {"input": {"ipv4": {"80": rule}, "ipv6": {"80": rule}}, "forward": {"ipv4": {}, "ipv6": {}}, "errors": []}
    report = _report(catalog, _door_host(forwarders=[_nginx(False)], firewall=firewall), _answers(80, "filtered"))
    assert report["hosts"]["h"]["status"] == "mitigated"


@pytest.mark.parametrize("server, answers, status", [
    (_vllm(), [], "exposed"),                                            # bound wide, no key
    (_vllm(), _answers(8000, "model_open", "vllm", True), "exposed"),    # and proven from outside
    (_vllm(key=True), _answers(8000, "auth_required", "vllm"), "secure"),
    (_vllm(wide=False), _answers(8000, "closed"), "secure"),
])
def test_a_host_whose_only_model_server_is_not_ollama_is_never_not_installed(catalog, server, answers, status):
    facts = _door_host(servers=[server], ollama=False)
    assert _report(catalog, facts, answers)["hosts"]["h"]["status"] == status
    assert host_status(facts, [], catalog) == "secure"
    assert host_status(dict(facts, servers=[]), [], catalog) == "not_installed"
    assert host_status(_door_host(forwarders=[_nginx(True)], ollama=False), [], catalog) == "secure"
