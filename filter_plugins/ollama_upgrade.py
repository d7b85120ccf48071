# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of role ollama_upgrade:

    {{ ollama_upgrade_version | ollama_upgrade_check(sha256=..., url=..., src=..., ...) }}  -> [errors]
    {{ command_output | ollama_upgrade_binary_version }}                                   -> '0.1.33' or None
    {{ ollama_audit_facts | ollama_upgrade_plan(version=..., binary=..., allow_downgrade=false,
                                                install_dir='/usr/local') }}
        -> version, installed, binary, lib_dir, downgrade, install, services, restart, act
    {{ items | ollama_upgrade_problems(uri_results, version) }}                              -> [] when up
    {{ tar_listing | ollama_upgrade_archive_problems }}                                       -> [] when only
        bin/ollama and lib/ollama/ (links staying inside it) are in the archive

The logic lives in plugin_utils/ollama_upgrade.py of the collection
ollama_toolkit.exposure (unit tested); this file only makes it callable
from tasks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils import ollama_upgrade as up


def ollama_upgrade_check(version, sha256="", url="", src="", install_dir="/usr/local", wait_timeout=60,
                         backup_dir="/var/lib/ollama-exposure-toolkit/upgrade"):
    return up.check_input(version, sha256, url=url, src=src, install_dir=install_dir, wait_timeout=wait_timeout,
                          backup_dir=backup_dir)


def ollama_upgrade_binary_version(output):
    return up.binary_version(output)


def ollama_upgrade_plan(facts, version, binary=None, allow_downgrade=False, install_dir="/usr/local"):
    try:
        return up.plan(facts, version, binary=binary, allow_downgrade=allow_downgrade, install_dir=install_dir)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def ollama_upgrade_problems(items, results, version):
    return up.problems(items, results, version)


def ollama_upgrade_archive_problems(listing):
    return up.listing_problems(listing)


class FilterModule(object):
    def filters(self):
        return {
            "ollama_upgrade_check": ollama_upgrade_check,
            "ollama_upgrade_binary_version": ollama_upgrade_binary_version,
            "ollama_upgrade_plan": ollama_upgrade_plan,
            "ollama_upgrade_problems": ollama_upgrade_problems,
            "ollama_upgrade_archive_problems": ollama_upgrade_archive_problems,
        }
