# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials of the authenticating front (roles/ollama_front).

* ``sha512_crypt``: the glibc ``$6$`` password hash (what nginx's
  auth_basic_user_file checks through crypt(3)), in pure Python: the
  controller needs neither passlib nor the ``crypt`` module (gone in 3.13).
* ``front_plan`` (``audited_port``, ``upstream_port``, ``remove_default``)
  and ``check_address``: the decisions of the role from the audit and its
  variables - the port Ollama answers on, the upstream Host header, whether
  the distribution's default site goes, the address the check calls.
* ``credential_entries``: checks the credential list and turns it into the
  lines of the files the role renders (htpasswd for users and for admins,
  the bearer-key map), with a salt derived from the credential name and the
  host, so that a second run renders the same bytes (idempotence) and a
  changed password a new hash.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

try:
    from collections.abc import Mapping
except ImportError:  # Python 2
    from collections import Mapping

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import DEFAULT_PORT

ROLES = ("user", "admin")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}\Z")
# Bearer keys go into an nginx map as a regex: keep them to the URL-safe
# base64 alphabet (what `openssl rand -base64url`, secrets.token_urlsafe and
# OpenAI-style "sk-..." keys use), long enough to resist guessing.
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{24,256}\Z")
_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SALT_RE = re.compile(r"^[./0-9A-Za-z]{1,16}\Z")
# The byte order of the final base-64 encoding of SHA-512-crypt.
_ORDER = [(0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26), (6, 27, 48),
          (28, 49, 7), (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32), (12, 33, 54), (34, 55, 13),
          (56, 14, 35), (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60), (40, 61, 19), (62, 20, 41)]


def _b64(b2, b1, b0, count):
    value = (b2 << 16) | (b1 << 8) | b0
    out = []
    for _i in range(count):
        out.append(_ALPHABET[value & 0x3F])
        value >>= 6
    return "".join(out)


