"""Verify the upgrade (after converge and idempotence): each host answers
0.21.0 on loopback from the packaged release laid out like upstream's
(/usr/local/bin/ollama, /usr/local/lib/ollama), the service is active, and
the binary it replaced is kept (byte for byte) for the rollback. The
release was packed by uid 1234 with modes 0777/0666 and holds the archive
root `./` itself: /usr/local and what was installed stay root's and
writable by root only, its links stay links."""

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


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_install_dirs_stay_roots(name):
    """The archive's owner (1234) and modes (0777) reach neither the
    directories it was unpacked over nor what it installed."""
    target = host(name)
    for path in ("/usr/local", "/usr/local/bin", "/usr/local/lib"):
        found = target.file(path)
        assert found.is_directory and (found.uid, found.gid) == (0, 0), path
        assert found.mode & 0o022 == 0, "%s is %o" % (path, found.mode)
    lines = target.check_output(
        "find /usr/local/lib/ollama /usr/local/bin/ollama -printf '%p %y %U %G %m %l\\n'").splitlines()
    entries = dict((line.split()[0], line.split()[1:]) for line in lines)
    lib = "/usr/local/lib/ollama/"
    assert entries == {
        "/usr/local/bin/ollama": ["f", "0", "0", "755"],
        lib[:-1]: ["d", "0", "0", "755"],
        lib + "VERSION": ["f", "0", "0", "644"],
        lib + "ollama_host.py": ["f", "0", "0", "644"],
        lib + "libggml-base.so.0": ["f", "0", "0", "644"],
        lib + "libggml-base.so": ["l", "0", "0", "777", "libggml-base.so.0"],
        lib + "cuda_v12": ["d", "0", "0", "755"],
        lib + "cuda_v12/libcudart.so.12": ["f", "0", "0", "644"],
        lib + "mlx_cuda_v12": ["d", "0", "0", "755"],
        lib + "mlx_cuda_v12/libcudart.so.12": ["l", "0", "0", "777", "../cuda_v12/libcudart.so.12"],
    }
    assert target.file(lib + "mlx_cuda_v12/libcudart.so.12").content_string == "cuda_v12/libcudart.so.12\n"
