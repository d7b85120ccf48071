# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the upgrade of the Ollama binary from an operator's artifact (role ollama_upgrade).

Pure: the variables, the audit's facts and the installed binary's
``ollama --version`` output in; the input errors (each naming its
variable), the plan (install or not, which services to restart and where
each one answers on loopback) and the problems after the restart out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import (
    DEFAULT_PORT, parse_ollama_host)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_wall import stamp as wall_stamp

VERSION_RE = re.compile(r"^v?(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})(?:-rc(0|[1-9][0-9]{0,3}))?\Z")
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}\Z")
URL_RE = re.compile(r"^(https?|ftp|file)://\S+\Z")
# `ollama --version` prints the server's version ("ollama version is X") and,
# when the client (the binary itself) differs or no server answers, a
# "Warning: client version is X" line: the binary's own version is that one.
CLIENT_RE = re.compile(r"client version is (\S+)")
SERVER_RE = re.compile(r"version is (\S+)")
EXEC_PREFIXES = "@-:+!"


def parse_version(text):
    """'0.1.33' -> (0, 1, 33, (1,)); '0.5.0-rc2' -> (0, 5, 0, (0, 2)) (a
    release candidate sorts before its release). ValueError when malformed."""
    match = VERSION_RE.match(str(text if text is not None else "").strip())
    if not match:
        raise ValueError("not a version like 0.20.0: %r" % (text,))
    major, minor, patch, rc = match.groups()
    return int(major), int(minor), int(patch), ((0, int(rc)) if rc is not None else (1,))


def normalize(text):
    """The version without a leading v ('v0.1.33' -> '0.1.33')."""
    parse_version(text)
    return str(text).strip().lstrip("v")


def compare(left, right):
    """-1, 0 or 1 as version `left` is older than, equal to or newer than `right`."""
    a, b = parse_version(left), parse_version(right)
    return (a > b) - (a < b)


def safe_version(text):
    """The normalized version, or None when `text` is not one."""
    try:
        return normalize(text)
    except ValueError:
        return None


def binary_version(output):
    """The binary's own version from `ollama --version` output (stdout and
    stderr together), or None."""
    text = output or ""
    for pattern in (CLIENT_RE, SERVER_RE):
        match = pattern.search(text)
        if match and safe_version(match.group(1)):
            return normalize(match.group(1))
    return None


def check_input(version, sha256, url="", src="", install_dir="/usr/local", wait_timeout=60,
                backup_dir="/var/lib/ollama-exposure-toolkit/upgrade"):
    """Every problem of the role's variables, each naming the variable; [] when fine."""
    errors = []
    if not str(version or "").strip():
        errors.append("ollama_upgrade_version is required (the release to install, like 0.20.0)")
    elif safe_version(version) is None:
        errors.append("ollama_upgrade_version must be a release like 0.20.0 or 0.20.0-rc1 (got %r)" % (version,))
    if not str(sha256 or "").strip():
        errors.append("ollama_upgrade_sha256 is required (the artifact's SHA-256, 64 hex digits)")
    elif not SHA256_RE.match(str(sha256).strip()):
        errors.append("ollama_upgrade_sha256 must be 64 hex digits (got %r)" % (sha256,))
    url, src = str(url or "").strip(), str(src or "").strip()
    if bool(url) == bool(src):
        errors.append("set exactly one of ollama_upgrade_url (a URL on your mirror) and ollama_upgrade_src "
                      "(a file on the controller) (got %s)" % ("both" if url else "neither"))
    elif url and not URL_RE.match(url):
        errors.append("ollama_upgrade_url must be an http(s):// ftp:// or file:// URL (got %r)" % (url,))
    for name, value in (("ollama_upgrade_install_dir", install_dir), ("ollama_upgrade_backup_dir", backup_dir)):
        value = str(value or "")
        if not value.startswith("/") or posixpath.normpath(value) in ("/", "") or ".." in value.split("/"):
            errors.append("%s must be an absolute path below / (got %r)" % (name, value))
    try:
        ok = int(str(wait_timeout)) > 0
    except ValueError:
        ok = False
    if not ok:
        errors.append("ollama_upgrade_wait_timeout must be a positive number of seconds (got %r)" % (wait_timeout,))
    return errors


def exec_binary(exec_start):
    """The program an ExecStart= line runs ('-/usr/bin/ollama serve' -> '/usr/bin/ollama')."""
    words = str(exec_start or "").split()
    return words[0].lstrip(EXEC_PREFIXES) if words else ""


def version_url(svc):
    """Where the service's /api/version answers on the host: its running bind
    (else configured), a wildcard read on 127.0.0.1."""
    bind = svc.get("running_bind") or svc.get("bind") or parse_ollama_host("")
    host, port = bind.get("host") or "127.0.0.1", bind.get("port") or DEFAULT_PORT
    if bind.get("scope") in ("wildcard", "hostname") or not host:
        host = "127.0.0.1"
    if ":" in host:
        host = "[%s]" % host
    return "http://%s:%s/api/version" % (host, port)


