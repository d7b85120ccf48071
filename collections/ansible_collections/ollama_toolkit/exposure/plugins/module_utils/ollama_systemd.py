# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd unit files, drop-ins, environment files and ``systemctl show``.

What matters for Ollama (see docs/remediation.md, "Why the drop-in wins"):

* ``Environment=`` assignments apply in order: the unit, then each drop-in in
  lexical order of file name; an empty ``Environment=`` resets the list.
* ``EnvironmentFile=`` entries apply after **all** ``Environment=`` values,
  whatever file they come from, in the order they are listed (a drop-in's
  entries come after the unit's); a later file wins.
* A drop-in with the same file name in a directory of higher precedence
  masks the lower one.

The parsers are pure (text in, data out). ``find_unit_files`` is the only
function that touches the file system, under a configurable root.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

# Directories systemd reads system units from, highest precedence first.
UNIT_DIRS = (
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
            "v": "\v", "\\": "\\", "\"": "\"", "'": "'", "s": " "}


def parse_unit_text(text, path="<unit>"):
    """Parse a unit file or drop-in.

    Returns (entries, errors). Each entry is a dict with section, key, value,
    file and line (the line where the assignment starts). Lines systemd
    would ignore with a warning are returned as errors (file, line, reason).
    """
    entries, errors = [], []
    section = None
    lines = (text or "").splitlines()
    index = 0
    while index < len(lines):
        start = index + 1
        line = lines[index].strip()
        index += 1
        if not line or line[0] in "#;":
            continue
        # Continuation lines: a trailing backslash joins the next line; comment
        # lines inside the continuation are skipped, as systemd does.
        while line.endswith("\\") and index < len(lines):
            nxt = lines[index].strip()
            index += 1
            if nxt and nxt[0] in "#;":
                continue  # the continuation goes on past the comment
            line = line[:-1] + " " + nxt
        if line.endswith("\\"):
            line = line[:-1]
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                errors.append({"file": path, "line": start, "reason": "invalid section header %r" % line})
                section = None
                continue
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or " " in key:
            errors.append({"file": path, "line": start, "reason": "not a key=value assignment: %r" % line[:80]})
            continue
        if section is None:
            errors.append({"file": path, "line": start, "reason": "assignment outside any section: %r" % key})
            continue
        entries.append({"section": section, "key": key, "value": value.strip(), "file": path, "line": start})
    return entries, errors


def _unescape(text, pos):
    """C-style escape at text[pos] (just after the backslash). Returns (str, next_pos)."""
    if pos >= len(text):
        return "", pos
    char = text[pos]
    if char in _ESCAPES:
        return _ESCAPES[char], pos + 1
    if char == "x" and re.match(r"[0-9A-Fa-f]{2}", text[pos + 1:pos + 3]):
        return chr(int(text[pos + 1:pos + 3], 16)), pos + 3
    if char in "01234567" and re.match(r"[0-7]{3}", text[pos:pos + 3]):
        return chr(int(text[pos:pos + 3], 8)), pos + 3
    return char, pos + 1


def split_words(value):
    """systemd's extract_first_word with quotes and C escapes (Environment=).

    Returns (words, error): error is a message when quoting is unbalanced;
    words then holds the words before the unterminated one, which systemd
    (config_parse_environ) has already applied when it stops at the error.
    """
    words = []
    current, in_word, quote = [], False, None
    pos = 0
    while pos < len(value):
        char = value[pos]
        if quote:
            if char == quote:
                quote = None
                pos += 1
            elif char == "\\":
                out, pos = _unescape(value, pos + 1)
                current.append(out)
            else:
                current.append(char)
                pos += 1
            continue
        if char in " \t\n":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            pos += 1
            continue
        in_word = True
        if char in "\"'":
            quote = char
            pos += 1
        elif char == "\\":
            out, pos = _unescape(value, pos + 1)
            current.append(out)
        else:
            current.append(char)
            pos += 1
    if quote:
        return words, "unbalanced quotes"
    if in_word:
        words.append("".join(current))
    return words, None


def parse_environment_assignment(value):
    """Split an ``Environment=`` value into [(key, value)] and a list of problems."""
    words, error = split_words(value.replace("%%", "%"))
    pairs, problems = [], []
    if error:
        # systemd applies the words before the bad one, then ignores the rest.
        problems.append("Environment=%s: %s, systemd ignores the rest of the line" % (value[:60], error))
    for word in words:
        key, sep, val = word.partition("=")
        if not sep or not _KEY_RE.match(key):
            problems.append("Environment= word %r is not KEY=VALUE, systemd ignores it" % word[:60])
            continue
        pairs.append((key, val))
    return pairs, problems


def parse_env_file(text, path="<envfile>"):
    """Parse an ``EnvironmentFile=`` the way systemd's load_env_file does.

    Returns (entries, errors): entries are dicts key, value, file, line.
    """
    entries, errors = [], []
    lines = (text or "").splitlines()
    index = 0
    while index < len(lines):
        start = index + 1
        raw = lines[index]
        index += 1
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        while raw.endswith("\\") and not raw.endswith("\\\\") and index < len(lines):
            raw = raw[:-1] + lines[index]
            index += 1
        key, sep, rest = raw.lstrip().partition("=")
        key = key.strip()
        if not sep or not _KEY_RE.match(key):
            errors.append({"file": path, "line": start, "reason": "not KEY=VALUE (systemd ignores it): %r" % stripped[:80]})
            continue
        entries.append({"key": key, "value": _env_file_value(rest), "file": path, "line": start})
    return entries, errors


def _env_file_value(rest):
    """The value after ``KEY=``, as systemd's parse_env_file_internal reads it.

    Quotes open only where a value starts (or right after a closing quote);
    inside an unquoted value they are literal, and so is ``#`` (a comment
    is a whole line). Trailing unquoted whitespace is dropped; whitespace
    between quoted parts is skipped. An unclosed quote runs to the end of
    the line (systemd would go on to the end of the file).
    """
    out, pos, state, trailing = [], 0, "pre", None
    while pos < len(rest):
        char = rest[pos]
        pos += 1
        if state == "pre":
            if char == "'":
                state = "single"
            elif char == '"':
                state = "double"
            elif char == "\\":
                out.append(rest[pos:pos + 1])
                pos += 1
                state = "value"
            elif char not in " \t\r\n":
                out.append(char)
                state = "value"
        elif state == "value":
            if char == "\\":
                out.append(rest[pos:pos + 1])
                pos += 1
                trailing = None
            else:
                if char not in " \t\r\n":
                    trailing = None
                elif trailing is None:
                    trailing = len(out)
                out.append(char)
        elif state == "single":
            if char == "'":
                state = "pre"
            else:
                out.append(char)
        else:
            if char == '"':
                state = "pre"
            elif char == "\\":
                escaped = rest[pos:pos + 1]
                pos += 1
                out.append(escaped if escaped in '"\\`$' else "\\" + escaped)
            else:
                out.append(char)
    if state == "value" and trailing is not None:
        out = out[:trailing]
    return "".join(out)


def parse_systemctl_show(text):
    """Parse ``systemctl show`` output: a list of dicts, one per unit block.

    Properties that repeat (EnvironmentFiles=, one line per file) become
    lists; every other property keeps its last value.
    """
    blocks, current = [], {}
    repeated = ("EnvironmentFiles",)
    for line in (text or "").splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key in repeated:
            current.setdefault(key, []).append(value)
        else:
            current[key] = value
    if current:
        blocks.append(current)
    return blocks


def parse_environment_files_property(values):
    """``EnvironmentFiles=/etc/default/x (ignore_errors=no)`` lines into dicts."""
    files = []
    for value in values or []:
        match = re.match(r"^(.*?)\s*\(ignore_errors=(yes|no)\)\s*\Z", value)
        if match:
            files.append({"path": match.group(1), "optional": match.group(2) == "yes"})
        elif value.strip():
            files.append({"path": value.strip(), "optional": False})
    return files


def service_entries(entries):
    return [e for e in entries if e["section"] == "Service"]


def compute_environment(unit_entries, read_env_file):
    """Compute the environment systemd gives the service at its next start.

    ``unit_entries``: entries of the unit then of each drop-in, in order.
    ``read_env_file(path)``: returns the file's text, or None if missing.

    Returns a dict:
      env: {KEY: value} (final),
      origin: {KEY: {file, line, via}} where the winning value comes from,
      history: [{key, value, file, line, via}] every assignment seen, in
               the order systemd applies them (Environment= first),
      environment_files: [{path, optional, exists, file, line}],
      errors: problems systemd would log (malformed words, missing files).
    """
    history, errors, env_files = [], [], []
    assignments = []
    for entry in service_entries(unit_entries):
        if entry["key"] == "Environment":
            if entry["value"] == "":
                assignments = []
                continue
            pairs, problems = parse_environment_assignment(entry["value"])
            errors.extend({"file": entry["file"], "line": entry["line"], "reason": p} for p in problems)
            for key, value in pairs:
                assignments.append({"key": key, "value": value, "file": entry["file"],
                                    "line": entry["line"], "via": "Environment"})
        elif entry["key"] == "EnvironmentFile":
            if entry["value"] == "":
                env_files = []
                continue
            for word in split_words(entry["value"])[0] or [entry["value"]]:
                optional = word.startswith("-")
                env_files.append({"path": word[1:] if optional else word, "optional": optional,
                                  "file": entry["file"], "line": entry["line"]})
    env, origin = {}, {}
    for item in assignments:
        env[item["key"]] = item["value"]
        origin[item["key"]] = {"file": item["file"], "line": item["line"], "via": "Environment"}
        history.append(item)
    for env_file in env_files:
        text = read_env_file(env_file["path"])
        env_file["exists"] = text is not None
        if text is None:
            if not env_file["optional"]:
                errors.append({"file": env_file["file"], "line": env_file["line"],
                               "reason": "EnvironmentFile=%s does not exist: the service will fail to start" % env_file["path"]})
            continue
        file_entries, file_errors = parse_env_file(text, env_file["path"])
        errors.extend(file_errors)
        for item in file_entries:
            env[item["key"]] = item["value"]
            origin[item["key"]] = {"file": item["file"], "line": item["line"], "via": "EnvironmentFile"}
            history.append(dict(item, via="EnvironmentFile"))
    return {"env": env, "origin": origin, "history": history,
            "environment_files": env_files, "errors": errors}


def unit_template(name):
    """``foo@bar.service`` -> ``foo@.service`` (None for non-instances)."""
    prefix, sep, rest = name.partition("@")
    if not sep:
        return None
    return prefix + "@" + rest[rest.rfind("."):]


def find_unit_files(name, root="/", unit_dirs=UNIT_DIRS):
    """Locate a unit's fragment and its drop-ins as systemd would.

    Returns dict: fragment (path or None), masked (bool), dropins (paths,
    in the order systemd applies them).
    """
    def rooted(path):
        return os.path.join(root, path.lstrip("/"))

    fragment, masked = None, False
    names = [name]
    template = unit_template(name)
    if template:
        names.append(template)
    for candidate in names:
        for directory in unit_dirs:
            path = rooted(os.path.join(directory, candidate))
            if os.path.lexists(path):
                if os.path.realpath(path) == "/dev/null" or (os.path.islink(path) and os.readlink(path) == "/dev/null"):
                    masked = True
                fragment = os.path.join(directory, candidate)
                break
        if fragment:
            break
    dropin_dirs = [n + ".d" for n in names] + ["service.d"]
    chosen = {}
    for directory in reversed(unit_dirs):  # lowest precedence first, higher overrides
        for dropin_dir in dropin_dirs:
            full = rooted(os.path.join(directory, dropin_dir))
            try:
                files = os.listdir(full)
            except OSError:
                continue
            for fname in files:
                if fname.endswith(".conf"):
                    chosen[fname] = os.path.join(directory, dropin_dir, fname)
    dropins = [chosen[f] for f in sorted(chosen)]
    return {"fragment": fragment, "masked": masked, "dropins": dropins}
