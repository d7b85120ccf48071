# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stamps: what a role left on a host, so that the next run can tell from
the audit's one read that nothing has moved since.

At the end of a run that applied it, a role writes a stamp
(STAMP_DIR/<name>.json, root only; the one place the directory is stated)
with library/ollama_stamp.py: the digest of everything that decided what it
wrote (its variables and its plan, made on the controller: ``inputs``), and
the state it left (``state``): each managed file's SHA-1 and "mode owner
group" (null: must be absent), each unit's active and enabled state, the
digest of each live nftables chain of the toolkit.

The audit (library/ollama_info.py, ``stamps``) reads every stamp of
STAMP_DIR and the same
state again and returns the differences (``drift``). A role whose stamp is
there, shows no drift and was made from the same inputs has nothing to do:
it skips every task that would read or write the host. Anything else - no
stamp, a file edited by hand, a unit stopped, a chain flushed, another
variable - takes the role's normal path, which ends with a new stamp.

Host side only (it ships with ollama_info and ollama_stamp): the inputs'
digest and the comparison are the controller's (plugin_utils/ollama_stamp.py).
Pure functions (the readers are passed in): unit tested in
tests/unit/test_ollama_stamp.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import glob
import hashlib
import json
import os
import pwd
import re
import stat

STAMP_VERSION = 1
# Where every stamp lives, by name: <name>.json. The audit reads them by glob.
# (OLLAMA_TOOLKIT_STAMP_DIR in the module's environment moves it: the tests'
# hook, as they run the playbooks on the controller itself.)
STAMP_DIR = "/var/lib/ollama-exposure-toolkit/stamps"


def stamp_dir():
    """The stamps' directory (STAMP_DIR unless the environment moves it)."""
    return os.environ.get("OLLAMA_TOOLKIT_STAMP_DIR") or STAMP_DIR
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")


def stamp_path(name, directory=None):
    """The file of the stamp called name (a wall: ollama_front, ..., harden).
    ValueError on anything but a plain lower-case name."""
    if not NAME_PATTERN.match(str(name)):
        raise ValueError("not a stamp name (lower-case letters, digits, _): %r" % (name,))
    return os.path.join(directory or stamp_dir(), "%s.json" % name)


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except (KeyError, OverflowError):
        return str(ident)


def file_checksums(paths):
    """SHA-1 checksum (None where missing or not a regular file) and "mode
    owner group" (None where missing) of each path."""
    checksums, attrs = {}, {}
    for path in paths:
        checksums[path] = attrs[path] = None
        try:
            info = os.stat(path)
        except (IOError, OSError):
            continue
        attrs[path] = "%04o %s %s" % (stat.S_IMODE(info.st_mode), _name(pwd.getpwuid, info.st_uid),
                                      _name(grp.getgrgid, info.st_gid))
        if not stat.S_ISREG(info.st_mode):
            continue
        digest = hashlib.sha1()
        try:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(65536), b""):
                    digest.update(block)
        except (IOError, OSError):
            continue
        checksums[path] = digest.hexdigest()
    return checksums, attrs


def file_state(paths):
    """{path: None (absent) or [sha1 or None (a directory), "mode owner group"]}."""
    checksums, attrs = file_checksums(paths)
    return dict((p, None if attrs[p] is None else [checksums[p], attrs[p]]) for p in paths)


def unit_state(show_blocks, names):
    """{unit: "ActiveState UnitFileState"} from parsed ``systemctl show``
    blocks ({Id, ActiveState, UnitFileState}); a unit systemd does not know
    is "missing"."""
    found = dict((b.get("Id"), b) for b in show_blocks or [] if b.get("Id"))
    state = {}
    for name in names:
        block = found.get(name)
        if not block or block.get("LoadState") == "not-found":
            state[name] = "missing"
        else:
            state[name] = "%s %s" % (block.get("ActiveState", ""), block.get("UnitFileState", ""))
    return state


def nft_chain_args(spec):
    """``"inet TABLE CHAIN"`` -> the nft arguments that list that chain
    (rules only: a dynamic set's members are not part of it). ValueError
    on anything else: a stamp names chains, never a command."""
    words = str(spec).split()
    if len(words) != 3 or words[0] not in ("inet", "ip", "ip6") or \
            not all(w.replace("_", "").replace("-", "").isalnum() for w in words[1:]):
        raise ValueError("not an nftables chain (family table chain): %r" % (spec,))
    return ["list", "chain"] + words


def nft_state(run_nft, chains):
    """{chain spec: SHA-1 of ``nft list chain`` or "missing"}; run_nft(args)
    -> (rc, out)."""
    state = {}
    for spec in chains:
        try:
            args = nft_chain_args(spec)
        except ValueError:
            state[spec] = "invalid"
            continue
        rc, out = run_nft(args)
        state[spec] = hashlib.sha1(out.encode("utf-8")).hexdigest() if rc == 0 else "missing"
    return state


