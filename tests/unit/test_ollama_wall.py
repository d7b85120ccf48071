# -*- coding: utf-8 -*-
"""plugin_utils/ollama_wall.py: the stamp every wall's plan carries."""

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_wall as w

CONTEXT = {"host": "h", "ansible_host": "h", "run_tags": ["all"], "skip_tags": [], "check_mode": False,
           "role_path": "/nonexistent"}


def test_written_after_a_whole_run_only_and_in_place_when_the_read_agrees():
    made = w.stamp("ollama_front", 1, {"a": 1}, {}, CONTEXT, "OLLAMA-FRONT")
    assert made["write"] and not made["in_place"] and len(made["inputs"]) == 64
    read = {"stamps": {"ollama_front": {"present": True, "drift": [], "inputs": made["inputs"]}}}
    assert w.stamp("ollama_front", 1, {"a": 1}, read, CONTEXT, "OLLAMA-FRONT")["in_place"]
    assert not w.stamp("ollama_front", 2, {"a": 1}, read, CONTEXT, "OLLAMA-FRONT")["in_place"]
    assert not w.stamp("ollama_front", 1, {"a": 1}, read, CONTEXT, "OLLAMA-FRONT", stampable=False)["in_place"]
    for change in ({"check_mode": True}, {"run_tags": ["OLLAMA-FRONT-003"]}, {"skip_tags": ["OLLAMA-FRONT-007"]},
                   {"skip_tags": ["ollama_front"]}):
        assert not w.stamp("ollama_front", 1, {}, {}, dict(CONTEXT, **change), "OLLAMA-FRONT")["write"], change
    # Another wall's control skipped leaves this one whole.
    assert w.stamp("ollama_front", 1, {}, {}, dict(CONTEXT, skip_tags=["OLLAMA-FW-003"]), "OLLAMA-FRONT")["write"]


def test_a_context_missing_a_key_is_named():
    with pytest.raises(ValueError, match="check_mode"):
        w.stamp("ollama_front", 1, {}, {}, dict((k, v) for k, v in CONTEXT.items() if k != "check_mode"),
                "OLLAMA-FRONT")
