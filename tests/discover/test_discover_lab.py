# -*- coding: utf-8 -*-
"""Discovery on the lab's own network (issue 29): make discover-lab.

A module fixture creates the discovery lab (tests/discover/lab.py: odc-*
on ollama-discover, 172.30.140.0/24 and fd00:6c61:140::/64) and always
removes it. The sweeps take only that network's addresses (its first 32 of
each family, the gateway, this machine's side of the bridge, excluded):
nothing else is ever contacted. Checked exactly: the inventory plugin's
groups, host variables and managed/unmanaged naming (ansible-inventory
--list), and the ollama_discover module's answer, in check mode too.
"""

import json
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402

BIN = os.path.dirname(sys.executable)
RANGES = ["172.30.140.0/27", "fd00:6c61:140::/123"]
MANAGED = """all:
  hosts:
    lab-ollama:
      ansible_host: 172.30.140.10
      ollama_discover_addresses: ["fd00:6c61:140::10"]
    lab-vllm-key:
      ansible_host: 172.30.140.13
    lab-quiet:
      ansible_host: 172.30.140.14
"""
V4, V6 = "172.30.140.", "fd00:6c61:140::"
# (host, address, port, kind, state, open, auth, version, models), every answering port.
EXPECTED = [
    ("lab-ollama", V4 + "10", 11434, "ollama", "exposed", True, False, "0.20.0", 1),
    ("lab-ollama", V6 + "10", 11434, "ollama", "exposed", True, False, "0.20.0", 1),
    (V4 + "11", V4 + "11", 80, "ollama", "auth_required", False, True, None, None),
    (V6 + "11", V6 + "11", 80, "ollama", "auth_required", False, True, None, None),
    (V4 + "12", V4 + "12", 8000, "vllm", "model_open", True, False, None, 1),
    ("lab-vllm-key", V4 + "13", 8000, "vllm", "auth_required", False, True, None, None),
    (V4 + "15", V4 + "15", 8080, "http", "open_other", False, False, None, None),
    (V6 + "15", V6 + "15", 8080, "http", "open_other", False, False, None, None),
]
GROUPS = {
    "discovered": sorted(["lab-ollama", "lab-vllm-key", V4 + "11", V6 + "11", V4 + "12", V4 + "15", V6 + "15"]),
    "discovered_managed": ["lab-ollama", "lab-vllm-key"],
    "discovered_unmanaged": sorted([V4 + "11", V6 + "11", V4 + "12", V4 + "15", V6 + "15"]),
    "discovered_ollama": sorted(["lab-ollama", V4 + "11", V6 + "11"]),
    "discovered_ollama_open": ["lab-ollama"],
    "discovered_ollama_auth": sorted([V4 + "11", V6 + "11"]),
    "discovered_vllm": sorted(["lab-vllm-key", V4 + "12"]),
    "discovered_vllm_open": [V4 + "12"],
    "discovered_vllm_auth": ["lab-vllm-key"],
    "discovered_http": sorted([V4 + "15", V6 + "15"]),
}


def env():
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(lab.REPO, "ansible.cfg"), ANSIBLE_INVENTORY_UNPARSED_FAILED="1",
                ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")


def plain(value):
    if isinstance(value, dict):
        if list(value) == ["__ansible_unsafe"]:
            return value["__ansible_unsafe"]
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@pytest.fixture(scope="module")
def discovery_lab():
    try:
        lab.create()
        yield
    finally:
        lab.destroy()


def fields(rec):
    return (rec["address"], rec["port"], rec["kind"], rec["state"], rec["open"], rec["auth"], rec["version"],
            rec["models"])


def test_the_inventory_plugin_names_every_server_exactly(discovery_lab, tmp_path):
    managed = tmp_path / "managed.yml"
    managed.write_text(MANAGED)
    source = tmp_path / "lab.discover.yml"
    source.write_text("\n".join([
        "plugin: ollama_toolkit.exposure.discover",
        "ranges: %s" % json.dumps(RANGES),
        "exclude: %s" % json.dumps(lab.GATEWAYS),
        "managed_inventory: [%s]" % managed,
        "cache: true", "cache_plugin: ansible.builtin.jsonfile", "cache_connection: %s" % (tmp_path / "cache"),
    ]) + "\n")
    started = time.monotonic()
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", str(source), "--list", "--export"],
                          cwd=lab.REPO, env=env(), capture_output=True, text=True, timeout=300)
    first = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    inv = plain(json.loads(proc.stdout))
    groups = dict((g, sorted(v.get("hosts", []))) for g, v in inv.items() if g.startswith("discovered"))
    assert groups == GROUPS
    hostvars = inv["_meta"]["hostvars"]
    assert sorted(hostvars) == GROUPS["discovered"]
    seen = sorted((host,) + fields(rec) for host, hv in hostvars.items() for rec in hv["ollama_discover"])
    assert seen == sorted(EXPECTED)
    for host, hv in hostvars.items():
        records = hv["ollama_discover"]
        assert hv["ollama_discover_managed"] is host.startswith("lab-")
        assert hv["ollama_discover_ports"] == sorted(set(r["port"] for r in records))
        assert hv["ollama_discover_port"] == records[0]["port"]
        assert hv["ollama_discover_fingerprints"] == ["%s:%s:%s" % (r["kind"], r["address"], r["port"]) for r in records]
        assert all(r["scheme"] == "http" for r in records)
        if not host.startswith("lab-"):
            assert hv["ansible_host"] == host
    # lab-quiet is managed but nothing answers there: not discovered.
    assert "lab-quiet" not in hostvars
    # The cache: the same inventory, read back without a sweep.
    started = time.monotonic()
    again = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", str(source), "--list", "--export"],
                           cwd=lab.REPO, env=env(), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and plain(json.loads(again.stdout)) == inv
    assert time.monotonic() - started < first


def run_module(tmp_path, check):
    playbook = tmp_path / "discover.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "tasks": [{"name": "Sweep", "ollama_discover": {
            "ranges": RANGES, "exclude": lab.GATEWAYS,
            "managed": ["172.30.140.10", "fd00:6c61:140::10", "172.30.140.13", "lab-quiet.example"]},
            "register": "found"}]}]))
    args = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", str(playbook),
            "-e", "ansible_python_interpreter=%s" % sys.executable] + (["--check"] if check else [])
    proc = subprocess.run(args, cwd=lab.REPO, env=env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    task = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return task


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_the_module_returns_the_contract(discovery_lab, tmp_path, check):
    result = run_module(tmp_path, check)
    assert result["changed"] is False
    hosts = result["hosts"]
    assert [h["address"] for h in hosts] == sorted(set(e[1] for e in EXPECTED), key=lambda a: (":" in a, a))
    got = sorted(fields(r) for h in hosts for r in h["ports"])
    assert got == sorted(e[1:] for e in EXPECTED)
    assert dict((h["address"], h["managed"]) for h in hosts) == {
        V4 + "10": True, V6 + "10": True, V4 + "13": True, V4 + "11": False, V6 + "11": False, V4 + "12": False,
        V4 + "15": False, V6 + "15": False}
    assert result["managed_ignored"] == ["lab-quiet.example"]
    # A /27 without its network, broadcast and gateway addresses; a /123 without ::0 (anycast) and the gateway.
    assert result["scanned"]["addresses"] == 29 + 30 and result["scanned"]["connects"] == 59 * 9
    assert result["scanned"]["open"] == len(EXPECTED) and result["scanned"]["truncated"] is False
    assert result["excluded"] == ["172.30.140.1/32", "fd00:6c61:140::1/128"]
    assert result["elapsed"] < 60
