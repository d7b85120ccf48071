"""Verify the audit of the lab: each host's report against what its case must yield.

Expectations live in the lab inventory (`lab_expect_*`), next to how each
host is set up; the sockets are checked independently with `ss` on the host.
"""

import csv
import json
import os

import pytest
import yaml

PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
REPORT_DIR = os.environ.get("OLLAMA_AUDIT_REPORT_DIR") or os.path.join(
    os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "reports")


@pytest.fixture(scope="module")
def report():
    with open(os.path.join(REPORT_DIR, "findings.json")) as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def catalog():
    with open(os.path.join(PROJECT, "roles", "ollama_audit", "files", "catalog.yml")) as handle:
        return yaml.safe_load(handle)


@pytest.fixture()
def lab(host):
    return host.ansible.get_variables()


@pytest.fixture()
def created(lab):
    if not lab.get("lab_create", True):
        pytest.skip("%s is never created (the unreachable case)" % lab["inventory_hostname"])
    if lab.get("ansible_become"):
        pytest.skip("%s has no sudo, which its inventory asks for (test_become_failure checks it)"
                    % lab["inventory_hostname"])
    return lab


def host_findings(report, name):
    return [f for f in report["findings"] if f["host"] == name]


def test_status(report, lab):
    assert report["hosts"][lab["inventory_hostname"]]["status"] == lab["lab_expect_status"]


def test_finding_ids(report, lab):
    ids = sorted({f["id"] for f in host_findings(report, lab["inventory_hostname"])})
    assert ids == sorted(lab["lab_expect_findings"])


def test_reported_exposed_ports(report, lab):
    listeners = report["hosts"][lab["inventory_hostname"]]["listeners"]
    ports = sorted({s["port"] for s in listeners if s["scope"] != "loopback"})
    assert ports == sorted(lab["lab_expect_exposed_ports"])


def test_report_matches_sockets_on_host(host, report, created):
    """The module's listeners agree with `ss` on the host itself."""
    name = created["inventory_hostname"]
    reported = {(s["address"], s["port"]) for s in report["hosts"][name]["listeners"]}
    out = host.check_output("ss -Hltnp")
    actual = set()
    for line in out.splitlines():
        if "ollama" not in line:
            continue
        local = line.split()[3]
        address, _sep, port = local.rpartition(":")
        address = address.strip("[]")
        actual.add(("::" if address == "*" else address, int(port)))
    assert reported == actual


def test_become_failure_is_reported_with_its_cause(report):
    """The host without sudo: the real stderr line, never a parser message."""
    entry = report["hosts"]["no-sudo"]
    assert entry["status"] == "error"
    assert "become failed: sudo is not installed" in entry["reason"] and "sudo: not found" in entry["reason"]
    assert "deserialization" not in entry["reason"]


def test_findings_are_complete(report, catalog, lab):
    for finding in host_findings(report, lab["inventory_hostname"]):
        control = catalog["controls"][finding["id"]]
        if "severity_by_reach" in control:  # the severity in context (OLLAMA-VER-003)
            assert finding["reach"] in control["severity_by_reach"], finding
            assert finding["severity"] == control["severity_by_reach"][finding["reach"]]
        else:
            assert finding["severity"] == control["severity"]
        assert finding["title"] == control["title"]
        assert finding["evidence"] and finding["remediation"]
        assert len(finding["fingerprint"]) == 24


def test_csv_has_the_same_findings(report, lab):
    name = lab["inventory_hostname"]
    with open(os.path.join(REPORT_DIR, "findings.csv")) as handle:
        rows = [row for row in csv.DictReader(handle) if row["host"] == name]
    assert sorted(r["fingerprint"] for r in rows) == sorted(f["fingerprint"] for f in host_findings(report, name))


def test_audit_changed_nothing(host, created):
    """Every file under /etc, /usr/local and Ollama's home is as before, and no Ollama restarted."""
    check = host.run("sha256sum --quiet -c /root/pre-audit.files")
    assert check.rc == 0, check.stdout + check.stderr
    before = host.file("/root/pre-audit.pids").content_string.split()
    after = host.run("pgrep -x ollama | sort").stdout.split()
    assert before == after


def _audit(limit, *extra):
    import subprocess
    import tempfile

    cmd = ["ansible-playbook", "-i", os.path.join(PROJECT, "inventories", "lab", "hosts.yml"),
           os.path.join(PROJECT, "playbooks", "audit.yml"), "--limit", limit,
           "-e", "report_dir=%s" % tempfile.mkdtemp(prefix="audit-fail-on-")] + list(extra)
    return subprocess.run(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)


def test_fail_on_fails_the_run_for_an_open_critical_finding():
    run = _audit("faq-dropin", "-e", "fail_on=critical")
    assert run.returncode != 0
    assert "at or above severity critical" in run.stdout


