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
* ``wall_plan``: the front's plan (the ``wall_plan('front', ...)`` filter):
  all of the above, the host:port strings nginx and the check use, the OS's
  packages and paths, the files to render and the stamp (fast path).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

try:
    from collections.abc import Mapping
except ImportError:  # Python 2
    from collections import Mapping

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import DEFAULT_PORT, join_host_port
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_servers import SERVERS
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_wall import check_context, stamp

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
    return {"upstream_port": port, "host_header": host_port(upstream_host, port),
            "remove_default": remove_default(remove_default_site, port), "upstream_max_conns": conns}


# -- The front's plan (filter wall_plan('front', options, context)) --------------------------

STAMP_NAME = "ollama_front"
# Bump when the role's tasks change what they leave on a host: every stamp
# made before then no longer matches.
STAMP_VERSION = 2
STAMP_UNITS = ("nginx.service",)
# What the inputs digest leaves out of the options: the secrets (they enter
# hashed) and the check, which writes nothing.
_NOT_INPUTS = ("ollama_front_credentials", "ollama_front_tls_key", "ollama_front_verify", "ollama_front_plan")
# os-release IDs (ID, then ID_LIKE) of each family the role knows, as
# Ansible's os_family names them.
OS_FAMILIES = (
    ("Debian", ("debian", "ubuntu", "raspbian", "linuxmint", "devuan", "kali", "pop")),
    ("RedHat", ("rhel", "centos", "fedora", "rocky", "almalinux", "ol", "amzn", "scientific", "cloudlinux")),
)


def host_port(host, port):
    """``host:port`` for nginx and URLs, the IPv6 literal in brackets: the
    front's addresses are written with their brackets ("[::]", "[::1]"), or
    without; one rule (module_utils/ollama_host.py: join_host_port)."""
    host = str(host)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return join_host_port(host, port)


def os_family(os_release):
    """The family (``Debian``, ``RedHat``) of the audit's /etc/os-release
    (ID, then each ID_LIKE), or None for a system the role does not know."""
    os_release = os_release if isinstance(os_release, Mapping) else {}
    ids = [str(os_release.get("ID") or "").lower()] + str(os_release.get("ID_LIKE") or "").lower().split()
    for name in ids:
        for family, members in OS_FAMILIES:
            if name in members:
                return family
    return None


def check_credential(credentials, self_signed):
    """What OLLAMA-FRONT-007 sends: ``{"name", "send"}`` (``api_key`` or
    ``password``) of one credential - a bearer key, else a password, a
    user's before an admin's - or None: with a
    certificate given by the operator (whose chain the host may not trust
    for a loopback address) no credential is sent, and the check expects
    401. Names only: the task takes the secret from the credential list."""
    if not self_signed:
        return None
    creds = [c for c in credentials or [] if isinstance(c, Mapping)]
    by_role = ([c for c in creds if "role" not in c] + [c for c in creds if "role" in c and c["role"] == "user"]
               + [c for c in creds if "role" in c and c["role"] == "admin"])
    for field in ("api_key", "password"):
        found = [c for c in by_role if field in c]
        if found:
            return {"name": found[0].get("name"), "send": field}
    return None


# -- The other model servers behind the front (ollama_front_backends) ----------------------

# The OpenAI-compatible kinds of module_utils/ollama_servers.py SERVERS the
# front can front; each has its endpoint policy in the role's vars/main.yml
# (__ollama_front_backend_endpoints).
BACKEND_KINDS = ("vllm", "llama-server", "localai", "tgi")
BACKEND_FIELDS = ("kind", "port", "upstream_port", "upstream_host")
_UPSTREAM_HOST_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*|[A-Za-z0-9]([A-Za-z0-9.-]{0,252}))\Z")


