# -*- coding: utf-8 -*-
"""The audit's options are checked once for the play (roles/ollama_audit/
tasks/fleet.yml), each host's own values included: a bad value in one
host's variables stops playbooks/audit.yml before any host is read, with the
variable and the host named. Runs ansible-playbook on three hosts of the
controller itself (connection local, probe off, report in a temporary
directory)."""

import sys

import yaml

from playbook_run import ansible_playbook

READ = "OLLAMA-AUDIT | AUDIT | Read units"


def audit(tmp_path, host_vars, *extra):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "ansible_become": False, "ollama_audit_probe": False},
        "hosts": dict(("h%d" % i, host_vars.get("h%d" % i) or {}) for i in (1, 2, 3))}}))
    proc = ansible_playbook(["-i", str(inventory), "playbooks/audit.yml",
                             "-e", "report_dir=%s" % (tmp_path / "reports")] + list(extra))
    return proc.returncode, proc.stdout


def test_a_bad_value_of_one_host_stops_the_audit_before_any_read(tmp_path):
    rc, out = audit(tmp_path, {"h2": {"ollama_audit_probe_timeout": "soon"}})
    assert rc != 0, out
    assert "ollama_audit_probe_timeout" in out and "1 host(s): h2" in out, out
    assert READ not in out, out
    assert not (tmp_path / "reports").exists()


def test_good_values_are_checked_once_and_every_host_is_read(tmp_path):
    rc, out = audit(tmp_path, {"h2": {"ollama_audit_probe_timeout": 2}}, "-e", "ollama_audit_fail_on=never")
    assert rc == 0, out
    # One check per distinct set of the hosts' own values, not one per host.
    assert out.count("Check the options once") == 1, out
    assert "2 host(s): h1, h3" in out and "1 host(s): h2" in out, out
    assert out.count("ok: [h") >= 3 and READ in out, out
    assert (tmp_path / "reports" / "findings.json").exists()
