# -*- coding: utf-8 -*-
"""The upgrade plan (plugin_utils/ollama_upgrade.py)."""

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_upgrade import (
    binary_version, check_input, compare, exec_binary, parse_version, plan, problems, version_url)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import parse_ollama_host

SHA = "a" * 64


def facts(*services):
    """Audit facts with services given as (name, running version or None, OLLAMA_HOST, active)."""
    svcs, installs = [], []
    for name, version, host, active in services:
        svcs.append({"name": name, "exec_start": "/usr/local/bin/ollama serve",
                     "active_state": "active" if active else "inactive", "bind": parse_ollama_host(host),
                     "running_bind": parse_ollama_host(host) if active else None})
        installs.append({"subject": name, "kind": "service", "version": version})
    return {"services": svcs, "installs": installs}


@pytest.mark.parametrize("older,newer", [
    ("0.1.33", "0.1.34"), ("0.1.9", "0.1.10"), ("0.9.9", "0.10.0"), ("0.17.0", "1.0.0"),
    ("0.5.0-rc1", "0.5.0"), ("0.5.0-rc2", "0.5.0-rc10"), ("v0.1.33", "0.20.0")])
def test_compare_orders_numerically(older, newer):
    assert compare(older, newer) == -1 and compare(newer, older) == 1
    assert compare(older, older) == 0


@pytest.mark.parametrize("bad", ["", None, "latest", "0.1", "0.1.33.1", "01.1.1", "0.1.x", "0.1.33 ",
                                 "0.1.33-beta", "0.1.33\n; rm -rf /", "../0.1.33"])
def test_malformed_versions_are_refused(bad):
    if bad == "0.1.33 ":  # surrounding blanks are trimmed
        assert parse_version(bad) == (0, 1, 33, (1,))
        return
    with pytest.raises(ValueError):
        parse_version(bad)


def test_binary_version_prefers_the_client_line():
    assert binary_version("ollama version is 0.1.33\n") == "0.1.33"
    out = "ollama version is 0.17.0\nWarning: client version is 0.20.0\n"
    assert binary_version(out) == "0.20.0"
    assert binary_version("Warning: could not connect to a running Ollama instance\n"
                          "Warning: client version is 0.5.7\n") == "0.5.7"
    assert binary_version("") is None and binary_version(None) is None
    assert binary_version("ollama version is garbage") is None


def test_check_input_names_each_variable():
    assert check_input("0.20.0", SHA, src="/tmp/a.tgz") == []
    assert check_input("0.20.0", SHA, url="https://mirror.example/ollama-linux-amd64.tgz") == []
    errors = " ".join(check_input("", "", url="", src=""))
    for name in ("ollama_upgrade_version", "ollama_upgrade_sha256", "ollama_upgrade_url"):
        assert name in errors
    assert "ollama_upgrade_version" in check_input("latest", SHA, src="/a")[0]
    assert "ollama_upgrade_sha256" in check_input("0.20.0", "abc", src="/a")[0]
    assert "ollama_upgrade_sha256" in check_input("0.20.0", "g" * 64, src="/a")[0]
    assert "both" in check_input("0.20.0", SHA, url="http://m/a", src="/a")[0]
    assert "ollama_upgrade_url" in check_input("0.20.0", SHA, url="mirror/a.tgz")[0]
    assert "ollama_upgrade_install_dir" in check_input("0.20.0", SHA, src="/a", install_dir="/")[0]
    assert "ollama_upgrade_backup_dir" in check_input("0.20.0", SHA, src="/a", backup_dir="relative")[0]
    assert "ollama_upgrade_wait_timeout" in check_input("0.20.0", SHA, src="/a", wait_timeout="0")[0]
    assert "ollama_upgrade_wait_timeout" in check_input("0.20.0", SHA, src="/a", wait_timeout="soon")[0]


