"""Verify playbooks/harden.yml on the lab: sockets, files, a second container,
the reports before and after, bad input, and a restart that fails."""

import json
import os
import re
import subprocess
import tempfile
import time

import pytest

PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
REPORT_DIR = os.environ.get("OLLAMA_AUDIT_REPORT_DIR") or os.path.join(
    os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "reports")
INVENTORY = os.path.join(PROJECT, "inventories", "lab", "hosts.yml")
HARDENED = ("faq_dropin", "unit_env", "envfile_port", "two_dropins", "ipv6_any", "http_scheme", "drift")
UNTOUCHED = ("secure", "malformed")
DROPIN = "zz-ollama-exposure-toolkit.conf"


def report(phase):
    # converge.yml writes the first run's reports under first/, later runs under again/.
    with open(os.path.join(REPORT_DIR, "first", phase, "findings.json")) as handle:
        return json.load(handle)


# Plain text output, whatever Molecule asks of its own runs.
PLAIN = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")


def rollback(limit, *extra):
    cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(PROJECT, "playbooks", "rollback.yml"),
           "--limit", limit] + list(extra)
    return subprocess.run(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
                          env=PLAIN)


def harden(limit, *extra):
    cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(PROJECT, "playbooks", "harden.yml"),
           "--limit", limit, "-e", "report_dir=%s" % tempfile.mkdtemp(prefix="harden-")] + list(extra)
    return subprocess.run(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
                          env=PLAIN)


@pytest.fixture()
def lab(host):
    data = host.ansible.get_variables()
    if data["inventory_hostname"] not in ("scanner",) and data.get("lab_case") in HARDENED + UNTOUCHED:
        return data
    pytest.skip("not a service host of the harden run")


def port_of(lab):
    return (lab["lab_expect_exposed_ports"] or [11434])[0]


def ollama_listeners(host):
    out = host.check_output("ss -Hltnp")
    return [line.split()[3] for line in out.splitlines() if "ollama" in line]


def test_listens_on_loopback_only_on_the_same_port_ipv4_and_ipv6(host, lab):
    listeners = ollama_listeners(host)
    assert listeners == ["127.0.0.1:%d" % port_of(lab)], listeners
    assert host.run("ss -Hltn6 | grep -q ':%d '" % port_of(lab)).rc != 0, "an IPv6 socket is still open"


def test_second_container_can_no_longer_reach_it(host, lab):
    scanner = host.get_host("ansible://scanner", ansible_inventory=INVENTORY)
    address = host.check_output("hostname -I").split()[0]
    answer = scanner.run("curl -s -m 3 -o /dev/null http://%s:%s/api/tags" % (address, port_of(lab)))
    assert answer.rc == 7, (answer.rc, answer.stdout)  # 7: connection refused
    # The same request on the host itself still works: the service is up.
    local = host.run("curl -s -m 3 http://127.0.0.1:%s/" % port_of(lab))
    assert local.stdout == "Ollama is running"


def test_reports_before_and_after(lab):
    name = lab["inventory_hostname"]
    before, after = report("before"), report("after")
    ids_before = {f["id"] for f in before["findings"] if f["host"] == name}
    ids_after = {f["id"] for f in after["findings"] if f["host"] == name and f["status"] != "fixed"}
    fixed = {f["id"] for f in after["findings"] if f["host"] == name and f["status"] == "fixed"}
    assert before["hosts"][name]["status"] == lab["lab_expect_status"]
    assert after["hosts"][name]["status"] == "secure"
    assert not ids_after & {"OLLAMA-BIND-001", "OLLAMA-BIND-002", "OLLAMA-BIND-003", "OLLAMA-NET-001"}
    assert fixed <= ids_before
    if lab["lab_case"] in HARDENED:
        assert "OLLAMA-NET-001" in ids_before  # the scanner container reached it before
        assert "OLLAMA-NET-001" in fixed  # and the after report says the rebind fixed it
        with open(os.path.join(REPORT_DIR, "first", "after", "report.html")) as handle:
            table = handle.read().split('<table id="before-after">', 1)[1].split("</table>", 1)[0]
        row = table.split('<tr data-host="%s">' % name)[1].split("</tr>", 1)[0]
        assert lab["lab_expect_status"] in row and "secure" in row


def test_managed_files(host, lab):
    dropin = host.file("/etc/systemd/system/ollama.service.d/%s" % DROPIN)
    if lab["lab_case"] in UNTOUCHED or lab["lab_case"] == "drift":
        assert not dropin.exists
        return
    assert dropin.contains('Environment="OLLAMA_HOST=127.0.0.1:%d"' % port_of(lab))
    assert dropin.contains("EnvironmentFile=/etc/ollama-exposure-toolkit/ollama.service.env")
    assert dropin.contains("playbooks/rollback.yml")
    env = host.file("/etc/ollama-exposure-toolkit/ollama.service.env")
    assert env.contains("^OLLAMA_HOST=127.0.0.1:%d$" % port_of(lab))
    assert host.file("/var/backups/ollama-exposure-toolkit/ollama.service/state.json").exists


def test_origins_wildcard_is_gone(host):
    origins = host.get_host("ansible://origins-any", ansible_inventory=INVENTORY)
    env = origins.file("/etc/ollama-exposure-toolkit/ollama.service.env")
    assert env.contains("^OLLAMA_ORIGINS=$")
    answer = origins.run("curl -s -o /dev/null -w '%{http_code}' -H 'Origin: https://evil.example' "
                         "http://127.0.0.1:11434/api/tags")
    assert answer.stdout == "403"


