# -*- coding: utf-8 -*-
"""The modules' entry points (``main()``) driven through AnsibleModule: the
arguments go in as Ansible passes them, the argument spec is applied, and
exit_json/fail_json are caught (community.general's set_module_args pattern,
with ansible-core's own ``patch_module_args``)."""

import socket
import sys
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from library import ollama_info, ollama_probe

STATUSES = ("exposed", "secure", "not_installed", "unsupported")


class AnsibleExitJson(Exception):
    """exit_json was called: args[0] is the result."""


class AnsibleFailJson(Exception):
    """fail_json was called: args[0] is the result."""


def exit_json(*args, **kwargs):
    kwargs.setdefault("changed", False)
    raise AnsibleExitJson(kwargs)


def fail_json(*args, **kwargs):
    kwargs["failed"] = True
    raise AnsibleFailJson(kwargs)


@pytest.fixture(autouse=True)
def module_exits():
    with mock.patch.multiple(basic.AnsibleModule, exit_json=exit_json, fail_json=fail_json):
        yield


def run_module(module, args):
    """main() of ``module`` with ``args``: (\"exit\" or \"fail\", result)."""
    with patch_module_args(args):
        try:
            module.main()
        except AnsibleExitJson as done:
            return "exit", done.args[0]
        except AnsibleFailJson as failed:
            return "fail", failed.args[0]
    raise AssertionError("main() returned without exit_json or fail_json")


def no_docker(tmp_path):
    return str(tmp_path / "no-docker.sock")


# -- ollama_info -----------------------------------------------------------------------
def test_ollama_info_audits_this_host_read_only(tmp_path, catalog):
    how, result = run_module(ollama_info, {"host_id": "unit-host", "catalog": catalog, "query_version": False,
                                           "docker_socket": no_docker(tmp_path), "timeout": 0.5})
    assert how == "exit", result
    assert result["changed"] is False and result["supported"] is True
    assert result["status"] in STATUSES
    for key in ("services", "processes", "listeners", "containers", "installs", "addresses", "other_listeners",
                "findings"):
        assert isinstance(result[key], list), key
    assert result["containers"] == []  # no engine at docker_socket: skipped, not an error
    assert result["host_id"] == "unit-host" and all(f["host"] == "unit-host" for f in result["findings"])
    assert set(result["os"]) <= {"ID", "ID_LIKE", "VERSION_ID", "PRETTY_NAME"}


def test_ollama_info_runs_in_check_mode(tmp_path):
    how, result = run_module(ollama_info, {"_ansible_check_mode": True, "query_version": False,
                                           "docker_socket": no_docker(tmp_path)})
    assert how == "exit", result
    assert result["changed"] is False and "findings" not in result  # no catalog: facts only
    # Without a catalog an Ollama found is "unknown"; nothing found is not_installed.
    assert result["status"] in ("unknown", "not_installed")


def test_ollama_info_says_unsupported_off_linux(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "freebsd14")
    how, result = run_module(ollama_info, {"docker_socket": no_docker(tmp_path)})
    assert how == "exit"
    assert result["supported"] is False and result["status"] == "unsupported"
    assert result["reason"] == "platform freebsd14 is not Linux"


def test_ollama_info_rejects_a_bad_type_naming_the_argument():
    how, result = run_module(ollama_info, {"timeout": "soon"})
    assert how == "fail" and result["failed"] is True
    assert "timeout" in result["msg"] and "float" in result["msg"]


def test_ollama_info_rejects_an_unknown_argument_naming_it():
    how, result = run_module(ollama_info, {"query_versions": False})
    assert how == "fail"
    assert "Unsupported parameters" in result["msg"] and "query_versions" in result["msg"]


# -- ollama_probe ----------------------------------------------------------------------
def closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once closed


def test_ollama_probe_reports_a_closed_port(catalog):
    port = closed_port()
    how, result = run_module(ollama_probe, {"targets": [{"host": "me", "addresses": ["127.0.0.1"], "ports": [port]}],
                                            "timeout": 1.0, "catalog": catalog})
    assert how == "exit", result
    assert result["changed"] is False
    [probe] = result["results"]
    assert (probe["host"], probe["address"], probe["port"], probe["state"]) == ("me", "127.0.0.1", port, "closed")
    assert result["hosts"]["me"]["state"] == "closed" and result["hosts"]["me"]["findings"] == []


def test_ollama_probe_rejects_a_target_without_its_required_field():
    how, result = run_module(ollama_probe, {"targets": [{"host": "me", "ports": [11434]}]})
    assert how == "fail"
    assert "addresses" in result["msg"]
