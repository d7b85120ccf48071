# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter of the roles' fast path: whether the files a role would write are
already on the host, from the audit's read (ollama_info checksum_paths).

    {{ ollama_audit_facts | ollama_files_unchanged([{'path': p, 'sha1': s, 'mode': '0644',
                                                     'owner': 'root', 'group': 'root'}]) }}

The logic lives in plugin_utils/ollama_checksums.py of the collection
ollama_toolkit.exposure (unit tested).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_checksums import files_unchanged


def ollama_files_unchanged(facts, expected):
    try:
        return files_unchanged(facts, expected)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("ollama_files_unchanged: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"ollama_files_unchanged": ollama_files_unchanged}
