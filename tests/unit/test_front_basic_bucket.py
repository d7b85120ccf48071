# -*- coding: utf-8 -*-
"""The front's per-credential limit key for basic auth (the
$ollama_front_cred_key map in roles/ollama_front/templates/ollama-front.conf.j2).

nginx decodes "Basic <base64>" with ngx_decode_base64: it stops at the first
"=", refuses a length of 1 mod 4 or a character outside the alphabet, and
ignores the unused low bits of the last character. Every spelling that
decodes to one user:password must get one key; different bytes, different
keys. The map's regexes are PCRE; Python's re reads these ones the same once
"(?<name>" is "(?P<name>" and "\\z" is "\\Z"."""

import base64
import os
import re
import string

import jinja2
import pytest

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TEMPLATE = os.path.join(REPO, "roles", "ollama_front", "templates", "ollama-front.conf.j2")
ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"


def cred_key_map():
    """[(regex or exact string, value)] of the map, in nginx's order: exact strings first, then regexes as written."""
    with open(TEMPLATE) as handle:
        text = handle.read()
    start = text.index('map "$ollama_front_rate_exempt:$ollama_front_bearer_name:$http_authorization" $ollama_front_cred_key {')
    block = text[start:text.index("\n}\n", start) + 3]
    rendered = jinja2.Template(block).render()
    exact, regexes = [], []
    for line in rendered.splitlines()[1:-1]:
        line = line.strip()
        if not line:
            continue
        match = re.match(r'^(default|"[^"]*")\s+"([^"]*)";$', line)
        assert match, line
        key, value = match.group(1), match.group(2)
        if key == "default":
            default = value
        elif key.startswith('"~'):
            pattern = key[2:-1].replace("(?<", "(?P<").replace("\\z", "\\Z")
            regexes.append((re.compile(pattern), value))
        else:
            exact.append((key[1:-1], value))
    return exact, regexes, default


EXACT, REGEXES, DEFAULT = cred_key_map()


def bucket(authorization, exempt="0", bearer=""):
    subject = "%s:%s:%s" % (exempt, bearer, authorization)
    for key, value in EXACT:
        if subject == key:
            return value
    for regex, value in REGEXES:
        match = regex.search(subject)
        if match:
            return re.sub(r"\$\{?(\w+)\}?", lambda m: match.group(m.group(1)), value)
    return DEFAULT


def nginx_decode(text):
    """ngx_decode_base64 (src/core/ngx_string.c): bytes, or None for an error."""
    length = 0
    while length < len(text) and text[length] != "=":
        if text[length] not in ALPHABET:
            return None
        length += 1
    if length % 4 == 1:
        return None
    values = [ALPHABET.index(c) for c in text[:length]]
    out = bytearray()
    for i in range(0, length, 4):
        chunk = values[i:i + 4]
        if len(chunk) > 1:
            out.append((chunk[0] << 2 | chunk[1] >> 4) & 0xFF)
        if len(chunk) > 2:
            out.append((chunk[1] << 4 | chunk[2] >> 2) & 0xFF)
        if len(chunk) > 3:
            out.append((chunk[2] << 6 | chunk[3]) & 0xFF)
    return bytes(out)


def spellings(credential):
    """Every Authorization value nginx decodes to `credential` that differs in
    the base64's last character, its padding, text after "=", "Basic"'s case
    and the spaces after it."""
    token = base64.b64encode(credential.encode()).decode().rstrip("=")
    lasts = [token[:-1] + c for c in ALPHABET if nginx_decode(token[:-1] + c) == credential.encode()]
    out = []
    for body in lasts:
        for scheme in ("Basic ", "bAsIc   ", "BASIC  "):
            for tail in ("", "=", "==", "=garbage", "=x=y"):
                out.append(scheme + body + tail)
    return lasts, out


@pytest.mark.parametrize("credential, variants", [
    ("alice:alice-Pa55word-4-front", 16),  # 28 bytes: 38 base64 characters, 2 mod 4
    ("alice:alice-Pa55word-4-front!", 4),  # 29 bytes: 3 mod 4
    ("bob:a-password-of-27-bytes!", 1),    # 27 bytes: no unused bits
    ("u:" + "p" * 401, 16),                # a long password (538 characters) still has its own bucket
])
def test_every_spelling_of_one_credential_has_one_bucket(credential, variants):
    lasts, values = spellings(credential)
    assert len(lasts) == variants  # what nginx's decoder makes of the last character
    for value in values:
        assert nginx_decode(value.split(None, 1)[1].lstrip(" ")) == credential.encode(), value
    keys = {bucket(value) for value in values}
    assert len(keys) == 1 and keys != {DEFAULT} and next(iter(keys)).startswith("basic:"), keys


def test_different_credentials_have_different_buckets():
    creds = ["alice:alice-Pa55word-4-front", "alice:alice-Pa55word-4-fronu", "alice:alice-Pa55word-4-fron",
             "alicf:alice-Pa55word-4-front", "bob:a-password-of-27-bytes", "bob:a-password-of-27-bytez"]
    keys = [bucket("Basic " + base64.b64encode(c.encode()).decode()) for c in creds]
    assert len(set(keys)) == len(creds), keys


def test_other_values_share_one_bucket_and_keys_and_exempt_addresses_keep_theirs():
    assert bucket("Basic YWxp!2U6cHc=") == bucket("Basic Y") == bucket("Bearer nothing") == DEFAULT == "other"
    assert bucket("") == ""                              # no Authorization: the address's limit only
    assert bucket("Bearer x", bearer="alice") == "key:alice"
    assert bucket("Basic YWxpY2U6cHc=", exempt="1") == ""
