# -*- coding: utf-8 -*-
"""action_plugins/ollama_info.py: with ``reuse`` (harden.yml's audit after
the change on an untouched host) the earlier read comes back as it was and
nothing reaches the host; without it the module runs on the host."""

from unittest.mock import patch

import pytest
from conftest import load_action

from ansible.errors import AnsibleActionFail

READ = {"changed": False, "services": [{"name": "ollama.service"}], "status": "secure", "host_id": "h1",
        "invocation": {"module_args": {}}}


def action(args):
    return load_action("ollama_info", args)


def test_reuse_gives_the_read_back_and_touches_nothing():
    plugin, connection = action({"host_id": "h1", "reuse": READ})
    with patch.object(type(plugin), "_execute_module") as execute:
        result = plugin.run(task_vars={})
    execute.assert_not_called()
    assert not connection.exec_command.called and not connection.put_file.called
    assert result["services"] == READ["services"] and result["status"] == "secure"
    assert result["reused"] is True and result["changed"] is False and "invocation" not in result


def test_without_reuse_the_module_runs_on_the_host():
    plugin, _connection = action({"host_id": "h1", "query_version": False})
    with patch.object(type(plugin), "_execute_module", return_value={"services": [], "status": "not_installed"}) \
            as execute:
        result = plugin.run(task_vars={})
    execute.assert_called_once()
    assert execute.call_args.kwargs["module_args"] == {"host_id": "h1", "query_version": False}
    assert result["status"] == "not_installed"


@pytest.mark.parametrize("bad", [{"skipped": True}, ["services"], "x"])
def test_reuse_of_something_that_is_not_a_read_is_refused(bad):
    plugin, _connection = action({"reuse": bad})
    with pytest.raises(AnsibleActionFail, match="reuse must be an earlier result"):
        plugin.run(task_vars={})
