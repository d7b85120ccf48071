# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``ollama_front_credentials``: the checked credential list of the
front, with SHA-512-crypt hashes made on the controller.

    {{ ollama_front_credentials | ollama_front_credentials(inventory_hostname) }}

The logic lives in module_utils/ollama_front.py (unit tested). Errors never
quote a secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import ansible.module_utils
from ansible import constants as C
from ansible.errors import AnsibleFilterError

for _path in C.config.get_config_value("DEFAULT_MODULE_UTILS_PATH") or []:
    _path = os.path.abspath(os.path.expanduser(_path))
    if os.path.isdir(_path) and _path not in ansible.module_utils.__path__:
        ansible.module_utils.__path__.append(_path)

from ansible.module_utils.ollama_front import credential_entries  # noqa: E402  pylint: disable=wrong-import-position


def ollama_front_credentials(credentials, host):
    try:
        return credential_entries(credentials, str(host))
    except ValueError as exc:
        raise AnsibleFilterError("ollama_front_credentials: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"ollama_front_credentials": ollama_front_credentials}
