"""Verify the ollama_firewall role on one host per backend (and a
Docker-published Ollama, and a host whose nftables the role installed):
from the scanner container the Ollama port is closed over IPv4 and IPv6 (it
answered over both before the role) and the front's port is open (with at
most ollama_firewall_front_conn_limit connections per source where the
backend can limit them: nftables, iptables; said not applied on ufw and
firewalld), loopback
still reaches Ollama, the rules survive a restart of the firewall service
(and a reboot), other rules are untouched, and bad input is rejected before
any change, naming the variable. Last, the opt-in that recreates the
Docker-published Ollama on 127.0.0.1 (check mode, real run, second run,
rollback), which leaves the host hardened again for side_effect's rollback."""

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


FAMILIES = ("ipv4", "ipv6")


def addresses(lab):
    """The host's addresses on the lab network as URLs take them, by family
    (read again each time: a restarted container may get new ones)."""
    out = docker("inspect", lab["ansible_host"]).stdout
    net = json.loads(out)[0]["NetworkSettings"]["Networks"][lab["lab_network"]]
    assert net["IPAddress"] and net["GlobalIPv6Address"], "the host has no IPv4 or no IPv6 address: %r" % net
    return {"ipv4": net["IPAddress"], "ipv6": "[%s]" % net["GlobalIPv6Address"]}


def from_outside(host, lab, port, family="ipv4"):
    """HTTP status the scanner container gets over ``family`` (000: no answer)."""
    answer = scanner(host).run("curl -s -o /dev/null -m 2 -w '%%{http_code}' http://%s:%s/"
                               % (addresses(lab)[family], port))
    return answer.stdout.strip()


def answers(host, lab, port):
    """{family: HTTP status from outside}."""
    return dict((family, from_outside(host, lab, port, family)) for family in FAMILIES)


def closed_soon(host, lab, port, tries=10):
    """The port answers no more from outside, over IPv4 and IPv6 (a
    restarting firewall may take a moment)."""
    for _ in range(tries):
        if answers(host, lab, port) == {"ipv4": "000", "ipv6": "000"}:
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
        for family in FAMILIES:
            key = "%s:%s:%s" % (lab["inventory_hostname"], port, family)
            assert before[key] == "200", "port %s was not open over %s before" % (port, family)
        assert answers(host, lab, port) == {"ipv4": "000", "ipv6": "000"}


# -- the doors (issue 26): a port of another program closed on purpose ---------------------
def door_status(host, lab, port, family):
    """HTTP status of ``GET /v1/models`` on the door from the scanner (000: no answer)."""
    answer = scanner(host).run("curl -s -o /dev/null -m 2 -w '%%{http_code}' http://%s:%s/v1/models"
                               % (addresses(lab)[family], port))
    return answer.stdout.strip()


def doors_before(lab, port):
    with open(os.path.join(EPHEMERAL, "doors-before.json")) as handle:
        before = json.load(handle)
    return dict((family, before["%s:%s:%s" % (lab["inventory_hostname"], port, family)]) for family in FAMILIES)


def door_plan(lab):
    """The firewall plan's doors of the host (converge.yml wrote them)."""
    with open(os.path.join(EPHEMERAL, "doors-%s.json" % lab["inventory_hostname"])) as handle:
        return json.load(handle)


def test_a_door_listed_in_close_ports_was_open_and_is_closed(host, lab):
    """ollama_firewall_close_ports: a plain listener of another program (no
    conflict left open), closed over IPv4 and IPv6; loopback still reaches it."""
    port = lab.get("fw_door_port")
    if not port:
        pytest.skip("no door on this host")
    before = doors_before(lab, port)
    assert "000" not in before.values(), before  # it answered over both families before
    assert port in door_plan(lab)["ports"]
    assert dict((family, door_status(host, lab, port, family)) for family in FAMILIES) == {"ipv4": "000",
                                                                                           "ipv6": "000"}
    assert host.run("curl -s -o /dev/null -m 2 -w '%%{http_code}' http://127.0.0.1:%d/" % port).stdout == "200"


