# -*- coding: utf-8 -*-
"""The finding drives the fix (issue 27): the bind wall rebinds exactly the
services the audit calls exposed, and no other.

The audit (module_utils/ollama_findings.py evaluate_host) and the bind plan
(plugin_utils/ollama_bind.py) read one parse of each OLLAMA_HOST (ollama_info's)
and ask one function whether it reaches the network
(module_utils/ollama_host.py bind_exposed, is_exposed_scope). The property
tests run both over hosts built from the OLLAMA_HOST values the parser's own
property tests draw (tests/unit/test_properties.py HOST_TEXT, IP_HOST_TEXT),
shaped as ollama_info reads them."""

from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import evaluate_host
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import parse_ollama_host
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_bind import host_plan
from conftest import load_catalog
from test_properties import FUZZ, HOST_TEXT, IP_HOST_TEXT

CATALOG = load_catalog()
DROPIN = "zz-ollama-exposure-toolkit.conf"
ENV_DIR = "/etc/ollama-exposure-toolkit"
UNITS = ("ollama.service", "ollama-gpu.service", "ollama@1.service")
OVERRIDE = "/etc/systemd/system/%s.d/override.conf"
# What a hostname resolves to (ollama_info keeps the first address, IPv4
# first): nothing, a loopback address, another address of the host.
RESOLVED = st.sampled_from([[], ["loopback"], ["address"]])
VALUES = st.one_of(HOST_TEXT, IP_HOST_TEXT, st.sampled_from(
    ["", "0.0.0.0", "[::]:11434", "127.0.0.1:11500", "localhost", "ollama.internal:11434", "10.1.2.3"]))


def parsed(value, resolved):
    """ollama_info's bind: the parse, and a hostname's resolution."""
    bind = parse_ollama_host(value)
    if bind["scope"] == "hostname":
        bind["resolved_scopes"] = list(resolved)
    return bind


@st.composite
def audited_service(draw, name, managed_ok=True):
    """One Ollama service as ollama_info reads it: its configured OLLAMA_HOST
    (bind), the toolkit's files where it rebound it before (their value then
    wins), the process running now (running_bind, read from /proc, not
    resolved) and its sockets (scope: the running value's, or for a hostname
    what it resolved to; none where it did not resolve)."""
    value = draw(VALUES)
    history = [{"key": "OLLAMA_HOST", "value": value, "file": OVERRIDE % name, "line": 2, "via": "Environment"}]
    if draw(st.booleans()):
        history.append({"key": "OLLAMA_ORIGINS", "value": draw(st.sampled_from(["*", "https://app.example"])),
                        "file": OVERRIDE % name, "line": 3, "via": "Environment"})
    dropins = [OVERRIDE % name]
    managed = managed_ok and draw(st.booleans())
    bind = parsed(value, draw(RESOLVED))
    if managed:
        ours = "%s/%s.env" % (ENV_DIR, name)
        listen = draw(st.sampled_from(["127.0.0.1:11434", "[::1]:11500"]))
        dropins.append("/etc/systemd/system/%s.d/%s" % (name, DROPIN))
        history.append({"key": "OLLAMA_HOST", "value": listen, "file": ours, "line": 1, "via": "EnvironmentFile"})
        bind = parse_ollama_host(listen)
    # A masked unit is left by both (systemd starts it no more).
    masked = draw(st.booleans()) and draw(st.booleans())
    running = "none" if masked else draw(st.sampled_from(["none", "configured", "other"]))
    running_value = {"none": None, "configured": history[-1]["value"] if managed else value,
                     "other": draw(VALUES)}[running]
    sockets = []
    if running_value is not None:
        running_bind = parse_ollama_host(running_value)
        scope = running_bind["scope"]
        if scope == "hostname":
            scope = (draw(RESOLVED) or [None])[0]
        if scope is not None:
            address = {"loopback": "127.0.0.1", "wildcard": "0.0.0.0", "address": "10.9.8.7"}[scope]
            # One port per unit (two processes cannot share a socket).
            sockets.append({"address": address, "port": 41000 + UNITS.index(name), "family": "ipv4",
                            "scope": scope, "pid": 100 + UNITS.index(name), "unit": name, "inferred": False})
    svc = {"name": name, "fragment": "/lib/systemd/system/%s" % name, "dropins": dropins,
           "masked": masked, "environment_files": [],
           "env_history": history, "bind": bind,
           "running_bind": parse_ollama_host(running_value) if running_value is not None else None,
           "main_pid": 100 + UNITS.index(name) if running_value is not None else 0,
           "active_state": "active" if running_value is not None else "inactive"}
    return svc, sockets


