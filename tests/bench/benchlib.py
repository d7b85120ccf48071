"""What every benchmark script shares: its goals (goals.yml, the one place
they live), the toolkit's commit a results file records, and the wait for
the machine's load to settle before measuring."""

import os
import subprocess
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def load_goals(section=None):
    """The benchmarks' goals (tests/bench/goals.yml): all of them, or one
    section's (scale, report, front)."""
    with open(os.path.join(HERE, "goals.yml")) as handle:
        goals = yaml.safe_load(handle)
    return goals if section is None else goals[section]


def toolkit_commit():
    """``git describe --always --dirty`` of the toolkit (-dirty with local
    changes), or None outside a git checkout."""
    try:
        return subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                              text=True, check=True).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def settle(limit):
    """Wait until the 1-minute load average is below the number of cores, at
    most ``limit`` seconds; the cores, the load before and after and the
    seconds waited, for the results."""
    cores = os.cpu_count() or 1
    before, start = os.getloadavg()[0], time.monotonic()
    while os.getloadavg()[0] >= cores and time.monotonic() - start < limit:
        time.sleep(5)
    return {"cores": cores, "load_before": round(before, 2), "load_after": round(os.getloadavg()[0], 2),
            "waited_s": round(time.monotonic() - start, 1)}
