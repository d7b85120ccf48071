# -*- coding: utf-8 -*-
"""playbooks/discover.yml (issue 29) as ansible-playbook runs it: the sweep
from a variables file, the inventory's addresses named managed, the
discovery-only report and its hand-off (report_dir/discover.json), which
audit.yml joins into the fleet report; idempotent, --check writes nothing,
bad input refused by name before anything is sent.

The module ollama_discover is replaced by the test tree's stand-in
(tests/unit/discover_standin/: the agreed parameters and return shape; it
sends nothing, its answers come from a file). The bad-input table runs
against library/ollama_discover.py where it exists (it refuses before any
connection), else the stand-in. The audit's host is unreachable on
loopback port 1: nothing leaves this machine."""

import json
import os
import re

import pytest
import yaml
from playbook_run import ROOT, ansible_playbook

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "discover_standin")
REAL = os.path.join(ROOT, "library", "ollama_discover.py")


def rec(address, port, kind, state, is_open=False, auth=False, version=None, models=None):
    return {"address": address, "port": port, "scheme": "http", "kind": kind, "state": state, "open": is_open,
            "auth": auth, "version": version, "models": models, "fingerprint": "%s:%s:%s" % (kind, address, port)}


ANSWERS = {
    "127.0.0.1": [rec("127.0.0.1", 11434, "ollama", "exposed", True, version="0.1.28", models=1)],
    "10.0.0.3": [rec("10.0.0.3", 11434, "ollama", "auth_required", auth=True)],
    "10.0.0.9": [rec("10.0.0.9", 80, "http", "open_other"),
                 rec("10.0.0.9", 11434, "ollama", "exposed", True, version="0.6.1", models=2)],
    "10.0.0.10": [rec("10.0.0.10", 8000, "vllm", "auth_required", auth=True)],
    "10.0.0.12": [rec("10.0.0.12", 80, "http", "open_other")],
    "10.0.1.5": [rec("10.0.1.5", 11434, "ollama", "exposed", True)],  # outside the ranges: never listed
}


@pytest.fixture
def lab(tmp_path):
    """An inventory (web-1 on loopback port 1, db-2 on 10.0.0.3, never contacted), the sweep's file,
    the stand-in's answers and a report directory."""
    inventory = tmp_path / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {
        "web-1": {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_connection": "ssh",
                  "ansible_become": False},
        "db-2": {"ansible_host": "10.0.0.3"}}}}))
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump({"ollama_audit_exceptions": [
        {"id": "OLLAMA-DISC-002", "host": "10.0.0.10", "reason": "the lab's keyed vLLM", "owner": "ml@example.com",
         "expires": "2099-01-31"}]}))
    sweep = tmp_path / "ours.discover.yml"
    sweep.write_text(yaml.safe_dump({"plugin": "ollama_toolkit.exposure.discover", "cache": True,
                                     "ranges": ["10.0.0.0/24", "127.0.0.1/32"], "exclude": ["10.0.0.200/29"],
                                     "ports": [11434, 8000, 80]}))
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(ANSWERS))
    return {"inventory": str(inventory), "sweep": str(sweep), "answers": str(answers),
            "calls": str(tmp_path / "calls.jsonl"), "reports": str(tmp_path / "reports"), "tmp": tmp_path}


def play(lab, playbook, *extra, library=STANDIN):
    env = {"ANSIBLE_LIBRARY": "%s:%s" % (library, os.path.join(ROOT, "library")),
           "OLLAMA_DISCOVER_STANDIN": lab["answers"], "OLLAMA_DISCOVER_STANDIN_CALLS": lab["calls"],
           "ANSIBLE_SSH_ARGS": "-o ConnectTimeout=3 -o BatchMode=yes", "ANSIBLE_TIMEOUT": "3"}
    return ansible_playbook(["-i", lab["inventory"], os.path.join("playbooks", playbook),
                             "-e", "report_dir=%s" % lab["reports"]] + list(extra), env=env)


def findings(directory):
    with open(os.path.join(directory, "findings.json")) as handle:
        return json.load(handle)


def disc(report):
    return sorted((f["host"], f["id"], f["subject"], f["status"]) for f in report["findings"]
                  if f["id"].startswith("OLLAMA-DISC-"))


def recap_changed(stdout, host="localhost"):
    match = re.search(r"%s\s+: ok=\d+\s+changed=(\d+)" % re.escape(host), stdout)
    assert match, stdout[-2000:]
    return int(match.group(1))


