#!/usr/bin/env python3
"""Benchmark of the authenticating front (make bench-front).

The front's own cost, measured against a fast upstream: the Ollama stand-in
answers about 180 requests/s, which capped the front and the direct access
alike, so a share of its throughput could not see the front. Here, on the
front scenario's lab (`molecule converge -s front`):

1. tests/bench/front_upstream.yml adds a static answer on the front host's
   loopback (an nginx server block on 127.0.0.1:11500: a fixed /api/tags
   JSON, / and /api/version as Ollama answers them);
2. playbooks/front.yml points the front at it (ollama_front_upstream_port)
   with its keys and limits ON for loopback too (no rate exemption), set
   high enough not to throttle the benchmark (FRONT_VARS: 100000 r/s with
   a burst of 10000 for each key and address, 256 connections each): any
   429 fails the run;
3. wrk in the front's container, on its loopback, GET /api/tags, ROUNDS
   times in turns: the static answer directly (HTTP), then through the
   front (TLS, bearer key, limits), with CONNECTIONS connections (the
   throughput) and with one (the latency a request sees, queued behind no
   other); then through the front once more while
   the client container holds 1,000 slowloris connections open against it
   (TLS done, request head never finished; re-opened as the front's header
   timeout closes them); and the stand-in directly, for reference.

Measuring starts once the 1-minute load average is below the number of
cores (at most --settle seconds; the load is recorded). Prints requests/s,
p50 and p99 latency, the latency the front adds (p50 and p99 over the
direct ones with one connection; each round's, then their median), the front's share of the
direct throughput, and its throughput under the slowloris over its own. The
goals are in tests/bench/goals.yml (front): it exits 1, after printing every
figure, when one is missed, an answer was not 2xx, or the slowloris did not
hold its connections. Writes the figures with the date and commit to
tests/bench/front_results.json. Sends traffic only to the lab's containers.

    tests/bench/front_bench.py [--container ofr-front] [--client ofr-client]
                               [--duration 5] [--connections 8] [--slowloris 1000]
                               [--rounds 3] [--settle 300] [--no-setup]
"""

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (tests/bench/benchlib.py)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
INVENTORY = os.path.join(ROOT, "molecule", "front", "inventory.yml")
RESULTS = os.environ.get("FRONT_RESULTS", os.path.join(HERE, "front_results.json"))
GOALS = benchlib.load_goals("front")
UPSTREAM_PORT = 11500
# The front for the benchmark: in front of the static answer, limits on for
# every source (no exemption) and high enough not to throttle wrk.
FRONT_VARS = {"target": "ollama_lab", "ollama_front_upstream_port": UPSTREAM_PORT, "ollama_front_rate_exempt": [],
              "ollama_front_rate_user": "100000r/s", "ollama_front_rate_user_burst": 10000,
              "ollama_front_rate_address": "100000r/s", "ollama_front_rate_address_burst": 10000,
              "ollama_front_conn_per_user": 256, "ollama_front_conn_per_address": 256}
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def bearer_key():
    with open(INVENTORY) as handle:
        front = yaml.safe_load(handle)["all"]["children"]["ollama_lab"]["hosts"]["front"]
    return next(c["api_key"] for c in front["ollama_front_credentials"] if c.get("api_key"))


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)$", text).groups()
    return float(value) * UNITS[unit]