def plan(facts, version, binary=None, allow_downgrade=False, install_dir="/usr/local"):
    """The upgrade of one host. ValueError (naming the variable) for a
    downgrade without ollama_upgrade_allow_downgrade or a service that runs
    another binary."""
    target = normalize(version)
    bin_path = posixpath.join(install_dir, "bin", "ollama")
    facts = facts or {}
    installs = dict((i.get("subject"), i) for i in facts.get("installs") or [] if i.get("kind") == "service")
    installed = safe_version(binary)
    services = []
    for svc in facts.get("services") or []:
        program = exec_binary(svc.get("exec_start"))
        if program and program != bin_path and posixpath.basename(program) == "ollama":
            raise ValueError("%s runs %s, not %s: set ollama_upgrade_install_dir to %s's prefix (got %s)"
                             % (svc["name"], program, bin_path, program, install_dir))
        active = svc.get("active_state") == "active"
        running = safe_version((installs.get(svc["name"]) or {}).get("version"))
        services.append({"name": svc["name"], "active": active, "version": running, "url": version_url(svc)})
    known = [v for v in [installed] + [s["version"] for s in services] if v]
    newest = max(known, key=parse_version) if known else None
    downgrade = newest is not None and compare(target, newest) < 0
    if downgrade and not allow_downgrade:
        raise ValueError("ollama_upgrade_version %s is older than the installed %s: refused (set "
                         "ollama_upgrade_allow_downgrade: true to downgrade)" % (target, newest))
    install = installed is None or compare(installed, target) != 0
    for svc in services:
        svc["restart"] = svc["active"] and (install or svc["version"] is None or compare(svc["version"], target) != 0)
    restart = [s["name"] for s in services if s["restart"]]
    return {"version": target, "installed": installed, "binary": bin_path,
            "lib_dir": posixpath.join(install_dir, "lib", "ollama"), "downgrade": downgrade,
            "install": install, "services": services, "restart": restart, "act": install or bool(restart)}


OPTIONS = ("version", "sha256", "url", "src", "allow_downgrade", "install_dir", "backup_dir", "wait_timeout")
STAMP_NAME = "ollama_upgrade"
STAMP_VERSION = 1


def wall_plan(facts, options, context):
    """The upgrade wall's plan (filter wall_plan('upgrade', options, context)):

    ``facts`` the audit's read (ollama_audit_facts), ``options`` every
    ``ollama_upgrade_*`` variable by name, ``context`` the run's (see
    plugin_utils/ollama_wall.py) plus ``binary``: the registered result of
    ``ollama --version`` run with the installed binary. ValueError naming the
    variable for bad input, a downgrade without the flag, a service that runs
    another binary, or no audit of the host. Returns plan()'s keys plus the
    paths the tasks use (archive, staging, kept), the artifact's ``source``,
    the services to restart (``restart_services``) and the contract's
    ``wall``, ``in_place`` (nothing to do), ``stamp`` (the upgrade writes
    none) and ``settled``."""
    missing = ["ollama_upgrade_%s" % name for name in OPTIONS if "ollama_upgrade_%s" % name not in (options or {})]
    if missing:
        raise ValueError("wall_plan('upgrade'): options lack %s" % ", ".join(missing))
    opt = dict((name, options["ollama_upgrade_%s" % name]) for name in OPTIONS)
    errors = check_input(opt["version"], opt["sha256"], url=opt["url"], src=opt["src"],
                         install_dir=opt["install_dir"], wait_timeout=opt["wait_timeout"],
                         backup_dir=opt["backup_dir"])
    if errors:
        raise ValueError("Invalid input: %s." % "; ".join(errors))
    if not isinstance(facts, dict) or "services" not in facts:
        raise ValueError("ollama_audit_facts is missing: run the ollama_audit role first (playbooks/harden.yml does)")
    try:
        allow_downgrade = boolean(opt["allow_downgrade"], strict=True)
    except TypeError:
        raise ValueError("ollama_upgrade_allow_downgrade must be true or false (got %r)" % (opt["allow_downgrade"],))
    read = (context or {}).get("binary") or {}
    output = " ".join([read.get("stdout") or "", read.get("stderr") or ""])
    result = plan(facts, opt["version"], binary=binary_version(output), allow_downgrade=allow_downgrade,
                  install_dir=opt["install_dir"])
    backup_dir = str(opt["backup_dir"])
    url, src = str(opt["url"] or "").strip(), str(opt["src"] or "").strip()
    result.update(
        wall="upgrade",
        archive=posixpath.join(backup_dir, "ollama-%s.tgz" % result["version"]),
        staging=posixpath.join(backup_dir, "staging"),
        # The binary and lib dir this upgrade replaces, by their version.
        kept=posixpath.join(backup_dir, "versions", result["installed"] or "unknown"),
        source=("ollama_upgrade_url %s" % url) if url else ("ollama_upgrade_src %s" % src),
        restart_services=[s for s in result["services"] if s["restart"]],
        # The binary is the upgrade's record: no stamp, nothing to say on every run.
        in_place=not result["act"],
        settled=True,
        stamp=wall_stamp(STAMP_NAME, STAMP_VERSION, opt, facts, context, "OLLAMA-VER", stampable=False))
    return result