def _port_value(value):
    """A TCP port (1-65535) as an int, or None: booleans and fractions are not ports."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and 1 <= value <= 65535:
        return value
    return None


def backend_plan(backends, front_port, ollama_port, listen, policies):
    """The servers the front fronts besides Ollama (``ollama_front_backends``):
    each entry checked and completed, in order. Returns a list of
    {``kind``, ``title``, ``port`` (the front's TLS port for it), ``listen``
    (host:port strings), ``upstream_host``, ``upstream_port``, ``upstream``
    (host:port, also the Host header), ``name`` (nginx's upstream),
    ``endpoints`` (the kind's policy from ``policies``), ``cloud`` (False:
    the cloud-model check is Ollama's)}.

    Raises ValueError naming the entry and the field
    (``ollama_front_backends[1].port: ...``) for an unknown kind or field, a
    port out of range, a port of the front that another front (Ollama's, a
    backend's) or an upstream on this host already takes."""
    if backends in (None, ""):
        backends = []
    if not isinstance(backends, list):
        raise ValueError("ollama_front_backends: must be a list of {kind, port, upstream_port, upstream_host}")
    policies = policies if isinstance(policies, Mapping) else {}
    front_port = _port_value(front_port)
    planned, taken = [], {}
    if front_port:
        taken[front_port] = "ollama_front_port"
    for index, entry in enumerate(backends):
        where = "ollama_front_backends[%d]" % index
        if not isinstance(entry, Mapping):
            raise ValueError("%s: must be a mapping {kind, port, upstream_port, upstream_host}" % where)
        unknown = sorted(str(k) for k in entry if k not in BACKEND_FIELDS)
        if unknown:
            raise ValueError("%s: unknown field %s (known: %s)" % (where, ", ".join(unknown), ", ".join(BACKEND_FIELDS)))
        kind = entry.get("kind")
        if kind not in BACKEND_KINDS or kind not in SERVERS:
            raise ValueError("%s.kind: %r is not one of %s" % (where, kind, ", ".join(BACKEND_KINDS)))
        if not policies.get(kind):
            raise ValueError("%s.kind: no endpoint policy for %s (roles/ollama_front/vars/main.yml)" % (where, kind))
        if entry.get("port") is None:
            raise ValueError("%s.port: required (the front's TLS port for this %s)" % (where, SERVERS[kind]["title"]))
        port = _port_value(entry.get("port"))
        if port is None:
            raise ValueError("%s.port: %r is not a port (1-65535)" % (where, entry.get("port")))
        raw_upstream = entry.get("upstream_port")
        upstream_port_ = SERVERS[kind]["port"] if raw_upstream in (None, "", 0) else _port_value(raw_upstream)
        if upstream_port_ is None:
            raise ValueError("%s.upstream_port: %r is not a port (1-65535)" % (where, raw_upstream))
        upstream_host = entry.get("upstream_host")
        upstream_host = "127.0.0.1" if upstream_host in (None, "") else upstream_host
        if not isinstance(upstream_host, str) or not _UPSTREAM_HOST_RE.match(upstream_host):
            raise ValueError("%s.upstream_host: %r is not an IP address or a host name" % (where, upstream_host))
        if port in taken:
            raise ValueError("%s.port: %d is already taken by %s" % (where, port, taken[port]))
        planned.append({"kind": kind, "title": SERVERS[kind]["title"], "port": port,
                        "listen": [host_port(address, port) for address in listen or []],
                        "upstream_host": upstream_host, "upstream_port": upstream_port_,
                        "upstream": host_port(upstream_host, upstream_port_),
                        "name": "ollama_front_backend_%d" % port, "endpoints": list(policies[kind]),
                        "cloud": False})
        taken[port] = "%s.port" % where
    # A front's port may not be a port a server behind the front listens on
    # (nginx would fail to bind it, or the front would shadow the server).
    upstreams = [("ollama_front_upstream_port", _port_value(ollama_port))]
    upstreams += [("ollama_front_backends[%d].upstream_port" % i, b["upstream_port"]) for i, b in enumerate(planned)]
    for index, item in enumerate(planned):
        for name, upstream in upstreams:
            if upstream == item["port"]:
                raise ValueError("ollama_front_backends[%d].port: %d is the port of a server behind the front (%s)"
                                 % (index, item["port"], name))
    return planned


def _need(context, key):
    if key not in context:
        raise ValueError("wall_plan('front'): context lacks %s (roles/ollama_front/vars/main.yml)" % key)
    return context[key]


def wall_plan(facts, options, context):
    """The front's plan from the audit's read (``facts``), its
    ``ollama_front_*`` variables (``options``) and the role's data
    (``context``: ``endpoints``, ``ciphers``, ``files`` to render,
    ``stamp_paths``, ``families``; plugin_utils/ollama_wall.py for the rest).

    Returns, besides ``wall``, ``in_place``, ``stamp`` and ``settled``:
    ``upstream_port``, ``host_header``, ``remove_default``,
    ``upstream_max_conns`` (front_plan); ``listen`` (each address joined with
    the front's port) and ``check`` (OLLAMA-FRONT-007: ``url``,
    ``self_signed``, the credential's ``name`` and what to ``send`` of it,
    ``status``); ``credentials`` (checked, the
    passwords hashed: the task keeps no_log); ``os_family``, ``packages``
    (with the njs module when ollama_front_refuse_cloud_models),
    ``njs_available``, ``nginx_group``, ``remove_sites`` (the default site,
    where it goes), ``selinux``; and
    ``files`` (what OLLAMA-FRONT-003 renders, each with its group);
    ``backends`` (backend_plan: the other servers fronted, with their
    policy from ``context["backend_endpoints"]``). Raises ValueError naming
    the variable on a bad credential list or backend."""
    facts = facts if isinstance(facts, Mapping) else {}
    options = dict(options or {})
    context = check_context(context)
    host = str(context["host"])
    try:
        credentials = credential_entries(options.get("ollama_front_credentials"), host)
    except ValueError as exc:
        raise ValueError("ollama_front_credentials: %s" % exc)
    core = front_plan(facts, options.get("ollama_front_upstream_host", "127.0.0.1"),
                      options.get("ollama_front_upstream_port", 0),
                      options.get("ollama_front_remove_default_site", "auto"),
                      options.get("ollama_front_upstream_max_conns", 0))
    port = options.get("ollama_front_port")
    listen = list(options.get("ollama_front_listen") or [])

    family = os_family(facts.get("os"))
    os_data = dict((_need(context, "families") or {}).get(family) or {})
    refuse_cloud = _bool(options.get("ollama_front_refuse_cloud_models", False))
    njs = list(os_data.get("njs_packages") or [])
    packages = list(os_data.get("packages") or []) + (njs if refuse_cloud else [])
    nginx_group = os_data.get("nginx_group")
    default_site = os_data.get("default_site") or ""
    files = [dict(f, group=nginx_group if f.get("nginx_reads") else "root") for f in _need(context, "files")]
    policies = context.get("backend_endpoints") or {}
    backends = backend_plan(options.get("ollama_front_backends"), port, core["upstream_port"], listen, policies)

    tls_key = options.get("ollama_front_tls_key") or ""
    inputs = {
        "vars": dict((k, v) for k, v in options.items() if k not in _NOT_INPUTS),
        "credentials": credentials,
        "tls_key": hashlib.sha256(str(tls_key).encode("utf-8")).hexdigest(),
        "host": [host, str(context["ansible_host"])],
        "addresses": [facts.get("addresses"), facts.get("addresses_skipped")],
        "plan": core,
        "endpoints": _need(context, "endpoints"),
        "ciphers": _need(context, "ciphers"),
    }
    if backends:
        # Only with backends: a front without them keeps its stamp.
        inputs["backends"] = backends
    remove_sites = [default_site] if core["remove_default"] and default_site else []
    stamp_files = list(_need(context, "stamp_paths")) + [f["dest"] for f in files] + remove_sites
    made = stamp(STAMP_NAME, STAMP_VERSION, inputs, facts, context, files=stamp_files, units=STAMP_UNITS,
                 prefix="OLLAMA-FRONT")
    self_signed = not options.get("ollama_front_tls_cert")
    credential = check_credential(options.get("ollama_front_credentials"), self_signed)
    check = {"url": "https://%s/api/version" % host_port(check_address(listen), port), "self_signed": self_signed,
             "name": (credential or {}).get("name") or "", "send": (credential or {}).get("send") or "",
             "status": [200] if credential else [401]}
    for backend in backends:
        # OLLAMA-FRONT-007 asks each backend's front for its first read route
        # without a credential: 401 says the front is up and asks for one
        # (whether the server behind it answers or not).
        route = next(ep["path"] for ep in backend["endpoints"] if "path" in ep and "GET" in ep.get("methods", []))
        backend["check_url"] = "https://%s%s" % (host_port(check_address(listen), backend["port"]), route)
    plan = dict(core)
    plan.update({
        "wall": "front",
        "in_place": made["in_place"],
        "stamp": made,
        "settled": True,
        "listen": [host_port(address, port) for address in listen],
        "check": check,
        "credentials": credentials,
        "os_family": family,
        "packages": packages,
        "njs_available": bool(njs),
        "nginx_group": nginx_group,
        "remove_sites": remove_sites,
        "selinux": bool(os_data.get("selinux")),
        "files": files,
        "backends": backends,
    })
    return plan