def test_a_model_server_without_a_key_is_closed_through_close_model_servers(host, lab):
    """ollama_firewall_close_model_servers: the stand-in vLLM (every address,
    no key), found by the host read as a server (ollama_info's servers[]),
    closed over IPv4 and IPv6, its reason naming the door and the opt-in."""
    port = lab.get("fw_server_port")
    if not port:
        pytest.skip("no other model server on this host")
    assert doors_before(lab, port) == {"ipv4": "200", "ipv6": "200"}  # its model list, without a key
    plan = door_plan(lab)
    assert plan["read_servers"], "the host read (ollama_info) lists no servers[]: the door cannot be named"
    doors = [d for d in plan["doors"] if d["port"] == port]
    assert [(d["category"], d["kind"], d["close"]) for d in doors] == [("server", "vllm", True)], plan["doors"]
    assert "ollama_firewall_close_model_servers" in doors[0]["why"] and "vllm" in doors[0]["why"]
    assert port in plan["ports"]
    assert dict((family, door_status(host, lab, port, family)) for family in FAMILIES) == {"ipv4": "000",
                                                                                           "ipv6": "000"}
    assert host.run("curl -s -o /dev/null -m 2 -w '%%{http_code}' http://127.0.0.1:%d/v1/models" % port).stdout == "200"


def bind_others(*extra):
    """molecule/firewall/bind-others.yml: the bind role with ollama_bind_other_servers on the stand-in LocalAI."""
    cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(HERE, "..", "bind-others.yml")]
    for item in extra:
        cmd += ["-e", item]
    return subprocess.run(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)


def localai_sockets(host, port):
    return sorted(line.split()[3] for line in host.check_output("ss -Htln 'sport = :%d'" % port).splitlines())


def test_bind_moves_another_model_server_to_loopback_and_rollback_puts_it_back(host, lab):
    """ollama_bind_other_servers: the stand-in LocalAI (LOCALAI_ADDRESS=:PORT
    in its unit) answered over IPv4 and IPv6; the role's drop-in moves it to
    127.0.0.1 (its environment file wins over the unit's Environment=), a
    second run changes nothing, the rollback puts it back on every address."""
    port = lab.get("fw_localai_port")
    if not port:
        pytest.skip("no stand-in LocalAI on this host")
    if not host.file("/usr/local/bin/local-ai").exists:
        pytest.skip("the lab was prepared without the stand-in LocalAI")
    dropin = "/etc/systemd/system/localai.service.d/zz-ollama-exposure-toolkit.conf"
    assert doors_before(lab, port) == {"ipv4": "200", "ipv6": "200"}
    assert localai_sockets(host, port) == ["*:%d" % port]
    first = bind_others()
    assert first.returncode == 0, first.stdout[-3000:]
    assert recap_changed(first.stdout, lab["inventory_hostname"]) > 0
    assert localai_sockets(host, port) == ["127.0.0.1:%d" % port]
    assert dict((family, door_status(host, lab, port, family)) for family in FAMILIES) == {"ipv4": "000",
                                                                                           "ipv6": "000"}
    assert host.run("curl -s -o /dev/null -m 2 -w '%%{http_code}' http://127.0.0.1:%d/v1/models" % port).stdout == "200"
    assert "LOCALAI_ADDRESS=127.0.0.1:%d" % port in host.file(dropin).content_string
    assert host.file("/var/backups/ollama-exposure-toolkit/localai.service/state.json").exists
    again = bind_others()
    assert again.returncode == 0 and recap_changed(again.stdout, lab["inventory_hostname"]) == 0, again.stdout[-3000:]
    back = bind_others("fw_bind_rollback=true")
    assert back.returncode == 0, back.stdout[-3000:]
    assert not host.file(dropin).exists
    assert not host.file("/var/backups/ollama-exposure-toolkit/localai.service").exists
    for _ in range(10):
        if localai_sockets(host, port) == ["*:%d" % port]:
            break
        time.sleep(1)
    assert localai_sockets(host, port) == ["*:%d" % port]
    assert dict((family, door_status(host, lab, port, family)) for family in FAMILIES) == {"ipv4": "200",
                                                                                           "ipv6": "200"}


# -- the toolkit's own probe from the scanner (issue 25, item 9) -----------------------------
_PROBE_AFTER = []


def toolkit_probe():
    """probe.yml now: ollama_probe on the scanner, every lab host's Ollama
    port over IPv4 and IPv6 and the addresses without a route (run once)."""
    if not _PROBE_AFTER:
        out = os.path.join(tempfile.mkdtemp(prefix="fw-probe-"), "after.json")
        run = subprocess.run(["ansible-playbook", "-i", INVENTORY, os.path.join(HERE, "..", "probe.yml"),
                              "-e", "fw_probe_out=%s" % out], cwd=PROJECT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-3000:]
        with open(out) as handle:
            _PROBE_AFTER.append(json.load(handle))
    return _PROBE_AFTER[0]


