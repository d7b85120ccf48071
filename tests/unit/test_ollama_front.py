# -*- coding: utf-8 -*-
"""Credentials of the front (plugin_utils/ollama_front.py)."""

import warnings

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_front import (
    credential_entries, derived_salt, sha512_crypt)

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
])
def test_bad_entries_are_refused_without_quoting_secrets(creds, message):
    with pytest.raises(ValueError) as err:
        credential_entries(creds, "front")
    assert message in str(err.value)
    for cred in creds:
        if isinstance(cred, dict) and cred.get("api_key"):
            assert cred["api_key"] not in str(err.value)