@st.composite
def host(draw, managed_ok=True):
    names = draw(st.lists(st.sampled_from(UNITS), unique=True, max_size=len(UNITS)))
    services, listeners = [], []
    for name in names:
        svc, sockets = draw(audited_service(name, managed_ok))
        services.append(svc)
        listeners.extend(sockets)
    return {"supported": True, "systemd": True, "services": services, "listeners": listeners,
            "processes": [], "containers": [], "installs": []}


def audit_exposed(facts):
    """The services the audit calls exposed: the subject of each
    OLLAMA-BIND-002 (the configuration), and the unit owning the socket of
    each OLLAMA-BIND-001 (the process running now)."""
    findings = evaluate_host(facts, CATALOG, "h")
    owners = dict(("socket:%s:%s" % (s["address"], s["port"]), s.get("unit")) for s in facts["listeners"])
    configured = set(f["subject"] for f in findings if f["id"] == "OLLAMA-BIND-002")
    running = set("unit:%s" % owners[f["subject"]] for f in findings
                  if f["id"] == "OLLAMA-BIND-001" and owners.get(f["subject"]))
    return configured, running


def plan(facts, **options):
    return host_plan(facts, "127.0.0.1", dropin_name=DROPIN, env_dir=ENV_DIR, **options)


@FUZZ
@given(host(), st.booleans(), st.booleans())
def test_the_plan_rebinds_each_service_whose_bind_the_audit_finds_exposed(facts, fix_origins, no_cloud):
    """Whatever the options and the toolkit's files: the services the plan
    rebinds for their bind are the subjects of the audit's OLLAMA-BIND-002."""
    configured, _running = audit_exposed(facts)
    items = plan(facts, fix_origins=fix_origins, no_cloud=no_cloud)
    assert set(i["subject"] for i in items if "bind" in i["fix"]) == configured
    assert set(i["subject"] for i in items if i["exposed"]) == configured
    assert all(i["action"] == "rebind" for i in items if i["subject"] in configured)


@FUZZ
@given(host(managed_ok=False))
def test_the_plan_changes_exactly_the_services_the_audit_calls_exposed(facts):
    """Where the bind is all there is to fix (origins and cloud left alone,
    no toolkit file yet): every service the audit calls exposed - its
    configuration (OLLAMA-BIND-002, rebound) or its running process
    (OLLAMA-BIND-001 on its socket, restarted) - is changed, and no other."""
    configured, running = audit_exposed(facts)
    items = plan(facts, fix_origins=False, no_cloud=False)
    changed = dict((i["subject"], i["action"]) for i in items if i["action"] != "none")
    assert set(changed) == configured | running
    assert set(s for s, action in changed.items() if action == "rebind") == configured


def _hostname_service(resolved):
    history = [{"key": "OLLAMA_HOST", "value": "ollama.internal:11434", "file": OVERRIDE % "ollama.service",
                "line": 2, "via": "Environment"}]
    return {"name": "ollama.service", "fragment": "/lib/systemd/system/ollama.service",
            "dropins": [OVERRIDE % "ollama.service"], "masked": False, "environment_files": [],
            "env_history": history, "bind": parsed("ollama.internal:11434", resolved),
            "running_bind": parse_ollama_host("ollama.internal:11434"), "main_pid": 42, "active_state": "active"}


def test_a_hostname_that_resolves_to_loopback_is_neither_found_nor_rebound():
    """The issue's case: OLLAMA_HOST names a host that resolves to 127.0.0.1
    (the process listens there): no OLLAMA-BIND-002, and nothing to do. The
    same name resolving to another address of the host is both."""
    loopback = {"services": [_hostname_service(["loopback"])], "processes": [],
                "listeners": [{"address": "127.0.0.1", "port": 11434, "family": "ipv4", "scope": "loopback",
                               "pid": 42, "unit": "ollama.service", "inferred": False}]}
    assert audit_exposed(loopback) == (set(), set())
    [item] = plan(loopback)
    assert (item["action"], item["fix"], item["exposed"]) == ("none", [], False)

    elsewhere = {"services": [_hostname_service(["address"])], "processes": [],
                 "listeners": [{"address": "10.9.8.7", "port": 11434, "family": "ipv4", "scope": "address",
                                "pid": 42, "unit": "ollama.service", "inferred": False}]}
    assert audit_exposed(elsewhere) == ({"unit:ollama.service"}, {"unit:ollama.service"})
    [item] = plan(elsewhere)
    assert (item["action"], item["fix"], item["listen"]) == ("rebind", ["bind"], "127.0.0.1:11434")
