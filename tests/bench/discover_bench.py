#!/usr/bin/env python3
"""make bench-discover: the discovery sweep against nmap's connect scan (issue 29).

On the discovery lab (tests/discover/lab.py: odc-* on ollama-discover,
172.30.140.0/24), side by side in one run, DISCOVER_REPEAT times each
(default 3), alternating so that both see the same machine:

- the sweep (module_utils/ollama_discover.py, in this process, its
  defaults: 200 connections a second, 64 at a time, 1 s connect timeout)
  of every address of the /24 that a host can have (253: not .0, .255 and
  the gateway .1, this machine's side of the bridge) on the default ports,
  WITH the fingerprints of every port that accepted;
- ``nmap -sT`` (Debian's nmap, a full TCP connect scan) of the same 253
  addresses (-iL, the sweep's own list) and ports, port states only:
  ``-Pn`` (every address, as the sweep: no host discovery), ``-n`` (no DNS,
  as the sweep), ``--max-rate 200`` (the sweep's global rate) and
  ``--max-parallelism 64`` (its concurrency cap); nmap's timing otherwise
  its defaults (-T3).

Both must find the same open ports; the sweep's median wall time must be
no longer than nmap's (goals.yml ``discover.sweep_over_nmap``). Exits 1
otherwise. Results: tests/bench/discover_results.json. The lab is always
removed. Traffic goes only to the lab network's addresses.
"""

import datetime
import fcntl
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "discover"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "collections"))

import benchlib  # noqa: E402
import lab  # noqa: E402
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils import ollama_discover  # noqa: E402

RESULTS = os.path.join(HERE, "discover_results.json")
REPEAT = int(os.environ.get("DISCOVER_REPEAT", "3"))
SETTLE = float(os.environ.get("DISCOVER_SETTLE", "120"))
RANGE = "172.30.140.0/24"


def nmap_version():
    out = subprocess.run(["nmap", "--version"], capture_output=True, text=True, check=True).stdout
    return out.split("\n")[0].split("(")[0].strip()


def run_nmap(addresses, ports):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(addresses) + "\n")
        listing = handle.name
    command = ["nmap", "-sT", "-Pn", "-n", "--max-rate", "200", "--max-parallelism", "64",
               "-p", ",".join(str(p) for p in ports), "-iL", listing, "-oX", "-"]
    started = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True)
    seconds = time.monotonic() - started
    os.unlink(listing)
    if proc.returncode != 0:
        raise RuntimeError("nmap failed: %s" % proc.stderr)
    found = set()
    for host in ET.fromstring(proc.stdout).iter("host"):
        address = host.find("address").get("addr")
        for port in host.iter("port"):
            if port.find("state").get("state") == "open":
                found.add((address, int(port.get("portid"))))
    return seconds, found, command[:-4] + ["-iL", "ADDRESSES"] + command[-2:]


def run_sweep(plan):
    started = time.monotonic()
    result = ollama_discover.sweep(plan)
    seconds = time.monotonic() - started
    found = set((r["address"], r["port"]) for h in result["hosts"] for r in h["ports"])
    return seconds, found, result


def main():
    goal = benchlib.load_goals("discover")["sweep_over_nmap"]
    problems, plan = ollama_discover.validate({"ranges": [RANGE], "exclude": [lab.GATEWAYS[0]]})
    assert not problems, problems
    with open("/tmp/molecule-discover.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            lab.create()
            machine = benchlib.settle(SETTLE)
            sweeps, nmaps, kinds = [], [], None
            for index in range(REPEAT):
                order = (("nmap", "sweep") if index % 2 == 0 else ("sweep", "nmap"))
                for what in order:
                    if what == "nmap":
                        seconds, nfound, command = run_nmap(plan["addresses"], plan["ports"])
                        nmaps.append(round(seconds, 2))
                    else:
                        seconds, sfound, result = run_sweep(plan)
                        sweeps.append(round(seconds, 2))
                        kinds = sorted((r["fingerprint"], r["state"]) for h in result["hosts"] for r in h["ports"])
                    print("%-5s run %d: %.2f s" % (what, index + 1, seconds), flush=True)
                if nfound != sfound:
                    raise SystemExit("the sweep and nmap disagree: nmap only %s, sweep only %s" % (
                        sorted(nfound - sfound), sorted(sfound - nfound)))
            machine["load_end"] = round(os.getloadavg()[0], 2)
        finally:
            lab.destroy()
    sweep_s, nmap_s = statistics.median(sweeps), statistics.median(nmaps)
    data = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": benchlib.toolkit_commit(),
        "machine": machine,
        "range": RANGE, "addresses": len(plan["addresses"]), "ports": plan["ports"],
        "connects": len(plan["addresses"]) * len(plan["ports"]),
        "open": len(sfound),
        "sweep": {"seconds": sweep_s, "runs": sweeps, "rate": plan["rate"], "concurrency": plan["concurrency"],
                  "connect_timeout": plan["connect_timeout"], "timeout": plan["timeout"],
                  "fingerprints": kinds},
        "nmap": {"seconds": nmap_s, "runs": nmaps, "version": nmap_version(), "command": command},
        "sweep_over_nmap": round(sweep_s / nmap_s, 3),
        "goal": {"sweep_over_nmap": goal},
    }
    with open(RESULTS, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
    print("sweep with fingerprints: %.2f s (median of %s); nmap -sT alone: %.2f s (median of %s); "
          "ratio %.2f (goal <= %.2f); %d open ports, the same for both" % (
              sweep_s, sweeps, nmap_s, nmaps, data["sweep_over_nmap"], goal, len(sfound)))
    if data["sweep_over_nmap"] > goal:
        print("GOAL MISSED: the sweep took longer than nmap's connect scan", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
