# -*- coding: utf-8 -*-
"""Every benchmark figure in the docs comes from a results file: the blocks
that scripts/render-benchmarks.py renders (make docs) are up to date, and
no figure is typed by hand outside them in the docs' figure sections."""

import copy
import glob
import importlib.util
import json
import os
import re

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SPEC = importlib.util.spec_from_file_location("render_benchmarks", os.path.join(ROOT, "scripts",
                                                                                "render-benchmarks.py"))
render = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(render)

# A measured figure: a number with a unit of time, size, rate or ratio, or
# any decimal number.
FIGURE = re.compile(r"(?<![\w.-])\d[\d,]*(?:\.\d+)?\s?(?:s|ms|us|MiB|KiB|GiB|x|%|requests/s|req/s)(?![\w-])"
                    r"|(?<![\w.-])\d+\.\d+(?![\w.])")
# (file, the heading its figure section starts at; None: the whole file).
SECTIONS = [("README.md", "## Benchmarks"), (os.path.join("docs", "benchmarks.md"), None),
            (os.path.join("docs", "testing.md"), "## The report at fleet scale"),
            (os.path.join("docs", "testing.md"), "## What the audit and a converged harden cost"),
            (os.path.join("docs", "front.md"), "`make bench-front` converges that lab"),
            (os.path.join("docs", "discover.md"), "## Benchmark")]


def read(where):
    with open(os.path.join(ROOT, where)) as handle:
        return handle.read()


def section(text, start):
    """From ``start`` to the next heading of the same level or above (the
    whole text when start is None)."""
    if start is None:
        return text
    assert start in text, "the figure section %r is gone" % start
    body = text[text.index(start):]
    level = len(start) - len(start.lstrip("#")) if start.startswith("#") else 2
    following = re.search(r"^#{1,%d} " % level, body[len(start):], re.M)
    return body[:len(start) + following.start()] if following else body


def hand_typed(text):
    """The figures of ``text`` outside the generated blocks."""
    text = re.sub(r"<!-- benchmarks:(\S+) begin.*?<!-- benchmarks:\1 end -->", "", text, flags=re.S)
    return FIGURE.findall(text)


@pytest.mark.parametrize("where", sorted(render.FILES))
def test_the_rendered_blocks_are_up_to_date(where):
    text = read(where)
    assert render.replace_blocks(text, render.blocks(where), where) == text, "run make docs"


@pytest.mark.parametrize("where, start", SECTIONS)
def test_no_figure_is_typed_by_hand_in_a_figure_section(where, start):
    assert hand_typed(section(read(where), start)) == []


def test_the_figure_scan_sees_hand_typed_figures():
    # Positive control: figures the README and testing.md typed by hand.
    old = ("the report of 10,000 simulated hosts, 8 to 13 s a run and about 300 MiB (goal: 30 s, 1 GiB). "
           "**13.5 to 14.9 s against 4.8 to 5.3 s for ping, 2.5 to 3.1x** (goal 4x; was 154 s, 33x) "
           "| front (TLS, bearer key) | 179.8 | 44.02 | 48.41 | 0 | 99.3 % |")
    assert hand_typed(old) == ["13 s", "300 MiB", "30 s", "1 GiB", "13.5", "14.9 s", "4.8", "5.3 s", "2.5", "3.1x",
                               "4x", "154 s", "33x", "179.8", "44.02", "48.41", "99.3 %"]
    block = "%s\n| 8.04 s |\n%s" % (render.BEGIN % "report", render.END % "report")
    assert hand_typed(block) == [] and hand_typed(block + " 8.04 s") == ["8.04 s"]


def test_a_figure_that_moved_in_a_results_file_makes_a_block_stale():
    data = render.results()
    where = os.path.join("docs", "benchmarks.md")
    text = read(where)
    assert render.replace_blocks(text, render.blocks(where, data), where) == text
    moved = copy.deepcopy(data)
    moved["report"]["peak_mib"] += 1
    assert render.replace_blocks(text, render.blocks(where, moved), where) != text
    moved = copy.deepcopy(data)
    moved["scale"][0]["sizes"]["10"]["audit"]["ratio"] = 1.61
    new = render.replace_blocks(text, render.blocks(where, moved), where)
    assert "**1.61**" in new and "10 hosts: audit 1.61x ping, goal 1.5x" in new


def test_every_results_file_records_its_date_and_commit():
    files = glob.glob(os.path.join(ROOT, "tests", "bench", "*results*.json"))
    assert len(files) >= 7
    for path in files:
        with open(path) as handle:
            data = json.load(handle)
        assert data.get("date") and data.get("commit"), path
