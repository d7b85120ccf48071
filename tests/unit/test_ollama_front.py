# -*- coding: utf-8 -*-
"""Credentials of the front (plugin_utils/ollama_front.py)."""

import warnings

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_front import (
    audited_port, check_address, front_plan, remove_default, upstream_port,
    credential_entries, derived_salt, sha512_crypt, audited_env, ollama_capacity)

KEY = "k" * 32


def test_sha512_crypt_matches_the_specification_vectors():
    # Test vectors of Drepper's "Unix crypt using SHA-256 and SHA-512".
    assert sha512_crypt("Hello world!", "saltstring") == (
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")
    assert sha512_crypt("Hello world!", "saltstringsaltst", rounds=10000) == (
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZe"
        "HBy/YTBmSK6H9qs/y3RnOaw5v.")


def test_sha512_crypt_matches_the_system_crypt():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        crypt = pytest.importorskip("crypt")
    for password in ("a", "correct horse battery staple", "ü" * 70, "x" * 200):
        salt = derived_salt("alice", "front", password)
        assert sha512_crypt(password, salt) == crypt.crypt(password, "$6$" + salt)


def test_salt_is_stable_and_depends_on_name_host_password():
    salt = derived_salt("alice", "front", "pw")
    assert salt == derived_salt("alice", "front", "pw") and len(salt) == 16
    assert len({salt, derived_salt("bob", "front", "pw"), derived_salt("alice", "h2", "pw"),
                derived_salt("alice", "front", "pw2")}) == 4


def test_entries_split_users_admins_and_keys():
    creds = [{"name": "alice", "role": "user", "password": "alice-password-1", "api_key": KEY},
             {"name": "root", "role": "admin", "password": "admin-password-1"},
             {"name": "ci", "api_key": "c" * 40}]
    out = credential_entries(creds, "front")
    assert [line.split(":")[0] for line in out["users_htpasswd"]] == ["alice", "root"]
    assert [line.split(":")[0] for line in out["admins_htpasswd"]] == ["root"]
    assert out["api_keys"] == [{"name": "alice", "role": "user", "key": KEY}, {"name": "ci", "role": "user", "key": "c" * 40}]
    assert out["names"] == {"alice": "user", "root": "admin", "ci": "user"}
    assert "alice-password-1" not in repr(out)
    assert credential_entries(creds, "front") == out  # idempotent


def test_names_that_differ_only_in_case_are_refused_by_name():
    # nginx's map compares strings in any case: "Alice" the admin and "alice"
    # the user would be one name to the front's maps (known names, admins).
    creds = [{"name": "alice", "role": "user", "api_key": KEY},
             {"name": "bob", "role": "user", "api_key": "b" * 30},
             {"name": "Alice", "role": "admin", "password": "alice-admin-password"}]
    with pytest.raises(ValueError) as err:
        credential_entries(creds, "front")
    assert str(err.value).startswith("credential Alice: name differs only in case from credential alice")
    assert KEY not in str(err.value) and "alice-admin-password" not in str(err.value)
    # Control: the same three with distinct names pass.
    creds[2]["name"] = "alicia"
    assert set(credential_entries(creds, "front")["names"]) == {"alice", "bob", "alicia"}


@pytest.mark.parametrize("creds, message", [
    ([{"name": "a b", "api_key": KEY}], "name must match"),
    ([{"name": "a", "api_key": KEY}, {"name": "a", "api_key": "z" * 30}], "duplicate name"),
    ([{"name": "a", "role": "root", "api_key": KEY}], "role must be"),
    ([{"name": "a"}], "needs a password"),
    ([{"name": "a", "password": "short"}], "at least 12"),
    ([{"name": "a", "api_key": "has space and ; quote\"" + "x" * 30}], "api_key must be"),
    ([{"name": "a", "api_key": "short"}], "api_key must be"),
    ([{"name": "a", "api_key": KEY}, {"name": "b", "api_key": KEY}], "already used"),
    (["not a mapping"], "not a mapping"),
    # Python's `$` matches before a final newline: such a name or key would
    # render, pass `nginx -t` and never match a request.
    ([{"name": "alice\n", "api_key": KEY}], "name must match"),
    ([{"name": "a", "api_key": KEY + "\n"}], "api_key must be"),
])
def test_bad_entries_are_refused_without_quoting_secrets(creds, message):
    with pytest.raises(ValueError) as err:
        credential_entries(creds, "front")
    assert message in str(err.value)
    for cred in creds:
        if isinstance(cred, dict) and cred.get("api_key"):
            assert cred["api_key"] not in str(err.value)



# -- the front's decisions (front_plan, check_address) -----------------------------------

def bind(port):
    return {"port": port, "scope": "wildcard"}


@pytest.mark.parametrize("facts,port", [
    ({}, 11434),
    (None, 11434),
    ({"services": [{"running_bind": None}, {"running_bind": bind(8080)}]}, 8080),
    ({"services": [{"running_bind": None}], "processes": [{"container": True, "bind": bind(1)},
                                                          {"container": False, "bind": bind(11500)}]}, 11500),
    ({"services": [{"running_bind": bind(0)}], "processes": [{"bind": None}],
      "containers": [{"ports": [{"public_port": 0}, {"public_port": 21434}]}]}, 21434),
    ({"services": [{"running_bind": bind(80)}], "containers": [{"ports": [{"public_port": 21434}]}]}, 80),
    ({"containers": [{"ports": []}, {}]}, 11434),
])
def test_audited_port_prefers_services_then_processes_then_containers(facts, port):
    assert audited_port(facts) == port


def test_upstream_port_is_the_setting_when_set_else_the_audited_port():
    facts = {"services": [{"running_bind": bind(8080)}]}
    assert upstream_port(0, facts) == 8080 and upstream_port("0", facts) == 8080
    assert upstream_port(11500, facts) == 11500 and upstream_port("11500", facts) == 11500
    assert upstream_port("nonsense", facts) == 8080 and upstream_port(None, {}) == 11434


@pytest.mark.parametrize("setting,port,expected", [
    ("auto", 80, True), ("auto", "443", True), ("auto", 11434, False),
    (True, 11434, True), ("yes", 11434, True), ("false", 80, False), (False, 443, False), ("no", 80, False),
])
def test_remove_default_site(setting, port, expected):
    assert remove_default(setting, port) is expected


@pytest.mark.parametrize("listen,address", [
    (["0.0.0.0", "[::]"], "127.0.0.1"), (["[::]"], "[::1]"), (["10.0.0.5", "[::]"], "[::1]"),
    (["10.0.0.5"], "10.0.0.5"), (["[fd00::5]", "10.0.0.5"], "[fd00::5]"), ([], ""),
])
def test_check_address(listen, address):
    assert check_address(listen) == address


def test_front_plan():
    facts = {"services": [{"running_bind": bind(80)}]}
    assert front_plan(facts, "127.0.0.1") == {"upstream_port": 80, "host_header": "127.0.0.1:80",
                                              "remove_default": True, "upstream_max_conns": 515}
    assert front_plan(facts, "[::1]", 11434, "auto") == {"upstream_port": 11434, "host_header": "[::1]:11434",
                                                         "remove_default": False, "upstream_max_conns": 515}
    assert front_plan(facts, max_conns=40)["upstream_max_conns"] == 40
    assert front_plan({}, "localhost", 0, "true")["remove_default"] is True


@pytest.mark.parametrize("env, capacity", [
    ({}, 1 * 3 + 512),
    ({"OLLAMA_NUM_PARALLEL": "4", "OLLAMA_MAX_LOADED_MODELS": "2", "OLLAMA_MAX_QUEUE": "64"}, 4 * 2 + 64),
    ({"OLLAMA_NUM_PARALLEL": "0", "OLLAMA_MAX_LOADED_MODELS": "", "OLLAMA_MAX_QUEUE": "junk"}, 1 * 3 + 512),
    ({"OLLAMA_MAX_QUEUE": "10"}, 3 + 10),
])
def test_ollama_capacity_uses_upstream_defaults_where_unset(env, capacity):
    assert ollama_capacity(env) == capacity


def test_max_conns_follow_the_service_on_the_upstream_port():
    facts = {"services": [
        {"running_bind": bind(11434), "running_env": {"OLLAMA_MAX_QUEUE": "20"}, "env": {"OLLAMA_MAX_QUEUE": "99"}},
        {"running_bind": None, "bind": bind(11500), "running_env": None, "env": {"OLLAMA_NUM_PARALLEL": "2"}},
    ]}
    assert audited_env(facts, 11434) == {"OLLAMA_MAX_QUEUE": "20"}  # what it runs with wins
    assert front_plan(facts)["upstream_max_conns"] == 3 + 20
    assert front_plan(facts, requested_port=11500)["upstream_max_conns"] == 2 * 3 + 512
    assert front_plan(facts, requested_port=11600)["upstream_max_conns"] == 515  # no service there: defaults