def probe_states(results, name):
    """{family: state} of the host's probe results."""
    return dict(("ipv6" if ":" in r["address"] else "ipv4", r["state"]) for r in results if r["host"] == name)


def test_the_toolkits_probe_saw_ipv6_exposed_before_and_not_after(host, lab):
    """Positive control of the IPv6 proof: the toolkit's own probe, from the
    scanner, reported the host exposed over IPv6 (and IPv4) before the role;
    after it, neither; an address without a route is no_route, not filtered."""
    with open(os.path.join(EPHEMERAL, "probe-before.json")) as handle:
        before = json.load(handle)
    name = lab["inventory_hostname"]
    assert probe_states(before, name) == {"ipv4": "exposed", "ipv6": "exposed"}, before
    ipv6 = [r for r in before if r["host"] == name and ":" in r["address"]]
    assert "without credentials" in ipv6[0]["evidence"]
    after = toolkit_probe()
    # Closed by the toolkit's rules: silence (dropped), over both families.
    assert probe_states(after, name) == {"ipv4": "filtered", "ipv6": "filtered"}, after
    # No route from the scanner: not silence, before or after.
    for results in (before, after):
        unreached = dict((r["address"], r) for r in results if r["host"] == "no-route")
        assert sorted(unreached) == sorted(["192.0.2.1", "2001:db8::1", "198.51.100.1", "2001:db8:1::1"]), results
        assert [r["state"] for r in unreached.values()] == ["no_route"] * 4, unreached
        # `unreachable` routes: EHOSTUNREACH; `throw` routes: ENETUNREACH.
        for address, code in (("192.0.2.1", "EHOSTUNREACH"), ("2001:db8::1", "EHOSTUNREACH"),
                              ("198.51.100.1", "ENETUNREACH"), ("2001:db8:1::1", "ENETUNREACH")):
            assert unreached[address]["evidence"].startswith("no route from here: %s " % code), unreached[address]


def test_front_port_is_open_from_outside(host, lab):
    assert answers(host, lab, lab["fw_front_port"]) == {"ipv4": "200", "ipv6": "200"}


# -- the per-source connection limit on the front's port ---------------------------
# Run in a container: opens N connections to ADDRESS:PORT one after the other
# (each with a bounded timeout), holds them, prints a JSON line (each
# attempt: open, reset or the error), and when a line comes on stdin prints
# the HTTP status line read through the first open one and closes them all.
HOLD = r"""
import json, socket, sys
address, port, count = sys.argv[1].strip("[]"), int(sys.argv[2]), int(sys.argv[3])
held, seen = [], []
for _ in range(count):
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    sock.settimeout(3)
    try:
        sock.connect((address, port))
        held.append(sock)
        seen.append("open")
    except ConnectionRefusedError:
        seen.append("reset")
        sock.close()
    except OSError as exc:
        seen.append("error: %s" % exc)
        sock.close()
print(json.dumps(seen), flush=True)
sys.stdin.readline()
status = ""
if held:
    held[0].sendall(b"GET / HTTP/1.0\r\n\r\n")
    status = held[0].recv(64).split(b"\r\n")[0].decode()
print(json.dumps(status), flush=True)
for sock in held:
    sock.close()
"""
LIMIT = 8  # ollama_firewall_front_conn_limit in the scenario's inventory
# A second source: another lab container (its own IPv4 address; the same
# IPv6 /64 as the scanner, the lab network being one /64).
PEER = "ofw-ufw"