def document(inputs, files, units, chains, data=None):
    """The stamp a role writes: its inputs' digest and the state it left."""
    doc = {"version": STAMP_VERSION, "inputs": inputs,
           "state": {"files": files, "units": units, "nft": chains}}
    if data is not None:
        doc["data"] = data
    return doc


def parse(text):
    """The stamp read from its file, or None (missing, not JSON, another version)."""
    if not text:
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("version") != STAMP_VERSION or not isinstance(doc.get("state"), dict):
        return None
    return doc


def recorded(doc):
    """The paths, units and chains a stamp records."""
    state = doc.get("state") or {}
    return (sorted(state.get("files") or {}), sorted(state.get("units") or {}), sorted(state.get("nft") or {}))


def drift(doc, files, units, chains):
    """What differs between a stamp and the host now: a list of sentences
    (empty: nothing moved). files, units, chains: the same readers' output
    for the paths, units and chains the stamp records."""
    out = []
    state = doc.get("state") or {}
    for path, was in sorted((state.get("files") or {}).items()):
        now = files.get(path)
        if was == now or (was is not None and now is not None and list(was) == list(now)):
            continue
        if was is None:
            out.append("%s: present, should be absent" % path)
        elif now is None:
            out.append("%s: missing" % path)
        elif was[0] != now[0]:
            out.append("%s: content changed" % path)
        else:
            out.append("%s: mode or ownership %s, was %s" % (path, now[1], was[1]))
    for unit, was in sorted((state.get("units") or {}).items()):
        if units.get(unit) != was:
            out.append("%s: %s, was %s" % (unit, units.get(unit), was))
    for chain, was in sorted((state.get("nft") or {}).items()):
        if chains.get(chain) != was:
            out.append("nft chain %s: %s" % (chain, "missing" if chains.get(chain) == "missing" else "rules changed"))
    return out


def report(doc, files, units, chains):
    """What ollama_info returns for one stamp path."""
    if doc is None:
        return {"present": False, "inputs": None, "drift": ["no stamp"], "data": None}
    return {"present": True, "inputs": doc.get("inputs"), "drift": drift(doc, files, units, chains),
            "data": doc.get("data")}


def read_host_state(module, files, units, chains, parse_show, shown=None):
    """The state of these files, units and chains on this host now, with an
    AnsibleModule's run_command (read-only commands: systemctl show, nft
    list chain). parse_show: ollama_systemd.parse_systemctl_show. shown:
    {Id: block} of a ``systemctl show`` the caller already ran for these
    units among others (ollama_info: one for the whole read), or None to
    run one here."""
    blocks = []
    if shown is not None:
        blocks = [shown[name] for name in units if name in shown]
    elif units and os.path.isdir("/run/systemd/system"):
        systemctl = module.get_bin_path("systemctl")
        if systemctl:
            rc, out, _err = module.run_command([systemctl, "show", "--no-pager", "-p",
                                                "Id,LoadState,ActiveState,UnitFileState", "--"] + list(units))
            blocks = parse_show(out) if rc == 0 else []
    nft = module.get_bin_path("nft") if chains else None

    def run_nft(args):
        if not nft:
            return 1, ""
        rc, out, _err = module.run_command([nft] + args, environ_update={"LC_ALL": "C"})
        return rc, out
    return file_state(list(files)), unit_state(blocks, list(units)), nft_state(run_nft, list(chains))


def load_stamps(directory=None):
    """{name: stamp document or None} for every stamp of the directory
    (<name>.json), read from disk."""
    out = {}
    for path in sorted(glob.glob(os.path.join(directory or stamp_dir(), "*.json"))):
        name = os.path.basename(path)[:-len(".json")]
        if not NAME_PATTERN.match(name):
            continue
        try:
            with open(path, "r") as handle:
                out[name] = parse(handle.read())
        except (IOError, OSError):
            out[name] = None
    return out


def stamp_units(docs):
    """Every unit the stamps (load_stamps) record, sorted."""
    return sorted(set(unit for doc in docs.values() if doc is not None for unit in recorded(doc)[1]))


def read_stamps(module, parse_show, docs, shown=None):
    """{name: report} for each stamp load_stamps found (ollama_info
    ``stamps``); shown: as read_host_state."""
    out = {}
    for name, doc in sorted(docs.items()):
        if doc is None:
            out[name] = report(None, {}, {}, {})
            continue
        files, units, chains = recorded(doc)
        out[name] = report(doc, *read_host_state(module, files, units, chains, parse_show, shown))
    return out
