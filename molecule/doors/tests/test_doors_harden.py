"""playbooks/harden.yml and rollback.yml on the doors lab (issue 26); runs
after test_doors.py, which reads the audit of the lab as prepared.

0. --check with every door opt-in (ollama_firewall_close_forwarders,
   _close_model_servers, _close_ports, ollama_bind_other_servers): every
   host as it was (files, rules, units, sockets: snapshot.sh before and
   after), and the run says what it would change (changed, per host and
   task).
1. The firewall wall with only ollama_firewall_close_forwarders: the
   forwarders' doors close, and each host left with an open door (Open
   WebUI, the other model servers) fails, named with its findings (port,
   process, the setting that would close it); the hosts without a door pass.
2. With ollama_firewall_close_model_servers as well: every door that hands
   out a model is closed from the scanner over IPv4 and IPv6, every host
   passes, and the doors that ask for credentials still answer (401).
3. The same run again changes nothing.
4. ollama_bind_other_servers as well: the servers whose address is an
   environment variable get the bind role's drop-in and listen on loopback.
5. rollback.yml: every host as before any run (snapshot.sh: files, rules,
   units, sockets) and every door answers again as before.
"""

import json
import os
import re
import shlex
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

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
BIND_OTHERS = ALL_DOORS + ["-e", "ollama_bind_other_servers=true"]
# Every door opt-in at once, a port by number too (nginx-auth's guarded :80).
EVERY_OPT_IN = BIND_OTHERS + ["-e", json.dumps({"ollama_firewall_close_ports": [80]})]
with open(os.path.join(HERE, "..", "snapshot.sh")) as _handle:
    SNAPSHOT = _handle.read()
# The doors whose address the bind role sets (an environment variable of
# their unit, the flag not in ExecStart; module_utils/ollama_servers.py
# rebind): host -> {unit: port}. llama-server's unit passes --host: refused.
REBOUND = {"webui": {"open-webui-noauth.service": 3000, "open-webui-signup.service": 3001,
                     "open-webui-fresh.service": 3002, "open-webui-closed.service": 3003},
           "models-wide": {"tgi.service": 3000, "localai.service": 8080}}
TIMES = {}


