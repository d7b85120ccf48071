"""The audit and harden jobs run by ansible-runner, the engine AWX and AAP run every job with.

    make runner        (or: .venv/bin/pytest -p no:cacheprovider tests/runner)

A module fixture builds a lab of two Debian 12 containers of its own
(tests/runner/inventory.yml: orun-*, network ollama-runner), lays out a
private data dir the way AWX does (project/, inventory/hosts, env/extravars),
runs playbooks/audit.yml, then playbooks/harden.yml with the front on and its
credentials given as extra variables, and destroys the lab at the end, also
when something failed. The tests then read the runner's results and
artifacts: each job's rc and status, the reports written under the
artifacts directory, and every file the jobs left (job events, stdout,
reports, fact cache), searched for the credentials. Traffic goes only to
the containers this module created.
"""
import base64
import glob
import json
import os
import secrets
import shutil
import subprocess
import sys

import ansible_runner
import pytest
import requests
import urllib3

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_front import credential_entries

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(os.path.dirname(HERE))
INVENTORY = os.path.join(HERE, "inventory.yml")
HOSTS = {"exposed": "orun-exposed", "loopback": "orun-loopback"}
BIN = os.path.dirname(sys.executable)
# Bounds: a lab playbook, a runner job (ansible-runner's own job timeout).
LAB_TIMEOUT = 300
JOB_TIMEOUT = 900


def lab_playbook(name):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(PROJECT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", INVENTORY,
                           os.path.join(PROJECT, "tests", "lab", name)],
                          cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=LAB_TIMEOUT)


def container_ipv4(name):
    out = subprocess.run(["docker", "inspect", "-f", "{{ json .NetworkSettings.Networks }}", name],
                         stdout=subprocess.PIPE, text=True, check=True, timeout=30).stdout
    return json.loads(out)["ollama-runner"]["IPAddress"]


def make_credentials():
    """Fresh secrets for this run only: nothing else on the machine can hold them."""
    tag = secrets.token_hex(4)
    return [
        # First with an api_key: the front's health check uses it.
        {"name": "run-admin-" + tag, "role": "admin", "api_key": "ak_" + secrets.token_hex(20),
         "password": "pw-" + secrets.token_hex(12)},
        {"name": "run-user-" + tag, "role": "user", "password": "pw-" + secrets.token_hex(12)},
    ]


def secret_strings(credentials):
    """Every form of a credential that would be a leak: plaintext, basic-auth header, the hashes the hosts get."""
    found = {}
    for cred in credentials:
        for field in ("password", "api_key"):
            if field in cred:
                found["%s.%s" % (cred["name"], field)] = cred[field]
        if "password" in cred:
            found["%s basic auth" % cred["name"]] = base64.b64encode(
                ("%s:%s" % (cred["name"], cred["password"])).encode()).decode()
    for host in HOSTS:
        for line in credential_entries(credentials, host)["users_htpasswd"]:
            name, digest = line.split(":", 1)
            found["%s hash on %s" % (name, host)] = digest
    return found


def run_job(data_dir, ident, playbook, extravars):
    with open(os.path.join(data_dir, "env", "extravars"), "w") as handle:
        json.dump(extravars, handle)
    # Runner passes its own environment on to ansible-playbook; AWX sets no
    # ANSIBLE_CONFIG (the Makefile does): the project's ansible.cfg is found in
    # the job's working directory, the project, as in AWX.
    saved = os.environ.pop("ANSIBLE_CONFIG", None)
    try:
        return ansible_runner.run(
            private_data_dir=data_dir, ident=ident, playbook=playbook, quiet=True, timeout=JOB_TIMEOUT,
            envvars={"PATH": BIN + os.pathsep + os.environ.get("PATH", ""), "ANSIBLE_NOCOLOR": "1"})
    finally:
        if saved is not None:
            os.environ["ANSIBLE_CONFIG"] = saved


@pytest.fixture(scope="module")
def lab():
    try:
        for name in ("destroy.yml", "create.yml", "provision.yml"):
            result = lab_playbook(name)
            assert result.returncode == 0, "tests/lab/%s failed:\n%s" % (name, result.stdout[-4000:])
        yield
    finally:
        lab_playbook("destroy.yml")


@pytest.fixture(scope="module")
def jobs(lab, tmp_path_factory):
    """The private data dir after the audit job, then the harden job; their Runner objects."""
    data_dir = str(tmp_path_factory.mktemp("runner"))
    try:
        for sub in ("env", "inventory", "artifacts"):
            os.makedirs(os.path.join(data_dir, sub))
        os.symlink(PROJECT, os.path.join(data_dir, "project"))
        shutil.copyfile(INVENTORY, os.path.join(data_dir, "inventory", "hosts"))
        credentials = make_credentials()
        # Positive control: part of an extra variable that is not no_log; the
        # plays print report_dir, so the search below must find it in the events.
        marker = "marker-" + secrets.token_hex(8)
        report = {ident: os.path.join(data_dir, "artifacts", ident, "ollama-" + marker) for ident in ("audit", "harden")}
        runs = {}
        # AWX injects the same credential into every template that has it: the
        # audit job gets the front's credentials too.
        runs["audit"] = run_job(data_dir, "audit", "playbooks/audit.yml", {
            "report_dir": report["audit"], "ollama_front_credentials": credentials})
        with open(os.path.join(data_dir, "env", "extravars")) as handle:
            audit_extravars = handle.read()
        runs["harden"] = run_job(data_dir, "harden", "playbooks/harden.yml", {
            "report_dir": report["harden"], "harden_front": True, "ollama_front_credentials": credentials})
        yield {"dir": data_dir, "runs": runs, "report": report, "marker": marker, "credentials": credentials,
               "secrets": secret_strings(credentials), "audit_extravars": audit_extravars}
    finally:
        # The credentials' input file, and artifacts/<ident>/command, which
        # records the job's whole environment: not left behind in /tmp.
        shutil.rmtree(data_dir, ignore_errors=True)


