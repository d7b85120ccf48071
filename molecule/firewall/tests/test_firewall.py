"""Verify the ollama_firewall role on one host per backend (and a
Docker-published Ollama): from the scanner container the Ollama port is
closed (it answered before the role) and the front's port is open, loopback
still reaches Ollama, the rules survive a restart of the firewall service
(and a reboot), other rules are untouched, and bad input is rejected before
any change, naming the variable. Last, the opt-in that recreates the
Docker-published Ollama on 127.0.0.1 (check mode, real run, second run,
rollback)."""

import json
import os
import re
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.join(HERE, "..", "..", ".."))
INVENTORY = os.path.join(HERE, "..", "inventory", "hosts.yml")  # the SSH host's alias is in ssh.yml
EPHEMERAL = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "")
STATE_FILE = "/var/lib/ollama-exposure-toolkit/firewall.json"


@pytest.fixture()
def lab(host):
    data = host.ansible.get_variables()
    if data.get("fw_ollama_ports"):
        return data
    pytest.skip("not a service host of the firewall scenario")


def scanner(host):
    return host.get_host("ansible://fw-scanner", ansible_inventory=INVENTORY)


def from_outside(host, lab, port):
    """HTTP status the scanner container gets (000: no answer)."""
    answer = scanner(host).run("curl -s -o /dev/null -m 2 -w '%%{http_code}' http://%s:%s/" % (lab["ansible_host"], port))
    return answer.stdout.strip()


def closed_soon(host, lab, port, tries=10):
    """The port answers no more from outside (a restarting firewall may take a moment)."""
    for _ in range(tries):
        if from_outside(host, lab, port) == "000":
            return True
        time.sleep(1)
    return False


def wait_loopback(host, port, timeout=40):
    for _ in range(timeout):
        answer = host.run("curl -s -m 2 http://127.0.0.1:%s/" % port)
        if answer.stdout == "Ollama is running":
            return True
        time.sleep(1)
    return False


