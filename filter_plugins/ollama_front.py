# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter of role ollama_front: the checked credential list of the front,
with SHA-512-crypt hashes made on the controller.

    {{ ollama_front_credentials | ollama_front_credentials(inventory_hostname) }}

The role's decisions are its plan, one call:
``ollama_audit_facts | ollama_toolkit.exposure.wall_plan('front', options, context)``.
The logic lives in plugin_utils/ollama_front.py of the collection
ollama_toolkit.exposure (unit tested). Errors never quote a secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_front import credential_entries


def ollama_front_credentials(credentials, host):
    try:
        return credential_entries(credentials, str(host))
    except ValueError as exc:
        raise AnsibleFilterError("ollama_front_credentials: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"ollama_front_credentials": ollama_front_credentials}
