# -*- coding: utf-8 -*-
"""The modules' entry points (``main()``) driven through AnsibleModule: the
arguments go in as Ansible passes them, the argument spec is applied, and
exit_json/fail_json are caught (community.general's set_module_args pattern,
with ansible-core's own ``patch_module_args``)."""

import json
import os
import socket
import sys
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_docker import recreate_config
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_netfilter import TOOLS, UNITS
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_stamp import document
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import evaluate_host, host_status
from library import ollama_info, ollama_probe
from test_ollama_docker import IMAGE_ID, INSPECT, serve_routes

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
    how, result = run_module(ollama_info, {"host_id": "unit-host", "query_version": False,
                                           "docker_socket": no_docker(tmp_path), "timeout": 0.5})
    assert how == "exit", result
    assert result["changed"] is False and result["supported"] is True
    assert result["status"] in ("unknown", "not_installed")
    for key in ("services", "processes", "listeners", "containers", "installs", "addresses", "other_listeners"):
        assert isinstance(result[key], list), key
    assert result["containers"] == []  # no engine at docker_socket: skipped, not an error
    # The findings are the controller's: none from the host, derived from its read there.
    assert "findings" not in result and result["host_id"] == "unit-host"
    findings = evaluate_host(result, catalog, result["host_id"])
    assert all(f["host"] == "unit-host" for f in findings)
    assert host_status(result, findings, catalog) in STATUSES
    assert set(result["os"]) <= {"ID", "ID_LIKE", "VERSION_ID", "PRETTY_NAME"}


def test_ollama_info_takes_no_catalog(tmp_path, catalog):
    how, result = run_module(ollama_info, {"catalog": catalog, "docker_socket": no_docker(tmp_path)})
    assert how == "fail" and "catalog" in str(result)


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


def test_ollama_info_reads_the_firewall_on_request(tmp_path):
    """firewall=always (the firewall role's own read): which firewall the host
    has, read-only, with whatever tools this host has (missing ones are empty)."""
    how, result = run_module(ollama_info, {"_ansible_check_mode": True, "query_version": False, "firewall": "always",
                                           "docker_socket": no_docker(tmp_path)})
    assert how == "exit", result
    detect = result["firewall"]["detect"]
    assert sorted(detect["tools"]) == sorted(TOOLS)
    assert all(isinstance(path, str) for path in detect["tools"].values())
    assert set(detect) == {"tools", "units", "ufw", "firewalld_zone"}
    assert set(detect["ufw"]) == {"active", "default_incoming", "rules"}
    assert set(result["firewall"]) == {"input", "forward", "errors", "detect"}
    assert result["python"] == sys.executable


def test_ollama_info_asks_systemd_once_for_every_unit(tmp_path, monkeypatch):
    """The read makes one ``systemctl show`` (a round trip to systemd each):
    the firewall's units and the units the stamps record come from it, and
    both read what it answered."""
    (tmp_path / "stamps").mkdir()
    stamp = tmp_path / "stamps" / "ollama_front.json"
    stamp.write_text(json.dumps(document("d1", {}, {"nginx.service": "active enabled"}, {})))
    monkeypatch.setenv("OLLAMA_TOOLKIT_STAMP_DIR", str(tmp_path / "stamps"))
    real_isdir = os.path.isdir
    monkeypatch.setattr(os.path, "isdir", lambda p: p == "/run/systemd/system" or real_isdir(p))
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path",
                        lambda self, name, *args, **kwargs: "/usr/bin/systemctl" if name == "systemctl" else None)
    calls = []

    def run_command(self, argv, *args, **kwargs):
        calls.append(list(argv))
        units = argv[argv.index("--") + 1:]
        return 0, "\n".join("Id=%s\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n" % u
                             for u in units), ""
    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    how, result = run_module(ollama_info, {"query_version": False, "firewall": "always", "stamps": True,
                                           "docker_socket": no_docker(tmp_path)})
    assert how == "exit", result
    shows = [c for c in calls if c[:2] == ["/usr/bin/systemctl", "show"]]
    assert len(shows) == 1, calls
    assert set(UNITS) | {"nginx.service"} <= set(shows[0][shows[0].index("--") + 1:])
    assert result["firewall"]["detect"]["units"]["ufw.service"] == {"loaded": True, "active": True, "enabled": True}
    assert sorted(result["firewall"]["detect"]["units"]) == sorted(UNITS)
    assert result["stamps"]["ollama_front"]["drift"] == []


