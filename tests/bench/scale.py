#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Cost at scale, measured on a lab of real hosts (issue "Fleet scale").

Builds a lab of N systemd containers (osc-001 ... osc-N, N = the largest of
SCALE_SIZES, default "10 50 100") on a Docker network of its own
(ollama-scale, 172.30.112.0/22 and fd00:6c61:113::/64), provisions them with
tests/lab/provision.yml (the stand-in under a real unit, real sockets, real
processes; three hosts in four exposed), then, at every size
(the first n hosts of the lab, with --limit):

  1. `ansible -m ansible.builtin.ping` and playbooks/audit.yml (exposed lab);
  2. a first playbooks/harden.yml of the hosts not hardened yet, every wall
     on (front, firewall, adoption of hand-started processes), as
     molecule/fleet runs it (smallest size first: the small sizes' figures
     come in before the whole lab is hardened);
  3. `ansible -m ansible.builtin.ping` and a second harden.yml of the n
     hosts (converged: it must change nothing, and its fast path must
     engage: the task WALLS_TASK skipped on every host, read from each
     run's output by walls_entered);
  4. the probe (library/ollama_probe.py's run_probes, in this process) over
     the whole lab as ports and timeout grow, before (ports refused) and
     after (the firewall drops: every closed port costs the timeout).

SCALE_CONNECTION says how steps 1 to 3 reach the hosts: "docker" (docker
exec as root, the default here; results in tests/bench/scale_results.json)
or "ssh" (the default of `make bench-scale-lab`; as fleets are reached: each
host gets sshd, the user deploy with the lab key and sudo with the vaulted
password from tests/lab/ssh/enable.yml, run over docker exec at
provisioning (ssh_playbook); ping, the audit and the harden log in as deploy by the host's
IPv4 address and become root with sudo and the password, with
--vault-id lab@tests/lab/vault-password and the ansible.cfg the project
ships; results in tests/bench/scale_results_ssh.json). Over SSH, at the
smallest size, the audit is measured against ping again with pipelining off
and with ControlPersist off (VARIANTS; SCALE_VARIANTS=0 skips them): what
each setting buys.

SCALE_HARDEN=0 runs steps 1 and 4 on the exposed lab only: a quarter of the
time (the first harden of every host dominates).

The audit and the converged harden are measured in SCALE_REPEAT pairs
(default 3) with ping: ping, then the playbook, seconds apart; the ratio
kept is the median of the pairs' ratios (every wall and ratio recorded).
Measuring starts once the 1-minute load average is below the number of
cores (at most SCALE_SETTLE seconds after provisioning, default 300).

Each ansible command is timed (wall), its controller CPU seconds (user +
system of the command and every process it waited for: forks, docker exec)
taken from os.wait4, and its peak memory sampled from /proc (the sum of the
RSS of the command's whole process tree, every 0.2 s). The work inside the
containers (dockerd, the modules' Python in the hosts) is not controller CPU
and is not counted.

Every wall is on as issue 27 tried it (WALLS: harden_front,
harden_firewall, ollama_bind_adopt; tests/bench/scale-walls.yml: two
credentials each with a password and an api_key, one user and one admin,
and one allowed origin).

The goals (tests/bench/goals.yml): the audit at most 1.5x ping, the
converged harden at most 3x ping. The run exits 1, after printing every
figure, when a ratio misses its goal, a run fails (rc, failed or unreachable
hosts, a converged harden that changes something), a converged harden
enters the walls on any host (the fast path did not engage; the hosts are
recorded as walls_entered) or its output does not show the walls' task for
a host, a host is classified wrong or a step was not measured.

Results go to tests/bench/scale_results.json or scale_results_ssh.json
(SCALE_RESULTS names another; written after every step, so a
run stopped half-way keeps what it measured) and are printed as a table. The
lab is always torn down at the end (also on failure or SIGTERM).

    .venv/bin/python tests/bench/scale.py            (make bench-scale-lab)
    .venv/bin/python tests/bench/scale.py destroy    (tear a left-over lab down)
    .venv/bin/python tests/bench/scale.py table      (print the recorded results)
    .venv/bin/python tests/bench/scale.py check      (exit 1 when the recorded results miss a goal)

Not part of `make test`: at 100 hosts it takes the better part of an hour on
the 2-core development machine.
"""

import concurrent.futures
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (tests/bench/benchlib.py)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
os.environ.setdefault("ANSIBLE_CONFIG", os.path.join(ROOT, "ansible.cfg"))
# SCALE_CONNECTION: how ping, the audit and the harden reach the hosts:
# "ssh" (as fleets are: user deploy with the lab key, sudo with the vaulted
# password; the default of `make bench-scale-lab`) or "docker" (docker exec
# as root, the default here). Provisioning always goes over docker exec.
CONNECTION = os.environ.get("SCALE_CONNECTION", "docker")
if CONNECTION not in ("ssh", "docker"):
    sys.exit("SCALE_CONNECTION must be ssh or docker, not %r" % CONNECTION)
RESULTS = os.environ.get("SCALE_RESULTS", os.path.join(
    ROOT, "tests", "bench", "scale_results_ssh.json" if CONNECTION == "ssh" else "scale_results.json"))
SIZES = sorted(set(int(s) for s in os.environ.get("SCALE_SIZES", "10 50 100").split()))
PREFIX = "osc-"
NETWORK = os.environ.get("SCALE_NETWORK", "ollama-scale")
SUBNET4 = os.environ.get("SCALE_SUBNET4", "172.30.112.0/22")
SUBNET6 = os.environ.get("SCALE_SUBNET6", "fd00:6c61:113::/64")
IMAGE = os.environ.get("SCALE_IMAGE", "ollama-lab:bookworm-front")
FORKS = os.environ.get("SCALE_FORKS", "25")
PROBE = os.environ.get("SCALE_PROBE", "1") != "0"
# SCALE_HARDEN=0: ping and the audit only (steps 1 and 4 on the exposed lab),
# a quarter of the time: the first harden of every host dominates the run.
HARDEN = os.environ.get("SCALE_HARDEN", "1") != "0"
# The audit and the converged harden are measured against ping in REPEAT
# pairs (ping, then the playbook, seconds apart): each pair's ratio compares
# two runs that saw the same machine, and the median ratio is kept (every
# wall and ratio recorded). One run on a shared 2-core machine moves by 15 %,
# and the machine drifts over minutes by more than the goals' margins.
REPEAT = max(1, int(os.environ.get("SCALE_REPEAT", "3")))
# Seconds to wait at most, after provisioning, for the 1-minute load average
# to fall below the number of cores (the lab's units settling) before the
# first measurement.
SETTLE = float(os.environ.get("SCALE_SETTLE", "300"))


load_goals = benchlib.load_goals
GOALS = load_goals("scale")
AUDIT_TARGET = GOALS["audit_over_ping"]
HARDEN_TARGET = GOALS["harden_again_over_ping"]
# One cycle of 20 hosts, repeated: 16 exposed (a systemd drop-in, the unit,
# an environment file, an IPv6 or http:// bind, drift, a hand-started process
# the rebind adopts), 4 not (secure, CORS wildcard, malformed, no Ollama).
CYCLE = ("faq_dropin", "unit_env", "envfile_port", "secure", "two_dropins", "ipv6_any", "manual_process",
         "http_scheme", "drift", "origins_any", "faq_dropin", "unit_env", "envfile_port", "not_installed",
         "two_dropins", "ipv6_any", "manual_process", "drift", "faq_dropin", "malformed")
EXPECT = {"secure": "secure", "origins_any": "secure", "malformed": "secure", "not_installed": "not_installed"}
# Every wall, as issue 27 tried it: the front, the firewall and the adoption
# of hand-started processes on; two credentials each with a password and an
# api_key (one user, one admin) and one allowed origin
# (tests/bench/scale-walls.yml); everything else default.
WALLS = ["-e", "harden_front=true", "-e", "harden_firewall=true", "-e", "ollama_bind_adopt=true",
         "-e", "@" + os.path.join(ROOT, "tests", "bench", "scale-walls.yml")]
# Variations of the lab that have defeated the fast path before, off by
# default (the figures stay comparable): SCALE_HARDEN_SERIAL, harden.yml's
# harden_serial as JSON (e.g. '[1, "50%"]': later batches), for the first and
# the converged runs; SCALE_DISCOVER=1, no ansible_python_interpreter in the
# inventory (Ansible discovers it, as on a plain inventory).
HARDEN_SERIAL = os.environ.get("SCALE_HARDEN_SERIAL", "")
DISCOVER = os.environ.get("SCALE_DISCOVER", "0") == "1"
if HARDEN_SERIAL:
    WALLS = WALLS + ["-e", json.dumps({"harden_serial": json.loads(HARDEN_SERIAL)})]
# The task of playbooks/harden.yml that enters the walls: a converged run
# must skip it on every host (the fast path: the stamps show every wall in
# place), or the run fails.
WALLS_TASK = "HARDEN | PATCH | Raise the walls where one has work"
PROBE_PORTS = [11434, 8080, 80, 443] + list(range(11435, 11447))
# Over SSH: the lab's vault (tests/lab/ssh/README.md) for the become
# password, and the settings each run is measured with. SCALE_VARIANTS
# (default on over SSH) measures, at the smallest size, the audit against
# ping again with one connection setting of ansible.cfg undone at a time:
# what each one buys.
VAULT = ["--vault-id", "lab@" + os.path.join(ROOT, "tests", "lab", "vault-password")]
LAB_VARS = os.path.join(ROOT, "inventories", "lab", "group_vars", "all.yml")
SSH_USER = "deploy"
VARIANTS_ON = os.environ.get("SCALE_VARIANTS", "1") != "0"
# Pairs per variant (default SCALE_REPEAT).
VARIANT_REPEAT = max(1, int(os.environ.get("SCALE_VARIANT_REPEAT", "0") or 0)) if os.environ.get(
    "SCALE_VARIANT_REPEAT") else None
# name -> environment of every command of the variant (ping and the audit).
VARIANTS = (("pipelining off", {"ANSIBLE_PIPELINING": "False"}),
            ("ControlPersist off", {"ANSIBLE_SSH_ARGS": "-C -o ControlMaster=no"}))


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def names(count):
    return ["%s%03d" % (PREFIX, i) for i in range(1, count + 1)]


def case_of(index):
    return CYCLE[index % len(CYCLE)]


# ---------------------------------------------------------------- the lab

def write_inventory(directory, count, connection="docker", addresses=None, key_dir=None):
    """The lab's inventory: over docker exec as root (``hosts.yml``: what
    provisioning always uses), or over SSH (``hosts-ssh.yml``: each host by
    its IPv4 address, user deploy with the lab key, become with sudo and the
    vaulted password, as fleets are reached)."""
    hosts = {}
    for index, name in enumerate(names(count)):
        case = case_of(index)
        hosts[name] = {"ansible_host": name, "lab_case": case, "lab_expect_status": EXPECT.get(case, "exposed")}
        if connection == "ssh":
            hosts[name]["ansible_host"] = addresses[name]
    common = {"lab_network": NETWORK, "lab_image": IMAGE,
              "lab_network_ipv4_subnet": SUBNET4, "lab_network_ipv6_subnet": SUBNET6,
              "lab_ssh_user": SSH_USER, "lab_ssh_port": 22, "lab_ssh_sudo": "password",
              "lab_ssh_key_dir": key_dir or os.path.join(directory, "ssh")}
    if connection == "ssh":
        connect = {"ansible_connection": "ansible.builtin.ssh", "ansible_user": SSH_USER, "ansible_port": 22,
                   "ansible_ssh_private_key_file": os.path.join(common["lab_ssh_key_dir"], "id_ed25519"),
                   # Throw-away hosts whose keys change with every lab: the
                   # user's known_hosts is left alone.
                   "ansible_ssh_extra_args": "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
                   "ansible_become": True, "ansible_become_method": "ansible.builtin.sudo",
                   "ansible_become_password": "{{ lab_become_password }}",
                   "ansible_python_interpreter": "/usr/bin/python3"}
    else:
        connect = {"ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3",
                   "ansible_become": False}
    inventory = {"all": {"vars": dict(connect, **common), "children": {"ollama_lab": {"hosts": hosts}}}}
    if DISCOVER:
        del inventory["all"]["vars"]["ansible_python_interpreter"]
    write_vault(directory)
    path = os.path.join(directory, "hosts-ssh.yml" if connection == "ssh" else "hosts.yml")
    with open(path, "w") as handle:
        yaml.safe_dump(inventory, handle, sort_keys=False)
    return path


def vault_text(source=LAB_VARS):
    """The lab's vaulted ``lab_become_password`` as it stands in
    inventories/lab/group_vars/all.yml (the key and its indented block),
    for the scale lab's own inventory directory."""
    with open(source) as handle:
        lines = handle.read().splitlines()
    for index, line in enumerate(lines):
        if line.startswith("lab_become_password:"):
            block = [line]
            for more in lines[index + 1:]:
                if not more.startswith((" ", "\t")) or not more.strip():
                    break
                block.append(more)
            if "$ANSIBLE_VAULT" not in "\n".join(block):
                raise RuntimeError("%s: lab_become_password is not vaulted" % source)
            return "\n".join(block) + "\n"
    raise RuntimeError("%s has no lab_become_password" % source)


def write_vault(directory):
    """group_vars/all/vault.yml beside the inventories: lab_become_password,
    decrypted only where a run uses it (with VAULT's --vault-id)."""
    path = os.path.join(directory, "group_vars", "all")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "vault.yml"), "w") as handle:
        handle.write("---\n" + vault_text())


def ssh_playbook(directory):
    """The playbook that turns SSH on in the lab (written beside its
    inventory): the lab's key pair on the controller
    (tests/lab/ssh/keypair.yml), then tests/lab/ssh/enable.yml in every host,
    over docker exec as root."""
    ssh_dir = os.path.join(ROOT, "tests", "lab", "ssh")
    plays = [{"name": "The scale lab's SSH key pair", "hosts": "localhost", "gather_facts": False,
              "vars": {"lab_ssh_key_dir": "{{ hostvars[groups['ollama_lab'][0]].lab_ssh_key_dir }}"},
              "tasks": [{"name": "Key pair in lab_ssh_key_dir",
                         "ansible.builtin.import_tasks": os.path.join(ssh_dir, "keypair.yml")}]},
             {"name": "SSH on in every scale lab host", "hosts": "ollama_lab", "gather_facts": False,
              "tasks": [{"name": "Turn SSH on", "ansible.builtin.import_tasks": os.path.join(ssh_dir, "enable.yml")}]}]
    path = os.path.join(directory, "ssh.yml")
    with open(path, "w") as handle:
        yaml.safe_dump(plays, handle, sort_keys=False)
    return path


def addresses_of(count):
    """{host: its IPv4 address on the lab network}, from docker inspect."""
    found = {}
    for name in names(count):
        info = json.loads(docker("inspect", name).stdout)[0]["NetworkSettings"]["Networks"][NETWORK]
        found[name] = info["IPAddress"]
    return found


def docker(*args, check=True):
    return subprocess.run(["docker"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=check)


def start_container(name):
    # The options of tests/lab/create.yml's "Start the host container".
    docker("run", "-d", "--name", name, "--hostname", name, "--network", NETWORK,
           "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW", "--cap-add", "SYS_PTRACE",
           "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
           "--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
           "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp", "--stop-signal", "SIGRTMIN+3",
           "--sysctl", "net.ipv6.conf.all.disable_ipv6=0", "--sysctl", "net.ipv6.conf.default.disable_ipv6=0",
           "--label", "ollama-lab=true", "--label", "ollama-scale=true", IMAGE, "/lib/systemd/systemd")
    for _ in range(30):
        state = docker("exec", name, "timeout", "20", "systemctl", "is-system-running", "--wait", check=False)
        if state.stdout.strip() in ("running", "degraded"):
            # The image has nginx preinstalled (no apt round trip per host
            # for the front) and Debian enables it on port 80: the host
            # starts as a bare one, nothing listening, nginx not running.
            docker("exec", name, "systemctl", "disable", "--now", "--quiet", "nginx.service", check=False)
            return
        time.sleep(1)
    raise RuntimeError("%s: systemd did not finish booting (%s)" % (name, state.stdout.strip()))


def lab_memory_mib(count):
    """RSS of every process of the lab's hosts (descendants of each container's init)."""
    total = 0
    for name in names(count):
        pid = docker("inspect", "-f", "{{.State.Pid}}", name, check=False).stdout.strip()
        if pid.isdigit() and pid != "0":
            total += tree_rss(int(pid))
    return round(total / 1048576.0)


def build(inventory, count):
    destroy()
    docker("network", "create", "--ipv6", "--subnet", SUBNET4, "--subnet", SUBNET6,
           "--label", "ollama-scale=true", NETWORK)
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(start_container, names(count)))
    created = time.monotonic() - start
    log("%d containers up in %.0f s" % (count, created))
    run = measure(["ansible-playbook", "-i", inventory, "-f", "50", os.path.join("tests", "lab", "provision.yml")])
    if run["rc"] != 0:
        raise RuntimeError("provisioning failed:\n" + run["tail"])
    built = {"create_s": round(created, 1), "provision_s": run["wall_s"], "build_s": round(created + run["wall_s"], 1)}
    if CONNECTION == "ssh":
        # SSH on in every host (tests/lab/ssh/enable.yml), over docker exec.
        ssh = measure(["ansible-playbook", "-i", inventory, "-f", "50"] + VAULT +
                      [ssh_playbook(os.path.dirname(inventory))])
        if ssh["rc"] != 0:
            raise RuntimeError("turning SSH on failed:\n" + ssh["tail"])
        built["ssh_s"] = ssh["wall_s"]
        built["build_s"] = round(built["build_s"] + ssh["wall_s"], 1)
    return built


def destroy():
    """Remove this lab: the labelled containers on its own network, then the
    network (a lab on another SCALE_NETWORK is left alone)."""
    found = docker("ps", "-aq", "--filter", "label=ollama-scale=true", "--filter", "network=%s" % NETWORK,
                   check=False).stdout.split()
    start = time.monotonic()
    for chunk in range(0, len(found), 25):
        docker("rm", "-f", *found[chunk:chunk + 25], check=False)
    for _ in range(5):
        if docker("network", "rm", NETWORK, check=False).returncode == 0 or \
                docker("network", "inspect", NETWORK, check=False).returncode != 0:
            break
        time.sleep(3)
    return round(time.monotonic() - start, 1)


# ---------------------------------------------------------------- measuring

def tree_rss(root):
    """Sum of the RSS (bytes) of root and all its descendants, from /proc."""
    children, rss = {}, {}
    page = os.sysconf("SC_PAGE_SIZE")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(pid))
            rss[int(pid)] = int(fields[21]) * page
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def measure(cmd, env=None):
    """Run cmd; wall seconds, controller CPU seconds, peak tree RSS, rc, output."""
    out = tempfile.TemporaryFile(mode="w+")
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                            env=dict(os.environ, **(env or {})))
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.wait(0.2):
            peak[0] = max(peak[0], tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read()
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_mib": round(peak[0] / 1048576.0, 1), "max_proc_mib": round(usage.ru_maxrss / 1024.0, 1),
            "rc": proc.returncode, "tail": text[-3000:], "output": text, "recap": recap(text)}


