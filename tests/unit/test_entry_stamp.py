# -*- coding: utf-8 -*-
"""library/ollama_stamp.py through its entry point, and the stamps as
library/ollama_info.py reads them back: written only when they differ, never
in check mode, root only; a file moved since shows as drift."""

import json
import os
import stat

import pytest

from library import ollama_info, ollama_stamp
from test_entry_modules import module_exits, run_module  # noqa: F401 - the autouse fixture catches exit_json


@pytest.fixture
def managed(tmp_path):
    conf = tmp_path / "site.conf"
    conf.write_text("server {}\n")
    return tmp_path, str(conf)


@pytest.fixture(autouse=True)
def stamps_here(tmp_path, monkeypatch):
    """The stamps' directory, moved under the test's (the modules' hook)."""
    monkeypatch.setenv("OLLAMA_TOOLKIT_STAMP_DIR", str(tmp_path / "stamps"))


def stamp(name, conf, check=False, inputs="d1"):
    return run_module(ollama_stamp, {"name": name, "inputs": inputs, "files": [conf], "data": {"ports": [11434]},
                                     "_ansible_check_mode": check})


def test_written_once_root_only_then_unchanged(managed):
    tmp, conf = managed
    path = str(tmp / "stamps" / "role.json")
    kind, result = stamp("role", conf, check=True)
    assert kind == "exit" and result["changed"] and not os.path.exists(path)
    kind, result = stamp("role", conf)
    assert kind == "exit" and result["changed"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    doc = json.load(open(path))
    assert doc["inputs"] == "d1" and doc["data"] == {"ports": [11434]} and conf in doc["state"]["files"]
    assert stamp("role", conf)[1]["changed"] is False
    assert stamp("role", conf, inputs="d2")[1]["changed"] is True


def test_the_audit_reads_it_back_and_sees_what_moved(managed):
    tmp, conf = managed
    path = "role"
    stamp(path, conf)
    (tmp / "stamps" / "none.json").write_text("")
    read = run_module(ollama_info, {"query_version": False, "stamps": True})[1]["stamps"]
    assert read[path] == {"present": True, "inputs": "d1", "drift": [], "data": {"ports": [11434]}}
    assert read["none"]["present"] is False
    assert run_module(ollama_info, {"query_version": False})[1]["stamps"] == {}
    with open(conf, "a") as handle:
        handle.write("# by hand\n")
    read = run_module(ollama_info, {"query_version": False, "stamps": True})[1]["stamps"]
    assert read[path]["drift"] == ["%s: content changed" % conf]


def test_absent_removes_it(managed):
    tmp, conf = managed
    path = str(tmp / "stamps" / "role.json")
    stamp("role", conf)
    assert run_module(ollama_stamp, {"name": "role", "state": "absent"})[1]["changed"] is True
    assert not os.path.exists(path)
    assert run_module(ollama_stamp, {"name": "role", "state": "absent"})[1]["changed"] is False


def test_present_needs_the_inputs(managed):
    tmp, conf = managed
    kind, result = run_module(ollama_stamp, {"name": "x", "files": [conf]})
    assert kind == "fail" and "inputs" in result["msg"]
