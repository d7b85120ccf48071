"""The control catalog is the one source: docs and README name each control."""

import os
import re

import yaml

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def load_catalog():
    with open(os.path.join(ROOT, "roles", "ollama_audit", "vars", "main.yml")) as handle:
        return yaml.safe_load(handle)["__ollama_audit_catalog"]


def test_every_control_is_documented_with_its_severity():
    catalog = load_catalog()
    with open(os.path.join(ROOT, "docs", "controls.md")) as handle:
        docs = handle.read()
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
        assert control["title"] and control["remediation"]
    assert set(catalog["exposure_controls"]) <= set(catalog["controls"])
    for entry in catalog["vulnerable_versions"]["entries"]:
        assert re.match(r"^CVE-\d{4}-\d{4,}$", entry["cve"])
        assert entry["fixed_in"] is None or re.match(r"^\d+\.\d+\.\d+$", entry["fixed_in"])