def problems(items, results, version):
    """Why the restarted services do not answer `version` on loopback, from
    the registered uri results (one per item, in order); [] when they all do."""
    found = []
    for item, result in zip(items or [], results or []):
        if (result or {}).get("skipped"):
            continue
        answered = ((result or {}).get("json") or {}).get("version") if isinstance((result or {}).get("json"), dict) else None
        if answered == version:
            continue
        if answered:
            why = "answers version %s" % answered
        elif (result or {}).get("status", -1) not in (-1, None, 200):
            why = "answered HTTP %s" % result.get("status")
        else:
            why = "does not answer (%s)" % ((result or {}).get("msg") or "no answer")
        found.append("%s at %s %s, not %s" % (item.get("name"), item.get("url"), why, version))
    if len(results or []) < len(items or []):
        found.append("%d service(s) were not checked" % (len(items) - len(results or [])))
    return found


# What an upstream release tarball may hold (scripts/build_linux.sh packs
# `bin lib` or `.`, with or without a leading "./"): the directories on the
# way, bin/ollama, and anything under lib/ollama/ (libraries, and symbolic
# links between them such as mlx_cuda_v12/x.so -> ../cuda_v12/x.so).
ARCHIVE_DIRS = ("", "bin", "lib", "lib/ollama")
ARCHIVE_BINARY = "bin/ollama"
ARCHIVE_LIB = "lib/ollama"
MAX_LINK_HOPS = 40
MAX_REPORTED = 10
# `tar --list --verbose --numeric-owner --quoting-style=c` (LC_ALL=C): the
# type letter and mode, uid/gid, size, date and time, then the C-quoted name
# and, for links, ` -> "target"` (symbolic) or ` link to "target"` (hard).
LISTING_HEAD_RE = re.compile(r"^(?P<type>\S)(?P<mode>\S{9}) (?P<uid>\d+)/(?P<gid>\d+) ")
TYPES = {"-": "file", "d": "directory", "l": "symbolic link", "h": "hard link"}
C_ESCAPES = {"\\": b"\\", '"': b'"', "a": b"\a", "b": b"\b", "f": b"\f", "n": b"\n", "r": b"\r",
             "t": b"\t", "v": b"\v", "?": b"?"}


def _c_unquote(text, pos):
    """The C-quoted string starting at text[pos] (a '"') and the index after
    its closing quote. ValueError when it is not one or not UTF-8."""
    if pos >= len(text) or text[pos] != '"':
        raise ValueError("no quoted name")
    out = bytearray()
    i = pos + 1
    while i < len(text):
        char = text[i]
        if char == '"':
            return out.decode("utf-8"), i + 1
        if char != "\\":
            out += char.encode("utf-8")
            i += 1
            continue
        nxt = text[i + 1:i + 2]
        if nxt in C_ESCAPES:
            out += C_ESCAPES[nxt]
            i += 2
            continue
        digits = re.match(r"[0-7]{1,3}", text[i + 1:i + 4])
        if not digits:
            raise ValueError("unknown escape \\%s" % nxt)
        out.append(int(digits.group(0), 8) & 0xFF)
        i += 1 + len(digits.group(0))
    raise ValueError("unterminated quoted name")


def parse_listing(text):
    """The members of `tar --list --verbose --numeric-owner --full-time
    --quoting-style=c` output (LC_ALL=C), in archive order: dicts with
    name (as stored), type (file, directory, symbolic link, hard link, or
    `other (X)` for X the listing's type letter), target (the link's, or
    None), uid, gid and mode (the nine rwx letters). ValueError naming the
    line that cannot be read (the archive is then refused)."""
    members = []
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        head = LISTING_HEAD_RE.match(line)
        quote = line.find(' "')
        if not head or quote < 0:
            raise ValueError("line %d of the listing cannot be read: %r" % (number, line))
        try:
            name, end = _c_unquote(line, quote + 1)
            rest, target = line[end:], None
            kind = TYPES.get(head.group("type"), "other (%s)" % head.group("type"))
            for lead, link_kind in ((' -> ', "symbolic link"), (' link to ', "hard link")):
                if rest.startswith(lead):
                    if kind != link_kind:
                        raise ValueError("a link target on a %s" % kind)
                    target, end = _c_unquote(rest, len(lead))
                    rest = rest[end:]
            if rest or (kind in ("symbolic link", "hard link") and target is None):
                raise ValueError("unexpected %r" % rest)
        except ValueError as exc:
            raise ValueError("line %d of the listing cannot be read (%s): %r" % (number, exc, line))
        members.append({"name": name, "type": kind, "target": target, "uid": int(head.group("uid")),
                        "gid": int(head.group("gid")), "mode": head.group("mode")})
    return members


