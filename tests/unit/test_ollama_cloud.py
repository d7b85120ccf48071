# -*- coding: utf-8 -*-
"""module_utils/ollama_cloud.py: whether cloud features are on, as upstream decides."""

import json

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_cloud import (
    cloud_state, env_bool, parse_status, remotes, server_json_disables, source_of)


@pytest.mark.parametrize("value, expected", [
    (None, False), ("", False), ("  ", False), ("1", True), ("true", True), ("TRUE", True), ("t", True),
    ('"1"', True), ("'true'", True), (" 1 ", True), ("0", False), ("false", False), ("F", False),
    ('"0"', False), ("yes", True), ("on", True), ("2", True), ("off", True),  # unparsable counts as true
])
def test_env_bool_is_envconfig_bool(value, expected):
    assert env_bool(value) is expected


@pytest.mark.parametrize("text, expected", [
    (None, None), ("", False), ("{", False), ("[]", False), ('"x"', False), ("{}", False),
    ('{"disable_ollama_cloud": false}', False), ('{"disable_ollama_cloud": "true"}', False),
    ('{"disable_ollama_cloud": 1}', False), ('{"disable_ollama_cloud": true}', True),
    ('{"disable_ollama_cloud": true, "cluster_seeds": "192.0.2.10:11435"}', True),
])
def test_server_json_as_go_unmarshals_it(text, expected):
    assert server_json_disables(text) is expected


# Each case below is read as upstream's envconfig reads it: Go's
# json.Unmarshal into struct{DisableOllamaCloud bool
# `json:"disable_ollama_cloud,omitempty"`}, keeping cfg whatever the error.
DEEP_OK = '[' * 9999 + ']' * 9999  # with the object around it: 10000 levels, Go's limit
DEEP_BAD = '[' * 10000 + ']' * 10000


@pytest.mark.parametrize("text", [
    '{"disable_ollama_cloud": true, "x": NaN}', '{"disable_ollama_cloud": true, "x": Infinity}',
    '{"disable_ollama_cloud": true, "x": -Infinity}', '{"disable_ollama_cloud": true, "x": [NaN]}',
])
def test_server_json_with_a_constant_go_refuses_is_ignored(text):
    """Python's json takes NaN and Infinity; Go's scanner refuses the whole
    file before decoding anything, so the earlier true never lands."""
    assert server_json_disables(text) is False


@pytest.mark.parametrize("key, expected", [
    ("Disable_Ollama_Cloud", True), ("DISABLE_OLLAMA_CLOUD", True), ("disable_OLLAMA_cloud", True),
    ("di\u017fable_ollama_cloud", True),  # U+017F long s folds to s (unicode.SimpleFold)
    ("d\u0131sable_ollama_cloud", False), ("d\u0130sable_ollama_cloud", False),  # dotless/dotted i do not
    ("disable-ollama-cloud", False), ("disableollamacloud", False), ("DisableOllamaCloud", False),
])
def test_server_json_keys_match_as_go_folds_them(key, expected):
    assert server_json_disables(u'{"%s": true}' % key) is expected
    assert server_json_disables(u'{%s: true}' % json.dumps(key)) is expected  # the key written with \\u escapes


@pytest.mark.parametrize("text, expected", [
    # null is ignored for a bool field; a value of another type is a type
    # error that leaves the field as it was; true/false set it, last one wins.
    ('{"disable_ollama_cloud": true, "disable_ollama_cloud": null}', True),
    ('{"disable_ollama_cloud": true, "disable_ollama_cloud": "false"}', True),
    ('{"disable_ollama_cloud": true, "disable_ollama_cloud": 0}', True),
    ('{"disable_ollama_cloud": true, "disable_ollama_cloud": {"x": false}}', True),
    ('{"disable_ollama_cloud": true, "disable_ollama_cloud": [false]}', True),
    ('{"disable_ollama_cloud": "yes", "disable_ollama_cloud": true, "disable_ollama_cloud": 1}', True),
    ('{"disable_ollama_cloud": true, "DISABLE_OLLAMA_CLOUD": false}', False),
    ('{"Disable_Ollama_Cloud": true, "disable_ollama_cloud": null}', True),
    ('{"disable_ollama_cloud": false, "Disable_Ollama_Cloud": true}', True),
    ('{"disable_ollama_cloud": true, "disable_ollama_cloud": false}', False),
])
def test_server_json_duplicates_follow_go(text, expected):
    assert server_json_disables(text) is expected


