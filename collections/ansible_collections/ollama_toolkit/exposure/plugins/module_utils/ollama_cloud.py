# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether an Ollama server's cloud features are on, as upstream decides it.

Pure: values in, a verdict out (the audit module reads the files and asks
the server). Upstream, read up to v0.33.0-rc2:

* cloud models (the remote proxy, ``POST /api/me``, ``DELETE
  /api/user/keys/:key``) came with v0.12.0, ``POST /api/signout`` with
  v0.12.1, ``/api/experimental/web_search`` and ``web_fetch`` with v0.18.0;
* v0.16.2 added the switch (PR #14221): ``envconfig.NoCloud()`` is
  ``OLLAMA_NO_CLOUD`` (``envconfig.Bool``: trimmed, quotes stripped, empty
  is false, ``strconv.ParseBool``, anything else unparsable is *true*) OR
  ``disable_ollama_cloud`` of ``$HOME/.ollama/server.json`` (read once per
  process, as Go's json.Unmarshal reads it: see server_json_disables;
  a missing or broken file is false). Neither
  wins over the other: either one turns cloud off. ``GET /api/status``
  answers ``{"cloud": {"disabled": bool, "source": "none|env|config|both"}}``;
* before v0.16.2 nothing turns cloud off (the variable and the file are
  ignored) and ``/api/status`` is 404;
* a signed-in server is one whose key (``$HOME/.ollama/id_ed25519``,
  created by ``ollama serve`` at its first start) ollama.com has
  registered: that is known only to ollama.com (``POST /api/me``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re


def version_tuple(text):
    """'v0.1.29-rc2' -> (0, 1, 29, -1); None when it is not a version."""
    match = re.match(r"^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.]+)?", text or "")
    if not match:
        return None
    parts = tuple(int(p or 0) for p in match.group(1, 2, 3))
    # A pre-release sorts before its release.
    return parts + ((-1,) if match.group(4) else (0,))


CLOUD_SINCE = "0.12.0"
NO_CLOUD_SINCE = "0.16.2"
WEB_SEARCH_SINCE = "0.18.0"
DEFAULT_REMOTES = ["ollama.com"]
SOURCES = ("none", "env", "config", "both")

_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def env_bool(value):
    """envconfig.Bool(k)(): Var() trims spaces then quotes; empty is false;
    strconv.ParseBool; a value it cannot parse counts as true."""
    text = (value or "").strip().strip("\"'")
    if not text:
        return False
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return True


# Go's encoding/json, as upstream's envconfig.loadServerConfig uses it:
# json.Unmarshal(data, &cfg) into struct{DisableOllamaCloud bool
# `json:"disable_ollama_cloud,omitempty"`}, and cfg is kept even when
# Unmarshal returns an error (the error is only logged at debug level).
# * The whole text is checked first (scanner.go checkValid): any syntax
#   error (NaN, Infinity, a trailing comma, a BOM, nesting deeper than
#   10000, anything after the value) leaves cfg untouched: false.
# * Keys match the field exactly or, failing that, under foldName
#   (fold.go: ASCII case, and each other rune to the smallest of its
#   unicode.SimpleFold orbit, so U+017F long s matches s and U+212A Kelvin
#   sign k). Every matching key is decoded in order.
# * For a bool field: true/false set it; null is ignored (decode.go
#   literalStore: "ignore null for primitives/string"); a string, number,
#   object or array is an UnmarshalTypeError that is saved while decoding
#   goes on, leaving the field as it was. A top-level value that is not an
#   object leaves cfg zero.
GO_JSON_MAX_DEPTH = 10000
SERVER_JSON_FIELD = "disable_ollama_cloud"
_GO_WS = " \t\n\r"
_GO_STRING_RE = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_GO_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_GO_LITERALS = ("true", "false", "null")
# The non-ASCII runes whose simple-fold orbit holds an ASCII letter.
_GO_FOLD_TO_ASCII = {"\u017f": "S", "\u212a": "K"}


def go_fold_name(name):
    """encoding/json's foldName, for the runes that matter to an ASCII
    field name: ASCII letters upper-cased, U+017F and U+212A to S and K;
    any other rune cannot fold onto ASCII and is kept."""
    return "".join(_GO_FOLD_TO_ASCII.get(char, char.upper() if char < "\x80" else char) for char in name)


def go_json_top_members(text):
    """Check `text` as Go's json.Unmarshal does before decoding anything
    (scanner.go, iteratively: no recursion limit below Go's 10000 levels)
    and return the top-level value's kind ("object", "array", "string",
    "number", "true", "false", "null") with, for an object, its members in
    order as (key, kind of the value). ValueError when Go refuses the text."""
    n, pos, stack, members = len(text), 0, [], []
    top, key, expect = None, None, "value"
    while True:
        while pos < n and text[pos] in _GO_WS:
            pos += 1
        char = text[pos] if pos < n else ""
        if expect == "value":
            if char in ("{", "["):
                kind = "object" if char == "{" else "array"
            elif char == '"':
                kind = "string"
            elif char == "-" or char.isdigit() and char < "\x80":
                kind = "number"
            else:
                kind = next((word for word in _GO_LITERALS if text.startswith(word, pos)), None)
                if kind is None:
                    raise ValueError("invalid character at offset %d" % pos)
            if top is None:
                top = kind
            elif len(stack) == 1 and stack[0] == "{":
                members.append((key, kind))
            if kind in ("object", "array"):
                stack.append(char)
                if len(stack) > GO_JSON_MAX_DEPTH:
                    raise ValueError("exceeded max depth")
                pos += 1
                while pos < n and text[pos] in _GO_WS:
                    pos += 1
                if pos < n and text[pos] == ("}" if char == "{" else "]"):
                    stack.pop()
                    pos += 1
                    expect = "end"
                else:
                    expect = "key" if char == "{" else "value"
                continue
            match = (_GO_STRING_RE if kind == "string" else _GO_NUMBER_RE).match(text, pos) \
                if kind in ("string", "number") else None
            if kind in ("string", "number") and not match:
                raise ValueError("invalid %s at offset %d" % (kind, pos))
            pos = match.end() if match else pos + len(kind)
            expect = "end"
        elif expect == "key":
            match = _GO_STRING_RE.match(text, pos)
            if not match:
                raise ValueError("invalid object key at offset %d" % pos)
            key = json.loads(match.group(0))
            pos = match.end()
            while pos < n and text[pos] in _GO_WS:
                pos += 1
            if pos >= n or text[pos] != ":":
                raise ValueError("missing ':' at offset %d" % pos)
            pos += 1
            expect = "value"
        else:  # after a value
            if not stack:
                if pos < n:
                    raise ValueError("invalid character after the top-level value at offset %d" % pos)
                return top, members
            if char == ",":
                pos += 1
                expect = "key" if stack[-1] == "{" else "value"
            elif char == ("}" if stack[-1] == "{" else "]"):
                stack.pop()
                pos += 1
            else:
                raise ValueError("invalid character at offset %d" % pos)


def server_json_disables(text):
    """``disable_ollama_cloud`` of a server.json text as upstream's
    envconfig leaves it after Go's json.Unmarshal (see above): False for
    text Go refuses or that is not an object, else the last true/false
    among the keys that match the field (exactly or case-folded), nulls and
    values of another type leaving the one before; None when there is no
    file (``text`` None)."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        top, members = go_json_top_members(text)
    except ValueError:
        return False
    value, folded = False, go_fold_name(SERVER_JSON_FIELD)
    for key, kind in members if top == "object" else []:
        if key == SERVER_JSON_FIELD or go_fold_name(key) == folded:
            if kind in ("true", "false"):
                value = kind == "true"
    return value


def source_of(env_disabled, config_disabled):
    """envconfig.NoCloudSource()."""
    if env_disabled and config_disabled:
        return "both"
    if env_disabled:
        return "env"
    if config_disabled:
        return "config"
    return "none"


def parse_status(body):
    """``{"disabled": bool, "source": str}`` from a ``GET /api/status`` body, or None."""
    try:
        data = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    cloud = data.get("cloud") if isinstance(data, dict) else None
    if not isinstance(cloud, dict) or not isinstance(cloud.get("disabled"), bool):
        return None
    return {"disabled": cloud["disabled"], "source": str(cloud.get("source", ""))}


def remotes(value):
    """OLLAMA_REMOTES (envconfig.Remotes): comma-separated hosts, default ollama.com."""
    hosts = [h.strip() for h in (value or "").strip().strip("\"'").split(",") if h.strip()]
    return hosts or list(DEFAULT_REMOTES)


def _at_least(version, floor):
    current = version_tuple(version)
    return None if current is None else current >= version_tuple(floor)


def cloud_state(version, env, server_json, status=None, key_exists=None, home=None, config_env=None):
    """The cloud verdict of one Ollama server.

    ``version``: what /api/version answered (None: unknown); ``env``: the
    OLLAMA_* environment it runs with; ``server_json``: the text of
    ``$HOME/.ollama/server.json`` (None: no file); ``status``: the parsed
    ``/api/status`` answer on its own address (None: not asked or no
    answer); ``key_exists``: whether ``$HOME/.ollama/id_ed25519`` exists;
    ``config_env``: the environment of its next start (default ``env``).

    Returns ``enabled`` (True, False or None when it cannot be told),
    ``source`` (upstream's none/env/config/both), ``can_disable``,
    ``web_search``, ``env_disabled``, ``config_disabled``, ``status``,
    ``next_start_enabled``, ``remotes``, ``signed_in`` ("no" or "cannot
    tell"), ``server_json`` (its path) and ``reason``.
    """
    env = env or {}
    config_env = env if config_env is None else config_env
    env_disabled = env_bool(env.get("OLLAMA_NO_CLOUD"))
    config_disabled = bool(server_json_disables(server_json))
    has_cloud = _at_least(version, CLOUD_SINCE)
    can_disable = _at_least(version, NO_CLOUD_SINCE)
    state = {
        "version": version,
        "enabled": None,
        "source": None,
        "can_disable": can_disable,
        "web_search": _at_least(version, WEB_SEARCH_SINCE),
        "env_disabled": env_disabled,
        "config_disabled": config_disabled,
        "status": status,
        "next_start_enabled": None,
        "remotes": remotes(env.get("OLLAMA_REMOTES")),
        "server_json": ("%s/.ollama/server.json" % home.rstrip("/")) if home else None,
        "signed_in": "no" if key_exists is False else "cannot tell",
    }
    if key_exists is False:
        signin = "no key at $HOME/.ollama/id_ed25519: the server cannot sign requests to ollama.com"
    else:
        signin = "only ollama.com knows whether the server's key is signed in"
    if has_cloud is None:
        state["reason"] = "version unknown: cannot tell whether this Ollama has cloud features; " + signin
        return state
    if not has_cloud:
        state.update(enabled=False, source="none", next_start_enabled=False, signed_in="no",
                     reason="Ollama %s predates cloud models (%s)" % (version, CLOUD_SINCE))
        return state
    if not can_disable:
        state.update(enabled=True, source="none", next_start_enabled=True,
                     reason="Ollama %s has cloud models and no way to turn them off (OLLAMA_NO_CLOUD and "
                            "server.json came with %s); %s" % (version, NO_CLOUD_SINCE, signin))
        return state
    next_disabled = env_bool(config_env.get("OLLAMA_NO_CLOUD")) or config_disabled
    state["next_start_enabled"] = not next_disabled
    if status is not None:
        # The server's own answer: it read server.json at its start.
        state.update(enabled=not status["disabled"], source=status["source"])
        why = "GET /api/status: disabled %s (source %s)" % (
            str(status["disabled"]).lower(), status["source"])
    else:
        state.update(enabled=not (env_disabled or config_disabled), source=source_of(env_disabled, config_disabled))
        why = "from OLLAMA_NO_CLOUD and server.json (no answer from GET /api/status)"
    if state["enabled"] != state["next_start_enabled"]:
        why += "; the next start turns cloud %s" % ("on" if state["next_start_enabled"] else "off")
    state["reason"] = why + ("; " + signin if state["enabled"] else "")
    return state