def _normal_name(name):
    """The member's path below the archive root ('./lib/ollama/' ->
    'lib/ollama', './' -> ''). ValueError for an absolute path, '..', or an
    empty or '.' component after the leading one."""
    if name.startswith("/"):
        raise ValueError("is an absolute path")
    parts = name.split("/")
    if parts[0] == "." and len(parts) > 1 or name == ".":
        parts = parts[1:]
    while parts and parts[-1] == "":
        parts.pop()
    if ".." in parts:
        raise ValueError("contains '..'")
    if any(part in ("", ".") for part in parts):
        raise ValueError("is not a plain path (empty or '.' component)")
    return "/".join(parts)


def _resolve(parts, links):
    """Where a path (components below the archive root) leads once the
    archive's symbolic links (name -> target) are followed, as extraction
    would make them; None when it climbs above the root or loops."""
    out, queue, hops = [], list(parts), 0
    while queue:
        part = queue.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not out:
                return None
            out.pop()
            continue
        out.append(part)
        target = links.get("/".join(out))
        if target is None:
            continue
        hops += 1
        if hops > MAX_LINK_HOPS or target.startswith("/"):
            return None
        out.pop()
        queue = target.split("/") + queue
    return "/".join(out)


def _in_lib(path):
    return path is not None and (path == ARCHIVE_LIB or path.startswith(ARCHIVE_LIB + "/"))


def archive_problems(members):
    """Why an archive's members (parse_listing) are not only an Ollama
    release (the directories on the way, bin/ollama as a file, files,
    directories and links under lib/ollama/ that stay there); [] when they
    are. Decided from the listing alone, before anything is unpacked."""
    problems, seen, links, kept = [], {}, {}, []
    for member in members or []:
        name, kind = member["name"], member["type"]
        try:
            path = _normal_name(name)
        except ValueError as exc:
            problems.append("%r %s" % (name, exc))
            continue
        if path in seen:
            problems.append("%r appears twice (also as %r)" % (name, seen[path]))
            continue
        seen[path] = name
        if path in ARCHIVE_DIRS:
            allowed = ("directory",)
        elif path == ARCHIVE_BINARY:
            allowed = ("file",)
        elif path.startswith(ARCHIVE_LIB + "/"):
            allowed = ("directory", "file", "symbolic link", "hard link")
        else:
            problems.append("%r is outside bin/ollama and lib/ollama/" % name)
            continue
        if kind not in allowed:
            problems.append("%r is a %s (only a %s may be there)" % (name, kind, " or ".join(allowed)))
            continue
        if kind == "symbolic link":
            links[path] = member["target"] or ""
        kept.append((member, path))
    for member, path in kept:
        name = member["name"]
        parents = path.split("/")[:-1]
        through = ["/".join(parents[:i]) for i in range(1, len(parents) + 1) if "/".join(parents[:i]) in links]
        if through:
            problems.append("%r goes through the symbolic link %r" % (name, seen[through[0]]))
        elif member["type"] == "symbolic link":
            target = member["target"] or ""
            if not target or target.startswith("/"):
                problems.append("%r is a symbolic link to %r (absolute or empty)" % (name, target))
            elif not _in_lib(_resolve(parents + target.split("/"), links)):
                problems.append("%r is a symbolic link to %r, which leads outside lib/ollama/" % (name, target))
        elif member["type"] == "hard link":
            try:
                target = _normal_name(member["target"] or "")
            except ValueError as exc:
                problems.append("%r is a hard link to %r, which %s" % (name, member["target"], exc))
                continue
            known = [m for m, p in kept if p == target]
            if not target.startswith(ARCHIVE_LIB + "/") or not known or known[0]["type"] != "file":
                problems.append("%r is a hard link to %r, not to a file of the archive under lib/ollama/"
                                % (name, member["target"]))
    if ARCHIVE_BINARY not in seen:
        problems.append("there is no bin/ollama")
    return problems


def listing_problems(text, limit=MAX_REPORTED):
    """archive_problems of a `tar --list` listing (parse_listing), at most
    `limit` of them plus a count of the rest; a listing that cannot be read
    is one problem."""
    try:
        found = archive_problems(parse_listing(text))
    except ValueError as exc:
        return [str(exc)]
    if len(found) > limit:
        found = found[:limit] + ["and %d more" % (len(found) - limit)]
    return found