def artifact(jobs, ident, *path):
    return os.path.join(jobs["dir"], "artifacts", ident, *path)


def read_json(path):
    with open(path) as handle:
        return json.load(handle)


def events(jobs, ident):
    files = sorted(glob.glob(artifact(jobs, ident, "job_events", "*.json")))
    return [read_json(path) for path in files]


@pytest.mark.parametrize("ident", ["audit", "harden"])
def test_the_job_is_successful(jobs, ident):
    run = jobs["runs"][ident]
    with open(artifact(jobs, ident, "stdout")) as handle:
        tail = handle.read()[-3000:]
    assert (run.rc, run.status) == (0, "successful"), tail
    with open(artifact(jobs, ident, "rc")) as handle:
        assert handle.read().strip() == "0"
    with open(artifact(jobs, ident, "status")) as handle:
        assert handle.read().strip() == "successful"
    stats = run.stats
    assert sorted(stats["ok"]) == sorted(list(HOSTS) + (["localhost"] if ident == "harden" else []))
    assert not stats["failures"] and not stats["dark"]


def test_the_audit_writes_its_report_under_the_artifacts_and_names_both_hosts(jobs):
    findings = read_json(os.path.join(jobs["report"]["audit"], "findings.json"))
    assert {h: findings["hosts"][h]["status"] for h in HOSTS} == {"exposed": "exposed", "loopback": "secure"}
    for name in ("report.md", "report.html", "findings.csv", "junit.xml"):
        assert os.path.getsize(os.path.join(jobs["report"]["audit"], name)) > 0, name


def test_the_harden_job_writes_before_and_after_under_the_artifacts_and_closes_the_exposed_host(jobs):
    before = read_json(os.path.join(jobs["report"]["harden"], "before", "findings.json"))
    after = read_json(os.path.join(jobs["report"]["harden"], "after", "findings.json"))
    assert {h: before["hosts"][h]["status"] for h in HOSTS} == {"exposed": "exposed", "loopback": "secure"}
    assert {h: after["hosts"][h]["status"] for h in HOSTS} == {"exposed": "secure", "loopback": "secure"}


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_the_front_took_the_credentials_given_as_extra_vars(jobs, host):
    """The secrets searched for below went through the roles: the fronts take them, refuse others."""
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    url = "https://%s:11443/api/version" % container_ipv4(HOSTS[host])
    admin, user = jobs["credentials"]
    assert requests.get(url, verify=False, timeout=10).status_code == 401
    assert requests.get(url, verify=False, timeout=10,
                        headers={"Authorization": "Bearer " + admin["api_key"]}).status_code == 200
    assert requests.get(url, verify=False, timeout=10, auth=(user["name"], user["password"])).status_code == 200
    assert requests.get(url, verify=False, timeout=10, auth=(user["name"], user["password"] + "x")).status_code == 401


def test_no_secret_in_any_artifact_but_the_extravars_input(jobs):
    data_dir, found, scanned = jobs["dir"], [], []
    extravars = os.path.join(data_dir, "env", "extravars")
    for root, dirs, files in os.walk(data_dir):
        # project/ is the repository (a symlink, not followed): not an output.
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
        for name in files:
            path = os.path.join(root, name)
            if path == extravars:
                continue
            with open(path, "rb") as handle:
                content = handle.read()
            scanned.append(os.path.relpath(path, data_dir))
            found += ["%s in %s" % (what, scanned[-1]) for what, value in jobs["secrets"].items()
                      if value.encode() in content]
    assert not found
    # The search covered what the issue asks about: both jobs' event streams and stdout.
    for ident in ("audit", "harden"):
        assert os.path.join("artifacts", ident, "stdout") in scanned
        assert len([p for p in scanned if p.startswith(os.path.join("artifacts", ident, "job_events", ""))]) > 20


def test_the_extravars_input_holds_the_secrets(jobs):
    """The input the search leaves out really carried them (to both jobs): the search had something to miss."""
    for text in (jobs["audit_extravars"], open(os.path.join(jobs["dir"], "env", "extravars")).read()):
        for cred in jobs["credentials"]:
            assert cred["password"] in text
    assert jobs["credentials"][0]["api_key"] in jobs["audit_extravars"]


@pytest.mark.parametrize("ident", ["audit", "harden"])
def test_positive_control_the_marker_extra_var_is_found_in_the_events_and_stdout(jobs, ident):
    """The same search finds an extra variable that is not no_log: it would find a leaked secret."""
    marker = jobs["marker"].encode()
    hits = []
    for path in glob.glob(artifact(jobs, ident, "job_events", "*.json")):
        with open(path, "rb") as handle:
            if marker in handle.read():
                hits.append(path)
    assert hits
    with open(artifact(jobs, ident, "stdout"), "rb") as handle:
        assert marker in handle.read()


def test_the_no_log_tasks_that_handle_the_credentials_are_censored_in_the_event_stream(jobs):
    """The credential tasks did run on both hosts and their events carry only the censored marker."""
    censored = [e for e in events(jobs, "harden")
                if e["event"] == "runner_on_ok" and e["event_data"].get("task", "").startswith(
                    "OLLAMA-FRONT | PRELIM | Plan from the audit, hash the credentials")]
    assert sorted(e["event_data"]["host"] for e in censored) == sorted(HOSTS)
    assert all(list(e["event_data"]["res"]) == ["censored"] for e in censored)