def snapshot():
    """{host: snapshot.sh's listing} of every host of the lab, read with docker exec (not through Ansible)."""
    def one(name):
        out = subprocess.run(["docker", "exec", HOSTS[name]["ansible_host"], "bash", "-c", SNAPSHOT],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
        assert out.returncode == 0 and "## units" in out.stdout, (name, out.stderr)
        return name, out.stdout
    with ThreadPoolExecutor(len(HOSTS)) as pool:
        return dict(pool.map(one, sorted(HOSTS)))


def differences(old, new):
    """{host: the lines that differ} between two snapshots."""
    out = {}
    for name in old:
        a, b = set(old[name].splitlines()), set(new[name].splitlines())
        if a != b:
            out[name] = {"gone": sorted(a - b)[:20], "new": sorted(b - a)[:20]}
    return out


def changed_tasks(output):
    """{host: [task names]} of the tasks that reported changed (in check mode: would change)."""
    found, task = {}, None
    for line in output.splitlines():
        header = re.match(r"^TASK \[(.*)\]", line)
        if header:
            task = header.group(1)
            continue
        hit = re.match(r"^changed: \[([^\]]+)\]", line)
        if hit and task:
            found.setdefault(hit.group(1), [])
            if task not in found[hit.group(1)]:
                found[hit.group(1)].append(task)
    return found


@pytest.fixture(scope="module")
def pristine():
    """Every host as the lab set it up, before any harden run."""
    return snapshot()


@pytest.fixture(scope="module")
def check_run(pristine, before):
    start = time.monotonic()
    run = playbook("harden.yml", "--check", *EVERY_OPT_IN)
    TIMES["check"] = time.monotonic() - start
    return run, snapshot()


def test_check_mode_with_every_door_opt_in_changes_nothing(pristine, check_run):
    run, after = check_run
    assert run.returncode == 0, run.stdout[-4000:]
    assert differences(pristine, after) == {}
    # Its cost, for the record (docs/testing.md): the doors lab's six hosts.
    print("harden.yml --check with every door opt-in: %.1f s" % TIMES["check"])


def test_check_mode_says_what_it_would_change(check_run):
    run, _after = check_run
    would = changed_tasks(run.stdout)
    # The firewall's table on every host with a door to close.
    for name in list(FORWARDER_DOORS) + list(SERVER_DOORS) + ["nginx-auth"]:
        assert any(t.startswith("ollama_firewall : OLLAMA-FW-003 | PATCH | Write the toolkit") for t in
                   would.get(name, [])), (name, would.get(name))
    # The bind role's drop-ins where a server's address is an environment variable.
    for name in REBOUND:
        assert any("Write the drop-in of each other model server" in t for t in would[name]), (name, would[name])
    for name in FORWARDER_DOORS:
        assert not any("other model server" in t for t in would[name]), (name, would[name])
    assert "still exposed after hardening" not in run.stdout


@pytest.fixture(scope="module")
def before():
    """Every door as the scanner reaches it before any run: open, or
    refused where its server listens on one family only (vLLM and Open
    WebUI bind IPv4's every address by default, as upstream does)."""
    seen = reach(dict(FORWARDER_DOORS, **dict(SERVER_DOORS, **GUARDED)))
    assert "silent" not in seen.values(), seen
    return seen


@pytest.fixture(scope="module")
def forwarders_only(before, check_run):
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


def unit_sockets(name, units):
    """{unit: the local addresses its port listens on} on a host, read with docker exec."""
    out = {}
    for unit, port in units.items():
        ss = subprocess.run(["docker", "exec", HOSTS[name]["ansible_host"], "ss", "-Htln", "sport = :%d" % port],
                            stdout=subprocess.PIPE, text=True, check=True).stdout
        out[unit] = sorted(set(line.split()[3].rsplit(":", 1)[0] for line in ss.splitlines() if line.strip()))
    return out


@pytest.fixture(scope="module")
def bind_others(all_doors):
    run = playbook("harden.yml", *BIND_OTHERS)
    dropins = dict((name, subprocess.run(
        ["docker", "exec", HOSTS[name]["ansible_host"], "bash", "-c",
         "ls -d /etc/systemd/system/*.service.d/*ollama* 2>/dev/null || true"],
        stdout=subprocess.PIPE, text=True, check=True).stdout.split()) for name in REBOUND)
    return run, dropins, dict((name, unit_sockets(name, units)) for name, units in REBOUND.items())


def test_the_bind_role_moves_the_servers_it_can_to_loopback(bind_others):
    run, dropins, sockets = bind_others
    assert run.returncode == 0, run.stdout[-4000:]
    for name, units in REBOUND.items():
        for unit in units:
            assert any(path.startswith("/etc/systemd/system/%s.d/" % unit) for path in dropins[name]), (
                name, unit, dropins[name])
        assert all(addresses and all(a in ("127.0.0.1", "[::1]", "[::ffff:127.0.0.1]") for a in addresses)
                   for addresses in sockets[name].values()), (name, sockets[name])


@pytest.fixture(scope="module")
def rolled_back(bind_others):
    back = playbook("rollback.yml")
    return back, snapshot()


def test_rollback_puts_every_host_back_as_it_was(pristine, rolled_back):
    back, after = rolled_back
    assert back.returncode == 0, back.stdout[-4000:]
    # Files (the bind role's drop-ins and environment files, the firewall's
    # table and unit, the stamps), rules, units and their states, sockets.
    assert differences(pristine, after) == {}


def test_rollback_opens_every_door_again(before, rolled_back):
    seen = reach(dict(FORWARDER_DOORS, **dict(SERVER_DOORS, **GUARDED)))
    assert seen == before, dict((k, v) for k, v in seen.items() if v != before[k])
