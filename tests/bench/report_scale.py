#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""The report at fleet scale, simulated: no lab, no containers.

Builds the ollama_info results of HOSTS synthetic hosts (default 10,000) in
a realistic mix (mostly secure; exposed with 2-5 findings; mitigated by the
toolkit's firewall; unreachable; become failed; no Ollama), with the real
catalog (roles/ollama_audit/files/catalog.yml) and the real evaluate_host,
probe summary, build_report, apply_history and write_report. Times the
report's build, life cycle and the writing of every file (a first run, then
a second one compared with it), and records the peak memory (ru_maxrss) and
each file's size. Exits 1 over the goal: GOAL_SECONDS (30) for a run (build,
life cycle, every file) and GOAL_MIB (1024) for the process, at 10,000 hosts.

    .venv/bin/python tests/bench/report_scale.py [HOSTS]    (make bench-report)
"""

import os
import random
import resource
import shutil
import sys
import tempfile
import time

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# The toolkit's collection (ollama_toolkit.exposure) is found as the playbooks
# find it: through the collections_path of the project's ansible.cfg.
os.environ.setdefault("ANSIBLE_CONFIG", os.path.join(ROOT, "ansible.cfg"))

from ansible.plugins.loader import init_plugin_loader  # noqa: E402

init_plugin_loader()

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_findings import (  # noqa: E402
    evaluate_host, host_status)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import (  # noqa: E402
    parse_ollama_host)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_probe import summarize  # noqa: E402
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_render import (  # noqa: E402
    publish_report)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (  # noqa: E402
    build_report, records_from_results)

GOAL_SECONDS = 30.0
GOAL_MIB = 1024.0
OVERRIDE = "/etc/systemd/system/ollama.service.d/override.conf"
# (kind, share of the fleet)
MIX = (("secure", 0.70), ("exposed", 0.12), ("mitigated", 0.04), ("not_installed", 0.06),
       ("unreachable", 0.05), ("error", 0.03))
EXPOSED_BINDS = ("0.0.0.0", "0.0.0.0:11434", "[::]:11434", ":11434", "http://0.0.0.0")
OLD_VERSIONS = ("0.1.28", "0.1.45", "0.3.14", "0.5.7", "0.17.1")


def facts_of(catalog, name, kind, rng, address):
    """One host's ollama_info result (the shape the module returns)."""
    facts = {"changed": False, "supported": True, "systemd": True, "host_id": name,
             "os": {"ID": "debian", "VERSION_ID": rng.choice(("11", "12", "13"))}, "processes": [],
             "containers": [], "services": [], "listeners": [], "installs": [], "addresses": [address],
             "other_listeners": [], "warnings_detail": []}
    if kind != "not_installed":
        value = "127.0.0.1" if kind == "secure" else rng.choice(EXPOSED_BINDS)
        bind = parse_ollama_host(value)
        env = {"OLLAMA_HOST": value}
        if kind == "exposed" and rng.random() < 0.5:
            env["OLLAMA_ORIGINS"] = "*"
        facts["services"] = [{"name": "ollama.service", "fragment": "/etc/systemd/system/ollama.service",
                              "dropins": [OVERRIDE], "masked": False, "env": env,
                              "env_origin": dict((k, {"file": OVERRIDE, "line": i + 2, "via": "Environment"})
                                                 for i, k in enumerate(sorted(env))),
                              "bind": bind, "origins_wildcards": ["*"] if "OLLAMA_ORIGINS" in env else [],
                              "errors": [], "active_state": "active"}]
        wildcard = bind["scope"] == "wildcard"
        facts["listeners"] = [{"address": "::" if wildcard else "127.0.0.1", "port": bind["port"],
                               "family": "ipv6" if wildcard else "ipv4", "scope": bind["scope"], "pid": 900,
                               "unit": "ollama.service", "inferred": False}]
        version = "0.17.1" if kind == "secure" else rng.choice(OLD_VERSIONS)
        facts["installs"] = [{"subject": "ollama.service", "version": version}]
        if kind == "mitigated":
            port = str(bind["port"])
            rule = "nftables table inet ollama_exposure_toolkit chain input drops tcp/%s" % port
            facts["firewall"] = {"input": {"ipv4": {port: rule}, "ipv6": {port: rule}},
                                 "forward": {"ipv4": {}, "ipv6": {}}, "errors": []}
    facts["findings"] = evaluate_host(facts, catalog, name)
    facts["status"] = host_status(facts, facts["findings"], catalog)
    return facts