def test_discover_alone_then_again_then_audit_joins_the_hand_off(lab):
    first = play(lab, "discover.yml", "-e", "discover_file=%s" % lab["sweep"])
    assert first.returncode == 0, first.stdout[-3000:]
    assert recap_changed(first.stdout) == 0
    assert "5 address(es) answered: 2 managed, 2 unmanaged model server host(s) (1 open)" in first.stdout
    with open(lab["calls"]) as handle:
        call = json.loads(handle.readline())
    assert sorted(call["managed"]) == ["10.0.0.3", "127.0.0.1"]
    assert (call["ranges"], call["ports"], call["exclude"]) == (
        ["10.0.0.0/24", "127.0.0.1/32"], [11434, 8000, 80], ["10.0.0.200/29"])
    with open(os.path.join(lab["reports"], "discover.json")) as handle:
        handoff = json.load(handle)
    assert handoff["inventory"] == {"127.0.0.1": "web-1", "10.0.0.3": "db-2"}
    assert sorted(handoff["result"]) == ["elapsed", "excluded", "hosts", "scanned"]
    assert handoff["ports"] == [11434, 8000, 80]
    report = findings(lab["reports"])
    assert disc(report) == [
        ("10.0.0.10", "OLLAMA-DISC-002", "vllm:10.0.0.10:8000", "excepted"),
        ("10.0.0.9", "OLLAMA-DISC-001", "ollama:10.0.0.9:11434", "new")]
    assert {h: e["status"] for h, e in report["hosts"].items()} == {"10.0.0.9": "unmanaged",
                                                                   "10.0.0.10": "unmanaged"}
    pointers = dict((p["address"], (p["managed"], p["host"])) for p in report["discovery"]["hosts"])
    assert pointers == {"127.0.0.1": (True, "web-1"), "10.0.0.3": (True, "db-2"), "10.0.0.9": (False, "10.0.0.9"),
                        "10.0.0.10": (False, "10.0.0.10"), "10.0.0.12": (False, None)}
    for name in ("findings.csv", "report.md", "report.html", "junit.xml"):
        assert "10.0.0.9" in open(os.path.join(lab["reports"], name)).read()
    assert os.listdir(os.path.join(lab["reports"], "tickets")) == [
        "%s.md" % f["fingerprint"] for f in report["findings"] if f["status"] == "new"]

    again = play(lab, "discover.yml", "-e", "discover_file=%s" % lab["sweep"])
    assert again.returncode == 0 and recap_changed(again.stdout) == 0, again.stdout[-3000:]
    assert disc(findings(lab["reports"])) == [
        ("10.0.0.10", "OLLAMA-DISC-002", "vllm:10.0.0.10:8000", "excepted"),
        ("10.0.0.9", "OLLAMA-DISC-001", "ollama:10.0.0.9:11434", "open")]

    # audit.yml after: it finds reports/discover.json and joins it (web-1 unreachable on loopback port 1).
    audit = play(lab, "audit.yml", "-e", "target=web-1", "-e", "ollama_audit_probe=false")
    assert "OLLAMA-AUDIT | REPORT" in audit.stdout, audit.stdout[-3000:]
    joined = findings(lab["reports"])
    assert joined["hosts"]["web-1"]["status"] == "unreachable"
    assert disc(joined) == [
        ("10.0.0.10", "OLLAMA-DISC-002", "vllm:10.0.0.10:8000", "excepted"),
        ("10.0.0.9", "OLLAMA-DISC-001", "ollama:10.0.0.9:11434", "open")]
    assert ("127.0.0.1", "web-1", True) in [(p["address"], p["host"], p.get("audited"))
                                            for p in joined["discovery"]["hosts"]]


def test_check_mode_sweeps_and_writes_nothing(lab):
    run = play(lab, "discover.yml", "--check", "-e", "discover_file=%s" % lab["sweep"])
    assert run.returncode == 0, run.stdout[-3000:]
    assert recap_changed(run.stdout) == 0
    assert os.path.exists(lab["calls"])  # the sweep ran (GETs only)
    assert not os.path.exists(lab["reports"])


# Two of the module's refusals through the playbook (its whole table: the module's own tests):
# the run stops at the sweep, naming the option, with nothing sent and nothing written.
BAD = [
    ({"ranges": ["10.0.0.300/24"], "exclude": []}, "ranges"),
    ({"ranges": ["10.0.0.0/24"], "ports": [0, 11434]}, "ports"),
]


