"""playbooks/harden.yml and rollback.yml on the doors lab (issue 26); runs
after test_doors.py, which reads the audit of the lab as prepared.

1. The firewall wall with only ollama_firewall_close_forwarders: the
   forwarders' doors close, and each host left with an open door (Open
   WebUI, the other model servers) fails, named with its port and the
   setting that would close it; the hosts without a door pass.
2. With ollama_firewall_close_model_servers as well: every door that hands
   out a model is closed from the scanner over IPv4 and IPv6, every host
   passes, and the doors that ask for credentials still answer (401).
3. The same run again changes nothing.
4. rollback.yml: every door answers again as before.
"""

import json
import os
import re
import shlex
import subprocess
import tempfile

import pytest
import testinfra
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.join(HERE, "..", "..", ".."))
INVENTORY = os.path.join(HERE, "..", "inventory.yml")
SCANNER = testinfra.get_host("ansible://scanner", ansible_inventory=INVENTORY)
PLAIN = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")

with open(INVENTORY) as _handle:
    _INV = yaml.safe_load(_handle)["all"]
HOSTS = _INV["children"]["ollama_lab"]["hosts"]
NETWORK = _INV["vars"]["lab_network"]

# The doors that hand out a model without credentials, by host and kind.
FORWARDER_DOORS = {"nginx-open": [80], "socat": [8080]}
SERVER_DOORS = {"webui": [3000, 3001, 3002, 3003], "models-wide": [8000, 3000, 8080, 8081, 50052, 8188, 1234]}
# Doors that ask for credentials: never closed, never a failure.
GUARDED = {"nginx-auth": [80]}


def addresses(name):
    out = subprocess.check_output(["docker", "inspect", "-f", "{{ json .NetworkSettings.Networks }}",
                                   HOSTS[name]["ansible_host"]])
    net = json.loads(out)[NETWORK]
    return [net["IPAddress"], net["GlobalIPv6Address"]]


ADDR = {name: addresses(name) for name in list(FORWARDER_DOORS) + list(SERVER_DOORS) + list(GUARDED)}

# One script on the scanner tries every (address, port) at once: "open" (the
# TCP handshake completed), "refused", or "silent" (no answer in 2 s).
REACH = r"""
import json, socket, sys, threading
out = {}
def one(addr, port):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.settimeout(2)
    try:
        s.connect((addr, port)); out["%s %d" % (addr, port)] = "open"
    except ConnectionRefusedError:
        out["%s %d" % (addr, port)] = "refused"
    except OSError:
        out["%s %d" % (addr, port)] = "silent"
    finally:
        s.close()
ts = [threading.Thread(target=one, args=(a, int(p))) for a, p in json.loads(sys.argv[1])]
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps(out))
"""


def reach(doors):
    """{(host, address, port): open/refused/silent} from the scanner."""
    pairs = [(a, p) for name, ports in doors.items() for a in ADDR[name] for p in ports]
    result = SCANNER.run("python3 -c %s %s" % (shlex.quote(REACH), shlex.quote(json.dumps(pairs))))
    assert result.rc == 0, result.stderr
    seen = json.loads(result.stdout)
    return dict(((name, a, p), seen["%s %d" % (a, p)]) for name, ports in doors.items() for a in ADDR[name]
                for p in ports)


def playbook(name, *extra):
    cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(PROJECT, "playbooks", name),
           "-e", "target=ollama_lab", "-e", "report_dir=%s" % tempfile.mkdtemp(prefix="doors-harden-")] + list(extra)
    return subprocess.run(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=900, env=PLAIN)