def test_plan_upgrades_and_restarts_the_running_services():
    result = plan(facts(("ollama.service", "0.1.33", "0.0.0.0:11434", True),
                        ("ollama-b.service", None, "127.0.0.1:11500", False)),
                  "0.20.0", binary="0.1.33")
    assert result["install"] and result["act"] and not result["downgrade"]
    assert result["restart"] == ["ollama.service"]  # a stopped service stays stopped
    assert result["binary"] == "/usr/local/bin/ollama" and result["lib_dir"] == "/usr/local/lib/ollama"
    assert result["services"][0]["url"] == "http://127.0.0.1:11434/api/version"
    assert result["services"][1]["url"] == "http://127.0.0.1:11500/api/version"


def test_plan_same_version_changes_nothing():
    result = plan(facts(("ollama.service", "0.20.0", "127.0.0.1", True)), "v0.20.0", binary="0.20.0")
    assert (result["install"], result["restart"], result["act"]) == (False, [], False)


def test_plan_restarts_a_service_still_running_the_old_binary():
    result = plan(facts(("ollama.service", "0.1.33", "127.0.0.1", True)), "0.20.0", binary="0.20.0")
    assert (result["install"], result["restart"]) == (False, ["ollama.service"])


def test_plan_refuses_a_downgrade_without_the_flag():
    with pytest.raises(ValueError, match="ollama_upgrade_allow_downgrade"):
        plan(facts(("ollama.service", "0.20.0", "127.0.0.1", True)), "0.17.0", binary="0.20.0")
    # The running server counts, even when the binary's version is unknown.
    with pytest.raises(ValueError, match="older than the installed 0.20.0"):
        plan(facts(("ollama.service", "0.20.0", "127.0.0.1", True)), "0.17.0", binary=None)
    result = plan(facts(("ollama.service", "0.20.0", "127.0.0.1", True)), "0.17.0", binary="0.20.0",
                  allow_downgrade=True)
    assert result["downgrade"] and result["install"] and result["restart"] == ["ollama.service"]


def test_plan_without_binary_installs():
    result = plan({"services": [], "installs": []}, "0.20.0", binary=None)
    assert result["install"] and result["restart"] == [] and result["installed"] is None


def test_plan_refuses_a_service_running_another_binary():
    data = facts(("ollama.service", "0.1.33", "127.0.0.1", True))
    data["services"][0]["exec_start"] = "-/usr/bin/ollama serve"
    with pytest.raises(ValueError, match="ollama_upgrade_install_dir"):
        plan(data, "0.20.0", binary="0.1.33")
    assert plan(data, "0.20.0", binary="0.1.33", install_dir="/usr")["binary"] == "/usr/bin/ollama"


def test_exec_binary_and_version_url():
    assert exec_binary("@-/usr/local/bin/ollama serve") == "/usr/local/bin/ollama"
    assert exec_binary(None) == ""
    assert version_url({"bind": parse_ollama_host("[::1]:11500")}) == "http://[::1]:11500/api/version"
    assert version_url({"bind": parse_ollama_host("[::]:11434")}) == "http://127.0.0.1:11434/api/version"
    assert version_url({}) == "http://127.0.0.1:11434/api/version"


def test_problems_name_each_service_that_is_not_up():
    items = [{"name": "a.service", "url": "http://127.0.0.1:11434/api/version"},
             {"name": "b.service", "url": "http://127.0.0.1:11500/api/version"},
             {"name": "c.service", "url": "http://127.0.0.1:11600/api/version"}]
    results = [{"status": 200, "json": {"version": "0.20.0"}},
               {"status": 200, "json": {"version": "0.1.33"}},
               {"status": -1, "msg": "Connection refused"}]
    found = problems(items, results, "0.20.0")
    assert len(found) == 2
    assert "b.service" in found[0] and "answers version 0.1.33" in found[0]
    assert "c.service" in found[1] and "Connection refused" in found[1]
    assert problems(items[:1], results[:1], "0.20.0") == []
    assert "not checked" in problems(items, results[:1], "0.20.0")[-1]
