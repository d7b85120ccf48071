# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' fast path: the audit's one read (ollama_info with
checksum_paths) returns the SHA-1 checksum and the "mode owner group" of
each file a role manages; the role renders what it would write on the
controller and skips its write tasks only when every file is already right.

Anything missing (no audit, an audit without the checksums, a file not
there, an unreadable one) means "write": the normal path, with its backups,
validation and rescue, runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib


def sha1_text(text):
    """The SHA-1 of a rendered file as the host stores it (UTF-8)."""
    if not isinstance(text, bytes):
        text = text.encode("utf-8")
    return hashlib.sha1(text).hexdigest()


def files_unchanged(facts, expected):
    """True when every expected file is on the host with the same checksum
    and the same mode (and owner and group, where given).

    facts: the audit's registered result (or anything without the keys).
    expected: a list of {path, sha1, mode, owner, group}; mode as "0640";
    owner and group optional (a task that does not set them). An item with
    directory: true instead of sha1 is a directory: its mode and ownership only.
    """
    if not isinstance(facts, dict) or not expected:
        return False
    checksums = facts.get("checksums")
    attrs = facts.get("file_attrs")
    if not isinstance(checksums, dict) or not isinstance(attrs, dict):
        return False
    for item in expected:
        path = item.get("path")
        if not path or attrs.get(path) is None:
            return False
        if item.get("directory"):
            if checksums.get(path) is not None:
                return False
        elif not item.get("sha1") or checksums.get(path) != item["sha1"]:
            return False
        mode, owner, group = (str(attrs[path]).split(" ") + ["", "", ""])[:3]
        if mode != "%04o" % int(str(item.get("mode", "")), 8):
            return False
        if item.get("owner") and owner != item["owner"]:
            return False
        if item.get("group") and group != item["group"]:
            return False
    return True
