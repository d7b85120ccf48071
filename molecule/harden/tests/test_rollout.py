"""playbooks/harden.yml in batches, stopped by a failing batch (runs after
test_rollback.py has given every host its state from before hardening).

The canary batch goes through; the second batch holds a host that fails;
with harden_max_fail_percentage 0 the rollout stops there: no host after
the canary changes, and the after report lists them as not reached."""

import json
import os
import re
import subprocess
import tempfile

PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
INVENTORY = os.path.join(PROJECT, "inventories", "lab", "hosts.yml")
TARGET = (os.environ.get("OLLAMA_LAB_HARDEN_TARGET") or "ollama_lab") + ":!gone:!no-python"
PLAIN = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
SNAPSHOT = ("set -o pipefail; { find /etc /usr/local /usr/share/ollama -xdev -type f -print0 2>/dev/null || true; }"
            " | sort -z | xargs -0 sha256sum")


def playbook(*args, inventories=(INVENTORY,)):
    cmd = ["ansible-playbook", os.path.join(PROJECT, "playbooks", "harden.yml"), "-e", "target=%s" % TARGET]
    for inventory in inventories:
        cmd += ["-i", inventory]
    return subprocess.run(cmd + list(args), cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=900, env=PLAIN)


def rollout_order():
    """The hosts of the batched play, in the order the batches take them."""
    out = playbook("--list-hosts").stdout
    play = out.split("Harden in batches", 1)[1]
    count = int(re.search(r"hosts \((\d+)\):", play).group(1))
    return play.split("):", 1)[1].split()[:count]


def containers():
    out = subprocess.run(["ansible-inventory", "-i", INVENTORY, "--limit", TARGET, "--list"], cwd=PROJECT,
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    return dict((name, v["ansible_host"]) for name, v in json.loads(out)["_meta"]["hostvars"].items()
                if v.get("lab_create", True))


def snapshot(container):
    return subprocess.run(["docker", "exec", container, "bash", "-c", SNAPSHOT], stdout=subprocess.PIPE,
                          text=True, check=True).stdout


def test_a_failing_batch_stops_the_rollout_and_the_report_says_who_was_not_reached():
    order = rollout_order()
    assert len(order) >= 5, order
    canary, failing, rest = order[0], order[1], order[2:]
    names = containers()
    before = dict((name, snapshot(names[name])) for name in order[1:] if name in names)

    reports = tempfile.mkdtemp(prefix="rollout-")
    # The second batch's first host names a unit it does not have: the role
    # refuses it before any change (a host failing in its batch).
    broken = os.path.join(reports, "broken.yml")
    with open(broken, "w") as handle:
        handle.write("all:\n  hosts:\n    %s:\n      ollama_bind_services: [ollama-gpu.service]\n" % failing)
    run = playbook("-e", "report_dir=%s" % reports,
                   "-e", '{"harden_serial": [1, 2, "100%"], "harden_max_fail_percentage": 0}',
                   inventories=(INVENTORY, broken))
    assert run.returncode != 0, run.stdout[-3000:]
    assert "ollama-gpu.service" in run.stdout

    # The canary was hardened; no host after it changed.
    with open(os.path.join(reports, "after", "findings.json")) as handle:
        after = json.load(handle)
    assert after["hosts"][canary]["status"] not in ("exposed", "not_audited"), after["hosts"][canary]
    for name, files in before.items():
        assert snapshot(names[name]) == files, "%s changed although the rollout stopped before it" % name
    # The last report written (after the canary batch) lists the others as not reached, their findings carried.
    for name in order[1:]:
        assert after["hosts"][name]["status"] == "not_audited", (name, after["hosts"][name])
        assert "not reached by the rollout" in after["hosts"][name]["reason"]
    carried = [f for f in after["findings"] if f["host"] in rest]
    assert carried and all(f["carried"] and f["status"] in ("open", "new") for f in carried)
    # The before report covers the whole fleet.
    with open(os.path.join(reports, "before", "findings.json")) as handle:
        assert set(order) <= set(json.load(handle)["hosts"])
