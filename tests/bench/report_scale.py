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
each file's size. The probe's results are made by the probe's own code
(ollama_probe.probe_one, its HTTP client replaced: no traffic). Then reads
back what it wrote (check_outputs: every file, every host's status, the
counts, OLLAMA-NET-001 carrying the probe's evidence). Exits 1 over a goal of
tests/bench/goals.yml (30 s for a run: build, life cycle, every file; 1 GiB
for the process, at 10,000 hosts) or when the written report is wrong, after
printing every figure. At 10,000 hosts it writes its figures, with the date
and the commit, to tests/bench/report_results.json (REPORT_RESULTS=path for
another size).

    .venv/bin/python tests/bench/report_scale.py [HOSTS]    (make bench-report)
"""

import csv
import datetime
from html import escape as html_escape, unescape as html_unescape
import json
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# The toolkit's collection (ollama_toolkit.exposure) is found as the playbooks
# find it: through the collections_path of the project's ansible.cfg.
os.environ.setdefault("ANSIBLE_CONFIG", os.path.join(ROOT, "ansible.cfg"))

# Unless collections/ is on the path already (the unit tests: pytest.ini).
if os.path.join(ROOT, "collections") not in [os.path.abspath(p) for p in sys.path]:
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader()

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import (  # noqa: E402
    evaluate_host, host_status)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import (  # noqa: E402
    parse_ollama_host)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils import ollama_probe  # noqa: E402
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_render import (  # noqa: E402
    publish_report)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (  # noqa: E402
    build_report, records_from_results)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402  (tests/bench/benchlib.py)

GOALS = benchlib.load_goals("report")
GOAL_HOSTS = int(GOALS["hosts"])
GOAL_SECONDS = float(GOALS["seconds"])
GOAL_MIB = float(GOALS["mib"])
GOAL_OPEN_S = float(GOALS["html_open_s"])
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
OPEN_TRIES = 3
# Debian's chromium, headless, offline, a fresh profile each time (the brief's flags).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")
RESULTS = os.environ.get("REPORT_RESULTS", os.path.join(HERE, "report_results.json"))
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
    # As ollama_info returns it: no findings (the report derives them on the controller).
    facts["status"] = host_status(facts, evaluate_host(facts, catalog, name), catalog)
    return facts


TAGS_BODY = json.dumps({"models": [{"name": "llama3.2:3b", "size": 2019393189}]})


def probe_result(address, port, state, version="0.5.7"):
    """One result of the outside probe, made by ollama_probe.probe_one itself
    (so its keys and its evidence are the probe's own) with its HTTP client
    replaced by the answer a host in ``state`` gives: no traffic."""
    def answer(_address, _port, path, _timeout, _tls, **_bounds):
        if state == "closed":
            raise ConnectionRefusedError(111, "Connection refused")
        if state == "filtered":
            raise socket.timeout("timed out")
        if path == "/api/tags":
            return 200, {"content-type": "application/json; charset=utf-8"}, TAGS_BODY
        if path == "/api/version":
            return 200, {"content-type": "application/json; charset=utf-8"}, json.dumps({"version": version})
        return 200, {"content-type": "text/plain; charset=utf-8"}, "Ollama is running"
    real = ollama_probe.http_get
    ollama_probe.http_get = answer
    try:
        return ollama_probe.probe_one(address, port, 1.5)
    finally:
        ollama_probe.http_get = real


def fleet(catalog, count, seed=7):
    """(results, probe, kinds): every host's ollama_info result, the outside
    probe's summary and each host's kind (the status it must get)."""
    rng = random.Random(seed)
    kinds = []
    for kind, share in MIX:
        kinds += [kind] * int(round(share * count))
    kinds = (kinds + ["secure"] * count)[:count]
    rng.shuffle(kinds)
    results = {}
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
    # The probe's targets as the audit builds them (every port a host
    # reported, and 11434); Ollama's port answers as the host's kind says,
    # every other port refuses.
    targets, probed = ollama_probe.build_targets(results), []
    for target in targets:
        kind = kinds[int(target["host"][7:12])]
        ports = [s["bind"]["port"] for s in results[target["host"]]["services"]]
        for address in target["addresses"]:
            for port in target["ports"]:
                state = {"exposed": "exposed", "mitigated": "filtered"}.get(kind, "closed") if port in ports \
                    else "closed"
                probed.append(dict(probe_result(address, port, state), host=target["host"]))
    return results, ollama_probe.summarize(targets, probed, catalog, "controller"), dict(zip(
        ("ollama-%05d.dc%d.example.com" % (index, index % 4) for index in range(count)), kinds))


DOCUMENTS = ("findings.json", "findings.csv", "report.md", "report.html", "junit.xml")


def check_outputs(dest, kinds, probe):
    """What is wrong with the report written into ``dest``, one line each
    (none: all right). Every document present and not empty; every host in
    findings.json with the status its kind says; the findings counted alike
    in the summary, the JSON, the CSV and the tickets (one per open
    finding, those only local users reach included); one OLLAMA-NET-001 per exposed host whose evidence is the
    probe's own (``from controller: <evidence>``), also in report.md and
    report.html; a JUnit file that parses, with a test case per host at
    least."""
    problems = []
    for name in DOCUMENTS:
        path = os.path.join(dest, name)
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            problems.append("%s missing or empty" % name)
    if problems:
        return problems
    with open(os.path.join(dest, "findings.json")) as handle:
        report = json.load(handle)
    summary, findings = report["summary"], report["findings"]
    if summary["hosts"] != len(kinds) or len(report["hosts"]) != len(kinds):
        problems.append("findings.json: %d hosts (summary %d), %d built" % (
            len(report["hosts"]), summary["hosts"], len(kinds)))
    wrong = sorted(h for h, kind in kinds.items() if report["hosts"].get(h, {}).get("status") != kind)
    if wrong:
        problems.append("findings.json: %d hosts with a status other than their kind's, e.g. %s (%s, built %s)" % (
            len(wrong), wrong[0], report["hosts"].get(wrong[0], {}).get("status"), kinds[wrong[0]]))
    if summary["findings"] != len(findings):
        problems.append("findings.json: summary says %d findings, the list holds %d" % (summary["findings"],
                                                                                      len(findings)))
    with open(os.path.join(dest, "findings.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    if len(rows) != len(findings):
        problems.append("findings.csv: %d rows for %d findings" % (len(rows), len(findings)))
    tickets = os.listdir(os.path.join(dest, "tickets")) if os.path.isdir(os.path.join(dest, "tickets")) else []
    empty = [t for t in tickets if os.path.getsize(os.path.join(dest, "tickets", t)) == 0]
    still_open = summary["open"] + summary.get("open_local", 0)
    if len(tickets) != still_open or empty:
        problems.append("tickets/: %d files (%d empty) for %d open findings" % (len(tickets), len(empty),
                                                                               still_open))
    net = dict((f["host"], f["evidence"]) for f in findings if f["id"] == "OLLAMA-NET-001")
    exposed = sorted(h for h, kind in kinds.items() if kind == "exposed")
    if sorted(net) != exposed:
        problems.append("OLLAMA-NET-001 on %d hosts, %d exposed" % (len(net), len(exposed)))
    with open(os.path.join(dest, "report.md")) as handle:
        markdown = handle.read()
    html_problems, html = check_html(dest, report["hosts"])
    problems += html_problems
    answered = [h for h in exposed if any(r["state"] == "exposed" for r in probe.get(h, {}).get("results", []))]
    for host in answered[:1] + answered[-1:]:
        said = next(r.get("evidence") for r in probe[host]["results"] if r["state"] == "exposed")
        line = "from controller: %s" % said
        if net.get(host) != line:
            problems.append("OLLAMA-NET-001 of %s reads %r, the probe said %r" % (host, net.get(host), said))
        if "| %s | new | %s |" % (host, line) not in markdown and "| %s | open | %s |" % (host, line) not in markdown:
            problems.append("report.md: no OLLAMA-NET-001 line for %s with the probe's evidence" % host)
        if html_escape(str(said)) not in html:
            problems.append("report.html: the probe's evidence for %s is missing" % host)
    bad = sorted(h for h, text in net.items() if "None" in text or not text.startswith("from controller: GET "))
    if bad:
        problems.append("OLLAMA-NET-001 without the probe's evidence on %d hosts, e.g. %s: %r" % (
            len(bad), bad[0], net[bad[0]]))
    try:
        cases = len(list(ElementTree.parse(os.path.join(dest, "junit.xml")).getroot().iter("testcase")))
        if cases < len(kinds):
            problems.append("junit.xml: %d test cases for %d hosts" % (cases, len(kinds)))
    except ElementTree.ParseError as error:
        problems.append("junit.xml does not parse: %s" % error)
    return problems


HTML_PAGE = re.compile(r"^report(-.+)?\.html\Z")
HTML_ROW = re.compile(r'<tr(?: id="host-[^"]*")? data-host="([^"]+)"><td>[^<]*</td><td><span class="h-[^"]*" '
                      r'data-status="([^"]+)"')
HTML_LINK = re.compile(r'<a href="([^"]*)"')
HTML_ID = re.compile(r' id="([^"]*)"')


def check_html(dest, hosts):
    """(problems, text): report.html and its parts (report-<status>-<n>.html)
    read back: every link to a file or an anchor resolves, every host is in
    the hosts table of one page exactly, with its status, no page holds a
    script; ``text``: every page, for the evidence checks."""
    problems, pages = [], {}
    for name in sorted(os.listdir(dest)):
        if HTML_PAGE.match(name):
            with open(os.path.join(dest, name)) as handle:
                pages[name] = handle.read()
    ids = dict((name, set(html_unescape(i) for i in HTML_ID.findall(text))) for name, text in pages.items())
    broken = []
    for name, text in pages.items():
        if "<script" in text:
            problems.append("%s holds a script" % name)
        for link in HTML_LINK.findall(text):
            target, _, anchor = html_unescape(link).partition("#")
            target = target or name
            if target not in pages or (anchor and anchor not in ids[target]):
                broken.append("%s -> %s" % (name, link))
    if broken:
        problems.append("report.html: %d broken link(s), e.g. %s" % (len(broken), broken[0]))
    listed = {}
    for name, text in pages.items():
        if "-before-after-" in name or '<table id="hosts">' not in text:
            continue
        table = text.split('<table id="hosts">', 1)[1].split("</table>", 1)[0]
        for host, status in HTML_ROW.findall(table):
            listed.setdefault(html_unescape(host), []).append(status)
    wrong = sorted(h for h in hosts if listed.get(h) != [hosts[h]["status"]])
    if wrong or len(listed) != len(hosts):
        problems.append("report.html: %d host(s) not listed once with their status, e.g. %s (%s)" % (
            len(wrong), wrong[0] if wrong else "-", listed.get(wrong[0]) if wrong else "-"))
    return problems, "".join(pages.values())


def html_pages_to_open(dest):
    """report.html and the largest part of each kind (a status, or
    before-after): the parts of a kind are made alike and bounded by host
    count, the largest is the slowest to open."""
    largest = {}
    for name in os.listdir(dest):
        match = re.match(r"^report-(.+)-\d+\.html\Z", name)
        if match:
            size = os.path.getsize(os.path.join(dest, name))
            if size > largest.get(match.group(1), ("", -1))[1]:
                largest[match.group(1)] = (name, size)
    return ["report.html"] + sorted(name for name, _size in largest.values())


def open_in_chromium(page, scratch, timeout=60):
    """Seconds from the start of loading ``page`` (a file) to its load event
    in headless Chromium, and the browser's whole run. A timing page in
    ``scratch`` (not in the report) frames it and, on the frame's load
    event, writes the time into its own title; --dump-dom prints the DOM
    after that page's load event, which waits for its frame's."""
    timing = os.path.join(scratch, "timing.html")
    with open(timing, "w") as handle:
        handle.write('<!DOCTYPE html><html><head><meta charset="utf-8"><title>not loaded</title></head><body>'
                     '<script>var started = performance.now();</script>'
                     '<iframe src="%s" style="width:1280px;height:900px" onload="document.title = \'loaded \' + '
                     '(performance.now() - started).toFixed(1)"></iframe></body></html>'
                     % html_escape("file://" + os.path.abspath(page)))
    profile = tempfile.mkdtemp(prefix="profile-", dir=scratch)
    begin = time.perf_counter()
    done = subprocess.run([CHROMIUM] + list(CHROMIUM_FLAGS) + ["--user-data-dir=%s" % profile, "--dump-dom",
                                                               "file://" + timing],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=timeout)
    wall = time.perf_counter() - begin
    shutil.rmtree(profile, ignore_errors=True)
    found = re.search(r"<title>loaded ([0-9.]+)</title>", done.stdout)
    if not found:
        raise RuntimeError("chromium did not load %s (exit %s)" % (page, done.returncode))
    return float(found.group(1)) / 1000.0, wall


def verdict(worst_s, peak_mib, problems, opened=None):
    """What missed: the slowest run over GOAL_SECONDS, the peak memory over
    GOAL_MIB, a page opening in GOAL_OPEN_S or more, each problem of the
    written report."""
    missed = []
    if worst_s >= GOAL_SECONDS:
        missed.append("slowest run %.2f s, goal < %.0f s" % (worst_s, GOAL_SECONDS))
    if peak_mib >= GOAL_MIB:
        missed.append("peak memory %.0f MiB, goal < %.0f MiB" % (peak_mib, GOAL_MIB))
    for name, (load_s, _wall) in sorted((opened or {}).items()):
        if load_s >= GOAL_OPEN_S:
            missed.append("%s opens in %.2f s, goal < %.0f s" % (name, load_s, GOAL_OPEN_S))
    return missed + problems




def save(results, path=None):
    with open((path or RESULTS) + ".tmp", "w") as handle:
        json.dump(results, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.replace((path or RESULTS) + ".tmp", path or RESULTS)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else GOAL_HOSTS
    with open(os.path.join(ROOT, "roles", "ollama_audit", "files", "catalog.yml")) as handle:
        catalog = yaml.safe_load(handle)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    started = time.perf_counter()
    results, probe, kinds = fleet(catalog, count)
    synthetic = time.perf_counter() - started
    dest = tempfile.mkdtemp(prefix="report-scale-")
    try:
        timings = []
        cpu, loads = [], [os.getloadavg()[0]]
        for run, when in enumerate(("2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z"), 1):
            report = None  # a run holds one report: the previous run's is let go
            begin, cpu_begin = time.perf_counter(), sum(os.times()[:2])
            report = build_report(records_from_results(results), probe, catalog, when)
            built = time.perf_counter()
            publish_report(dest, report, catalog)  # apply_history against the previous run, then every file
            timings.append((run, built - begin, time.perf_counter() - built))
            cpu.append(sum(os.times()[:2]) - cpu_begin)
        loads.append(os.getloadavg()[0])
        # The peak before the check below reads the files back.
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        sizes = {}
        for base, dirs, files in os.walk(dest):
            dirs[:] = [d for d in dirs if not d.startswith(".")]  # .tickets-next: the next run's tickets
            for name in files:
                if not name.startswith("."):
                    sizes[os.path.relpath(os.path.join(base, name), dest)] = os.path.getsize(os.path.join(base, name))
        problems = check_outputs(dest, kinds, probe)
        opened = {}
        scratch = tempfile.mkdtemp(prefix="report-open-")
        try:
            for name in html_pages_to_open(dest):
                # The best of OPEN_TRIES: the page's own cost, not the other
                # processes' of a busy machine (each try a fresh browser).
                tries = [open_in_chromium(os.path.join(dest, name), scratch) for _try in range(OPEN_TRIES)]
                opened[name] = min(tries)
        except (RuntimeError, OSError, subprocess.SubprocessError) as error:
            problems.append("headless Chromium: %s" % error)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    worst = max(b + w for _, b, w in timings)
    summary = report["summary"]
    print("report_scale: %d hosts (%s), %d findings, %d open (and %d open to local users only)" % (
        summary["hosts"], ", ".join("%d %s" % (n, s) for s, n in sorted(summary["by_status"].items())),
        summary["findings"], summary["open"], summary.get("open_local", 0)))
    print("  synthetic fleet (evaluate_host, probe summary): %.2f s (not counted)" % synthetic)
    for (run, build, write), used in zip(timings, cpu):
        print("  run %d: build_report %.2f s, apply_history + every file %.2f s (the process's CPU time %.2f s)" % (
            run, build, write, used))
    print("  the machine's load average (1 min) %.1f before the runs, %.1f after (%d CPUs)" % (
        loads[0], loads[1], os.cpu_count() or 0))
    tickets = set(n for n in sizes if n.startswith("tickets" + os.sep))
    parts = set(n for n in sizes if re.match(r"^report-.+\.html\Z", n))
    for name in sorted(n for n in sizes if n not in tickets and n not in parts):
        print("  %-14s %10.1f KiB" % (name, sizes[name] / 1024.0))
    print("  tickets/       %10.1f KiB in %d files" % (sum(sizes[n] for n in tickets) / 1024.0, len(tickets)))
    largest = max(parts, key=lambda n: sizes[n]) if parts else None
    if parts:
        print("  report-*.html  %10.1f KiB in %d parts (largest %s, %.1f KiB)" % (
            sum(sizes[n] for n in parts) / 1024.0, len(parts), largest, sizes[largest] / 1024.0))
    for name, (load_s, wall) in sorted(opened.items()):
        print("  headless Chromium: %s loaded in %.2f s, the best of %d (goal < %.0f s; the browser's whole run "
              "%.2f s)" % (name, load_s, OPEN_TRIES, GOAL_OPEN_S, wall))
    print("  slowest run %.2f s (goal < %.0f s), peak memory %.0f MiB (goal < %.0f MiB)" % (
        worst, GOAL_SECONDS, peak_mib, GOAL_MIB))
    for line in problems:
        print("  WRONG OUTPUT: %s" % line)
    if not problems:
        print("  the written report checked: every file there and not empty, every host's status, the counts, "
              "OLLAMA-NET-001 with the probe's evidence")
    missed = verdict(worst, peak_mib, problems, opened)
    print("  %s" % ("MISSED: " + "; ".join(missed) if missed else "within the goal"))
    if count == GOAL_HOSTS or os.environ.get("REPORT_RESULTS"):
        save({"date": date, "commit": benchlib.toolkit_commit(), "command": "make bench-report",
              "hosts": summary["hosts"], "findings": summary["findings"], "open": summary["open"],
              "open_local": summary.get("open_local", 0), "by_status": summary["by_status"], "by_severity": summary.get("by_severity"),
              "runs": [{"run": run, "build_s": round(build, 2), "write_s": round(write, 2),
                        "total_s": round(build + write, 2), "cpu_s": round(used, 2)}
                       for (run, build, write), used in zip(timings, cpu)],
              "load_average": [round(load, 1) for load in loads], "cpus": os.cpu_count(),
              "slowest_s": round(worst, 2), "peak_mib": round(peak_mib), "synthetic_s": round(synthetic, 2),
              "sizes_kib": dict((n, round(sizes[n] / 1024.0, 1)) for n in sizes if n not in tickets and n not in parts),
              "tickets": {"files": len(tickets), "kib": round(sum(sizes[n] for n in tickets) / 1024.0, 1)},
              "html_parts": {"files": len(parts), "kib": round(sum(sizes[n] for n in parts) / 1024.0, 1),
                             "largest": largest, "largest_kib": round(sizes[largest] / 1024.0, 1) if parts else 0},
              "html_open": dict((n, {"load_s": round(load, 2), "browser_s": round(wall, 2)})
                                for n, (load, wall) in opened.items()),
              "html_open_worst_s": round(max([load for load, _w in opened.values()] or [0]), 2),
              "goals": {"hosts": GOAL_HOSTS, "seconds": GOAL_SECONDS, "mib": GOAL_MIB, "html_open_s": GOAL_OPEN_S},
              "problems": problems, "missed": missed})
        print("  results: %s" % os.path.relpath(RESULTS, ROOT))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
