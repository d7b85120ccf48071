# -*- coding: utf-8 -*-
"""Stamps (module_utils/ollama_stamp.py): a role skips its reads and writes
only when its stamp is there, nothing it recorded has moved and it was made
from the same inputs; anything else takes the role's normal path."""

import json
import os

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils import ollama_stamp as st
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_systemd import parse_systemctl_show
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_stamp as cs


@pytest.fixture
def tree(tmp_path):
    conf = tmp_path / "front.conf"
    conf.write_text("server {}\n")
    os.chmod(str(conf), 0o644)
    return {"conf": str(conf), "gone": str(tmp_path / "default"), "dir": str(tmp_path)}


def stamp_for(tree, units=None, chains=None):
    files = st.file_state([tree["conf"], tree["gone"], tree["dir"]])
    return st.document("d1", files, units or {"nginx.service": "active enabled"}, chains or {})


def test_file_state_records_content_mode_and_absence(tree):
    state = st.file_state([tree["conf"], tree["gone"], tree["dir"]])
    assert state[tree["gone"]] is None
    assert state[tree["conf"]][0] == __import__("hashlib").sha1(b"server {}\n").hexdigest()
    assert state[tree["conf"]][1].startswith("0644 ")
    assert state[tree["dir"]][0] is None and state[tree["dir"]][1]


def test_nothing_moved_means_no_drift(tree):
    doc = st.parse(__import__("json").dumps(stamp_for(tree)))
    files, units, chains = st.recorded(doc)
    assert st.drift(doc, st.file_state(files), {"nginx.service": "active enabled"}, {}) == []
    assert cs.unchanged(st.report(doc, st.file_state(files), {"nginx.service": "active enabled"}, {}), "d1")


@pytest.mark.parametrize("change, expected", [
    (lambda t: open(t["conf"], "a").write("# by hand\n"), "content changed"),
    (lambda t: os.chmod(t["conf"], 0o666), "mode or ownership 0666"),
    (lambda t: os.unlink(t["conf"]), "missing"),
    (lambda t: open(t["gone"], "w").write("x"), "present, should be absent"),
])
def test_each_kind_of_file_drift_is_named(tree, change, expected):
    doc = stamp_for(tree)
    change(tree)
    files, _units, _chains = st.recorded(doc)
    found = st.drift(doc, st.file_state(files), {"nginx.service": "active enabled"}, {})
    assert len(found) == 1 and expected in found[0]
    assert not cs.unchanged(st.report(doc, st.file_state(files), {"nginx.service": "active enabled"}, {}), "d1")


def test_a_stopped_or_disabled_unit_and_a_changed_chain_are_drift(tree):
    chain = "inet ollama_exposure_toolkit input"
    doc = stamp_for(tree, chains={chain: "aa"})
    files = st.file_state(st.recorded(doc)[0])
    assert st.drift(doc, files, {"nginx.service": "active enabled"}, {chain: "aa"}) == []
    assert st.drift(doc, files, {"nginx.service": "inactive enabled"}, {chain: "aa"}) == \
        ["nginx.service: inactive enabled, was active enabled"]
    assert st.drift(doc, files, {"nginx.service": "active enabled"}, {chain: "bb"}) == \
        ["nft chain %s: rules changed" % chain]
    assert st.drift(doc, files, {"nginx.service": "active enabled"}, {chain: "missing"}) == \
        ["nft chain %s: missing" % chain]


def test_other_inputs_or_no_stamp_take_the_normal_path(tree):
    doc = stamp_for(tree)
    files = st.file_state(st.recorded(doc)[0])
    same = st.report(doc, files, {"nginx.service": "active enabled"}, {})
    assert cs.unchanged(same, "d1")
    assert not cs.unchanged(same, "d2")
    assert not cs.unchanged(same, "")
    assert not cs.unchanged(st.report(None, {}, {}, {}), "d1")
    assert st.report(None, {}, {}, {})["drift"] == ["no stamp"]
    assert not cs.unchanged(None, "d1")


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"version": 99, "state": {}}', '{"version": 1}'])
def test_an_unreadable_stamp_is_no_stamp(text):
    assert st.parse(text) is None


