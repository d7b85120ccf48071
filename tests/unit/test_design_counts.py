# -*- coding: utf-8 -*-
"""scripts/design-counts.py (issue 27's counts) over a small tree made here."""

import importlib.util
import os

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SPEC = importlib.util.spec_from_file_location("design_counts", os.path.join(ROOT, "scripts", "design-counts.py"))
counts = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(counts)


def tree(tmp_path):
    (tmp_path / "roles" / "r" / "vars").mkdir(parents=True)
    (tmp_path / "roles" / "r" / "vars" / "main.yml").write_text(
        "---\n__r_data: [1, 2]\n__r_short: \"{{ a | b }}\"\n__r_long: >-\n  {{ %s }}\n"
        "__r_loop: \"{%% for x in y %%}{{ x }}{%% endfor %%}\"\nr_public: \"{{ a }}\"\n" % ("x | f " * 40))
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "p.yml").write_text(
        "- hosts: all\n  tasks:\n    - ansible.builtin.set_fact:\n        __p_now: \"{{ s | ollama_stamp_unchanged(i) }}\"\n"
        "      vars:\n        dest: /var/lib/ollama-exposure-toolkit/stamps/front.json\n"
        "        # /var/lib/ollama-exposure-toolkit/stamps/front.json (a comment: not counted)\n"
        "        report: \"{{ playbook_dir ~ '/../reports' }}\"\n")
    plugins = tmp_path / "collections" / "ansible_collections" / "ollama_toolkit" / "exposure" / "plugins"
    (plugins / "module_utils").mkdir(parents=True)
    (plugins / "module_utils" / "ollama_host.py").write_text(
        "def parse_ollama_host(raw):\n    return raw.rsplit(':', 1)\n")
    (plugins / "module_utils" / "other.py").write_text(
        "from .ollama_host import parse_ollama_host\nSTAMP = '/var/lib/ollama-exposure-toolkit/stamps/front.json'\n"
        "def f(env, a, p):\n    in_place = parse_ollama_host(env)\n    return '[%s]:%s' % (a, p), env.rsplit(':', 1)\n")
    return tmp_path


def test_each_count_over_a_tree(tmp_path):
    found = counts.counts(str(tree(tmp_path)))
    dunder = found["dunder_jinja"]
    assert dunder["count"] == 4 and dunder["over_200"] == 1
    assert dunder["longest"][0]["name"] == "__r_long"
    literals = found["path_literals"]
    assert literals["/var/lib/ollama-exposure-toolkit/stamps/front.json"] == [
        "playbooks/p.yml:6", "collections/ansible_collections/ollama_toolkit/exposure/plugins/module_utils/other.py:2"]
    assert len(literals["'/../reports' (report_dir's default)"]) == 1
    assert found["fast_paths"]["total"] == 2
    assert found["fast_paths"]["per_term"]["checksum_paths"]["count"] == 0
    host = found["ollama_host"]
    assert host["parser_calls"] == 1
    assert sorted(item["kind"] for item in host["ad_hoc_places"]) == ["[v6]:port join written out",
                                                                     "host:port split by hand"]


def test_the_printed_summary_names_the_counts(tmp_path, capsys):
    assert counts.main(["design-counts.py", str(tree(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "1. __ variables holding Jinja (roles, playbooks): 4, 1 over 200 characters" in out
    assert "3. fast paths: 2 occurrences" in out
    assert "4. OLLAMA_HOST parsing: 1 calls of the parser" in out