def test_ollama_info_leaves_the_firewall_where_nothing_is_installed(tmp_path):
    how, result = run_module(ollama_info, {"query_version": False, "docker_socket": no_docker(tmp_path)})
    assert how == "exit", result
    if result["services"] or result["processes"] or result["containers"]:
        pytest.skip("an Ollama runs on this host")
    assert "detect" not in result["firewall"]


def test_ollama_info_rejects_an_unknown_firewall_choice():
    how, result = run_module(ollama_info, {"firewall": "sometimes"})
    assert how == "fail" and "firewall" in result["msg"] and "sometimes" in result["msg"]


def test_ollama_info_docker_inspect_returns_what_recreates_each_container(tmp_path):
    path = os.path.join(str(tmp_path), "docker.sock")
    listing = [{"Id": "3f4e1c2a9b8d7e6f", "Names": ["/ollama"], "Image": "ollama/ollama:0.5.7",
                "Command": "/bin/ollama serve", "State": "running",
                "Ports": [{"IP": "0.0.0.0", "PrivatePort": 11434, "PublicPort": 11434, "Type": "tcp"}]}]
    thread, seen = serve_routes(path, {
        "/containers/json": (200, listing),
        "/containers/3f4e1c2a9b8d/json": (200, INSPECT),
        "/images/ollama/ollama:0.5.7/json": (200, {"Id": IMAGE_ID}),
    }, 3)
    how, result = run_module(ollama_info, {"_ansible_check_mode": True, "query_version": False,
                                           "docker_socket": path, "docker_inspect": True, "timeout": 5.0})
    thread.join(5)
    assert how == "exit", result
    assert seen == ["/containers/json", "/containers/3f4e1c2a9b8d/json", "/images/ollama/ollama:0.5.7/json"]
    [ctr] = result["containers"]
    assert ctr["config"] == recreate_config(INSPECT) and ctr["image_id"] == IMAGE_ID
    assert "HF_TOKEN=secret" in ctr["config"]["Config"]["Env"]  # why the role reads it with no_log


def test_ollama_info_without_docker_inspect_keeps_containers_environment_on_the_host(tmp_path):
    path = os.path.join(str(tmp_path), "docker.sock")
    listing = [{"Id": "3f4e1c2a9b8d7e6f", "Names": ["/ollama"], "Image": "ollama/ollama:0.5.7",
                "Command": "/bin/ollama serve", "State": "running", "Ports": []}]
    thread, seen = serve_routes(path, {"/containers/json": (200, listing)}, 1)
    how, result = run_module(ollama_info, {"query_version": False, "docker_socket": path, "timeout": 5.0})
    thread.join(5)
    assert how == "exit", result
    assert seen == ["/containers/json"]
    [ctr] = result["containers"]
    assert "config" not in ctr and "image_id" not in ctr


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


def test_ollama_info_returns_no_file_checksums(tmp_path):
    """The stamps are the only fast path: the read returns no file's checksum
    outside a stamp, and takes no list of paths to checksum."""
    how, result = run_module(ollama_info, {"query_version": False, "docker_socket": no_docker(tmp_path)})
    assert how == "exit" and "checksums" not in result and "file_attrs" not in result
    how, result = run_module(ollama_info, {"query_version": False, "checksum_paths": ["/etc/shadow"]})
    assert how == "fail" and "checksum_paths" in result["msg"]
