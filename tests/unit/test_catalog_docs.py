"""The control catalog is the one source: docs/controls.md is rendered from it."""

import os
import re

import yaml

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_render import render_controls_page

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
ID = r"^OLLAMA-[A-Z]+-\d{3}$"
NIST = r"^(CWE-\d+|CVE-\d{4}-\d{4,}|NIST-800-53-[A-Z]{2}-\d+)$"


def load_catalog():
    with open(os.path.join(ROOT, "roles", "ollama_audit", "files", "catalog.yml")) as handle:
        return yaml.safe_load(handle)


def test_controls_page_is_what_the_catalog_renders_to():
    catalog = load_catalog()
    with open(os.path.join(ROOT, "docs", "controls.md")) as handle:
        docs = handle.read()
    assert docs == render_controls_page(catalog), "docs/controls.md is out of date: run `make docs`"
    rows = dict(re.findall(r"^\| (OLLAMA-[A-Z]+-\d{3}) \| (\w+) \|", docs, re.M))
    assert rows == {cid: c["severity"] for cid, c in catalog["controls"].items()}
    rows = dict(re.findall(r"^\| (OLLAMA-[A-Z]+-\d{3}) \| `(\w+)` \|", docs, re.M))
    assert rows == {cid: c["role"] for cid, c in catalog["remediation_controls"].items()}


def test_readme_points_at_the_controls():
    with open(os.path.join(ROOT, "README.md")) as handle:
        readme = handle.read()
    assert "docs/controls.md" in readme


def test_catalog_is_well_formed():
    catalog = load_catalog()
    assert re.match(r"^\d{4}-\d{2}-\d{2}$", catalog["updated"])
    assert catalog["sources"] and all(isinstance(s, str) and not s.startswith("..") for s in catalog["sources"])
    for cid, control in catalog["controls"].items():
        assert re.match(ID, cid)
        assert control["severity"] in catalog["severities"]
        assert control["title"] and control["remediation"] and control["rationale"] and control["verify"]
        assert control["evidence"] and control["fires_when"] and isinstance(control["fixed_by"], list)
        assert set(control["fixed_by"]) <= {"ollama_bind", "ollama_firewall", "ollama_front", "ollama_upgrade"}
        assert all(re.match(NIST, r) for r in control["references"])
    assert set(catalog["exposure_controls"]) <= set(catalog["controls"])
    for entry in catalog["vulnerable_versions"]["entries"]:
        assert re.match(r"^CVE-\d{4}-\d{4,}$", entry["cve"])
        assert entry["fixed_in"] is None or re.match(r"^\d+\.\d+\.\d+$", entry["fixed_in"])


def test_remediation_controls_are_well_formed():
    catalog = load_catalog()
    remediation = catalog["remediation_controls"]
    assert set(remediation).isdisjoint(catalog["controls"])
    for cid, control in remediation.items():
        assert re.match(ID, cid)
        # No finding: no severity, no evidence, never an exposure control.
        assert "severity" not in control and "evidence" not in control and "fires_when" not in control
        assert control["title"] and control["remediation"] and control["rationale"] and control["verify"]
        assert control["role"] in ("ollama_firewall", "ollama_front")
        assert cid.startswith({"ollama_firewall": "OLLAMA-FW-", "ollama_front": "OLLAMA-FRONT-"}[control["role"]])
        assert set(control["mitigates"]) <= set(catalog["controls"])
        assert all(re.match(NIST, r) for r in control["references"])
