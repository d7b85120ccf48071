# -*- coding: utf-8 -*-
"""Host code on hosts, controller code on the controller (issue 27).

Ansible ships a module with every module_utils file it imports, transitively
(AnsiballZ). These tests walk the same import graph from the source (AST,
nothing imported): each module of library/ ships only the module_utils it
needs, no module_utils file reaches into plugin_utils (controller only), and
module_utils holds nothing but what the host modules run.
"""

import ast
import os

import pytest

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PLUGINS = os.path.join(REPO, "collections", "ansible_collections", "ollama_toolkit", "exposure", "plugins")
PREFIX = "ansible_collections.ollama_toolkit.exposure.plugins."
LIBRARY = os.path.join(REPO, "library")

# What each module run on a host (or on the prober) needs, by module_utils
# file: ollama_info reads everything; ollama_probe probes and says
# OLLAMA-NET-001 itself; ollama_stamp writes a wall's stamp.
# ollama_report is the documentation of an action plugin: it ships nothing.
NEEDED = {
    "ollama_info": {"ollama_cloud", "ollama_docker", "ollama_doors", "ollama_front_site", "ollama_host", "ollama_http",
                    "ollama_netfilter", "ollama_nginx", "ollama_procfs", "ollama_servers", "ollama_stamp",
                    "ollama_systemd"},
    "ollama_probe": {"ollama_probe", "ollama_finding", "ollama_http"},
    "ollama_discover": {"ollama_discover", "ollama_probe", "ollama_finding", "ollama_http"},
    "ollama_stamp": {"ollama_stamp", "ollama_systemd"},
    "ollama_report": set(),
}
# The modules that run on managed hosts (or the scanner host): what
# module_utils is for.
HOST_MODULES = ("ollama_info", "ollama_probe", "ollama_stamp", "ollama_discover")


def collection_imports(path):
    """(kind, name) of every module of the collection ``path`` imports:
    ('module_utils', 'ollama_host'), ('plugin_utils', 'ollama_findings')."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + ["%s.%s" % (node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            if name.startswith(PREFIX):
                parts = name[len(PREFIX):].split(".")
                if len(parts) == 2 and os.path.exists(os.path.join(PLUGINS, parts[0], parts[1] + ".py")):
                    found.add((parts[0], parts[1]))
    return found


def shipped(path):
    """Every collection file a module at ``path`` carries, transitively."""
    seen, todo = set(), list(collection_imports(path))
    while todo:
        kind, name = todo.pop()
        if (kind, name) in seen:
            continue
        seen.add((kind, name))
        todo.extend(collection_imports(os.path.join(PLUGINS, kind, name + ".py")))
    return seen


def module_utils_files():
    return sorted(f[:-3] for f in os.listdir(os.path.join(PLUGINS, "module_utils")) if f.endswith(".py"))


def test_every_library_module_is_listed():
    assert sorted(f[:-3] for f in os.listdir(LIBRARY) if f.endswith(".py") and f != "__init__.py") == sorted(NEEDED)


@pytest.mark.parametrize("module", sorted(NEEDED))
def test_a_module_ships_only_the_module_utils_it_needs(module):
    carried = shipped(os.path.join(LIBRARY, module + ".py"))
    assert not [c for c in carried if c[0] != "module_utils"], "a host module imports controller code"
    assert set(name for _kind, name in carried) == NEEDED[module]


@pytest.mark.parametrize("name", module_utils_files())
def test_module_utils_never_imports_plugin_utils(name):
    imports = collection_imports(os.path.join(PLUGINS, "module_utils", name + ".py"))
    assert [n for kind, n in imports if kind != "module_utils"] == []


def test_module_utils_is_host_only():
    """Every file of module_utils is shipped with a module that runs on a
    host (or the prober): controller-only code lives in plugin_utils."""
    on_hosts = set()
    for module in HOST_MODULES:
        on_hosts |= set(name for _kind, name in shipped(os.path.join(LIBRARY, module + ".py")))
    assert module_utils_files() == sorted(on_hosts)
    assert module_utils_files() == ["ollama_cloud", "ollama_discover", "ollama_docker", "ollama_doors", "ollama_finding",
                                    "ollama_front_site", "ollama_host", "ollama_http", "ollama_netfilter",
                                    "ollama_nginx", "ollama_probe",
                                    "ollama_procfs", "ollama_servers", "ollama_stamp", "ollama_systemd"]


def test_the_walk_sees_a_transitive_import(tmp_path):
    """The walk follows module_utils into module_utils (ollama_probe -> ollama_finding)."""
    module = tmp_path / "m.py"
    module.write_text("from %smodule_utils.ollama_probe import run_probes\n" % PREFIX)
    assert set(n for _k, n in shipped(str(module))) == {"ollama_probe", "ollama_finding", "ollama_http"}
