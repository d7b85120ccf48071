"""The control catalog is the one source: docs and README name each control."""

import os
import re

import yaml

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_render import render_controls_markdown

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def load_catalog():
    with open(os.path.join(ROOT, "roles", "ollama_audit", "vars", "main.yml")) as handle:
        return yaml.safe_load(handle)["__ollama_audit_catalog"]


def test_controls_page_is_what_the_catalog_renders_to():
    catalog = load_catalog()
    with open(os.path.join(ROOT, "docs", "controls.md")) as handle:
        docs = handle.read()
    assert docs == render_controls_markdown(catalog), "docs/controls.md is out of date: run `make docs`"
    rows = dict(re.findall(r"^\| (OLLAMA-[A-Z]+-\d{3}) \| (\w+) \|", docs, re.M))
    assert rows == {cid: c["severity"] for cid, c in catalog["controls"].items()}


def test_readme_lists_every_control():
    catalog = load_catalog()
    with open(os.path.join(ROOT, "README.md")) as handle:
        readme = handle.read()
    rows = dict(re.findall(r"^\| (OLLAMA-[A-Z]+-\d{3}) \| (\w+) \|", readme, re.M))
    assert rows == {cid: c["severity"] for cid, c in catalog["controls"].items()}


def test_catalog_is_well_formed():
    catalog = load_catalog()
    assert re.match(r"^\d{4}-\d{2}-\d{2}$", catalog["updated"])
    for cid, control in catalog["controls"].items():
        assert re.match(r"^OLLAMA-[A-Z]+-\d{3}$", cid)
        assert control["severity"] in catalog["severities"]
        assert control["title"] and control["remediation"] and control["rationale"] and control["verify"]
        assert control["evidence"] and control["fires_when"] and isinstance(control["fixed_by"], list)
        assert set(control["fixed_by"]) <= {"ollama_bind", "ollama_firewall", "ollama_front"}
        assert all(re.match(r"^(CWE-\d+|CVE-\d{4}-\d{4,}|NIST-800-53-[A-Z]{2}-\d+)$", r) for r in control["references"])
    assert set(catalog["exposure_controls"]) <= set(catalog["controls"])
    for entry in catalog["vulnerable_versions"]["entries"]:
        assert re.match(r"^CVE-\d{4}-\d{4,}$", entry["cve"])
        assert entry["fixed_in"] is None or re.match(r"^\d+\.\d+\.\d+$", entry["fixed_in"])