def test_hand_started_process_is_reported_and_left_alone():
    manual = subprocess.run(["docker", "exec", "olab-manual-process", "pgrep", "-x", "ollama"],
                            stdout=subprocess.PIPE, text=True)
    run = harden("manual-process")
    assert run.returncode != 0
    assert "runs outside systemd" in run.stdout and "still exposed after hardening" in run.stdout
    again = subprocess.run(["docker", "exec", "olab-manual-process", "pgrep", "-x", "ollama"],
                           stdout=subprocess.PIPE, text=True)
    assert again.stdout == manual.stdout and manual.stdout.strip()


def in_manual(*cmd):
    return subprocess.run(["docker", "exec", "olab-manual-process"] + list(cmd), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def ollama_sockets_of_manual(want, tries=15):
    """Ollama's listening sockets on the manual-process host, once they are ``want`` (bounded wait)."""
    found = None
    for _ in range(tries):
        out = in_manual("ss", "-Hltnp").stdout
        found = sorted(line.split()[3] for line in out.splitlines() if "ollama" in line or "python3" in line)
        if found == want:
            break
        time.sleep(1)
    return found


def test_hand_started_process_is_adopted_on_request_and_given_back_by_rollback():
    before = in_manual("pgrep", "-f", "ollama serve").stdout.split()
    assert len(before) == 1
    sockets = ollama_sockets_of_manual(None, tries=1)
    assert sockets and not [s for s in sockets if s.startswith("127.")], sockets
    run = harden("manual-process", "-e", "ollama_bind_adopt=true")
    assert run.returncode == 0, run.stdout[-4000:]
    # The same command, same port, now in its own unit and on loopback only.
    assert ollama_sockets_of_manual(["127.0.0.1:11500"]) == ["127.0.0.1:11500"]
    main_pid = in_manual("systemctl", "show", "-P", "MainPID", "ollama.service").stdout.strip()
    assert main_pid not in ("", "0") and main_pid != before[0]
    unit = in_manual("cat", "/etc/systemd/system/ollama.service").stdout
    assert "ExecStart=/usr/bin/python3 /usr/local/bin/ollama serve" in unit and "User=root" in unit
    assert in_manual("systemctl", "is-enabled", "ollama.service").stdout.strip() == "enabled"
    scanner = subprocess.run(["docker", "exec", "olab-scanner", "curl", "-s", "-m", "3", "-o", "/dev/null",
                              "http://olab-manual-process:11500/api/tags"])
    assert scanner.returncode == 7  # connection refused
    again = harden("manual-process", "-e", "ollama_bind_adopt=true")
    assert again.returncode == 0 and re.search(r"manual-process\s*:.*changed=0 ", again.stdout), again.stdout[-3000:]

    back = rollback("manual-process")
    assert back.returncode == 0, back.stdout[-4000:]
    assert in_manual("test", "-e", "/etc/systemd/system/ollama.service").returncode == 1
    assert ollama_sockets_of_manual(sockets) == sockets
    pid = in_manual("pgrep", "-f", "ollama serve").stdout.split()
    assert len(pid) == 1
    assert "ollama.service" not in in_manual("cat", "/proc/%s/cgroup" % pid[0]).stdout
    assert "OLLAMA_HOST=0.0.0.0:11500" in in_manual("sh", "-c", "tr '\\0' '\\n' < /proc/%s/environ" % pid[0]).stdout


@pytest.mark.parametrize("extra,message", [
    (["-e", "ollama_bind_address=0.0.0.0"], "ollama_bind_address"),
    (["-e", "ollama_bind_port=70000"], "ollama_bind_port"),
    (["-e", '{"ollama_bind_services": ["ollama-gpu.service"]}'], "ollama-gpu.service"),
    (["-e", "harden_serial=abc"], "harden_serial"),
    (["-e", "harden_max_fail_percentage=150"], "harden_max_fail_percentage"),
])
def test_bad_input_is_rejected_before_any_change(extra, message):
    def state():
        return subprocess.run(["docker", "exec", "olab-faq-dropin", "sh", "-c",
                               "cat /etc/systemd/system/ollama.service.d/*; pgrep -x ollama"],
                              stdout=subprocess.PIPE, text=True).stdout
    before = state()
    run = harden("faq-dropin", *extra)
    assert run.returncode != 0
    assert message in run.stdout
    assert state() == before


def test_failed_restart_is_restored_and_reported():
    blocker = subprocess.Popen(["docker", "exec", "olab-two-dropins", "python3", "-c",
                                "import socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,"
                                "socket.SO_REUSEADDR,1);s.bind(('127.0.0.1',11600));s.listen();time.sleep(120)"])
    try:
        run = harden("two-dropins", "-e", "ollama_bind_port=11600", "-e", "ollama_bind_wait_timeout=6")
    finally:
        blocker.kill()
        subprocess.run(["docker", "exec", "olab-two-dropins", "pkill", "-f", "127.0.0.1',11600"])
    assert run.returncode != 0
    assert "their files were restored" in run.stdout
    env = subprocess.run(["docker", "exec", "olab-two-dropins", "cat",
                          "/etc/ollama-exposure-toolkit/ollama.service.env"], stdout=subprocess.PIPE, text=True)
    assert "OLLAMA_HOST=127.0.0.1:11434" in env.stdout
    listening = subprocess.run(["docker", "exec", "olab-two-dropins", "sh", "-c",
                                "for i in $(seq 20); do ss -Hltnp | grep -q '127.0.0.1:11434 .*ollama' && exit 0; "
                                "sleep 1; done; exit 1"])
    assert listening.returncode == 0