@pytest.mark.parametrize("text, expected", [
    ('{"disable_ollama_cloud": true, "x": %s}' % DEEP_OK, True),  # Python's own json fails here (recursion)
    ('{"disable_ollama_cloud": true, "x": %s}' % DEEP_BAD, False),  # Go: exceeded max depth
    ('{"disable_ollama_cloud": true,}', False), ('{"disable_ollama_cloud": true} {}', False),
    (u'\ufeff{"disable_ollama_cloud": true}', False), ('{"disable_ollama_cloud": True}', False),
    ('{"disable_ollama_cloud": true, "x": 01}', False), ('{"disable_ollama_cloud": true, "x": .5}', False),
    ('{"disable_ollama_cloud": true, "x": "\\x41"}', False), ('{"disable_ollama_cloud": true, "x": "a\tb"}', False),
    ('{"disable_ollama_cloud": true, \'x\': 1}', False), ('{"disable_ollama_cloud": true, "x": 1e5, "y": -0.5E-3}', True),
    (' \r\n\t{"disable_ollama_cloud":true}\n', True), (u'\u00a0{"disable_ollama_cloud": true}', False),
    ("null", False), ("true", False), (b'{"disable_ollama_cloud": true}', True), (b'\xff{}', False),
])
def test_server_json_syntax_as_go_scans_it(text, expected):
    assert server_json_disables(text) is expected


def test_source_of():
    assert [source_of(e, c) for e, c in ((False, False), (True, False), (False, True), (True, True))] == [
        "none", "env", "config", "both"]


@pytest.mark.parametrize("body, expected", [
    (b'{"cloud":{"disabled":true,"source":"env"}}', {"disabled": True, "source": "env"}),
    ('{"cloud":{"disabled":false,"source":"none"}}', {"disabled": False, "source": "none"}),
    (b"404 page not found", None), (b'{"cloud":{}}', None), (b"[]", None), (b"\xff", None),
])
def test_parse_status(body, expected):
    assert parse_status(body) == expected


def test_remotes():
    assert remotes(None) == ["ollama.com"]
    assert remotes(" a.example.test, ,b.example.test ") == ["a.example.test", "b.example.test"]


def test_before_cloud_models():
    state = cloud_state("0.11.10", {}, None, key_exists=True)
    assert (state["enabled"], state["can_disable"], state["signed_in"]) == (False, False, "no")
    assert "predates cloud models" in state["reason"]


def test_cloud_models_without_a_switch_ignore_env_and_server_json():
    state = cloud_state("0.16.1", {"OLLAMA_NO_CLOUD": "1"}, '{"disable_ollama_cloud": true}')
    assert (state["enabled"], state["can_disable"], state["web_search"]) == (True, False, False)
    assert "no way to turn them off" in state["reason"]


@pytest.mark.parametrize("env, server_json, enabled, source", [
    ({}, None, True, "none"),
    ({"OLLAMA_NO_CLOUD": "1"}, None, False, "env"),
    ({"OLLAMA_NO_CLOUD": "0"}, '{"disable_ollama_cloud": true}', False, "config"),  # neither wins: either disables
    ({"OLLAMA_NO_CLOUD": "true"}, '{"disable_ollama_cloud": true}', False, "both"),
])
def test_switch_from_env_and_server_json(env, server_json, enabled, source):
    state = cloud_state("0.16.2", env, server_json)
    assert (state["enabled"], state["source"], state["next_start_enabled"]) == (enabled, source, enabled)


def test_the_servers_own_answer_wins_and_a_pending_restart_is_named():
    # server.json written after the start: the running server still has cloud on.
    state = cloud_state("0.20.0", {}, '{"disable_ollama_cloud": true}', status={"disabled": False, "source": "none"})
    assert (state["enabled"], state["source"], state["next_start_enabled"]) == (True, "none", False)
    assert "the next start turns cloud off" in state["reason"]


def test_next_start_uses_the_configured_environment():
    state = cloud_state("0.20.0", {}, None, config_env={"OLLAMA_NO_CLOUD": "1"})
    assert (state["enabled"], state["next_start_enabled"]) == (True, False)


def test_signed_in_is_never_guessed():
    assert cloud_state("0.20.0", {}, None, key_exists=True)["signed_in"] == "cannot tell"
    assert cloud_state("0.20.0", {}, None, key_exists=None)["signed_in"] == "cannot tell"
    state = cloud_state("0.20.0", {}, None, key_exists=False, home="/usr/share/ollama/")
    assert state["signed_in"] == "no" and state["server_json"] == "/usr/share/ollama/.ollama/server.json"


def test_unknown_version_cannot_tell():
    state = cloud_state(None, {}, None)
    assert state["enabled"] is None and state["can_disable"] is None
    assert state["reason"].startswith("version unknown")
