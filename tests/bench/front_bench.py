#!/usr/bin/env python3
"""Benchmark of the authenticating front (make bench-front).

Runs wrk inside the front's container, on its loopback, in one run:
GET /api/tags straight to the Ollama stand-in, through the front (TLS,
bearer key, rate limits exempt for 127.0.0.1 in the scenario's inventory),
and through the front again while the client container holds 1,000
slowloris connections open against it (TLS done, request head never
finished; re-opened as the front's header timeout closes them). Prints
requests/s, p50 and p99 latency, the front's share of the direct throughput
with and without the slowloris against the target (at least 90 % both
times), and how many slowloris connections were held. Exits 1, after
printing every figure, when a share is below the target or an answer was
non-2xx. Needs the front scenario's lab (`molecule converge -s front`);
sends traffic only to that lab's containers.

    tests/bench/front_bench.py [--container ofr-front] [--client ofr-client]
                               [--duration 5] [--connections 8] [--slowloris 1000]
"""

import argparse
import os
import re
import subprocess
import sys
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
INVENTORY = os.path.join(HERE, "..", "..", "molecule", "front", "inventory.yml")
TARGET = 0.90  # the front's requests/s over the direct requests/s
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
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(errors.group(1)) if errors else 0, "raw": out}


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--container", default="ofr-front")
    parser.add_argument("--client", default="ofr-client")
    parser.add_argument("--slowloris", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args(argv)
    key = bearer_key()
    # Warm-up: TLS session, upstream keep-alive pool.
    wrk(args.container, "https://127.0.0.1:11443/api/tags", 1, args.connections, "Authorization: Bearer " + key)
    direct = wrk(args.container, "http://127.0.0.1:11434/api/tags", args.duration, args.connections)
    front = wrk(args.container, "https://127.0.0.1:11443/api/tags", args.duration, args.connections,
                "Authorization: Bearer " + key)
    attack, ready = slowloris(args.client, args.slowloris, args.duration + 20)
    time.sleep(1)
    attacked = wrk(args.container, "https://127.0.0.1:11443/api/tags", args.duration, args.connections,
                   "Authorization: Bearer " + key)
    held = attack.stdout.read().strip()  # ends when its bounded hold does
    attack.wait(timeout=120)
    print("GET /api/tags, wrk -t1 -c%d -d%ds in %s (loopback)" % (args.connections, args.duration, args.container))
    print("%-40s %10s %10s %10s %8s %8s" % ("", "req/s", "p50 ms", "p99 ms", "non-2xx", "share"))
    failed = False
    rows = (("direct (stand-in, HTTP)", direct), ("front (TLS, bearer key)", front),
            ("front, %d slowloris held from %s" % (args.slowloris, args.client), attacked))
    for name, res in rows:
        share = res["rps"] / direct["rps"] if direct["rps"] else 0.0
        print("%-40s %10.1f %10.2f %10.2f %8d %7.1f%%" % (name, res["rps"], res["p50"], res["p99"], res["non2xx"],
                                                          share * 100))
        if res is not direct and share < TARGET:
            print("FAIL: %s keeps %.1f%% of the direct throughput, below the %.0f%% target"
                  % (name, share * 100, TARGET * 100))
            failed = True
        if res["non2xx"]:
            print("FAIL: %s: %d non-2xx responses" % (name, res["non2xx"]))
            failed = True
    print("slowloris: %d opened before the run; while it ran: %s" % (ready, held or "no report"))
    if ready < args.slowloris:
        print("FAIL: only %d of %d slowloris connections were open: the measure is not under attack"
              % (ready, args.slowloris))
        failed = True
    print("target: the front keeps %.0f%% of the direct throughput, with and without the slowloris: %s"
          % (TARGET * 100, "missed" if failed else "met"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
