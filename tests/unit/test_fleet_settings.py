"""What ansible.cfg ships for a fleet, and the README's SSH inventory (issue 28):
host key checking on, pipelining and ControlPersist on, each setting with the
comment that says why; the example inventory reaches its hosts as the user
deploy with a become password that only the vault holds."""

import configparser
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(ROOT, "inventories", "example")
BIN = os.path.dirname(sys.executable)


def _cfg():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(ROOT, "ansible.cfg"))
    return parser


def test_the_shipped_settings_are_a_fleets():
    cfg = _cfg()
    assert cfg.getboolean("defaults", "host_key_checking") is True
    assert cfg.getboolean("ssh_connection", "pipelining") is True
    args = cfg.get("ssh_connection", "ssh_args").split()
    assert "ControlMaster=auto" in args and any(a.startswith("ControlPersist=") for a in args)
    assert "StrictHostKeyChecking=no" not in " ".join(args)
    assert cfg.getint("defaults", "forks") >= 10 and cfg.getint("defaults", "timeout") > 0


def test_each_fleet_setting_says_why():
    """A setting that matters for a fleet has a comment right above it."""
    with open(os.path.join(ROOT, "ansible.cfg")) as handle:
        lines = handle.read().splitlines()
    for key in ("forks", "timeout", "host_key_checking", "pipelining", "ssh_args"):
        for number, line in enumerate(lines):
            if line.split("=")[0].strip() == key:
                assert lines[number - 1].startswith("#"), (key, number)


def test_the_example_inventory_reaches_its_hosts_as_deploy_with_a_vaulted_sudo_password():
    with open(os.path.join(EXAMPLE, "group_vars", "all", "vault.yml")) as handle:
        assert handle.read().startswith("$ANSIBLE_VAULT;")
    run = subprocess.run([os.path.join(BIN, "ansible"), "-i", EXAMPLE, "gpu-01.example.internal", "-m",
                          "ansible.builtin.debug", "-a", "msg={{ [ansible_user, ansible_become_password] | to_json }}",
                          "--vault-password-file", os.path.join(EXAMPLE, "vault-password.EXAMPLE-ONLY")],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120,
                         env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                                  ANSIBLE_STDOUT_CALLBACK="ansible.builtin.oneline", ANSIBLE_NOCOLOR="1"))
    assert run.returncode == 0, run.stdout
    assert '[\\"deploy\\", \\"example-sudo-password-do-not-use\\"]' in run.stdout or \
        '["deploy", "example-sudo-password-do-not-use"]' in run.stdout, run.stdout
    with open(os.path.join(EXAMPLE, "group_vars", "all", "main.yml")) as handle:
        text = handle.read()
    assert "example-sudo-password" not in text and "vault_ansible_become_password" in text
