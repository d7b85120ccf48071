#!/usr/bin/env python3
"""Benchmark of the authenticating front (make bench-front).

Runs wrk inside the front's container, on its loopback, in one run:
GET /api/tags through the front (TLS, bearer key, rate limits exempt for
127.0.0.1 in the scenario's inventory) and straight to the Ollama stand-in.
Prints requests/s, p50 and p99 latency and the front's share of the direct
throughput against the target (the front keeps at least 90 % of it). Exits 1,
after printing every figure, when the share is below the target or the front
answered non-2xx responses. Needs the front scenario's lab
(`molecule converge -s front`); sends traffic only to that container's loopback.

    tests/bench/front_bench.py [--container ofr-front] [--duration 5] [--connections 8]
"""

import argparse
import os
import re
import subprocess
import sys

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--container", default="ofr-front")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args(argv)
    key = bearer_key()
    # Warm-up: TLS session, upstream keep-alive pool.
    wrk(args.container, "https://127.0.0.1:11443/api/tags", 1, args.connections, "Authorization: Bearer " + key)
    direct = wrk(args.container, "http://127.0.0.1:11434/api/tags", args.duration, args.connections)
    front = wrk(args.container, "https://127.0.0.1:11443/api/tags", args.duration, args.connections,
                "Authorization: Bearer " + key)
    ratio = front["rps"] / direct["rps"] if direct["rps"] else 0.0
    print("GET /api/tags, wrk -t1 -c%d -d%ds in %s (loopback)" % (args.connections, args.duration, args.container))
    print("%-28s %10s %10s %10s %8s" % ("", "req/s", "p50 ms", "p99 ms", "non-2xx"))
    for name, res in (("direct (stand-in, HTTP)", direct), ("front (TLS, bearer key)", front)):
        print("%-28s %10.1f %10.2f %10.2f %8d" % (name, res["rps"], res["p50"], res["p99"], res["non2xx"]))
    verdict = "meets" if ratio >= TARGET else "misses"
    print("front/direct throughput: %.1f%% (target %.0f%%: %s)" % (ratio * 100, TARGET * 100, verdict))
    failed = False
    if ratio < TARGET:
        print("FAIL: the front keeps %.1f%% of the direct throughput, below the %.0f%% target"
              % (ratio * 100, TARGET * 100))
        failed = True
    if front["non2xx"]:
        print("FAIL: the front answered %d non-2xx responses (rate limit? credentials?)" % front["non2xx"])
        failed = True
    if direct["non2xx"]:
        print("FAIL: the stand-in answered %d non-2xx responses" % direct["non2xx"])
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
