"""playbooks/harden.yml in batches, stopped by a failing batch (runs after
test_rollback.py has given every host its state from before hardening).

The first batches (a canary, then two hosts) go through; the last one holds
a host that fails; with harden_max_fail_percentage 0 the rollout stops
there: no host of that batch changes, and the after report lists them as
not reached, their findings carried."""

import json
import os
import subprocess
import tempfile

PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
INVENTORY = os.path.join(PROJECT, "inventories", "lab", "hosts.yml")
TARGET = (os.environ.get("OLLAMA_LAB_HARDEN_TARGET") or "ollama_lab") + ":!gone:!no-python"
PLAIN = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
SNAPSHOT = ("set -o pipefail; { find /etc /usr/local /usr/share/ollama -xdev -type f -print0 2>/dev/null || true; }"
            " | sort -z | xargs -0 sha256sum")


def playbook(*args, inventories=(INVENTORY,)):
    """harden.yml with the JSON callback: one entry per play, and per batch of a serial play."""
    cmd = ["ansible-playbook", os.path.join(PROJECT, "playbooks", "harden.yml"), "-e", "target=%s" % TARGET]
    for inventory in inventories:
        cmd += ["-i", inventory]
    env = dict(PLAIN, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    return subprocess.run(cmd + list(args), cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=900, env=env)


def containers():
    out = subprocess.run(["ansible-inventory", "-i", INVENTORY, "--limit", TARGET, "--list"], cwd=PROJECT,
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    return dict((name, v["ansible_host"]) for name, v in json.loads(out)["_meta"]["hostvars"].items()
                if v.get("lab_create", True))


def snapshot(container):
    return subprocess.run(["docker", "exec", container, "bash", "-c", SNAPSHOT], stdout=subprocess.PIPE,
                          text=True, check=True).stdout


def test_a_failing_batch_stops_the_rollout_and_the_report_says_who_was_not_reached():
    names = containers()
    # A host late in the inventory (never the canary) names a unit it does not
    # have: the role refuses it before any change, a failure in its batch.
    failing = "secure"
    before = dict((name, snapshot(container)) for name, container in names.items())

    reports = tempfile.mkdtemp(prefix="rollout-")
    broken = os.path.join(reports, "broken.yml")
    with open(broken, "w") as handle:
        handle.write("all:\n  hosts:\n    %s:\n      ollama_bind_services: [ollama-gpu.service]\n" % failing)
    run = playbook("-e", "report_dir=%s" % reports,
                   "-e", '{"harden_serial": [1, 2, "100%"], "harden_max_fail_percentage": 0}',
                   inventories=(INVENTORY, broken))
    assert run.returncode != 0, run.stdout[-3000:] + run.stderr[-2000:]
    output = json.loads(run.stdout)
    batches = [sorted(play["tasks"][0]["hosts"]) for play in output["plays"]
               if play["play"]["name"] == "Harden in batches"]
    assert len(batches) >= 2 and failing in batches[-1], batches
    failures = [task["hosts"][failing].get("msg", "") for play in output["plays"] for task in play["tasks"]
                if task["hosts"].get(failing, {}).get("failed")]
    assert failures and "ollama-gpu.service" in failures[0]
    assert output["stats"][failing]["failures"] == 1

    with open(os.path.join(reports, "after", "findings.json")) as handle:
        after = json.load(handle)
    done = [name for batch in batches[:-1] for name in batch]
    stopped = sorted(set(names) - set(done))
    assert "faq-dropin" in done  # an exposed host of the first batches, hardened
    for name in done:
        assert after["hosts"][name]["status"] not in ("exposed", "not_audited"), (name, after["hosts"][name])
    # The stopped batch and everything after it: untouched, listed as not reached, findings carried.
    for name in stopped:
        assert snapshot(names[name]) == before[name], "%s changed although the rollout stopped before it" % name
        assert after["hosts"][name]["status"] == "not_audited", (name, after["hosts"][name])
        assert "not reached by the rollout" in after["hosts"][name]["reason"]
    carried = [f for f in after["findings"] if f["host"] in stopped]
    assert carried and all(f["carried"] and f["status"] in ("open", "new") for f in carried)
    with open(os.path.join(reports, "before", "findings.json")) as handle:
        assert set(names) <= set(json.load(handle)["hosts"])
