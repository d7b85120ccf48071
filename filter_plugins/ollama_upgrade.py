# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of role ollama_upgrade (its plan is the collection's wall_plan
filter: ``ollama_audit_facts | ollama_toolkit.exposure.wall_plan('upgrade',
options, context)``, plugin_utils/ollama_upgrade.py: wall_plan):

    {{ items | ollama_upgrade_problems(uri_results, version) }}                              -> [] when up
    {{ tar_listing | ollama_upgrade_archive_problems }}                                       -> [] when only
        bin/ollama and lib/ollama/ (links staying inside it) are in the archive

The logic lives in plugin_utils/ollama_upgrade.py of the collection
ollama_toolkit.exposure (unit tested); this file only makes it callable
from tasks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_upgrade as up


def ollama_upgrade_problems(items, results, version):
    return up.problems(items, results, version)


def ollama_upgrade_archive_problems(listing):
    return up.listing_problems(listing)


class FilterModule(object):
    def filters(self):
        return {
            "ollama_upgrade_problems": ollama_upgrade_problems,
            "ollama_upgrade_archive_problems": ollama_upgrade_archive_problems,
        }
