# -*- coding: utf-8 -*-
"""One place per stamp: the audit reads (ollama_audit_stamps' default) the
very files the roles write (each role's __<role>_stamp)."""

import os

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def load(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return yaml.safe_load(handle)


def test_the_audit_reads_the_stamps_the_roles_write():
    written = sorted(load("roles", role, "vars", "main.yml")["__%s_stamp" % role]
                     for role in ("ollama_bind", "ollama_firewall", "ollama_front"))
    read = load("roles", "ollama_audit", "defaults", "main.yml")["ollama_audit_stamps"]
    spec = load("roles", "ollama_audit", "meta", "argument_specs.yml")
    assert sorted(read) == written
    assert spec["argument_specs"]["main"]["options"]["ollama_audit_stamps"]["default"] == read
