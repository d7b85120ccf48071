# -*- coding: utf-8 -*-
"""The catalog's one loader in production: lookup('ollama_toolkit.exposure.catalog')."""

import os
import re

import pytest
import yaml

from ansible.errors import AnsibleLookupError
from ansible_collections.ollama_toolkit.exposure.plugins.lookup import catalog as lookup

from conftest import CATALOG, REPO


def test_the_lookup_loads_the_roles_catalog():
    assert os.path.samefile(lookup.CATALOG, CATALOG)
    with open(CATALOG) as handle:
        assert lookup.LookupModule().run([]) == [yaml.safe_load(handle)]


def test_each_call_gets_its_own_copy_parsed_once(monkeypatch):
    first = lookup.load()
    first["controls"].clear()
    monkeypatch.setattr(lookup.yaml, "safe_load", lambda _h: pytest.fail("parsed again"))
    assert lookup.load()["controls"]


def test_the_lookup_takes_no_terms_and_names_a_bad_file(tmp_path):
    with pytest.raises(AnsibleLookupError, match="no terms"):
        lookup.LookupModule().run(["catalog.yml"])
    bad = tmp_path / "catalog.yml"
    bad.write_text("controls: []\n")
    with pytest.raises(AnsibleLookupError, match="holds no controls"):
        lookup.load(str(bad))
    with pytest.raises(AnsibleLookupError, match="cannot read"):
        lookup.load(str(tmp_path / "missing.yml"))


def test_production_loads_the_catalog_only_with_the_lookup():
    """No role, playbook or scenario reads catalog.yml itself (lookup('file'),
    include_vars): they call the lookup."""
    found = []
    for top in ("roles", "playbooks", "molecule"):
        for folder, _dirs, files in os.walk(os.path.join(REPO, top)):
            for name in files:
                if not name.endswith((".yml", ".yaml")) or name == "catalog.yml":
                    continue
                path = os.path.join(folder, name)
                with open(path) as handle:
                    for number, line in enumerate(handle, 1):
                        if re.search(r"\{\{.*catalog\.yml|^\s*file:.*catalog\.yml", line):
                            found.append("%s:%d" % (os.path.relpath(path, REPO), number))
                        if "ollama_audit_catalog" in line:
                            found.append("%s:%d" % (os.path.relpath(path, REPO), number))
    assert found == []