def docker(*args):
    return subprocess.run(["docker"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_ollama_port_was_open_and_is_closed_from_outside(host, lab):
    with open(os.path.join(EPHEMERAL, "before.json")) as handle:
        before = json.load(handle)
    for port in lab["fw_ollama_ports"]:
        assert before["%s:%s" % (lab["inventory_hostname"], port)] == "200", "port %s was not open before" % port
        assert from_outside(host, lab, port) == "000"


def test_front_port_is_open_from_outside(host, lab):
    assert from_outside(host, lab, lab["fw_front_port"]) == "200"


def test_loopback_still_reaches_ollama(host, lab):
    for port in lab["fw_ollama_ports"]:
        assert wait_loopback(host, port, timeout=3)


def test_state_file_records_the_backend(host, lab):
    state = json.loads(host.file(STATE_FILE).content_string)
    expected = {"nftables.service": "nftables", "ufw.service": "ufw", "firewalld.service": "firewalld",
                "docker.service": "iptables", "": "iptables"}[lab["fw_service"]]
    assert state["backend"] == expected


def test_conflicting_port_is_left_open_and_other_rules_untouched(host, lab):
    if not lab.get("fw_conflict_port"):
        pytest.skip("no conflict on this host")
    assert from_outside(host, lab, lab["fw_conflict_port"]) == "200"
    rules = host.check_output("iptables -S INPUT")
    assert "-P INPUT ACCEPT" in rules
    assert "-A INPUT -p tcp -m tcp --dport 9 -j ACCEPT" in rules
    assert rules.splitlines()[1] == "-A INPUT -j OLLAMA-TOOLKIT"


def test_docker_published_port_is_filtered_in_docker_user(host, lab):
    if lab["fw_service"] != "docker.service":
        pytest.skip("no Docker-published Ollama on this host")
    rules = host.check_output("iptables -S DOCKER-USER")
    assert "--ctorigdstport 11434 --ctdir ORIGINAL" in rules


def test_rules_survive_a_restart_of_the_firewall_service(host, lab):
    if lab["fw_service"]:
        host.run_expect([0], "systemctl restart %s" % lab["fw_service"])
    else:
        # No firewall service on the iptables host (ufw breaks iptables-persistent
        # in the image): lose the rules as a reboot would, then start the unit.
        host.run_expect([0], "iptables -D INPUT -j OLLAMA-TOOLKIT && iptables -F OLLAMA-TOOLKIT && "
                             "iptables -X OLLAMA-TOOLKIT && ip6tables -D INPUT -j OLLAMA-TOOLKIT")
        assert from_outside(host, lab, lab["fw_ollama_ports"][0]) == "200"
        host.run_expect([0], "systemctl restart ollama-exposure-toolkit-firewall.service")
    # firewalld answers systemctl before it has loaded its zones: wait for it.
    if lab["fw_service"] == "firewalld.service":
        host.run("for i in $(seq 20); do firewall-cmd --state >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 0")
    for port in lab["fw_ollama_ports"]:
        assert wait_loopback(host, port), "Ollama did not come back on loopback"
        assert closed_soon(host, lab, port)
    assert from_outside(host, lab, lab["fw_front_port"]) == "200"


def test_ansible_still_connects_over_ssh_after_ufw_was_enabled(host, lab):
    if not lab.get("fw_ssh"):
        pytest.skip("not the SSH host")
    status = host.check_output("ufw status verbose")
    assert "Status: active" in status and "deny (incoming)" in status
    assert [line for line in status.splitlines() if line.startswith("22/tcp ") and "ALLOW IN" in line
            and "ollama-exposure-toolkit ssh" in line], status
    ping = subprocess.run(["ansible", "-i", os.path.join(HERE, "..", "inventory"), "fw-ssh", "-m", "ansible.builtin.ping"],
                          cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert ping.returncode == 0 and "SUCCESS" in ping.stdout and "pong" in ping.stdout, ping.stdout


def test_rules_survive_a_reboot(host, lab):
    if lab["fw_service"] != "nftables.service":
        pytest.skip("rebooted: the nftables host")
    docker("restart", lab["ansible_host"])
    host.run("systemctl is-system-running --wait")
    assert wait_loopback(host, lab["fw_ollama_ports"][0])
    assert from_outside(host, lab, lab["fw_ollama_ports"][0]) == "000"
    assert "ollama_exposure_toolkit" in host.check_output("nft list tables")


def firewall_state(name):
    return docker("exec", "ofw-" + name, "bash", "-c",
                  "nft -s list ruleset 2>/dev/null; iptables-save | grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]//'; "
                  "cat %s" % STATE_FILE).stdout


def firewall_play(limit, *extra):
    cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(PROJECT, "playbooks", "firewall.yml"),
           "--limit", limit, "-e", "report_dir=%s" % tempfile.mkdtemp(prefix="firewall-"),
           "-e", "ollama_audit_probe=false"] + list(extra)
    return subprocess.run(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)


BAD_INPUT = [
    ("fw-nftables", ['{"ollama_firewall_front_sources": ["10.0.0.300/8"], "ollama_firewall_ports": [70000]}'],
     ["ollama_firewall_front_sources", "ollama_firewall_ports"]),
    ("fw-nftables", ["ollama_firewall_backend=pf"], ["ollama_firewall_backend"]),
    ("fw-nftables", ["ollama_firewall_backend=firewalld"], ["ollama_firewall_backend=firewalld", "not running"]),
    ("fw-docker", ["ollama_firewall_backend=ufw"], ["ollama_firewall_backend=ufw", "ufw is not installed"]),
    ("fw-docker", ["ollama_firewall_docker_republish=maybe"], ["ollama_firewall_docker_republish"]),
    ("fw-nftables", ["ollama_firewall_ssh_port=11434"], ["refused", "ollama_firewall_ssh_port"]),
    ("fw-nftables", ['{"ollama_firewall_backend": "ufw", "ollama_firewall_ufw_enable": true}'],
     ["refused", "ollama_firewall_ssh_allow"]),
]


def test_bad_input_is_rejected_before_any_change():
    names = sorted(set(limit[3:] for limit, _extra, _words in BAD_INPUT))
    before = dict((name, firewall_state(name)) for name in names)

    def run(case):
        limit, extra, _words = case
        args = []
        for item in extra:
            args += ["-e", item]
        return firewall_play(limit, *args)

    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(run, BAD_INPUT))
    for (limit, extra, words), result in zip(BAD_INPUT, runs):
        assert result.returncode != 0, (extra, result.stdout[-2000:])
        for word in words:
            assert word in result.stdout, (extra, word, result.stdout[-2000:])
    for name in names:
        assert firewall_state(name) == before[name]


# -- the opt-in that recreates a Docker-published Ollama on 127.0.0.1 ----------
# Last in this file: it leaves fw-docker rolled back (side_effect's rollback
# then finds nothing of the role there, and still checks that it answers).
REPUBLISH_STATE = "/var/lib/ollama-exposure-toolkit/docker-republish.json"


def inspect(host, name="ollama"):
    return json.loads(host.check_output("docker inspect %s" % name))[0]


def recap_changed(output, name):
    for line in re.sub(r"\x1b\[[0-9;]*m", "", output).splitlines():
        if line.startswith(name + " ") and "changed=" in line:
            return int(line.split("changed=")[1].split()[0])
    raise AssertionError("no recap for %s:\n%s" % (name, output[-2000:]))


def test_docker_republish_opt_in_recreates_on_loopback_and_rolls_back(host, lab):
    if lab["fw_service"] != "docker.service":
        pytest.skip("no Docker-published Ollama on this host")
    name = lab["inventory_hostname"]
    with open(os.path.join(EPHEMERAL, "before.json")) as handle:
        assert json.load(handle)["%s:11434" % name] == "200", "the published port did not answer before the role"
    host.run_expect([0], "docker exec ollama sh -c 'echo weights > /root/.ollama/model.gguf'")
    before = inspect(host)
    assert before["HostConfig"]["PortBindings"] == {"11434/tcp": [{"HostIp": "", "HostPort": "11434"}]}

    # Check mode: nothing changes (the container, its record).
    checked = firewall_play(name, "-e", "ollama_firewall_docker_republish=true", "--check")
    assert checked.returncode == 0, checked.stdout[-3000:]
    assert inspect(host)["Id"] == before["Id"]
    assert not host.file(REPUBLISH_STATE).exists

    first = firewall_play(name, "-e", "ollama_firewall_docker_republish=true")
    assert first.returncode == 0, first.stdout[-3000:]
    after = inspect(host)
    assert after["Id"] != before["Id"], "the container was not recreated"
    assert after["HostConfig"]["PortBindings"] == {"11434/tcp": [{"HostIp": "127.0.0.1", "HostPort": "11434"}]}
    assert after["Config"]["Env"] == before["Config"]["Env"] and "OLLAMA_HOST=0.0.0.0:11434" in after["Config"]["Env"]
    assert after["Config"]["Cmd"] == before["Config"]["Cmd"] and after["Config"]["Image"] == before["Config"]["Image"]
    assert after["HostConfig"]["RestartPolicy"] == before["HostConfig"]["RestartPolicy"]
    volumes = [(m["Name"], m["Destination"]) for m in after["Mounts"] if m["Type"] == "volume"]
    assert volumes == [("ollama", "/root/.ollama")]
    assert host.check_output("docker exec ollama cat /root/.ollama/model.gguf") == "weights"
    assert wait_loopback(host, 11434, timeout=20)
    assert from_outside(host, lab, 11434) == "000"
    # Closed by the publishing, not by DOCKER-USER: the rule is gone.
    assert "--ctorigdstport 11434" not in host.check_output("iptables -S DOCKER-USER")
    assert host.file(REPUBLISH_STATE).mode == 0o600

    second = firewall_play(name, "-e", "ollama_firewall_docker_republish=true")
    assert second.returncode == 0, second.stdout[-3000:]
    assert recap_changed(second.stdout, name) == 0, second.stdout[-3000:]
    assert inspect(host)["Id"] == after["Id"]

    rollback = subprocess.run(["ansible-playbook", "-i", INVENTORY, os.path.join(PROJECT, "playbooks", "rollback.yml"),
                               "-e", "target=%s" % name], cwd=PROJECT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=300)
    assert rollback.returncode == 0, rollback.stdout[-3000:]
    restored = inspect(host)
    assert restored["HostConfig"]["PortBindings"] == before["HostConfig"]["PortBindings"]
    assert restored["Config"]["Env"] == before["Config"]["Env"]
    assert host.check_output("docker exec ollama cat /root/.ollama/model.gguf") == "weights"
    assert not host.file(REPUBLISH_STATE).exists
    for _ in range(20):
        if from_outside(host, lab, 11434) == "200":
            break
        time.sleep(1)
    assert from_outside(host, lab, 11434) == "200"