def wrk(container, url, duration, connections, header=None):
    cmd = ["docker", "exec", container, "wrk", "-t1", "-c%d" % connections, "-d%ds" % duration, "--latency",
           "--timeout", "10s"]
    if header:
        cmd += ["-H", header]
    out = subprocess.run(cmd + [url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=duration + 60, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(errors.group(1)) if errors else 0}


# Runs in the client container: holds COUNT half-open TLS connections to the
# front for HOLD seconds (bounded), re-opening those the front closes; prints
# "ready N" once N are open, then "held min=N max=N reopened=N".
SLOWLORIS = r"""
import socket, ssl, sys, time
count, hold = int(sys.argv[1]), float(sys.argv[2])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
addr = socket.getaddrinfo("ofr-front", 11443, socket.AF_INET, socket.SOCK_STREAM)[0][4]
def open_one():
    try:
        conn = ctx.wrap_socket(socket.create_connection(addr, timeout=5))
        conn.sendall(b"GET /api/tags HTTP/1.1\r\nHost: ofr-front\r\nX-Pad: ")
        conn.setblocking(False)
        return conn
    except OSError:
        return None
def alive(conn):
    try:
        return conn.recv(1) != b""
    except ssl.SSLWantReadError:
        return True
    except (OSError, ssl.SSLError):
        return False
held = [c for c in (open_one() for _ in range(count)) if c]
print("ready %d" % len(held), flush=True)
low, high, reopened, end = len(held), len(held), 0, time.monotonic() + hold
while time.monotonic() < end:
    time.sleep(0.5)
    kept = [c for c in held if alive(c)]
    low = min(low, len(kept))
    while len(kept) < count and time.monotonic() < end:
        conn = open_one()
        if conn is None:
            break
        kept.append(conn)
        reopened += 1
    held = kept
    high = max(high, len(held))
print("held min=%d max=%d reopened=%d" % (low, high, reopened), flush=True)
"""


def slowloris(client, count, hold):
    """Start the slowloris in `client`; return (process, ready count) once its connections are open."""
    proc = subprocess.Popen(["docker", "exec", "-i", client, "python3", "-", str(count), str(hold)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    proc.stdin.write(SLOWLORIS)
    proc.stdin.close()
    line = proc.stdout.readline().split()
    return proc, int(line[1]) if line[:1] == ["ready"] else 0


def setup():
    """The static answer, then the front pointed at it with FRONT_VARS."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    for cmd in (["ansible-playbook", "-i", INVENTORY, os.path.join(HERE, "front_upstream.yml")],
                ["ansible-playbook", "-i", INVENTORY, os.path.join(ROOT, "playbooks", "front.yml"),
                 "-e", json.dumps(FRONT_VARS)]):
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            print(proc.stdout[-4000:])
            raise SystemExit("bench-front: %s failed (rc %d)" % (os.path.basename(cmd[3]), proc.returncode))


def limits_on(container):
    """The front's rendered limits (from its nginx configuration): the rates,
    and whether any source is exempt."""
    conf = subprocess.run(["docker", "exec", container, "cat", "/etc/nginx/conf.d/ollama-front.conf"],
                          stdout=subprocess.PIPE, text=True, check=True).stdout
    geo = re.search(r"geo \$ollama_front_rate_exempt \{(.*?)\}", conf, re.S)
    return {"rates": re.findall(r"rate=(\S+);", conf),
            "limit_req": len(re.findall(r"^\s*limit_req zone=", conf, re.M)),
            "limit_conn": len(re.findall(r"^\s*limit_conn \S+ \d+;", conf, re.M)),
            "exempt": [line.split()[0] for line in (geo.group(1) if geo else "").splitlines()
                       if line.strip() and not line.strip().startswith(("default", "#"))],
            "upstream": re.findall(r"server (127\.0\.0\.1:\d+)", conf)}


def medians(runs):
    """One row from several wrk runs: the median of each figure, every run's rps."""
    return {"rps": statistics.median(r["rps"] for r in runs), "p50": statistics.median(r["p50"] for r in runs),
            "p99": statistics.median(r["p99"] for r in runs), "non2xx": sum(r["non2xx"] for r in runs),
            "rps_runs": [r["rps"] for r in runs]}


def pair_figures(direct, front, direct_lat, front_lat):
    """One round's figures, from runs made seconds apart: the latency the
    front adds (p50, p99 of the one-connection runs, where no request waits
    behind another), its throughput and its share of the direct one."""
    return {"added_p50_ms": round(front_lat["p50"] - direct_lat["p50"], 3),
            "added_p99_ms": round(front_lat["p99"] - direct_lat["p99"], 3),
            "front_rps": front["rps"], "share": round(front["rps"] / direct["rps"], 3) if direct["rps"] else 0.0}


def figures(rounds, before, attacked):
    """The median of each round's figures (each compares runs that saw the
    same machine), and the front's throughput under the slowloris over its
    own in the run just before (``before``)."""
    pairs = [pair_figures(r["direct"], r["front"], r["direct_lat"], r["front_lat"]) for r in rounds]
    found = dict((key, statistics.median(p[key] for p in pairs)) for key in pairs[0])
    found["rounds"] = pairs
    found["attacked_rps"] = attacked["rps"]
    found["slowloris_share"] = round(attacked["rps"] / before["rps"], 3) if before["rps"] else 0.0
    return found


def verdict(found, runs, ready, wanted, goals=None):
    """Each goal of goals.yml missed (``found``: figures()), each answer not
    2xx in ``runs`` ({name: wrk result}), a slowloris that did not hold its
    connections: one line each (none: all met)."""
    goals = goals or GOALS
    missed = []
    if found["added_p50_ms"] > goals["added_p50_ms"]:
        missed.append("the front adds %.2f ms at p50, goal %s ms" % (found["added_p50_ms"], goals["added_p50_ms"]))
    if found["added_p99_ms"] > goals["added_p99_ms"]:
        missed.append("the front adds %.2f ms at p99, goal %s ms" % (found["added_p99_ms"], goals["added_p99_ms"]))
    for name, rps in (("the front", found["front_rps"]), ("the front under the slowloris", found["attacked_rps"])):
        if rps < goals["min_rps"]:
            missed.append("%s serves %.0f requests/s, goal %s" % (name, rps, goals["min_rps"]))
    if found["slowloris_share"] < goals["slowloris_share"]:
        missed.append("under the slowloris the front keeps %.1f%% of its throughput, goal %.0f%%" % (
            found["slowloris_share"] * 100, goals["slowloris_share"] * 100))
    for name, row in sorted(runs.items()):
        if row["non2xx"]:
            missed.append("%s: %d answers not 2xx (a limit throttled the benchmark?)" % (name, row["non2xx"]))
    if ready < wanted:
        missed.append("only %d of %d slowloris connections were open: the measure is not under attack" % (
            ready, wanted))
    return missed






def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--container", default="ofr-front")
    parser.add_argument("--client", default="ofr-client")
    parser.add_argument("--slowloris", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=300.0,
                        help="seconds to wait at most for the load average to fall below the cores")
    parser.add_argument("--no-setup", action="store_true", help="the static answer and the front are in place")
    args = parser.parse_args(argv)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if not args.no_setup:
        setup()
    limits = limits_on(args.container)
    key = "Authorization: Bearer " + bearer_key()
    static = "http://127.0.0.1:%d/api/tags" % UPSTREAM_PORT
    fronted = "https://127.0.0.1:11443/api/tags"
    load = benchlib.settle(args.settle)
    # Warm-up: TLS session, upstream keep-alive pool.
    wrk(args.container, fronted, 1, args.connections, key)
    rounds = []
    for _ in range(args.rounds):
        rounds.append({"direct": wrk(args.container, static, args.duration, args.connections),
                       "front": wrk(args.container, fronted, args.duration, args.connections, key),
                       "direct_lat": wrk(args.container, static, args.duration, 1),
                       "front_lat": wrk(args.container, fronted, args.duration, 1, key)})
    before = wrk(args.container, fronted, args.duration, args.connections, key)
    attack, ready = slowloris(args.client, args.slowloris, args.duration + 20)
    time.sleep(1)
    attacked = wrk(args.container, fronted, args.duration, args.connections, key)
    held = attack.stdout.read().strip()  # ends when its bounded hold does
    attack.wait(timeout=120)
    standin = wrk(args.container, "http://127.0.0.1:11434/api/tags", args.duration, args.connections)
    load["load_end"] = round(os.getloadavg()[0], 2)
    rows = dict((key, medians([r[key] for r in rounds])) for key in ("direct", "front", "direct_lat", "front_lat"))
    rows.update(front_before_slowloris=medians([before]), front_slowloris=medians([attacked]),
                standin=medians([standin]))
    print("GET /api/tags, wrk -t1 in %s (loopback), %d s a run, %d rounds in turns (medians); load %s" % (
        args.container, args.duration, args.rounds, load))
    print("front limits on: rates %s, %d limit_req and %d limit_conn lines, exempt %s, upstream %s" % (
        ", ".join(limits["rates"]), limits["limit_req"], limits["limit_conn"], limits["exempt"] or "none",
        ", ".join(limits["upstream"])))
    print("%-52s %10s %10s %10s %8s" % ("", "req/s", "p50 ms", "p99 ms", "non-2xx"))
    names = (("direct", "static answer, direct (HTTP), %d connections" % args.connections),
             ("front", "front (TLS, bearer key, limits on), %d connections" % args.connections),
             ("direct_lat", "static answer, direct, one connection"), ("front_lat", "front, one connection"),
             ("front_before_slowloris", "front, just before the slowloris"),
             ("front_slowloris", "front, %d slowloris held from %s" % (args.slowloris, args.client)),
             ("standin", "stand-in, direct (reference, not judged)"))
    for key, name in names:
        res = rows[key]
        print("%-52s %10.1f %10.2f %10.2f %8d" % (name, res["rps"], res["p50"], res["p99"], res["non2xx"]))
    found = figures(rounds, before, attacked)
    print("the front adds %.2f ms at p50 and %.2f ms at p99 with one connection (goals %s, %s ms); it serves "
          "%.0f requests/s, %.1f%% of the static answer's (goal at least %s requests/s); under the slowloris "
          "%.1f%% of its own (goal %.0f%%); medians of the rounds' figures" % (
              found["added_p50_ms"], found["added_p99_ms"], GOALS["added_p50_ms"], GOALS["added_p99_ms"],
              found["front_rps"], found["share"] * 100, GOALS["min_rps"], found["slowloris_share"] * 100,
              GOALS["slowloris_share"] * 100))
    print("slowloris: %d opened before the run; while it ran: %s" % (ready, held or "no report"))
    missed = verdict(found, dict((name, rows[key]) for key, name in names if key != "standin"), ready,
                     args.slowloris)
    if limits["exempt"] or not limits["limit_req"] or not limits["limit_conn"]:
        missed.append("the front's limits were not on for the benchmark: %s" % limits)
    for line in missed:
        print("MISSED: " + line)
    print("goals (tests/bench/goals.yml, front): %s" % ("missed" if missed else "met"))
    with open(RESULTS + ".tmp", "w") as handle:
        json.dump({"date": date, "commit": benchlib.toolkit_commit(), "command": "make bench-front",
                   "wrk": {"threads": 1, "connections": args.connections, "duration_s": args.duration,
                           "rounds": args.rounds},
                   "front_vars": FRONT_VARS, "limits": limits,
                   "rows": rows, "load": load,
                   "figures": found, "slowloris": {"wanted": args.slowloris, "ready": ready, "held": held},
                   "goals": GOALS, "missed": missed}, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.replace(RESULTS + ".tmp", RESULTS)
    print("results: %s" % os.path.relpath(RESULTS, ROOT))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