def test_fail_on_passes_when_nothing_reaches_the_threshold():
    run = _audit("secure,not-installed,origins-any", "-e", "fail_on=critical")
    assert run.returncode == 0, run.stdout[-2000:]


# -- reports for tickets, CI dashboards and people (issue: fleet compliance) --

def test_second_run_keeps_every_fingerprint(report):
    """converge and idempotence wrote into the same directory (the check step
    writes nothing): every finding was seen before (open), none new or fixed."""
    assert report["findings"] and report["compared_to"]
    assert {f["status"] for f in report["findings"]} == {"open"}
    assert all(f["first_seen"] < f["last_seen"] for f in report["findings"])


def test_each_finding_has_its_own_fingerprint(report):
    """The fingerprint is the ticket key: two findings sharing one would share a ticket."""
    prints = [f["fingerprint"] for f in report["findings"]]
    assert len(prints) == len(set(prints))


def test_junit_and_tickets(report, catalog):
    from xml.etree import ElementTree

    root = ElementTree.parse(os.path.join(REPORT_DIR, "junit.xml")).getroot()
    assert int(root.get("tests")) == len(report["hosts"]) * len(catalog["controls"])
    failing = {(s.get("name"), c.get("name").split()[0]) for s in root.findall("testsuite")
               for c in s.findall("testcase") if c.find("failure") is not None}
    assert failing == {(f["host"], f["id"]) for f in report["findings"]}
    tickets = sorted(os.listdir(os.path.join(REPORT_DIR, "tickets")))
    assert tickets == sorted("%s.md" % f["fingerprint"] for f in report["findings"])


def test_html_report_renders_in_a_real_browser(report, tmp_path):
    """Debian's chromium, headless, opens report.html offline; the DOM it
    builds has a row per host with its status and the fleet counts."""
    import re
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is missing: scripts/ensure-host.sh installs it"
    page = os.path.join(REPORT_DIR, "report.html")
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--user-data-dir=%s" % tmp_path, "--window-size=1280,3000"]
    dom = subprocess.run(args + ["--dump-dom", "file://" + page], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, timeout=120, check=True).stdout
    hosts_table = dom.split('<table id="hosts">', 1)[1].split("</table>", 1)[0]
    rows = dict(re.findall(r'<tr data-host="([^"]+)"><td>[^<]*</td><td><span class="h-[^"]*" data-status="([^"]+)"',
                           hosts_table))
    assert rows == {name: entry["status"] for name, entry in report["hosts"].items()}
    cards = dict(re.findall(r'<div class="card" data-count="([^"]+)"><div class="n">(\d+)</div>', dom))
    assert int(cards["hosts"]) == report["summary"]["hosts"]
    for status, count in report["summary"]["by_status"].items():
        assert int(cards["status-%s" % status]) == count
    assert int(cards["open"]) == report["summary"]["open"]
    shot = tmp_path / "report.png"
    subprocess.run(args + ["--screenshot=%s" % shot, "file://" + page], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120, check=True)
    assert shot.stat().st_size > 20000  # a rendered page, not a blank one


def test_exceptions_then_expiry_on_a_real_host():
    import tempfile

    def run(expires, *extra):
        directory = tempfile.mkdtemp(prefix="audit-exc-")
        exceptions = [{"id": cid, "reason": "accepted for the test", "owner": "secops", "expires": expires}
                      for cid in ("OLLAMA-BIND-001", "OLLAMA-NET-001")]
        done = _audit("faq-dropin", "-e", json.dumps({"ollama_audit_exceptions": exceptions}),
                      "-e", "report_dir=%s" % directory, *extra)
        with open(os.path.join(directory, "findings.json")) as handle:
            return done, {f["id"]: f["status"] for f in json.load(handle)["findings"]}

    done, statuses = run("2099-12-31", "-e", "fail_on=critical")
    assert done.returncode == 0, done.stdout[-2000:]  # the critical ones are excepted
    assert statuses["OLLAMA-BIND-001"] == statuses["OLLAMA-NET-001"] == "excepted"
    assert statuses["OLLAMA-BIND-002"] == "new"
    done, statuses = run("2020-01-01", "-e", "fail_on=critical")
    assert done.returncode != 0 and "at or above severity critical" in done.stdout
    assert statuses["OLLAMA-BIND-001"] == statuses["OLLAMA-NET-001"] == "expired-exception"


def test_bad_exception_is_rejected_naming_the_variable():
    bad = json.dumps({"ollama_audit_exceptions": [{"id": "OLLAMA-BIND-001", "owner": "x", "expires": "soon"}]})
    run = _audit("faq-dropin", "-e", bad)
    assert run.returncode != 0
    assert "ollama_audit_exceptions of faq-dropin, entry 1" in run.stdout and "expires must be a date" in run.stdout