def kept_run(runs):
    """The run of median wall time of ``runs`` (the upper middle one for an
    even count), with every wall and the worst rc."""
    runs = sorted(runs, key=lambda r: r["wall_s"])
    kept = dict(runs[len(runs) // 2])
    kept["walls_s"] = [r["wall_s"] for r in runs]
    kept["rc"] = max(r["rc"] for r in runs)
    return kept


def paired_runs(base_cmd, cmd, env=None, repeat=None, inspect=None):
    """base_cmd (ping) and cmd in turns, repeat pairs. Returns the base's and
    cmd's runs of median wall (every wall kept) and, on cmd's, every pair's
    ratio (``pair_ratios``, in the order run) and their median (``ratio``;
    the upper middle one for an even count): each ratio compares two runs
    made seconds apart, on the same machine. With ``inspect`` (a function of
    a run's whole output), cmd's kept run also has ``inspected``: what it
    returned for each of cmd's runs, in the order run."""
    bases, runs, ratios, inspected = [], [], [], []
    for _ in range(repeat or REPEAT):
        bases.append(measure(base_cmd, env))
        runs.append(measure(cmd, env))
        ratios.append(round(runs[-1]["wall_s"] / bases[-1]["wall_s"], 3))
        if inspect is not None:
            inspected.append(inspect(runs[-1].get("output", "")))
    base, kept = kept_run(bases), kept_run(runs)
    kept["pair_ratios"] = ratios
    kept["ratio"] = sorted(ratios)[len(ratios) // 2]
    if inspect is not None:
        kept["inspected"] = inspected
    return base, kept


def settle(limit=None):
    """Wait until the 1-minute load average is below the number of cores, at
    most ``limit`` seconds (SCALE_SETTLE); the load before and after and the
    seconds waited, for the results."""
    return benchlib.settle(SETTLE if limit is None else limit)


def profile(cmd, env=None, top=8):
    """One more run with ansible.posix.profile_tasks: its slowest tasks."""
    run = measure(cmd, dict(env or {}, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
                            PROFILE_TASKS_TASK_OUTPUT_LIMIT=str(top)))
    tasks = re.findall(r"^(.+?) -+ (\d+\.\d+)s$", run["tail"], re.M)
    return [{"task": name.strip(), "s": float(secs)} for name, secs in tasks][:top]


TASK_HEADER = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(.*)\] \**$")
SECTION_END = re.compile(r"^(?:TASK \[|RUNNING HANDLER \[|PLAY \[|PLAY RECAP)")
HOST_STATUS = re.compile(r"^(ok|changed|failed|fatal|skipping|unreachable|rescued|ignored): \[([^\]]+?)(?: -> [^\]]*)?\]")
INCLUDED = re.compile(r"^included: .+ for (.+)$")


def walls_entered(text, task=WALLS_TASK):
    """Which hosts entered the walls, from a harden.yml run's output (the
    default callback, every batch): for each host, whether ``task`` was
    skipped (``skipping: [host]``) or not (``included: ... for host, ...``,
    or any other status). Returns {"seen": hosts the task ran or was skipped
    on, "entered": hosts it was not skipped on, "skipped": ...}, each sorted;
    a host in no section of ``task`` (the task renamed, the run stopped
    before it) is in none of them."""
    entered, skipped = set(), set()
    inside = False
    for line in text.splitlines():
        header = TASK_HEADER.match(line)
        if header or SECTION_END.match(line):
            inside = bool(header) and header.group(1) == task
            continue
        if not inside:
            continue
        included = INCLUDED.match(line)
        if included:
            entered.update(h.strip() for h in included.group(1).split(",") if h.strip())
            continue
        status = HOST_STATUS.match(line)
        if status:
            (skipped if status.group(1) == "skipping" else entered).add(status.group(2))
    return {"seen": sorted(entered | skipped), "entered": sorted(entered), "skipped": sorted(skipped - entered)}


def fast_path(inspected, hosts):
    """What the converged runs' walls_entered say of the fast path, for the
    results: the hosts that entered the walls in any run (``walls_entered``),
    the hosts that one run did not show at all (``walls_unseen``: the run
    cannot prove they stayed out), the count per run, and ``engaged``: true
    when every run skipped the walls on every one of ``hosts``."""
    entered, unseen = set(), set()
    for found in inspected:
        entered.update(found["entered"])
        unseen.update(set(hosts) - set(found["seen"]))
    return {"walls_entered": sorted(entered), "walls_unseen": sorted(unseen - entered),
            "walls_entered_per_run": [len(found["entered"]) for found in inspected],
            "fast_path_engaged": bool(inspected) and not entered and not unseen}


def recap(text):
    totals = {"ok": 0, "changed": 0, "unreachable": 0, "failed": 0}
    for match in re.finditer(r"^\S+\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", text, re.M):
        for key, value in zip(("ok", "changed", "unreachable", "failed"), match.groups()):
            totals[key] += int(value)
    return totals


def record(results, key, run, hosts, size=None):
    """Keep a run under its size (default: its number of hosts)."""
    entry = dict((k, v) for k, v in run.items() if k not in ("tail", "output", "inspected"))
    entry["hosts"] = hosts
    entry["cpu_s_per_host"] = round(run["cpu_s"] / hosts, 2)
    entry["peak_mib_per_host"] = round(run["peak_mib"] / hosts, 1)
    results.setdefault("sizes", {}).setdefault(str(size or hosts), {})[key] = entry
    save(results)


def save(results):
    with open(RESULTS + ".tmp", "w") as handle:
        json.dump(results, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.replace(RESULTS + ".tmp", RESULTS)


def classified(report_dir, inventory, size):
    with open(os.path.join(report_dir, "findings.json")) as handle:
        report = json.load(handle)["hosts"]
    with open(inventory) as handle:
        hosts = yaml.safe_load(handle)["all"]["children"]["ollama_lab"]["hosts"]
    wanted = names(size)
    wrong = [h for h in wanted if report.get(h, {}).get("status") != hosts[h]["lab_expect_status"]]
    return len(wanted) - len(wrong), wrong


def probe_matrix(inventory, count, phase, results):
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader()
    from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_probe import run_probes

    targets = []
    for name in names(count):
        info = json.loads(docker("inspect", name).stdout)[0]["NetworkSettings"]["Networks"][NETWORK]
        targets.append({"host": name, "addresses": [info["IPAddress"], info["GlobalIPv6Address"]]})
    rows = []
    for ports, timeout in ((1, 1.5), (4, 1.5), (16, 1.5), (1, 0.5), (1, 3.0), (4, 3.0)):
        jobs = [dict(t, ports=PROBE_PORTS[:ports]) for t in targets]
        start = time.monotonic()
        found = run_probes(jobs, timeout, 32)
        wall = time.monotonic() - start
        states = {}
        for item in found:
            states[item["state"]] = states.get(item["state"], 0) + 1
        rows.append({"hosts": count, "ports": ports, "timeout": timeout, "workers": 32,
                     "connections": len(found), "wall_s": round(wall, 2), "states": states})
        log("probe %s: %d ports, timeout %.1f: %.2f s %s" % (phase, ports, timeout, wall, states))
    results.setdefault("probe", {})[phase] = rows
    save(results)




def connection_facts(environ=None):
    """How the measured runs reach the hosts, for the results: the
    connection, and the settings of ansible.cfg (or the environment) that
    decide its cost: pipelining and the SSH arguments (ControlPersist)."""
    environ = os.environ if environ is None else environ
    out = subprocess.run(["ansible-config", "dump", "--only-changed", "-t", "all"], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, env=dict(environ), check=False).stdout
    facts = {"type": CONNECTION, "user": SSH_USER if CONNECTION == "ssh" else "root",
             "become": "sudo with a password" if CONNECTION == "ssh" else "none (root)"}
    facts.update(config_settings(out))
    return facts


def config_settings(dump):
    """pipelining and ssh_args from ``ansible-config dump --only-changed -t
    all`` (Ansible's defaults where not changed: pipelining off, ssh_args
    with ControlPersist=60s)."""
    pipelining, ssh_args = None, None
    section = None
    for line in dump.splitlines():
        header = re.match(r"^(\S.*):$", line.strip()) if not line.startswith(" ") else None
        if line.startswith("[") or header:
            section = line.strip("[]: ").lower()
        match = re.match(r"^(\w+)\(([^)]*)\)\s*=\s*(.*)$", line.strip())
        if not match:
            continue
        key, value = match.group(1).upper(), match.group(3).strip()
        if key in ("ANSIBLE_PIPELINING", "PIPELINING") and (pipelining is None or section == "ssh"):
            pipelining = value.lower() in ("true", "yes", "1", "on")
        elif key in ("SSH_ARGS", "ANSIBLE_SSH_ARGS"):
            ssh_args = value
    return {"pipelining": bool(pipelining),
            "ssh_args": ssh_args if ssh_args is not None else "-C -o ControlMaster=auto -o ControlPersist=60s"}


def variants(results, size, ping, audit, env):
    """The audit against ping with one connection setting undone at a time
    (VARIANTS), at one size, in pairs as the main figures: what each
    setting buys."""
    found = {}
    for name, changed in VARIANTS:
        base, run = paired_runs(ping, audit, dict(env, **changed), repeat=VARIANT_REPEAT)
        entry = {"env": changed, "ping_s": base["wall_s"], "ping_walls_s": base["walls_s"],
                 "audit_s": run["wall_s"], "audit_walls_s": run["walls_s"], "ratio": run["ratio"],
                 "pair_ratios": run["pair_ratios"], "rc": max(base["rc"], run["rc"]),
                 "ping_cpu_s": base["cpu_s"], "audit_cpu_s": run["cpu_s"]}
        found[name] = entry
        log("%d hosts, %s: ping %.1f s, audit %.1f s, %.3fx (pairs %s)" % (
            size, name, base["wall_s"], run["wall_s"], run["ratio"], run["pair_ratios"]))
    results.setdefault("variants", {})[str(size)] = found
    save(results)


def run_all(results):
    count = max(SIZES)
    workdir = tempfile.mkdtemp(prefix="ollama-scale-")
    inventory = write_inventory(workdir, count)
    results.update({"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                    "harden": HARDEN, "commit": benchlib.toolkit_commit(),
                    "machine": "%s, %d cores, %d MiB RAM" % (platform.node(), os.cpu_count(),
                                                            os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 1048576),
                    "sizes_wanted": SIZES, "forks": int(FORKS), "image": IMAGE,
                    "harden_serial": json.loads(HARDEN_SERIAL) if HARDEN_SERIAL else "100%",
                    "interpreter": "discovered" if DISCOVER else "/usr/bin/python3",
                    "mix_per_20": dict((c, CYCLE.count(c)) for c in sorted(set(CYCLE))), "complete": False})
    results["connection"] = connection_facts()
    log("building a lab of %d hosts" % count)
    results["lab"] = build(inventory, count)
    if CONNECTION == "ssh":
        # Measured over SSH; provisioning went over docker exec (hosts.yml).
        inventory = write_inventory(workdir, count, "ssh", addresses_of(count))
    results["lab"]["memory_mib"] = lab_memory_mib(count)
    save(results)
    log("lab built: %s" % results["lab"])
    results["lab"]["settle"] = settle()
    save(results)
    log("load settled: %s" % results["lab"]["settle"])
    env = {"ANSIBLE_FORKS": FORKS}
    reports = os.path.join(workdir, "reports")
    extra = VAULT if CONNECTION == "ssh" else []

    def ping_cmd(size):
        return ["ansible", "-i", inventory, "ollama_lab[0:%d]" % (size - 1)] + extra + \
            ["-m", "ansible.builtin.ping", "-o"]

    def against_ping(size, cmd, ping_key, inspect=None):
        """cmd measured against ping in pairs; ping recorded under ping_key,
        cmd's kept run (with the pairs' ratios) returned for the caller."""
        ping, run = paired_runs(ping_cmd(size), cmd, env, inspect=inspect)
        record(results, ping_key, ping, size)
        log("%d hosts: %s %.1f s" % (size, ping_key, ping["wall_s"]))
        return run

    for size in SIZES:
        audit_dir = os.path.join(reports, "audit-%d" % size)
        audit = ["ansible-playbook", "-i", inventory, "--limit", "ollama_lab[0:%d]" % (size - 1)] + extra + \
            [os.path.join("playbooks", "audit.yml"), "-e", "report_dir=%s" % audit_dir]
        run = against_ping(size, audit, "ping")
        if run["rc"] == 0:
            run["classified_right"], run["classified_wrong"] = classified(audit_dir, inventory, size)
        run["profile"] = profile(audit, env)
        record(results, "audit", run, size)
        log("%d hosts: audit %.1f s, rc %d, %.3fx ping (pairs %s)" % (size, run["wall_s"], run["rc"], run["ratio"],
                                                                   run["pair_ratios"]))
        if CONNECTION == "ssh" and VARIANTS_ON and size == SIZES[0]:
            variants(results, size, ping_cmd(size), audit, env)
    if PROBE:
        probe_matrix(inventory, count, "exposed lab (closed ports refuse)", results)

    if HARDEN:
        harden_all(results, inventory, reports, against_ping, extra)
    results["complete"] = True
    save(results)
    shutil.rmtree(workdir, ignore_errors=True)


def harden_all(results, inventory, reports, against_ping, extra=()):
    """Steps 2 to 4: the first harden, the converged one, the probe."""
    count = max(SIZES)
    env = {"ANSIBLE_FORKS": FORKS}
    # Hardened in stages, smallest size first, so that the converged figures
    # of the small sizes come in before the whole lab is hardened.
    harden = ["ansible-playbook", "-i", inventory] + list(extra) + [os.path.join("playbooks", "harden.yml")] + WALLS
    done = 0
    for size in SIZES:
        run = measure(harden + ["--limit", "ollama_lab[%d:%d]" % (done, size - 1),
                                "-e", "report_dir=%s" % os.path.join(reports, "first-%d" % size)], env)
        record(results, "harden_first", run, size - done, size)
        results["sizes"][str(size)]["harden_first"]["range"] = "%s..%s" % (names(size)[done], names(size)[-1])
        save(results)
        log("first harden of hosts %d-%d: %.1f s, rc %d, %s" % (done + 1, size, run["wall_s"], run["rc"], run["recap"]))
        if run["rc"] != 0:
            log(run["tail"])
        done = size
        again = harden + ["--limit", "ollama_lab[0:%d]" % (size - 1),
                          "-e", "report_dir=%s" % os.path.join(reports, "again-%d" % size)]
        run = against_ping(size, again, "ping_walled", inspect=walls_entered)
        run.update(fast_path(run.pop("inspected"), names(size)))
        run["profile"] = profile(again, env)
        record(results, "harden_again", run, size)
        log("%d hosts: converged harden %.1f s, rc %d, %s, %.3fx ping (pairs %s); walls entered per run %s%s" % (
            size, run["wall_s"], run["rc"], run["recap"], run["ratio"], run["pair_ratios"],
            run["walls_entered_per_run"], (": " + ", ".join(run["walls_entered"])) if run["walls_entered"] else ""))
        if run["rc"] != 0:
            log(run["tail"])
    if PROBE:
        probe_matrix(inventory, count, "hardened lab (the firewall drops)", results)


# ---------------------------------------------------------------- the table

def ratio(a, b):
    return "%.2f" % (a / b) if a and b else "-"


def ratio_of(run, ping):
    """The median of the run's paired ratios; results recorded before pairs
    (no ``ratio``) give the ratio of the two median walls."""
    if run.get("ratio"):
        return "%.2f" % run["ratio"]
    return ratio(run.get("wall_s"), ping.get("wall_s"))


def ratio_value(run, ping):
    """The ratio as a number (see ratio_of), or None when not measured."""
    if run.get("ratio"):
        return float(run["ratio"])
    if run.get("wall_s") and ping.get("wall_s"):
        return run["wall_s"] / ping["wall_s"]
    return None


def misses(results, sizes=None, harden=None):
    """What the results say went wrong, one line each (none: every goal met).

    A ratio over its goal (the audit, the converged harden), a run that
    failed (a non-zero rc, failed or unreachable hosts, a converged harden
    that changed something, a first harden that failed a host), a host the
    audit classified wrong, a size or step not measured, an error that
    stopped the run."""
    found = []
    if results.get("error"):
        found.append("the run stopped: %s" % results["error"])
    if not results.get("complete"):
        found.append("incomplete run")
    harden = results.get("harden", True) if harden is None else harden
    every = results.get("sizes", {})
    for size in sizes if sizes is not None else results.get("sizes_wanted") or sorted(int(s) for s in every):
        row = every.get(str(size), {})
        steps = ["ping", "audit"] + (["harden_first", "ping_walled", "harden_again"] if harden else [])
        for step in steps:
            run = row.get(step)
            if not run:
                found.append("%s hosts: %s not measured" % (size, step))
                continue
            if run.get("rc"):
                found.append("%s hosts: %s rc %s" % (size, step, run["rc"]))
            recap = run.get("recap") or {}
            for key in ("failed", "unreachable"):
                if recap.get(key):
                    found.append("%s hosts: %s %s=%s" % (size, step, key, recap[key]))
        audit = row.get("audit")
        if audit:
            if audit.get("classified_wrong"):
                found.append("%s hosts: classified wrong: %s" % (size, ", ".join(audit["classified_wrong"])))
            elif audit.get("classified_right") != size and not audit.get("rc"):
                found.append("%s hosts: %s of %s classified right" % (size, audit.get("classified_right"), size))
            value = ratio_value(audit, row.get("ping", {}))
            if value is not None and value > AUDIT_TARGET:
                found.append("%s hosts: audit %.2fx ping, goal %.1fx" % (size, value, AUDIT_TARGET))
        for name, entry in sorted(results.get("variants", {}).get(str(size), {}).items()):
            if entry.get("rc"):
                found.append("%s hosts: %s rc %s" % (size, name, entry["rc"]))
        again = row.get("harden_again")
        if harden and again:
            if (again.get("recap") or {}).get("changed"):
                found.append("%s hosts: converged harden changed=%s" % (size, again["recap"]["changed"]))
            found.extend("%s hosts: %s" % (size, line) for line in fast_path_misses(again))
            value = ratio_value(again, row.get("ping_walled", {}))
            if value is not None and value > HARDEN_TARGET:
                found.append("%s hosts: converged harden %.2fx ping, goal %.1fx" % (size, value, HARDEN_TARGET))
    return found


def fast_path_misses(again):
    """A converged harden's fast path, one line per miss: hosts that entered
    the walls, hosts the output did not show, or results that never checked
    (recorded before the check existed: they cannot prove it engaged)."""
    if "fast_path_engaged" not in again:
        return ["converged harden: the fast path was not checked (no walls_entered recorded)"]
    found = []
    if again.get("walls_entered"):
        found.append("converged harden entered the walls on %d hosts (the fast path did not engage): %s" % (
            len(again["walls_entered"]), ", ".join(again["walls_entered"])))
    if again.get("walls_unseen"):
        found.append("converged harden: %r not seen for %s (cannot prove the fast path engaged)" % (
            WALLS_TASK, ", ".join(again["walls_unseen"])))
    if not again["fast_path_engaged"] and not found:
        found.append("converged harden: the fast path did not engage")
    return found


def fast_path_text(again):
    """One line on a converged harden's fast path, for the table."""
    if "fast_path_engaged" not in again:
        return "fast path not checked (recorded before walls_entered)"
    if again["fast_path_engaged"]:
        return "fast path engaged on every host (walls entered per run: %s)" % again["walls_entered_per_run"]
    return "fast path did NOT engage: walls entered per run %s (%s)%s" % (
        again["walls_entered_per_run"], ", ".join(again["walls_entered"]) or "-",
        ("; not seen: " + ", ".join(again["walls_unseen"])) if again["walls_unseen"] else "")


def connection_text(facts):
    """One phrase on how a run reached its hosts (results recorded before
    SCALE_CONNECTION went over docker exec as root)."""
    facts = facts or {"type": "docker"}
    if facts.get("type") == "ssh":
        return "over SSH as %s, become with %s, pipelining %s, ssh_args %s" % (
            facts.get("user"), facts.get("become"), "on" if facts.get("pipelining") else "off",
            facts.get("ssh_args"))
    return "over docker exec as root"


def table(results):
    lines = ["Scale lab, %s, toolkit %s; %s; %s; forks %s; lab of %s hosts built in %s s (create %s, provision %s), "
             "%s MiB RSS in its hosts, torn down in %s s" % (
                 results.get("date"), results.get("commit") or "(commit not recorded)", results.get("machine"),
                 connection_text(results.get("connection")), results.get("forks"),
                 max(results.get("sizes_wanted") or [0]), results.get("lab", {}).get("build_s"),
                 results.get("lab", {}).get("create_s"), results.get("lab", {}).get("provision_s"),
                 results.get("lab", {}).get("memory_mib"), results.get("lab", {}).get("destroy_s")), "",
             "| hosts | ping s | audit s | audit/ping | ping (walled) s | harden again s | harden/ping "
             "| CPU s/host ping, audit, harden | peak MiB ping, audit, harden | audit right | harden changed, failed |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for size, row in sorted(results.get("sizes", {}).items(), key=lambda kv: int(kv[0])):
        ping, audit = row.get("ping", {}), row.get("audit", {})
        ping2, again = row.get("ping_walled", {}), row.get("harden_again", {})
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s, %s, %s | %s, %s, %s | %s | %s |" % (
            size, ping.get("wall_s", "-"), audit.get("wall_s", "-"),
            ratio_of(audit, ping) + (" (goal %.1f)" % AUDIT_TARGET),
            ping2.get("wall_s", "-"), again.get("wall_s", "-"),
            ratio_of(again, ping2) + (" (goal %.0f)" % HARDEN_TARGET),
            ping.get("cpu_s_per_host", "-"), audit.get("cpu_s_per_host", "-"), again.get("cpu_s_per_host", "-"),
            ping.get("peak_mib", "-"), audit.get("peak_mib", "-"), again.get("peak_mib", "-"),
            "%s/%s" % (audit.get("classified_right", "-"), size),
            ("%s, %s" % (again["recap"]["changed"], again["recap"]["failed"])) if again else "-"))
    for size, row in sorted(results.get("sizes", {}).items(), key=lambda kv: int(kv[0])):
        first = row.get("harden_first")
        if first:
            lines.append("%sFirst harden.yml of %s (%s hosts), every wall on: %s s, %s CPU s (%s a host), "
                         "peak %s MiB, rc %s, %s" % ("" if lines[-1].startswith("First") else "\n", first.get("range"),
                                                     first["hosts"], first["wall_s"], first["cpu_s"],
                                                     first["cpu_s_per_host"], first["peak_mib"], first["rc"],
                                                     first["recap"]))
    for size, row in sorted(results.get("sizes", {}).items(), key=lambda kv: int(kv[0])):
        again = row.get("harden_again")
        if again:
            lines.append("%sConverged harden of %s hosts: %s" % (
                "" if lines[-1].startswith("Converged") else "\n", size, fast_path_text(again)))
    for size, found in sorted(results.get("variants", {}).items(), key=lambda kv: int(kv[0])):
        lines += ["", "What each connection setting buys, at %s hosts (the audit against ping with the setting "
                  "undone; pairs as above):" % size, "",
                  "| setting undone | ping s | audit s | audit/ping | pairs |", "|---|---|---|---|---|"]
        for name, entry in found.items():
            lines.append("| %s | %s | %s | %.2f | %s |" % (name, entry["ping_s"], entry["audit_s"], entry["ratio"],
                                                        entry["pair_ratios"]))
    for phase, rows in results.get("probe", {}).items():
        lines += ["", "Probe (run_probes, 32 workers) over %s hosts x 2 addresses, %s:" % (rows[0]["hosts"], phase), "",
                  "| ports | timeout s | connections | wall s | states |", "|---|---|---|---|---|"]
        for row in rows:
            lines.append("| %d | %.1f | %d | %.2f | %s |" % (
                row["ports"], row["timeout"], row["connections"], row["wall_s"],
                ", ".join("%s %d" % kv for kv in sorted(row["states"].items()))))
    if not results.get("complete"):
        lines += ["", "(incomplete run: the figures above are all it measured)"]
    return "\n".join(lines)


def main(argv):
    action = argv[1] if len(argv) > 1 else "run"
    if action == "destroy":
        log("lab torn down in %.1f s" % destroy())
        return 0
    if action == "table":
        with open(RESULTS) as handle:
            print(table(json.load(handle)))
        return 0
    if action == "check":
        with open(RESULTS) as handle:
            missed = misses(json.load(handle))
        for line in missed:
            print("MISSED: " + line)
        return 1 if missed else 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped (SIGTERM)"))
    results = {}
    status = 0
    try:
        run_all(results)
    except Exception as error:  # noqa: BLE001 - recorded, the lab still goes
        log("FAILED: %s" % error)
        results["error"] = str(error)
        status = 1
    finally:
        log("tearing the lab down")
        results.setdefault("lab", {})["destroy_s"] = destroy()
        save(results)
    print(table(results))
    missed = misses(results)
    for line in missed:
        print("MISSED: " + line)
    print("goals (tests/bench/goals.yml): audit <= %.1fx ping, converged harden <= %.1fx ping: %s" % (
        AUDIT_TARGET, HARDEN_TARGET, "missed" if missed else "met"))
    return 1 if missed else status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
