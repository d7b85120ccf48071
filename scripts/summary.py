#!/usr/bin/env python3
"""Print the before/after summary of a harden run and where the reports are.

    python scripts/summary.py reports/before reports/after
"""

import json
import os
import sys


def load(directory):
    with open(os.path.join(directory, "findings.json")) as handle:
        return json.load(handle)


def open_ids(report, host):
    """Open findings of the host; "(mitigated)" when the toolkit's firewall closes them,
    "(local users only)" when only the host's own users reach them."""
    found, local = {}, {}
    for f in report["findings"]:
        if f["host"] == host and f.get("status") in ("new", "open", "expired-exception"):
            found[f["id"]] = found.get(f["id"], True) and bool(f.get("mitigated_by"))
            local[f["id"]] = local.get(f["id"], True) and f.get("reach") == "local"
    return ["%s%s%s" % (i, " (mitigated)" if found[i] else "", " (local users only)" if local[i] else "")
            for i in sorted(found)]


def main(before_dir, after_dir):
    before, after = load(before_dir), load(after_dir)
    names = sorted(set(before["hosts"]) | set(after["hosts"]))
    width = max(len(n) for n in names + ["host"])
    print("%-*s  %-14s  %-14s  %s" % (width, "host", "before", "after", "still open after"))
    for name in names:
        was = (before["hosts"].get(name) or {}).get("status", "-")
        now = (after["hosts"].get(name) or {}).get("status", "-")
        print("%-*s  %-14s  %-14s  %s" % (width, name, was, now, ", ".join(open_ids(after, name)) or "-"))
    counts = after["summary"].get("by_lifecycle") or {}
    print()
    print("exposed hosts: %d before, %d after (%d mitigated: the firewall closes the port, the service still "
          "listens); findings fixed: %d, still open from the network: %d (and %d only local users reach), "
          "excepted: %d" % (
              before["summary"]["by_status"].get("exposed", 0), after["summary"]["by_status"].get("exposed", 0),
              after["summary"]["by_status"].get("mitigated", 0), counts.get("fixed", 0),
              after["summary"].get("open", 0), after["summary"].get("open_local", 0), counts.get("excepted", 0)))
    print("HTML report: %s" % os.path.abspath(os.path.join(after_dir, "report.html")))
    print("Tickets:     %s" % os.path.abspath(os.path.join(after_dir, "tickets")))
    print("CSV / JUnit: %s, %s" % (os.path.abspath(os.path.join(after_dir, "findings.csv")),
                                   os.path.abspath(os.path.join(after_dir, "junit.xml"))))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