def recap(output):
    """{host: {ok, changed, failed, ...}} from the play recap."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"^(\S+)\s+:\s+(ok=.*)$", line.strip())
        if match:
            found[match.group(1)] = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2)))
    return found


HARDEN = ["-e", "harden_firewall=true", "-e", "ollama_firewall_close_forwarders=true"]
ALL_DOORS = HARDEN + ["-e", "ollama_firewall_close_model_servers=true"]


@pytest.fixture(scope="module")
def before():
    """Every door as the scanner reaches it before any run: open, or
    refused where its server listens on one family only (vLLM and Open
    WebUI bind IPv4's every address by default, as upstream does)."""
    seen = reach(dict(FORWARDER_DOORS, **dict(SERVER_DOORS, **GUARDED)))
    assert "silent" not in seen.values(), seen
    return seen


@pytest.fixture(scope="module")
def forwarders_only(before):
    return playbook("harden.yml", *HARDEN)


def test_the_run_fails_while_a_door_is_open(forwarders_only):
    # Every door answered before it (test_doors.py's ground truth).
    assert forwarders_only.returncode != 0, "hosts with open doors must fail the run"


def failure(output, name):
    """The text of the host's failed task (its message), whitespace
    collapsed: the callback may fold a long message over lines."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("fatal: [%s]" % name)]
    if not starts:
        return ""
    block = [lines[starts[0]]]
    for line in lines[starts[0] + 1:]:
        if re.match(r"^(fatal|ok|changed|skipping|failed|TASK|PLAY|RUNNING)\b", line):
            break
        block.append(line)
    return " ".join(" ".join(block).split())


def test_hosts_left_with_an_open_door_fail_naming_it_and_the_setting(forwarders_only):
    """Each failing host's message is its open findings in the report's
    words: every finding the audit found on it (test_doors.py's
    doors_expect_findings, none closed by this run), by control, port and
    the process or kind, and the setting of the toolkit that closes it."""
    out = forwarders_only.stdout
    counts = recap(out)
    for name in SERVER_DOORS:
        assert counts[name]["failed"] == 1, (name, counts)
        message = failure(out, name)
        assert "%s is still exposed after hardening" % name in message, out[-4000:]
        for expected in HOSTS[name]["doors_expect_findings"]:
            named = "%s " % expected["id"]
            assert named in message and "tcp/%d" % expected["port"] in message, (name, expected, message)
            assert any(n in message for n in expected["names"]), (name, expected, message)
        assert "ollama_firewall_close_model_servers" in message, message
        # Nothing closed in the message: no door of another host, none that asks.
        assert "nginx" not in message and "socat" not in message, message
    for name in list(FORWARDER_DOORS) + list(GUARDED):
        assert counts[name]["failed"] == 0 and counts[name]["unreachable"] == 0, (name, out[-4000:])
        assert failure(out, name) == "", failure(out, name)


def test_the_forwarders_doors_are_closed_and_the_rest_still_answer(before, forwarders_only):
    seen = reach(dict(FORWARDER_DOORS, **dict(SERVER_DOORS, **GUARDED)))
    for (name, address, port), state in seen.items():
        if name in FORWARDER_DOORS:
            assert state == "silent", (name, address, port, state)
        else:
            assert state == before[(name, address, port)], (name, address, port, state)
    assert "open" in [seen[key] for key in seen if key[0] == "models-wide" and key[2] == 8000]


@pytest.fixture(scope="module")
def all_doors(forwarders_only):
    return playbook("harden.yml", *ALL_DOORS)


def test_with_every_opt_in_every_host_passes(all_doors):
    counts = recap(all_doors.stdout)
    assert all_doors.returncode == 0, all_doors.stdout[-4000:]
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in counts.values()), counts


def test_every_door_is_closed_over_ipv4_and_ipv6_and_the_guarded_one_still_asks(all_doors):
    seen = reach(dict(FORWARDER_DOORS, **SERVER_DOORS))
    assert {state for state in seen.values()} == {"silent"}, dict((k, v) for k, v in seen.items() if v != "silent")
    guarded = reach(GUARDED)
    assert set(guarded.values()) == {"open"}
    for address in ADDR["nginx-auth"]:
        shown = "[%s]" % address if ":" in address else address
        code = SCANNER.check_output("curl -s -o /dev/null -m 5 -w '%%{http_code}' http://%s:80/api/tags" % shown)
        assert code == "401", (address, code)


def test_a_second_run_changes_nothing(all_doors):
    again = playbook("harden.yml", *ALL_DOORS)
    counts = recap(again.stdout)
    assert again.returncode == 0, again.stdout[-4000:]
    changed = dict((name, c["changed"]) for name, c in counts.items() if c["changed"])
    assert changed == {}, (changed, again.stdout[-4000:])


def test_rollback_opens_every_door_again(before, all_doors):
    back = playbook("rollback.yml")
    assert back.returncode == 0, back.stdout[-4000:]
    seen = reach(dict(FORWARDER_DOORS, **dict(SERVER_DOORS, **GUARDED)))
    assert seen == before, dict((k, v) for k, v in seen.items() if v != before[k])
