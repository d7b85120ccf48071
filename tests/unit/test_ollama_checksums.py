# -*- coding: utf-8 -*-
"""The roles' fast path (plugin_utils/ollama_checksums.py): a role skips its
writes only when every file it would write is on the host, byte for byte,
with its mode and ownership; anything missing or different means "write"."""

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_checksums import files_unchanged, sha1_text
from filter_plugins.ollama_checksums import ollama_files_unchanged

CONF = "/etc/nginx/conf.d/ollama-front.conf"
KEYS = "/etc/nginx/ollama-front/keys.map"
RENDERED = {CONF: "server { listen 8443 ssl; }\n", KEYS: "# Ansible managed\n\"Bearer k1\" alice;\n"}
EXPECTED = [{"path": CONF, "sha1": sha1_text(RENDERED[CONF]), "mode": "0644", "owner": "root", "group": "root"},
            {"path": KEYS, "sha1": sha1_text(RENDERED[KEYS]), "mode": "0600", "owner": "root", "group": "root"}]


def facts(**changes):
    result = {"checksums": {CONF: sha1_text(RENDERED[CONF]), KEYS: sha1_text(RENDERED[KEYS])},
              "file_attrs": {CONF: "0644 root root", KEYS: "0600 root root"}}
    for key, value in changes.items():
        result[key] = dict(result[key], **value)
    return result


def test_every_file_right_skips_the_writes():
    assert files_unchanged(facts(), EXPECTED) is True
    assert ollama_files_unchanged(facts(), EXPECTED) is True


def test_sha1_text_is_that_of_the_utf8_bytes():
    assert sha1_text(u"caf\u00e9\n") == sha1_text(u"caf\u00e9\n".encode("utf-8"))
    assert sha1_text("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709"


@pytest.mark.parametrize("drift", [
    {"checksums": {KEYS: sha1_text("# edited by hand\n")}},   # content edited by hand
    {"checksums": {CONF: None}},                               # file removed
    {"file_attrs": {KEYS: "0644 root root"}},                  # secret made world-readable
    {"file_attrs": {CONF: "0644 nobody root"}},                # owner changed
    {"file_attrs": {CONF: None}},
])
def test_any_drift_means_write(drift):
    assert files_unchanged(facts(**drift), EXPECTED) is False


@pytest.mark.parametrize("read", [
    None, {}, "not a dict",
    {"listeners": []},                                         # an audit without checksum_paths
    {"checksums": {}, "file_attrs": {}},                       # asked for other files
    {"checksums": {CONF: sha1_text(RENDERED[CONF])}, "file_attrs": None},
])
def test_missing_facts_mean_write(read):
    assert files_unchanged(read, EXPECTED) is False


def test_nothing_expected_or_an_incomplete_expectation_means_write():
    assert files_unchanged(facts(), []) is False
    assert files_unchanged(facts(), [dict(EXPECTED[0], sha1="")]) is False
    assert files_unchanged(facts(), [dict(EXPECTED[0], path="")]) is False


def test_mode_may_be_given_as_a_number_string_or_with_leading_zero():
    assert files_unchanged(facts(), [dict(EXPECTED[0], mode="644")]) is True
    assert files_unchanged(facts(), [dict(EXPECTED[1], mode="0600")]) is True


def test_owner_and_group_are_compared_only_where_given():
    loose = [{"path": CONF, "sha1": sha1_text(RENDERED[CONF]), "mode": "0644"}]
    assert files_unchanged(facts(file_attrs={CONF: "0644 nobody nogroup"}), loose) is True
    assert files_unchanged(facts(file_attrs={CONF: "0600 nobody nogroup"}), loose) is False


def test_a_directory_is_compared_by_mode_and_ownership():
    read = {"checksums": {"/var/lib/t": None}, "file_attrs": {"/var/lib/t": "0700 root root"}}
    assert files_unchanged(read, [{"path": "/var/lib/t", "directory": True, "mode": "0700"}]) is True
    assert files_unchanged(read, [{"path": "/var/lib/t", "directory": True, "mode": "0755"}]) is False
    assert files_unchanged({"checksums": {"/var/lib/t": None}, "file_attrs": {"/var/lib/t": None}},
                           [{"path": "/var/lib/t", "directory": True, "mode": "0700"}]) is False
    # a regular file where a directory is expected
    assert files_unchanged({"checksums": {"/var/lib/t": "ab"}, "file_attrs": {"/var/lib/t": "0700 root root"}},
                           [{"path": "/var/lib/t", "directory": True, "mode": "0700"}]) is False
