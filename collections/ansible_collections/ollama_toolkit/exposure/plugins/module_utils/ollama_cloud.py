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
  process, JSON ``true`` only; a missing or broken file is false). Neither
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

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_findings import version_tuple

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


def server_json_disables(text):
    """``disable_ollama_cloud`` of a server.json text as Go's json.Unmarshal
    into ``struct{DisableOllamaCloud bool}`` leaves it: true only for a JSON
    object whose field is ``true``; None when there is no file (``text`` None)."""
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("disable_ollama_cloud") is True


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
