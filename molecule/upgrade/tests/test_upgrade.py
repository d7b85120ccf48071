"""Verify the upgrade (after converge and idempotence): each host answers
0.21.0 on loopback from the packaged release laid out like upstream's
(/usr/local/bin/ollama, /usr/local/lib/ollama), the service is active, and
the binary it replaced is kept (byte for byte) for the rollback."""

import json
import os

import pytest
import testinfra

HERE = os.path.dirname(os.path.abspath(__file__))
INVENTORY = os.path.join(HERE, "..", "inventory.yml")
HOSTS = {"old": "0.1.33", "mid": "0.17.0"}
STATE_DIR = "/var/lib/ollama-exposure-toolkit/upgrade"


def host(name):
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=INVENTORY)


def loopback_version(target):
    out = target.check_output(
        "python3 -c 'import json,urllib.request;"
        "print(json.load(urllib.request.urlopen(\"http://127.0.0.1:11434/api/version\", timeout=5))[\"version\"])'")
    return out.strip()


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_new_version_answers_on_loopback(name):
    target = host(name)
    assert loopback_version(target) == "0.21.0"
    assert target.service("ollama.service").is_running
    assert target.check_output("/usr/local/bin/ollama --version").strip() == "ollama version is 0.21.0"


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_installed_like_upstream(name):
    target = host(name)
    binary = target.file("/usr/local/bin/ollama")
    assert binary.is_file and binary.user == "root" and binary.mode == 0o755
    lib = target.file("/usr/local/lib/ollama")
    assert lib.is_directory
    assert target.file("/usr/local/lib/ollama/VERSION").content_string.strip() == "0.21.0"
    assert target.file("/usr/local/lib/ollama/ollama_host.py").is_file
    # Nothing left in staging.
    assert not target.file(STATE_DIR + "/staging").exists
    assert not target.file(STATE_DIR + "/ollama-0.21.0.tgz").exists


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_previous_binary_kept_for_rollback(name):
    target = host(name)
    before = json.loads(target.file("/root/oup-before.json").content_string)
    kept = "%s/versions/%s" % (STATE_DIR, HOSTS[name])
    assert target.file(kept + "/bin/ollama").sha256sum == before["sha256"]
    # The kept copy, run where it is (no lib/ollama next to it), is the old release.
    assert target.check_output(kept + "/bin/ollama --version").strip() == "ollama version is %s" % HOSTS[name]
    # The old install had no lib dir: the rollback must remove the new one.
    assert not target.file(kept + "/lib/ollama").exists
    state = json.loads(target.file(STATE_DIR + "/state.json").content_string)
    assert state["previous"] == HOSTS[name] and state["version"] == "0.21.0"
    assert state["had_binary"] is True and state["had_lib"] is False
    assert [s["name"] for s in state["services"]] == ["ollama.service"]
    # Only the rollback's copy is kept.
    assert target.check_output("ls %s/versions" % STATE_DIR).split() == [HOSTS[name]]