@pytest.mark.parametrize("options, name", BAD)
def test_bad_input_is_refused_by_name_before_anything_is_sent(lab, options, name):
    bad = lab["tmp"] / "bad.yml"
    bad.write_text(yaml.safe_dump(options))
    library = os.path.dirname(REAL) if os.path.exists(REAL) else STANDIN
    run = play(lab, "discover.yml", "-e", "discover_file=%s" % bad, library=library)
    assert run.returncode != 0
    failed = re.search(r"fatal: \[localhost\]: FAILED! =>(.*?)(?:\n\S|\Z)", run.stdout, re.S)
    assert failed and "SWEEP" in run.stdout.split("fatal:")[0].rsplit("TASK [", 1)[-1], run.stdout[-2000:]
    assert name in failed.group(1), run.stdout[-2000:]
    assert not os.path.exists(lab["calls"]) and not os.path.exists(lab["reports"])


def test_no_discover_file_is_refused_by_name(lab):
    run = play(lab, "discover.yml")
    assert run.returncode != 0 and "discover_file must name the sweep's variables file" in run.stdout
    assert not os.path.exists(lab["reports"])


def doc_blocks(path):
    """The YAML blocks of a document that configure the inventory plugin."""
    with open(os.path.join(ROOT, path)) as handle:
        text = handle.read()
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    return [b for b in blocks if isinstance(b, dict) and b.get("plugin") == "ollama_toolkit.exposure.discover"]


def test_the_readme_file_configures_the_playbook_as_it_is(lab):
    """README: one YAML file configures the sweep for the inventory plugin and for the playbook alike."""
    (block,) = doc_blocks("README.md")
    readme = lab["tmp"] / "ours.discover.yml"
    readme.write_text(yaml.safe_dump(block))
    with open(lab["answers"], "w") as handle:
        json.dump({"192.0.2.1": [rec("192.0.2.1", 11434, "ollama", "exposed", True)],
                   "192.0.2.7": [rec("192.0.2.7", 8080, "ollama", "exposed", True)],
                   "2001:db8:0:1::5": [rec("2001:db8:0:1::5", 1234, "lmstudio", "auth_required", auth=True)]},
                  handle)
    run = play(lab, "discover.yml", "-e", "discover_file=%s" % readme)
    assert run.returncode == 0, run.stdout[-3000:]
    with open(lab["calls"]) as handle:
        call = json.loads(handle.readline())
    assert (call["ranges"], call["exclude"], call["ports"]) == (block["ranges"], block["exclude"], block["ports"])
    assert disc(findings(lab["reports"])) == [
        ("192.0.2.7", "OLLAMA-DISC-001", "ollama:192.0.2.7:8080", "new"),
        ("2001:db8:0:1::5", "OLLAMA-DISC-002", "lmstudio:2001:db8:0:1::5:1234", "new")]


def test_the_docs_show_discovery_first_and_as_an_awx_inventory_source():
    with open(os.path.join(ROOT, "README.md")) as handle:
        readme = handle.read()
    assert readme.index("## Discover, audit, harden, report") < readme.index("## Audit\n")
    steps = re.findall(r"^\d\. \*\*(\w+)\*\*", readme, re.M)
    assert steps[:4] == ["Discover", "Audit", "Harden", "Report"]
    with open(os.path.join(ROOT, "docs", "awx.md")) as handle:
        awx = handle.read()
    assert "## 7. Discovery as an inventory source" in awx and "#7-discovery-as-an-inventory-source" in readme
    for playbook in re.findall(r"`(playbooks/\w+\.yml)`", readme + awx):
        assert os.path.exists(os.path.join(ROOT, playbook)), playbook
    (block,) = doc_blocks("docs/awx.md")
    assert block["cache"] is True and block["ranges"]


PLUGIN = os.path.join(ROOT, "collections", "ansible_collections", "ollama_toolkit", "exposure", "plugins",
                      "inventory", "discover.py")
# Options of the doc fragments the plugin extends (ansible-core's constructed and inventory_cache).
FRAGMENTS = {"strict", "compose", "groups", "keyed_groups", "leading_separator", "use_extra_vars", "cache",
             "cache_plugin", "cache_timeout", "cache_connection", "cache_prefix"}


def test_the_docs_plugin_files_use_only_the_plugin_options_and_groups():
    if not os.path.exists(PLUGIN):
        pytest.skip("the inventory plugin is not on this branch (built apart)")
    with open(PLUGIN) as handle:
        source = handle.read()
    doc = yaml.safe_load(re.search(r'DOCUMENTATION = r"""(.*?)"""', source, re.S).group(1))
    options = set(doc["options"]) | FRAGMENTS
    for path in ("README.md", "docs/awx.md"):
        for block in doc_blocks(path):
            assert set(block) <= options, (path, set(block) - options)
    text = open(os.path.join(ROOT, "README.md")).read() + open(os.path.join(ROOT, "docs", "awx.md")).read()
    described = " ".join(doc["description"])
    for group in set(re.findall(r"`(discovered_\w+)`", text)):
        assert group in described or group.startswith("discovered_ollama_"), group
