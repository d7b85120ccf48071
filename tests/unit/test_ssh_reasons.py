"""The reason of a host the audit could not read over SSH, in the operator's
words (issue 28): each case from the real result Ansible gave for it
(tests/unit/data/ssh_failures.json: ansible-core 2.19, OpenSSH 9.2, sudo
1.9.13 on the lab image; how it was made is its `_source`)."""

import json
import os

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (
    build_report, explain_failure, explain_unreachable, records_from_results)

with open(os.path.join(os.path.dirname(__file__), "data", "ssh_failures.json")) as _handle:
    REAL = json.load(_handle)["results"]

# case: (status, the reason's start, what ssh or sudo said, kept in the reason)
EXPECTED = {
    "wrongpw": ("error", "become failed: sudo: incorrect password", "Incorrect sudo password"),
    "tty-pipe": ("error", "become failed: sudo requires a tty (requiretty): set ansible_pipelining: false",
                 "sudo: sorry, you must have a tty to run sudo"),
    "keychanged": ("unreachable", "host key changed: ", "Offending ED25519 key in /tmp/fx/ssh/known_hosts.ofx-net:2"),
    "keyunknown": ("unreachable", "host key unknown: ", "Host key verification failed"),
    "jumprefused": ("unreachable", "bastion refused: the jump host would not forward", "stdio forwarding failed"),
    "jumprefused-mux": ("unreachable", "bastion refused, or the host closed the connection before SSH began",
                        "kex_exchange_identification: Connection closed by remote host"),
    "jumpdenied": ("unreachable", "bastion refused: the jump host would not log in",
                   "nobody@172.30.199.6: Permission denied (publickey)."),
    "jumpdown": ("unreachable", "bastion unreachable: no SSH server answers",
                 "ssh: connect to host 172.30.199.6 port 2299: Connection refused"),
    "keydenied": ("unreachable", "SSH login refused: the key was not accepted",
                  "nobody@172.30.199.4: Permission denied (publickey)."),
    "badkey": ("unreachable", "SSH login refused: the key was not accepted",
               "deploy@172.30.199.3: Permission denied (publickey)."),
    "refused": ("unreachable", "no SSH server answers (ansible_host, ansible_port)",
                "ssh: connect to host 172.30.199.3 port 9: Connection refused"),
    "nohost": ("unreachable", "the host name does not resolve (ansible_host)",
               "Could not resolve hostname no-such-host.invalid: Name or service not known"),
    "become-timeout": ("unreachable", "no answer to the privilege escalation prompt (timeout)",
                       "Timeout (17s) waiting for privilege escalation prompt:"),
    "nosudo": ("error", "become failed: sudo is not installed", "/bin/sh: 1: sudo: not found"),
    "nopython": ("unsupported", "no usable Python on the host", "/usr/bin/python-missing: not found"),
}


def test_every_real_case_is_expected():
    assert sorted(REAL) == sorted(EXPECTED)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_each_real_failure_gets_its_reason(case):
    status, start, said = EXPECTED[case]
    got_status, reason = explain_failure(REAL[case])
    assert got_status == status
    assert reason.startswith(start), reason
    assert said in reason, reason
    # Ansible's wrapping and ssh's banner are not the reason.
    for noise in ("Data could not be sent", "Task failed", "@@@", "deserialization", "No start of json"):
        assert noise not in reason, reason
    assert "\n" not in reason and len(reason) <= 200


def test_the_report_carries_the_reason_whole():
    """build_report keeps an unreachable host's first line, up to 200 characters: the reason fits."""
    results = dict((case, REAL[case]) for case in ("keychanged", "jumprefused", "wrongpw", "tty-pipe"))
    report = build_report(records_from_results(results), {}, {"controls": []}, "2026-12-07T23:00:00Z")
    for case, entry in report["hosts"].items():
        status, start, said = EXPECTED[case]
        assert entry["status"] == status
        assert entry["reason"].startswith(start) and said in entry["reason"], entry["reason"]


def test_a_failure_without_a_bastion_never_blames_one():
    """The same denial or refusal without ProxyJump's closing line is the host's own."""
    for case in ("keydenied", "refused", "nohost"):
        assert "bastion" not in explain_unreachable(REAL[case]["msg"])
    for case in ("jumpdenied", "jumpdown"):
        assert explain_unreachable(REAL[case]["msg"]).startswith("bastion ")


def test_an_unknown_message_is_kept_as_ssh_said_it():
    msg = ('Task failed: Data could not be sent to remote host "10.0.0.9". Make sure this host can be reached '
           'over ssh: Received disconnect from 10.0.0.9 port 22:2: Too many authentication failures')
    assert explain_unreachable(msg) == "Received disconnect from 10.0.0.9 port 22:2: Too many authentication failures"