def test_unit_state_from_systemctl_show():
    blocks = [{"Id": "nginx.service", "LoadState": "loaded", "ActiveState": "active", "UnitFileState": "enabled"},
              {"Id": "gone.service", "LoadState": "not-found", "ActiveState": "inactive", "UnitFileState": ""}]
    assert st.unit_state(blocks, ["nginx.service", "gone.service", "unknown.service"]) == {
        "nginx.service": "active enabled", "gone.service": "missing", "unknown.service": "missing"}


def test_nft_chains_only_never_a_command():
    calls = []

    def run(args):
        calls.append(args)
        return (0, "chain input { tcp dport 11434 drop }\n") if args[-1] == "input" else (1, "")
    state = st.nft_state(run, ["inet ollama_exposure_toolkit input", "inet ollama_exposure_toolkit forward",
                               "inet t input; flush ruleset", "list ruleset"])
    assert calls == [["list", "chain", "inet", "ollama_exposure_toolkit", "input"],
                     ["list", "chain", "inet", "ollama_exposure_toolkit", "forward"]]
    assert len(state["inet ollama_exposure_toolkit input"]) == 40
    assert state["inet ollama_exposure_toolkit forward"] == "missing"
    assert state["inet t input; flush ruleset"] == "invalid" and state["list ruleset"] == "invalid"


def test_the_digest_ignores_key_order_and_sees_every_value():
    assert cs.digest({"a": 1, "b": [1, 2]}) == cs.digest({"b": [1, 2], "a": 1})
    assert cs.digest({"a": 1}) != cs.digest({"a": 2})
    assert len(cs.digest({})) == 64


def test_read_view_is_the_same_for_two_reads_of_an_unchanged_host():
    from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_stamp import read_view
    first = {"changed": False, "services": [{"name": "ollama.service", "main_pid": 574, "bind": {"port": 11434}}],
             "processes": [{"pid": 574, "argv": ["ollama", "serve"]}],
             "installs": [{"subject": "pid 574 (ollama serve)"}], "findings": [{"id": "OLLAMA-BIND-001"}],
             "stamps": {"/x": {"present": True}}, "checksums": {"/a": "1"}, "status": "exposed",
             "other_listeners": [{"address": "127.0.0.11", "port": 36747, "scope": "loopback"},
                                 {"address": "0.0.0.0", "port": 80, "scope": "wildcard"}],
             "invocation": {"module_args": {}}, "_ansible_no_log": False}
    second = json.loads(json.dumps(first))
    second["services"][0]["main_pid"] = second["processes"][0]["pid"] = 901
    second["installs"][0]["subject"] = "pid 901 (ollama serve)"
    second["other_listeners"][0]["port"] = 41000
    second["stamps"] = {}
    assert read_view(first) == read_view(second)
    view = read_view(first)
    assert view["other_listeners"] == [{"address": "0.0.0.0", "port": 80, "scope": "wildcard"}]
    assert view["processes"] == [{"argv": ["ollama", "serve"]}]
    assert not set(view) & {"installs", "findings", "stamps", "checksums", "status", "invocation", "changed"}


def test_read_view_leaves_out_what_ansible_adds_to_the_first_read_of_a_run():
    """The first module of a run on a host without ansible_python_interpreter
    returns the interpreter Ansible discovered: the read before the walls has
    it, the read after them not (issue 27: harden.json never matched)."""
    from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_stamp import read_view
    after = {"changed": False, "failed": False, "services": [{"name": "ollama.service", "bind": {"port": 11434}}],
             "other_listeners": []}
    before = dict(after, ansible_facts={"discovered_interpreter_python": "/usr/bin/python3.11"},
                  warnings=["a warning of Ansible's"], deprecations=[{"msg": "a deprecation"}])
    assert read_view(before) == read_view(after)
    assert "ansible_facts" not in read_view(before)


