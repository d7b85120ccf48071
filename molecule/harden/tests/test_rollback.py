"""playbooks/rollback.yml after the harden run (runs after test_harden.py):
check mode reports what it would restore and changes nothing; the real run
gives every host its files and listening sockets from before hardening; a
second run finds nothing left to do."""

import json
import os
import subprocess
import time

PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
INVENTORY = os.path.join(PROJECT, "inventories", "lab", "hosts.yml")
# The unreachable and Python-less hosts were never changed; rollback rightly
# reports them as failures.
TARGET = (os.environ.get("OLLAMA_LAB_HARDEN_TARGET") or "ollama_lab") + ":!gone:!no-python"
SNAPSHOT = ("set -o pipefail; { find /etc /usr/local /usr/share/ollama -xdev -type f -print0 2>/dev/null || true; }"
            " | sort -z | xargs -0 sha256sum")
SOCKETS = "ss -Hltn | awk '{print $4}' | grep -v '^127\\.0\\.0\\.11:' | sort"


def containers():
    out = subprocess.run(["ansible-inventory", "-i", INVENTORY, "--limit", TARGET, "--list"], cwd=PROJECT,
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    hostvars = json.loads(out)["_meta"]["hostvars"]
    return {name: v["ansible_host"] for name, v in hostvars.items()
            if v.get("lab_create", True) and v.get("lab_init", "systemd") == "systemd"}


def sh(container, script):
    return subprocess.run(["docker", "exec", container, "bash", "-c", script], stdout=subprocess.PIPE,
                          text=True, check=True).stdout


def rollback(*extra):
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    run = subprocess.run(["ansible-playbook", "-i", INVENTORY, os.path.join(PROJECT, "playbooks", "rollback.yml"),
                          "-e", "target=%s" % TARGET] + list(extra), cwd=PROJECT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return json.loads(run.stdout)["stats"]


def sockets_settle(container, want, tries=15):
    """The listening sockets, once equal to ``want`` (services restart: bounded wait)."""
    got = None
    for _ in range(tries):
        got = sh(container, SOCKETS)
        if got == want:
            break
        time.sleep(1)
    return got


def test_rollback_check_mode_then_rollback_then_nothing_left():
    hosts = containers()
    assert "faq-dropin" in hosts and "secure" in hosts
    hardened = {name: sh(c, SNAPSHOT) for name, c in hosts.items()}

    stats = rollback("--check")
    assert stats["faq-dropin"]["changed"] > 0  # it would restore the rebound service...
    assert stats["secure"]["changed"] == 0  # ...and has nothing to do on a host it never touched
    assert {name: sh(c, SNAPSHOT) for name, c in hosts.items()} == hardened  # ...but changed nothing

    stats = rollback()
    assert stats["faq-dropin"]["changed"] > 0
    for name, container in sorted(hosts.items()):
        assert sh(container, SNAPSHOT) == sh(container, "cat /root/pre-harden.files"), name
        # A stale process (drift) listened where its unit no longer says: no
        # rollback can bring that back, and none should.
        if name != "drift":
            before = sh(container, "grep -v '^127\\.0\\.0\\.11:' /root/pre-harden.sockets || true")
            assert sockets_settle(container, before) == before, name

    stats = rollback()
    assert {name: s["changed"] for name, s in stats.items() if s["changed"]} == {}