class Held:
    """``HOLD`` running in container ``name`` against ``address``:``port``."""

    def __init__(self, name, address, port, count):
        self.proc = subprocess.Popen(["docker", "exec", "-i", name, "python3", "-c", HOLD, address, str(port),
                                      str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line, "the probe in %s printed nothing" % name
        self.seen = json.loads(line)
        self.status = None

    def close(self):
        """Closes the connections; the HTTP status line read through the first open one."""
        if self.status is None:
            out = self.proc.communicate("close\n", timeout=30)[0].strip()
            self.status = json.loads(out) if out else ""
        return self.status


def held(name, address, port, count):
    """Each attempt's outcome; the connections are closed again."""
    probe = Held(name, address, port, count)
    probe.close()
    return probe.seen


def test_front_conn_limit_resets_connections_over_it_per_source(host, lab):
    if lab["fw_backend"] not in ("nftables", "iptables") or lab.get("fw_install") or lab["fw_service"] == "docker.service":
        pytest.skip("the limit is tested on the nftables and the iptables hosts")
    port = lab["fw_front_port"]
    for family, peer_gets in (("ipv4", ["open"]), ("ipv6", ["reset"])):
        address = addresses(lab)[family]
        probe = Held("ofw-scanner", address, port, LIMIT + 4)
        try:
            # Exactly LIMIT accepted, the rest reset.
            assert probe.seen == ["open"] * LIMIT + ["reset"] * 4, (family, probe.seen)
            # Another source while the scanner holds its connections: over IPv4 it
            # has its own count (not a global limit); over IPv6 it is in the
            # scanner's /64, which the limit counts as one source.
            assert held(PEER, address, port, 1) == peer_gets, family
        finally:
            status = probe.close()
        # The accepted ones reached the front's stand-in: it answers through them.
        assert status.startswith("HTTP/1.0 200"), (family, status)
        # Closed connections no longer count: the scanner connects again.
        for _ in range(10):
            again = held("ofw-scanner", address, port, 1)
            if again == ["open"]:
                break
            time.sleep(0.5)
        assert again == ["open"], family


# The exempt source (ollama_front_rate_exempt of the nftables and iptables
# hosts in the inventory, which the firewall role takes by default): another
# lab container, in the scanner's IPv6 /64.
EXEMPT = "ofw-firewalld"


def test_front_conn_limit_spares_an_exempt_source_and_still_caps_the_others(host, lab):
    if lab["fw_backend"] not in ("nftables", "iptables") or lab.get("fw_install") or lab["fw_service"] == "docker.service":
        pytest.skip("the exemption is tested on the nftables and the iptables hosts")
    port = lab["fw_front_port"]
    plan = json.loads(host.file(STATE_FILE).content_string)
    assert plan["backend"] == lab["fw_backend"]
    for family in FAMILIES:
        address = addresses(lab)[family]
        capped = Held("ofw-scanner", address, port, LIMIT + 4)
        try:
            # The non-exempt source is still capped...
            assert capped.seen == ["open"] * LIMIT + ["reset"] * 4, (family, capped.seen)
            # ...while the exempt one opens more than the limit (bounded: LIMIT + 4),
            # over IPv6 from inside the /64 that the scanner has filled.
            spared = Held(EXEMPT, address, port, LIMIT + 4)
            try:
                assert spared.seen == ["open"] * (LIMIT + 4), (family, spared.seen)
                # Its connections are not counted for the others: a third source
                # in the scanner's /64 is still reset over IPv6, open over IPv4.
                assert held(PEER, address, port, 1) == (["open"] if family == "ipv4" else ["reset"]), family
            finally:
                assert spared.close().startswith("HTTP/1.0 200"), family
        finally:
            capped.close()


def test_front_conn_limit_is_not_faked_where_the_backend_cannot(host, lab):
    """Positive control of the probe: on ufw and firewalld (no per-source
    connection count) every connection is accepted, and the role said so."""
    if lab["fw_backend"] not in ("ufw", "firewalld") or lab.get("fw_ssh"):
        pytest.skip("the backends without a per-source connection limit")
    seen = held("ofw-scanner", addresses(lab)["ipv4"], lab["fw_front_port"], LIMIT + 4)
    assert seen == ["open"] * (LIMIT + 4), seen


def test_the_role_reports_where_the_limit_applies():
    run = firewall_play("fw-nftables,fw-iptables,fw-ufw,fw-firewalld", "--check", json_output=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    said = {}
    for play in json.loads(run.stdout)["plays"]:
        for task in play["tasks"]:
            if "OLLAMA-FW-003 | AUDIT | Report the per-source connection limit" in task["task"]["name"]:
                said.update((name, res.get("msg", "")) for name, res in task["hosts"].items())
    assert said["fw-nftables"].startswith("front port 11443 connection limit APPLIED: nftables: at most 8 "), said
    assert said["fw-iptables"].startswith("front port 11443 connection limit APPLIED: iptables: at most 8 "), said
    assert said["fw-ufw"].startswith("front port 11443 connection limit NOT APPLIED: ufw has no per-source"), said
    assert said["fw-firewalld"].startswith(
        "front port 11443 connection limit NOT APPLIED: firewalld rich rules have no per-source"), said


def test_loopback_still_reaches_ollama(host, lab):
    for port in lab["fw_ollama_ports"]:
        assert wait_loopback(host, port, timeout=3)


def test_state_file_records_the_backend(host, lab):
    state = json.loads(host.file(STATE_FILE).content_string)
    assert state["backend"] == lab["fw_backend"]


def test_firewall_the_role_installed(host, lab):
    if not lab.get("fw_install"):
        pytest.skip("not the host without a firewall")
    assert host.package("nftables").is_installed
    assert "ollama_exposure_toolkit" in host.check_output("nft list tables")
    # nftables.service stays as the package left it: the role's unit loads the table.
    assert not host.service("nftables.service").is_enabled
    assert host.service("ollama-exposure-toolkit-firewall.service").is_enabled


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
    # IPv6 is not NATed by this Docker: docker-proxy answers it on [::]:11434,
    # through INPUT, where the backend's own rule closes it.
    assert "[::]:11434 " in host.check_output("ss -Htln")
    table = host.check_output("nft list table inet ollama_exposure_toolkit")
    assert re.search(r"tcp dport (11434|\{[^}]*\b11434\b[^}]*\}) drop", table), table


def live_toolkit_rules(host, lab):
    """The toolkit's rules closing the host's Ollama port as the kernel holds
    them now (not the files a service would load), one label each: the
    toolkit's nftables table, its OLLAMA-TOOLKIT chain jumped to from INPUT,
    ufw's live user chains, firewalld's live table, DOCKER-USER."""
    port = lab["fw_ollama_ports"][0]
    found = []
    table = host.run("nft list table inet ollama_exposure_toolkit")
    if table.rc == 0 and re.search(r"tcp dport (%d|\{[^}]*\b%d\b[^}]*\}) drop" % (port, port), table.stdout):
        found.append("nftables table")
    for tool, ufw_chain in (("iptables", "ufw-user-input"), ("ip6tables", "ufw6-user-input")):
        chain = host.run("%s -w -S OLLAMA-TOOLKIT" % tool)
        jump = host.run("%s -w -S INPUT" % tool)
        if chain.rc == 0 and "--dport %d -j DROP" % port in chain.stdout and "-A INPUT -j OLLAMA-TOOLKIT" in jump.stdout:
            found.append("%s chain" % tool)
        ufw = host.run("%s -w -S %s" % (tool, ufw_chain))
        if ufw.rc == 0 and re.search(r"--dport %d\b.*-j DROP" % port, ufw.stdout):
            found.append("%s ufw" % tool)
        docker_user = host.run("%s -w -S DOCKER-USER" % tool)
        if docker_user.rc == 0 and "--ctorigdstport %d " % port in docker_user.stdout:
            found.append("%s DOCKER-USER" % tool)
    firewalld = host.run("nft list table inet firewalld")
    if firewalld.rc == 0 and re.search(r"tcp dport %d\b.*drop" % port, firewalld.stdout):
        found.append("firewalld table")
    return found


# What each host holds once hardened (the Docker host's IPv6 is not NATed:
# no ip6tables DOCKER-USER; its nftables table closes docker-proxy's port).
EXPECTED_RULES = {
    "nftables": ["nftables table"],
    "iptables": ["iptables chain", "ip6tables chain"],
    "ufw": ["iptables ufw", "ip6tables ufw"],
    "firewalld": ["firewalld table"],
    "docker": ["nftables table", "iptables DOCKER-USER"],
}


def open_soon(host, lab, port, tries=10):
    """The port answers from outside again, over IPv4 and IPv6 (the positive
    control of a proof that rules are gone)."""
    for _ in range(tries):
        if answers(host, lab, port) == {"ipv4": "200", "ipv6": "200"}:
            return True
        time.sleep(1)
    return False


def test_rules_survive_a_restart_of_the_firewall_service(host, lab):
    """Each host loses the toolkit's rules as a stop of its firewall service
    (or a reboot) loses them: they are proven GONE (absent from the live
    ruleset, and Ollama answers from outside again), then the service's start
    or restart (the toolkit's persistence) brings them back."""
    port = lab["fw_ollama_ports"][0]
    expected = EXPECTED_RULES["docker" if lab["fw_service"] == "docker.service" else lab["fw_backend"]]
    unit = "ollama-exposure-toolkit-firewall.service"
    assert live_toolkit_rules(host, lab) == expected
    if lab.get("fw_install"):
        # nftables.service is not enabled on the host the role installed it
        # on: lose the table as a reboot would, then start the role's unit.
        host.run_expect([0], "nft delete table inet ollama_exposure_toolkit")
        restore = ["systemctl restart %s" % unit]
    elif lab["fw_service"] in ("nftables.service", "ufw.service", "firewalld.service"):
        # Stopping the service takes its rules out of the kernel (nftables:
        # flush ruleset; ufw-init stop; firewalld cleans up on exit); starting
        # it loads them again (nftables.conf's include, ufw's and firewalld's
        # own files). The role's unit is PartOf nftables: started again after.
        host.run_expect([0], "systemctl stop %s" % lab["fw_service"])
        restore = ["systemctl start %s" % lab["fw_service"]]
    elif lab["fw_service"] == "docker.service":
        # A reboot's loss: the DOCKER-USER rule and the table; a restart of
        # Docker restarts the role's unit (PartOf), which puts both back.
        host.run_expect([0], "iptables -w -S DOCKER-USER | grep -- '--ctorigdstport %d ' | sed 's/^-A /-D /' | "
                             "while read -r rule; do eval iptables -w $rule || exit 1; done" % port)
        host.run_expect([0], "nft delete table inet ollama_exposure_toolkit")
        restore = ["systemctl restart docker.service"]
    else:
        # No firewall service on the iptables host (ufw breaks iptables-persistent
        # in the image): lose the rules as a reboot would, then start the unit.
        for tool in ("iptables", "ip6tables"):
            host.run_expect([0], "%s -w -D INPUT -j OLLAMA-TOOLKIT && %s -w -F OLLAMA-TOOLKIT && %s -w -X OLLAMA-TOOLKIT"
                            % (tool, tool, tool))
        restore = ["systemctl restart %s" % unit]
    # GONE: no rule of the toolkit's in the kernel, and the port answers from outside.
    assert live_toolkit_rules(host, lab) == [], "the toolkit's rules are still live"
    assert open_soon(host, lab, port), "the port did not open without the rules: %r" % answers(host, lab, port)
    for command in restore:
        host.run_expect([0], command)
    # firewalld answers systemctl before it has loaded its zones: wait for it.
    if lab["fw_service"] == "firewalld.service":
        host.run("for i in $(seq 20); do firewall-cmd --state >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 0")
    # RESTORED: the same rules live again, the port closed, the front open.
    for _ in range(10):
        if live_toolkit_rules(host, lab) == expected:
            break
        time.sleep(1)
    assert live_toolkit_rules(host, lab) == expected
    if lab["fw_backend"] == "iptables":
        # Both jumps are back, first in INPUT.
        for tool in ("iptables", "ip6tables"):
            assert host.check_output("%s -S INPUT" % tool).splitlines()[1] == "-A INPUT -j OLLAMA-TOOLKIT", tool
    if lab["fw_service"] == "nftables.service":
        # The role's unit, stopped with nftables (PartOf), as it was.
        host.run_expect([0], "systemctl start %s" % unit)
    for port in lab["fw_ollama_ports"]:
        assert wait_loopback(host, port), "Ollama did not come back on loopback"
        assert closed_soon(host, lab, port)
    assert answers(host, lab, lab["fw_front_port"]) == {"ipv4": "200", "ipv6": "200"}


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
    if lab["fw_service"] != "nftables.service" and not lab.get("fw_install") and not lab.get("fw_ssh"):
        pytest.skip("rebooted: the nftables host, the host whose nftables the role installed, and the host "
                    "whose ufw the role enabled")
    docker("restart", lab["ansible_host"])
    host.run("timeout 60 systemctl is-system-running --wait")
    assert wait_loopback(host, lab["fw_ollama_ports"][0])
    # A reboot starts from an empty kernel ruleset: what is live now, the boot loaded.
    assert live_toolkit_rules(host, lab) == EXPECTED_RULES[lab["fw_backend"]]
    assert closed_soon(host, lab, lab["fw_ollama_ports"][0], tries=5)
    assert answers(host, lab, lab["fw_front_port"]) == {"ipv4": "200", "ipv6": "200"}


def firewall_state(name):
    """Every file and link of every place the role writes (whole trees: a new
    file shows), and the live nftables, iptables and ip6tables rules
    (/usr/local/sbin/fw-tree, installed by prepare)."""
    # stdout only: nft's warnings on stderr would interleave at random.
    state = subprocess.run(["docker", "exec", "ofw-" + name, "/usr/local/sbin/fw-tree"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    assert state.returncode == 0 and "/usr/local/sbin/fw-tree" in state.stdout, state.stdout + state.stderr
    return state.stdout


def firewall_play(limit, *extra, json_output=False):
    """playbooks/firewall.yml on ``limit``; with ``json_output`` its stdout is
    the json callback's (stderr apart)."""
    cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(PROJECT, "playbooks", "firewall.yml"),
           "--limit", limit, "-e", "report_dir=%s" % tempfile.mkdtemp(prefix="firewall-"),
           "-e", "ollama_audit_probe=false"] + list(extra)
    if json_output:
        return subprocess.run(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=300, env=dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"))
    return subprocess.run(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)


BAD_INPUT = [
    ("fw-nftables", ['{"ollama_firewall_front_sources": ["10.0.0.300/8"], "ollama_firewall_ports": [70000]}'],
     ["ollama_firewall_front_sources", "ollama_firewall_ports"]),
    ("fw-nftables", ["ollama_firewall_backend=pf"], ["ollama_firewall_backend"]),
    ("fw-nftables", ['{"ollama_firewall_close_ports": [22, 70000]}'],
     ["ollama_firewall_close_ports: 70000 is not a TCP port", "refused: ollama_firewall_close_ports holds 22"]),
    ("fw-nftables", ["ollama_firewall_backend=firewalld"], ["ollama_firewall_backend=firewalld", "not running"]),
    ("fw-docker", ["ollama_firewall_backend=ufw"], ["ollama_firewall_backend=ufw", "ufw is not installed"]),
    ("fw-docker", ["ollama_firewall_docker_republish=maybe"], ["ollama_firewall_docker_republish"]),
    ("fw-nftables", ["ollama_firewall_ssh_port=11434"], ["refused", "ollama_firewall_ssh_port"]),
    ("fw-nftables", ['{"ollama_firewall_backend": "ufw", "ollama_firewall_ufw_enable": true}'],
     ["refused", "ollama_firewall_ssh_allow"]),
    # The scanner has no firewall tool at all (prepare purged nftables) and
    # no ollama_firewall_install.
    ("fw-scanner", ["ollama_firewall_install=false"], ["no firewall found", "ollama_firewall_install"]),
    ("fw-nofw", ["ollama_firewall_install=maybe"], ["ollama_firewall_install"]),
    ("fw-nftables", ["ollama_firewall_front_conn_limit=-1"], ["ollama_firewall_front_conn_limit must be an integer"]),
    ("fw-iptables", ["ollama_firewall_front_conn_limit=many"], ["ollama_firewall_front_conn_limit"]),
    ("fw-iptables", ["ollama_firewall_front_conn_limit_ipv6_prefix=0"],
     ["ollama_firewall_front_conn_limit_ipv6_prefix must be"]),
    # The exempt list, through the front's variable the role takes by default.
    ("fw-iptables", ['{"ollama_front_rate_exempt": ["office-nat", "10.0.0.0/8"]}'],
     ["ollama_firewall_front_conn_limit_exempt: 'office-nat' is not a valid address or CIDR"]),
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
# Last in this file: it ends by hardening fw-docker again without the opt-in
# (DOCKER-USER rule back), so side_effect's rollback removes a rule that is
# there.
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
        before_role = json.load(handle)
    for family in FAMILIES:
        assert before_role["%s:11434:%s" % (name, family)] == "200", "not open over %s before the role" % family
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
    assert answers(host, lab, 11434) == {"ipv4": "000", "ipv6": "000"}
    # Closed by the publishing, not by DOCKER-USER or INPUT: their rules are gone.
    assert "--ctorigdstport 11434" not in host.check_output("iptables -S DOCKER-USER")
    assert "11434" not in host.check_output("nft list table inet ollama_exposure_toolkit")
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
        if answers(host, lab, 11434) == {"ipv4": "200", "ipv6": "200"}:
            break
        time.sleep(1)
    assert answers(host, lab, 11434) == {"ipv4": "200", "ipv6": "200"}

    # Hardened again without the opt-in, for side_effect's rollback.
    again = firewall_play(name)
    assert again.returncode == 0, again.stdout[-3000:]
    assert "--ctorigdstport 11434 --ctdir ORIGINAL" in host.check_output("iptables -S DOCKER-USER")
    assert closed_soon(host, lab, 11434)