def fleet(catalog, count, seed=7):
    """(results, probe): every host's ollama_info result and the outside probe's summary."""
    rng = random.Random(seed)
    kinds = []
    for kind, share in MIX:
        kinds += [kind] * int(round(share * count))
    kinds = (kinds + ["secure"] * count)[:count]
    rng.shuffle(kinds)
    results, targets, probed = {}, [], []
    for index, kind in enumerate(kinds):
        name = "ollama-%05d.dc%d.example.com" % (index, index % 4)
        address = "10.%d.%d.%d" % (index // 65536, (index // 256) % 256, index % 256)
        if kind == "unreachable":
            results[name] = {"unreachable": True, "msg": "Failed to connect to the host via ssh: "
                                                         "ssh: connect to host %s port 22: Connection timed out" % address}
            continue
        if kind == "error":
            results[name] = {"failed": True, "msg": "MODULE FAILURE", "rc": 1,
                             "module_stderr": "sudo: a password is required\n"}
            continue
        results[name] = facts_of(catalog, name, kind, rng, address)
        targets.append({"host": name, "addresses": [address], "ports": [11434]})
        state = {"exposed": "exposed", "mitigated": "filtered"}.get(kind, "closed")
        probed.append({"host": name, "address": address, "port": 11434, "state": state,
                       "detail": "GET /api/tags answered 200 with JSON" if state == "exposed" else state})
    return results, summarize(targets, probed, catalog, "controller")


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    with open(os.path.join(ROOT, "roles", "ollama_audit", "files", "catalog.yml")) as handle:
        catalog = yaml.safe_load(handle)
    started = time.perf_counter()
    results, probe = fleet(catalog, count)
    synthetic = time.perf_counter() - started
    dest = tempfile.mkdtemp(prefix="report-scale-")
    try:
        timings = []
        for run, when in enumerate(("2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z"), 1):
            begin = time.perf_counter()
            report = build_report(records_from_results(results), probe, catalog, when)
            built = time.perf_counter()
            publish_report(dest, report, catalog)  # apply_history against the previous run, then every file
            timings.append((run, built - begin, time.perf_counter() - built))
        sizes = {}
        for base, _dirs, files in os.walk(dest):
            for name in files:
                if not name.startswith("."):
                    sizes[os.path.relpath(os.path.join(base, name), dest)] = os.path.getsize(os.path.join(base, name))
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    worst = max(b + w for _, b, w in timings)
    summary = report["summary"]
    print("report_scale: %d hosts (%s), %d findings, %d open" % (
        summary["hosts"], ", ".join("%d %s" % (n, s) for s, n in sorted(summary["by_status"].items())),
        summary["findings"], summary["open"]))
    print("  synthetic fleet (evaluate_host, probe summary): %.2f s (not counted)" % synthetic)
    for run, build, write in timings:
        print("  run %d: build_report %.2f s, apply_history + every file %.2f s" % (run, build, write))
    tickets = [n for n in sizes if n.startswith("tickets" + os.sep)]
    for name in sorted(n for n in sizes if n not in tickets):
        print("  %-14s %10.1f KiB" % (name, sizes[name] / 1024.0))
    print("  tickets/       %10.1f KiB in %d files" % (sum(sizes[n] for n in tickets) / 1024.0, len(tickets)))
    print("  slowest run %.2f s (goal < %.0f s), peak memory %.0f MiB (goal < %.0f MiB)" % (
        worst, GOAL_SECONDS, peak_mib, GOAL_MIB))
    over = worst >= GOAL_SECONDS or peak_mib >= GOAL_MIB
    print("  %s" % ("OVER THE GOAL" if over else "within the goal"))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
