# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the roles' stamps (plugin_utils/ollama_stamp.py of the
collection ollama_toolkit.exposure, unit tested):

    {{ {'vars': ..., 'plan': ...} | ollama_stamp_digest }}          the inputs' digest
    {{ ollama_audit_facts.stamps[name] | ollama_stamp_unchanged(digest) }}
    {{ ollama_audit_facts | ollama_stamp_read_view }}                 what of a read decides the walls
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_stamp import digest, read_view, unchanged


def ollama_stamp_digest(value):
    return digest(value)


def ollama_stamp_unchanged(stamp, inputs):
    return unchanged(stamp, inputs)


def ollama_stamp_read_view(facts):
    return read_view(facts)


class FilterModule(object):
    def filters(self):
        return {"ollama_stamp_digest": ollama_stamp_digest, "ollama_stamp_unchanged": ollama_stamp_unchanged,
                "ollama_stamp_read_view": ollama_stamp_read_view}