def test_read_view_changes_with_what_decides_the_walls():
    from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_stamp import read_view
    base = {"services": [{"name": "ollama.service", "bind": {"port": 11434, "host": "127.0.0.1"}}],
            "other_listeners": [], "addresses": ["10.0.0.2"]}
    for change in ({"services": [{"name": "ollama.service", "bind": {"port": 11434, "host": "0.0.0.0"}}]},
                   {"addresses": ["10.0.0.3"]},
                   {"other_listeners": [{"address": "0.0.0.0", "port": 11434, "scope": "wildcard"}]},
                   {"processes": [{"argv": ["ollama", "serve"], "unit": None}]}):
        assert read_view(dict(base, **change)) != read_view(base), change
    assert read_view(None) == {"other_listeners": []}


class FakeModule(object):
    """run_command and get_bin_path of an AnsibleModule on a host where
    systemd runs: every command is recorded; ``systemctl show`` answers
    from SHOW."""

    SHOW = ("Id=nginx.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n\n"
            "Id=gone.service\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\n")

    def __init__(self):
        self.calls = []

    @staticmethod
    def get_bin_path(name):
        return "/usr/bin/" + name

    def run_command(self, argv, environ_update=None):
        self.calls.append(list(argv))
        return (0, self.SHOW, "") if argv[1] == "show" else (1, "", "no such command here")


def test_read_stamps_uses_a_show_already_made(tree, monkeypatch):
    """ollama_info makes one systemctl show for its whole read: the stamps'
    units come from it, with the same report as their own call gives."""
    directory = os.path.join(tree["dir"], "stamps")
    os.mkdir(directory)
    with open(os.path.join(directory, "ollama_front.json"), "w") as handle:
        json.dump(stamp_for(tree, units={"nginx.service": "active enabled", "gone.service": "missing"}), handle)
    with open(os.path.join(directory, "harden.json"), "w") as handle:
        handle.write("not a stamp")
    with open(os.path.join(directory, "Not A Name.json"), "w") as handle:
        handle.write("{}")
    monkeypatch.setattr(st, "STAMP_DIR", directory)
    path, missing = "ollama_front", "harden"
    docs = st.load_stamps()
    assert sorted(docs) == [missing, path]
    assert docs[missing] is None and st.stamp_units(docs) == ["gone.service", "nginx.service"]
    real_isdir = os.path.isdir
    monkeypatch.setattr(st.os.path, "isdir", lambda p: p == "/run/systemd/system" or real_isdir(p))
    own = FakeModule()
    alone = st.read_stamps(own, parse_systemctl_show, docs)
    assert [c[:2] for c in own.calls] == [["/usr/bin/systemctl", "show"]]
    shared = FakeModule()
    shown = dict((b["Id"], b) for b in parse_systemctl_show(FakeModule.SHOW + "\nId=other.service\nLoadState=loaded\n"))
    given = st.read_stamps(shared, parse_systemctl_show, docs, shown)
    assert shared.calls == []
    assert given == alone
    assert cs.unchanged(given[path], "d1") and given[missing]["drift"] == ["no stamp"]
    # A unit the shared show lacks is missing, as systemd not knowing it.
    del shown["nginx.service"]
    moved = st.read_stamps(shared, parse_systemctl_show, docs, shown)[path]
    assert not cs.unchanged(moved, "d1") and "nginx.service: missing, was active enabled" in moved["drift"]


def test_a_stamp_is_named_never_a_path():
    assert st.stamp_path("ollama_front", "/d") == "/d/ollama_front.json"
    assert st.stamp_path("harden").startswith(st.stamp_dir() + "/")
    for bad in ("../x", "/etc/passwd", "Front", "", "a/b", "a.json", "x" * 65):
        with pytest.raises(ValueError):
            st.stamp_path(bad)


def test_whole_run_only_without_tags_or_a_skip_of_the_wall():
    assert cs.whole_run(["all"], [], "OLLAMA-FW", "ollama_firewall")
    assert cs.whole_run(["all"], ["OLLAMA-FRONT-003", "ollama_front"], "OLLAMA-FW", "ollama_firewall")
    for skip in (["OLLAMA-FW-003"], ["ollama_firewall"], ["always"]):
        assert not cs.whole_run(["all"], skip, "OLLAMA-FW", "ollama_firewall"), skip
    assert not cs.whole_run(["OLLAMA-FW-003"], [], "OLLAMA-FW", "ollama_firewall")
    assert cs.whole_run(["all"], ["OLLAMA-FW-0030x"], "OLLAMA-FW", "ollama_firewall")