def sha512_crypt(password, salt, rounds=5000):
    """``$6$salt$hash`` as glibc's crypt() computes it (Drepper's specification)."""
    if not _SALT_RE.match(salt):
        raise ValueError("salt must be 1-16 characters of [./0-9A-Za-z]")
    if not 1000 <= rounds <= 999999999:
        raise ValueError("rounds must be 1000-999999999")
    pw = password.encode("utf-8") if not isinstance(password, bytes) else password
    sa = salt.encode("ascii")
    alt = hashlib.sha512(pw + sa + pw).digest()
    ctx = hashlib.sha512(pw + sa)
    length = len(pw)
    while length > 64:
        ctx.update(alt)
        length -= 64
    ctx.update(alt[:length])
    length = len(pw)
    while length:
        ctx.update(alt if length & 1 else pw)
        length >>= 1
    digest_a = ctx.digest()
    dp = hashlib.sha512(pw * len(pw)).digest()
    p_bytes = (dp * (len(pw) // 64 + 1))[:len(pw)]
    ds = hashlib.sha512(sa * (16 + digest_a[0])).digest()
    s_bytes = (ds * (len(sa) // 64 + 1))[:len(sa)]
    current = digest_a
    for i in range(rounds):
        ctx = hashlib.sha512()
        ctx.update(p_bytes if i & 1 else current)
        if i % 3:
            ctx.update(s_bytes)
        if i % 7:
            ctx.update(p_bytes)
        ctx.update(current if i & 1 else p_bytes)
        current = ctx.digest()
    encoded = "".join(_b64(current[a], current[b], current[c], 4) for a, b, c in _ORDER)
    encoded += _b64(0, 0, current[63], 2)
    prefix = "$6$" if rounds == 5000 else "$6$rounds=%d$" % rounds
    return prefix + salt + "$" + encoded


def derived_salt(name, host, password):
    """16 salt characters, stable for (name, host, password): reruns render the same file."""
    digest = hashlib.sha256(("ollama-front\0%s\0%s\0%s" % (name, host, password)).encode("utf-8")).digest()
    return "".join(_ALPHABET[b & 0x3F] for b in digest[:16])


def credential_entries(credentials, host):
    """Check the credential list; return what the role renders.

    Returns a dict with ``users_htpasswd`` (every credential with a password,
    one ``name:$6$...`` line each), ``admins_htpasswd`` (admins only),
    ``api_keys`` (a list of {name, role, key} for the bearer map) and ``names``
    (name -> role). Raises ValueError naming the first bad entry, without
    ever quoting a secret.
    """
    users, admins, keys, names = [], [], [], {}
    seen_keys = set()
    for index, cred in enumerate(credentials or []):
        if not isinstance(cred, dict):
            raise ValueError("credential #%d is not a mapping" % index)
        name = cred.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ValueError("credential #%d: name must match %s" % (index, NAME_RE.pattern))
        if name in names:
            raise ValueError("credential %s: duplicate name" % name)
        # nginx's map matches strings in any case: the front's maps of known
        # user names and of admins would take "Alice" for "alice".
        same = [other for other in names if other.lower() == name.lower()]
        if same:
            raise ValueError("credential %s: name differs only in case from credential %s (the front's nginx maps "
                             "compare names in any case)" % (name, same[0]))
        role = cred.get("role", "user")
        if role not in ROLES:
            raise ValueError("credential %s: role must be user or admin" % name)
        password, key = cred.get("password"), cred.get("api_key")
        if not password and not key:
            raise ValueError("credential %s: needs a password, an api_key or both" % name)
        if password:
            if not isinstance(password, str) or len(password) < 12:
                raise ValueError("credential %s: password must be a string of at least 12 characters" % name)
            line = "%s:%s" % (name, sha512_crypt(password, derived_salt(name, host, password)))
            users.append(line)
            if role == "admin":
                admins.append(line)
        if key:
            if not isinstance(key, str) or not KEY_RE.match(key):
                raise ValueError("credential %s: api_key must be 24-256 characters of [A-Za-z0-9_-]" % name)
            if key in seen_keys:
                raise ValueError("credential %s: api_key already used by another credential" % name)
            seen_keys.add(key)
            keys.append({"name": name, "role": role, "key": key})
        names[name] = role
    return {"users_htpasswd": users, "admins_htpasswd": admins, "api_keys": keys, "names": names}



# -- The front's decisions (filters ollama_front_plan, ollama_front_check_address) ---------

_TRUE = ("yes", "on", "true", "1")
_FALSE = ("no", "off", "false", "0")


def _int(value):
    """Jinja's ``int`` filter: a whole number, 0 when it is none."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


def _bool(value):
    """Ansible's ``bool`` filter on the values it knows."""
    text = str(value).lower() if isinstance(value, (str, int)) else value
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return value == 1


def audited_port(facts, default=DEFAULT_PORT):
    """The port Ollama answers on, from the audit: a running service's, else
    a hand-started process's, else a Docker container's published port (the
    front then reaches it through Docker's proxy on loopback); ``default``
    when the audit saw none."""
    facts = facts or {}
    ports = [(s.get("running_bind") or {}).get("port") for s in facts.get("services") or []
             if isinstance(s.get("running_bind"), Mapping)]
    ports += [p["bind"].get("port") for p in facts.get("processes") or []
              if not p.get("container") and isinstance(p.get("bind"), Mapping)]
    ports += [published.get("public_port") for c in facts.get("containers") or [] for published in c.get("ports") or []]
    return next((port for port in ports if port), default)


def upstream_port(requested, facts):
    """``ollama_front_upstream_port`` when set (> 0), else the audited port."""
    return _int(requested) if _int(requested) > 0 else audited_port(facts)


def remove_default(setting, port):
    """Whether to disable the distribution's default site: ``auto`` when
    Ollama uses port 80 or 443 (the default site would clash), else the
    setting as a boolean."""
    if setting == "auto":
        return _int(port) in (80, 443)
    return _bool(setting)


def check_address(listen):
    """The address the front's check calls: loopback when the front listens
    on every address, else its first listen address."""
    listen = list(listen or [])
    if "0.0.0.0" in listen:
        return "127.0.0.1"
    if "[::]" in listen:
        return "[::1]"
    return listen[0] if listen else ""


# Upstream's defaults (envconfig): requests run at once per loaded model,
# models loaded at once (0 is 3 per GPU, or 3 on the CPU), requests queued
# before Ollama answers 503.
OLLAMA_CAPACITY_DEFAULTS = {"OLLAMA_NUM_PARALLEL": 1, "OLLAMA_MAX_LOADED_MODELS": 3, "OLLAMA_MAX_QUEUE": 512}


def audited_env(facts, port):
    """OLLAMA_* environment of the audited service answering on ``port``
    (what it runs with, else what systemd will give it), else {}."""
    for svc in (facts or {}).get("services") or []:
        running = svc.get("running_bind") if isinstance(svc.get("running_bind"), Mapping) else {}
        bind = svc.get("bind") if isinstance(svc.get("bind"), Mapping) else {}
        if port in (running.get("port"), bind.get("port")):
            return svc.get("running_env") or svc.get("env") or {}
    return {}


def ollama_capacity(env):
    """Requests Ollama takes before it answers 503: NUM_PARALLEL x
    MAX_LOADED_MODELS running + MAX_QUEUE queued; unset, empty, zero or
    unreadable values count as upstream's defaults."""
    values = {}
    for name, default in OLLAMA_CAPACITY_DEFAULTS.items():
        value = _int((env or {}).get(name))
        values[name] = value if value > 0 else default
    return values["OLLAMA_NUM_PARALLEL"] * values["OLLAMA_MAX_LOADED_MODELS"] + values["OLLAMA_MAX_QUEUE"]


def front_plan(facts, upstream_host="127.0.0.1", requested_port=0, remove_default_site="auto", max_conns=0):
    """The front's decisions from the audit's facts and the role's variables:
    ``upstream_port``, ``host_header`` (what Ollama's loopback Host check
    accepts), ``remove_default`` (the default site goes) and
    ``upstream_max_conns`` (``max_conns`` when set, else what the audited
    service can run and queue)."""
    port = upstream_port(requested_port, facts)
    conns = _int(max_conns) if _int(max_conns) > 0 else ollama_capacity(audited_env(facts, port))
    return {"upstream_port": port, "host_header": "%s:%s" % (upstream_host, port),
            "remove_default": remove_default(remove_default_site, port), "upstream_max_conns": conns}
