# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin in front of the ollama_info module (library/ollama_info.py).

It runs the module on the host, as Ansible would without it, except when
the task passes ``reuse``: the result of an earlier read of the same host,
given back as it was, with nothing sent to the host. playbooks/harden.yml
passes it for the audit after the change on hosts where no role had
anything to do (their stamps showed no drift): a second read would return
the same.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        args = dict(self._task.args)
        reuse = args.pop("reuse", None)
        if reuse:
            if not isinstance(reuse, dict) or "services" not in reuse:
                raise AnsibleActionFail("reuse must be an earlier result of ollama_info for this host")
            result = dict((k, v) for k, v in reuse.items() if k not in ("invocation", "skipped", "skip_reason"))
            result.update(changed=False, reused=True)
            return result
        result = super(ActionModule, self).run(tmp, task_vars)
        result.update(self._execute_module(module_name="ollama_info", module_args=args, task_vars=task_vars))
        return result
