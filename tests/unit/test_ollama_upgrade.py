# -*- coding: utf-8 -*-
"""The upgrade plan (plugin_utils/ollama_upgrade.py)."""

import io
import os
import subprocess
import tarfile

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_upgrade import (
    archive_problems, binary_version, check_input, compare, exec_binary, listing_problems, parse_listing,
    parse_version, plan, problems, version_url, wall_plan)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import parse_ollama_host

SHA = "a" * 64


def facts(*services):
    """Audit facts with services given as (name, running version or None, OLLAMA_HOST, active)."""
    svcs, installs = [], []
    for name, version, host, active in services:
        svcs.append({"name": name, "exec_start": "/usr/local/bin/ollama serve",
                     "active_state": "active" if active else "inactive", "bind": parse_ollama_host(host),
                     "running_bind": parse_ollama_host(host) if active else None})
        installs.append({"subject": name, "kind": "service", "version": version})
    return {"services": svcs, "installs": installs}


@pytest.mark.parametrize("older,newer", [
    ("0.1.33", "0.1.34"), ("0.1.9", "0.1.10"), ("0.9.9", "0.10.0"), ("0.17.0", "1.0.0"),
    ("0.5.0-rc1", "0.5.0"), ("0.5.0-rc2", "0.5.0-rc10"), ("v0.1.33", "0.20.0")])
def test_compare_orders_numerically(older, newer):
    assert compare(older, newer) == -1 and compare(newer, older) == 1
    assert compare(older, older) == 0


@pytest.mark.parametrize("bad", ["", None, "latest", "0.1", "0.1.33.1", "01.1.1", "0.1.x", "0.1.33 ",
                                 "0.1.33-beta", "0.1.33\n; rm -rf /", "../0.1.33"])
def test_malformed_versions_are_refused(bad):
    if bad == "0.1.33 ":  # surrounding blanks are trimmed
        assert parse_version(bad) == (0, 1, 33, (1,))
        return
    with pytest.raises(ValueError):
        parse_version(bad)


def test_binary_version_prefers_the_client_line():
    assert binary_version("ollama version is 0.1.33\n") == "0.1.33"
    out = "ollama version is 0.17.0\nWarning: client version is 0.20.0\n"
    assert binary_version(out) == "0.20.0"
    assert binary_version("Warning: could not connect to a running Ollama instance\n"
                          "Warning: client version is 0.5.7\n") == "0.5.7"
    assert binary_version("") is None and binary_version(None) is None
    assert binary_version("ollama version is garbage") is None


def test_check_input_names_each_variable():
    assert check_input("0.20.0", SHA, src="/tmp/a.tgz") == []
    assert check_input("0.20.0", SHA, url="https://mirror.example/ollama-linux-amd64.tgz") == []
    errors = " ".join(check_input("", "", url="", src=""))
    for name in ("ollama_upgrade_version", "ollama_upgrade_sha256", "ollama_upgrade_url"):
        assert name in errors
    assert "ollama_upgrade_version" in check_input("latest", SHA, src="/a")[0]
    assert "ollama_upgrade_sha256" in check_input("0.20.0", "abc", src="/a")[0]
    assert "ollama_upgrade_sha256" in check_input("0.20.0", "g" * 64, src="/a")[0]
    assert "both" in check_input("0.20.0", SHA, url="http://m/a", src="/a")[0]
    assert "ollama_upgrade_url" in check_input("0.20.0", SHA, url="mirror/a.tgz")[0]
    assert "ollama_upgrade_install_dir" in check_input("0.20.0", SHA, src="/a", install_dir="/")[0]
    assert "ollama_upgrade_backup_dir" in check_input("0.20.0", SHA, src="/a", backup_dir="relative")[0]
    assert "ollama_upgrade_wait_timeout" in check_input("0.20.0", SHA, src="/a", wait_timeout="0")[0]
    assert "ollama_upgrade_wait_timeout" in check_input("0.20.0", SHA, src="/a", wait_timeout="soon")[0]


def test_plan_upgrades_and_restarts_the_running_services():
    result = plan(facts(("ollama.service", "0.1.33", "0.0.0.0:11434", True),
                        ("ollama-b.service", None, "127.0.0.1:11500", False)),
                  "0.20.0", binary="0.1.33")
    assert result["install"] and result["act"] and not result["downgrade"]
    assert result["restart"] == ["ollama.service"]  # a stopped service stays stopped
    assert result["binary"] == "/usr/local/bin/ollama" and result["lib_dir"] == "/usr/local/lib/ollama"
    assert result["services"][0]["url"] == "http://127.0.0.1:11434/api/version"
    assert result["services"][1]["url"] == "http://127.0.0.1:11500/api/version"


def test_plan_same_version_changes_nothing():
    result = plan(facts(("ollama.service", "0.20.0", "127.0.0.1", True)), "v0.20.0", binary="0.20.0")
    assert (result["install"], result["restart"], result["act"]) == (False, [], False)


def test_plan_restarts_a_service_still_running_the_old_binary():
    result = plan(facts(("ollama.service", "0.1.33", "127.0.0.1", True)), "0.20.0", binary="0.20.0")
    assert (result["install"], result["restart"]) == (False, ["ollama.service"])


def test_plan_refuses_a_downgrade_without_the_flag():
    with pytest.raises(ValueError, match="ollama_upgrade_allow_downgrade"):
        plan(facts(("ollama.service", "0.20.0", "127.0.0.1", True)), "0.17.0", binary="0.20.0")
    # The running server counts, even when the binary's version is unknown.
    with pytest.raises(ValueError, match="older than the installed 0.20.0"):
        plan(facts(("ollama.service", "0.20.0", "127.0.0.1", True)), "0.17.0", binary=None)
    result = plan(facts(("ollama.service", "0.20.0", "127.0.0.1", True)), "0.17.0", binary="0.20.0",
                  allow_downgrade=True)
    assert result["downgrade"] and result["install"] and result["restart"] == ["ollama.service"]


def test_plan_without_binary_installs():
    result = plan({"services": [], "installs": []}, "0.20.0", binary=None)
    assert result["install"] and result["restart"] == [] and result["installed"] is None


def test_plan_refuses_a_service_running_another_binary():
    data = facts(("ollama.service", "0.1.33", "127.0.0.1", True))
    data["services"][0]["exec_start"] = "-/usr/bin/ollama serve"
    with pytest.raises(ValueError, match="ollama_upgrade_install_dir"):
        plan(data, "0.20.0", binary="0.1.33")
    assert plan(data, "0.20.0", binary="0.1.33", install_dir="/usr")["binary"] == "/usr/bin/ollama"


def test_exec_binary_and_version_url():
    assert exec_binary("@-/usr/local/bin/ollama serve") == "/usr/local/bin/ollama"
    assert exec_binary(None) == ""
    assert version_url({"bind": parse_ollama_host("[::1]:11500")}) == "http://[::1]:11500/api/version"
    assert version_url({"bind": parse_ollama_host("[::]:11434")}) == "http://127.0.0.1:11434/api/version"
    assert version_url({}) == "http://127.0.0.1:11434/api/version"


def test_problems_name_each_service_that_is_not_up():
    items = [{"name": "a.service", "url": "http://127.0.0.1:11434/api/version"},
             {"name": "b.service", "url": "http://127.0.0.1:11500/api/version"},
             {"name": "c.service", "url": "http://127.0.0.1:11600/api/version"}]
    results = [{"status": 200, "json": {"version": "0.20.0"}},
               {"status": 200, "json": {"version": "0.1.33"}},
               {"status": -1, "msg": "Connection refused"}]
    found = problems(items, results, "0.20.0")
    assert len(found) == 2
    assert "b.service" in found[0] and "answers version 0.1.33" in found[0]
    assert "c.service" in found[1] and "Connection refused" in found[1]
    assert problems(items[:1], results[:1], "0.20.0") == []
    assert "not checked" in problems(items, results[:1], "0.20.0")[-1]



# The archive check: archives built member by member (tarfile), listed by GNU
# tar exactly as the role lists them on the host, then judged.
def tar_listing(tmp_path, members, name="a.tgz"):
    """GNU tar's listing of a gzip tarball holding `members`: tuples
    (name, type, target) with type file, dir, symlink, hardlink, chr or
    fifo; every member owned by uid 1234 with mode 0777, as an archive
    packed without --owner 0 may be."""
    path = tmp_path / name
    kinds = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
             "hardlink": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}
    with tarfile.open(str(path), "w:gz", format=tarfile.GNU_FORMAT) as archive:
        for member in members:
            member_name, kind, target = (tuple(member) + (None,))[:3]
            info = tarfile.TarInfo(member_name)
            info.type, info.uid, info.gid, info.mode = kinds[kind], 1234, 1234, 0o777
            data = b"ollama\\n" if kind == "file" else b""
            info.size = len(data)
            if target is not None:
                info.linkname = target
            archive.addfile(info, io.BytesIO(data) if data else None)
    return subprocess.run(
        ["tar", "--list", "--verbose", "--absolute-names", "--numeric-owner", "--full-time", "--quoting-style=c",
         "--file", str(path)],
        env=dict(os.environ, LC_ALL="C"), check=True, capture_output=True, text=True).stdout


UPSTREAM = [("bin", "dir"), ("bin/ollama", "file"), ("lib", "dir"), ("lib/ollama", "dir"),
            ("lib/ollama/libggml-base.so", "symlink", "libggml-base.so.0"),
            ("lib/ollama/libggml-base.so.0", "file"),
            ("lib/ollama/cuda_v12", "dir"), ("lib/ollama/cuda_v12/libcudart.so.12", "file"),
            ("lib/ollama/mlx_cuda_v12", "dir"),
            # deduplicate_cuda_libs.sh's links, and one to the lib dir itself
            ("lib/ollama/mlx_cuda_v12/libcudart.so.12", "symlink", "../cuda_v12/libcudart.so.12"),
            ("lib/ollama/mlx_cuda_v12/all", "symlink", "../../ollama"),
            ("lib/ollama/hard", "hardlink", "lib/ollama/libggml-base.so.0")]


def test_archive_check_accepts_upstream_layouts(tmp_path):
    """`tar c bin lib` (amd64) and `tar c -C dist .` (multi-platform:
    every name under ./, the root itself a member), with links inside
    lib/ollama/, owned by uid 1234 with mode 0777 (the role resets those)."""
    listing = tar_listing(tmp_path, UPSTREAM)
    members = parse_listing(listing)
    assert [m["name"] for m in members] == [m[0] + ("/" if m[1] == "dir" else "") for m in UPSTREAM]
    assert members[4]["target"] == "libggml-base.so.0" and members[4]["type"] == "symbolic link"
    assert members[-1]["type"] == "hard link" and members[-1]["uid"] == 1234 and members[1]["mode"] == "rwxrwxrwx"
    assert listing_problems(listing) == []
    dotted = [("./", "dir")] + [("./" + m[0],) + m[1:2] + tuple("./" + t if m[1] == "hardlink" else t
                                                                  for t in m[2:]) for m in UPSTREAM]
    assert listing_problems(tar_listing(tmp_path, dotted, "dot.tgz")) == []


@pytest.mark.parametrize("extra,why", [
    (("etc/cron.d/ollama", "file"), "'etc/cron.d/ollama' is outside bin/ollama and lib/ollama/"),
    (("bin/ollama-helper", "file"), "'bin/ollama-helper' is outside"),
    (("lib/libc.so.6", "file"), "'lib/libc.so.6' is outside"),
    (("ollama", "file"), "'ollama' is outside"),
    (("/etc/passwd", "file"), "'/etc/passwd' is an absolute path"),
    (("lib/ollama/../../etc/passwd", "file"), "contains '..'"),
    (("./../usr/bin/x", "file"), "contains '..'"),
    (("lib//ollama/x", "file"), "not a plain path"),
    (("lib/ollama/./x", "file"), "not a plain path"),
    (("lib/ollama/evil", "symlink", "/etc/shadow"), "symbolic link to '/etc/shadow' (absolute"),
    (("lib/ollama/evil", "symlink", "../../bin/ollama"), "leads outside lib/ollama/"),
    (("lib/ollama/evil", "symlink", "../../../../etc"), "leads outside lib/ollama/"),
    (("lib/ollama/cuda_v12/evil", "symlink", "../.."), "leads outside lib/ollama/"),
    (("lib/ollama/evil", "symlink", ""), "(absolute or empty)"),
    (("lib/ollama/evil", "hardlink", "etc/shadow"), "hard link to 'etc/shadow', not to a file"),
    (("lib/ollama/evil", "hardlink", "/etc/shadow"), "absolute path"),
    (("lib/ollama/evil", "hardlink", "bin/ollama"), "hard link to 'bin/ollama'"),
    (("lib/ollama/evil", "hardlink", "lib/ollama/../../etc/shadow"), "contains '..'"),
    (("lib/ollama/tty", "chr"), "is a other (c)"),
    (("lib/ollama/fifo", "fifo"), "is a other (p)"),
    (("bin/ollama", "file"), "'bin/ollama' appears twice"),
    (("lib/ollama/libggml-base.so.0", "symlink", "/etc/shadow"), "appears twice"),
])
def test_archive_check_refuses_anything_else(tmp_path, extra, why):
    found = listing_problems(tar_listing(tmp_path, UPSTREAM + [extra]))
    assert len(found) == 1 and why in found[0], found


@pytest.mark.parametrize("members,why", [
    # A link that stays inside by its text but leaves through another link.
    ([("lib/ollama/d", "symlink", "."), ("lib/ollama/x", "symlink", "d/..")], "'lib/ollama/x' is a symbolic link"),
    ([("lib/ollama/d", "symlink", "cuda_v12/.."), ("lib/ollama/x", "symlink", "d/../..")], "leads outside"),
    ([("lib/ollama/a", "symlink", "b"), ("lib/ollama/b", "symlink", "a")], "'lib/ollama/a' is a symbolic link"),
    # A member unpacked through a link (GNU tar would follow it).
    ([("lib/ollama/sub", "symlink", "cuda_v12"), ("lib/ollama/sub/x.so", "file")], "goes through the symbolic link"),
])
def test_archive_check_follows_links_as_extraction_would(tmp_path, members, why):
    found = listing_problems(tar_listing(tmp_path, UPSTREAM + members))
    assert found and why in found[0], found


@pytest.mark.parametrize("replace,why", [
    (("lib", "symlink", "/etc"), "'lib' is a symbolic link (only a directory"),
    (("lib/ollama", "symlink", "../etc"), "'lib/ollama' is a symbolic link (only a directory"),
    (("bin", "symlink", "/usr/bin"), "'bin' is a symbolic link"),
    (("bin/ollama", "symlink", "../lib/ollama/libggml-base.so.0"), "'bin/ollama' is a symbolic link (only a file"),
    (("bin/ollama", "hardlink", "lib/ollama/libggml-base.so.0"), "'bin/ollama' is a hard link"),
    (("bin/ollama", "dir"), "'bin/ollama/' is a directory"),
])
def test_archive_check_wants_directories_on_the_way_and_a_binary(tmp_path, replace, why):
    members = [replace if m[0] == replace[0] else m for m in UPSTREAM]
    found = listing_problems(tar_listing(tmp_path, members))
    assert found and why in found[0], found


def test_archive_check_wants_bin_ollama(tmp_path):
    assert listing_problems(tar_listing(tmp_path, [m for m in UPSTREAM if m[0] != "bin/ollama"])) == [
        "there is no bin/ollama"]
    assert archive_problems([]) == ["there is no bin/ollama"]


def test_archive_listing_names_are_read_exactly(tmp_path):
    """Quotes, newlines, spaces, ' -> ' and non-ASCII in names come back as
    stored (a name that tar escapes cannot hide another one)."""
    odd = ['lib/ollama/we"ird\nname \u00e9', "lib/ollama/a -> b", "lib/ollama/x link to y", "lib/ollama/tab\there"]
    listing = tar_listing(tmp_path, UPSTREAM + [(name, "file") for name in odd])
    assert [m["name"] for m in parse_listing(listing)][-4:] == odd
    assert listing_problems(listing) == []
    found = listing_problems(tar_listing(tmp_path, UPSTREAM + [("lib/ollama/x\n/etc/passwd", "file"),
                                                               ("x -> lib/ollama/y", "file")], "b.tgz"))
    assert found == ["'x -> lib/ollama/y' is outside bin/ollama and lib/ollama/"]


def test_archive_listing_that_cannot_be_read_is_refused():
    with pytest.raises(ValueError, match="line 1"):
        parse_listing("tar: something odd\n")
    for bad in ['-rwxr-xr-x 0/0 2 2026-01-01 00:00:00 "bin/ollama" junk',
                '-rwxr-xr-x 0/0 2 2026-01-01 00:00:00 "bin/ollama',
                '-rwxr-xr-x 0/0 2 2026-01-01 00:00:00 "bin/\\qollama"',
                '-rwxr-xr-x 0/0 2 2026-01-01 00:00:00 "bin/\\377ollama"',
                '-rwxr-xr-x 0/0 2 2026-01-01 00:00:00 "bin/ollama" -> "x"',
                'lrwxrwxrwx 0/0 0 2026-01-01 00:00:00 "lib/ollama/x"']:
        found = listing_problems(bad)
        assert len(found) == 1 and "cannot be read" in found[0], (bad, found)
    many = "\n".join('-rw-r--r-- 0/0 1 2026-01-01 00:00:00 "x%d"' % i for i in range(30))
    found = listing_problems(many)
    assert len(found) == 11 and found[-1] == "and 21 more"


# -- the wall's plan (filter wall_plan('upgrade', options, context)) -------------------
OPTIONS = {"ollama_upgrade_version": "0.20.0", "ollama_upgrade_sha256": SHA, "ollama_upgrade_url": "",
           "ollama_upgrade_src": "/tmp/ollama.tgz", "ollama_upgrade_validate_certs": True,
           "ollama_upgrade_allow_downgrade": False, "ollama_upgrade_install_dir": "/usr/local",
           "ollama_upgrade_backup_dir": "/var/lib/ollama-exposure-toolkit/upgrade", "ollama_upgrade_wait_timeout": 60}


def context(binary="ollama version is 0.17.0\n", check_mode=False):
    return {"host": "h1", "ansible_host": "h1", "run_tags": ["all"], "skip_tags": [], "check_mode": check_mode,
            "role_path": "/nonexistent/roles/ollama_upgrade", "binary": {"rc": 0, "stdout": binary, "stderr": ""}}


def test_wall_plan_is_the_plan_with_the_tasks_paths_and_the_contract():
    found = facts(("ollama.service", "0.17.0", "127.0.0.1:11434", True), ("idle.service", None, "", False))
    got = wall_plan(found, OPTIONS, context())
    assert dict((k, got[k]) for k in plan(found, "0.20.0", binary="0.17.0")) == plan(found, "0.20.0", binary="0.17.0")
    assert got["wall"] == "upgrade" and got["act"] and not got["in_place"] and got["settled"] is True
    backup = OPTIONS["ollama_upgrade_backup_dir"]
    assert got["archive"] == backup + "/ollama-0.20.0.tgz" and got["staging"] == backup + "/staging"
    assert got["kept"] == backup + "/versions/0.17.0"
    assert got["source"] == "ollama_upgrade_src /tmp/ollama.tgz"
    assert [s["name"] for s in got["restart_services"]] == got["restart"] == ["ollama.service"]
    assert got["stamp"]["name"] == "ollama_upgrade" and got["stamp"]["write"] is False
    assert got["stamp"]["in_place"] is False


def test_wall_plan_in_place_only_when_nothing_to_do():
    found = facts(("ollama.service", "0.20.0", "", True))
    got = wall_plan(found, OPTIONS, context("ollama version is 0.20.0\n"))
    assert got["in_place"] is True and got["act"] is False and got["restart_services"] == []
    url = dict(OPTIONS, ollama_upgrade_src="", ollama_upgrade_url="https://mirror.example/o.tgz")
    got = wall_plan(facts(("ollama.service", None, "", True)), url, context(""))
    assert got["kept"].endswith("/versions/unknown") and got["source"] == "ollama_upgrade_url https://mirror.example/o.tgz"
    assert got["in_place"] is False


@pytest.mark.parametrize("change,expect", [
    ({"ollama_upgrade_sha256": ""}, "Invalid input: ollama_upgrade_sha256 is required"),
    ({"ollama_upgrade_version": "0.22"}, "ollama_upgrade_version must be"),
    ({"ollama_upgrade_version": "0.1.0"}, "ollama_upgrade_allow_downgrade"),
    ({"ollama_upgrade_allow_downgrade": "maybe", "ollama_upgrade_version": "0.1.0"}, "ollama_upgrade_allow_downgrade"),
    ({"ollama_upgrade_install_dir": "/opt/x"}, "ollama_upgrade_install_dir"),
])
def test_wall_plan_refuses_naming_the_variable(change, expect):
    with pytest.raises(ValueError, match=expect):
        wall_plan(facts(("ollama.service", "0.17.0", "", True)), dict(OPTIONS, **change), context())


def test_wall_plan_needs_the_audit_and_every_option():
    with pytest.raises(ValueError, match="ollama_audit_facts is missing"):
        wall_plan({}, OPTIONS, context())
    short = dict(OPTIONS)
    del short["ollama_upgrade_backup_dir"]
    with pytest.raises(ValueError, match="ollama_upgrade_backup_dir"):
        wall_plan(facts(), short, context())
    with pytest.raises(ValueError, match="context lacks"):
        wall_plan(facts(), OPTIONS, {"binary": {}})


def test_the_wall_plan_filter_dispatches_to_the_upgrade(tmp_path):
    from ansible.errors import AnsibleFilterError
    from ansible_collections.ollama_toolkit.exposure.plugins.filter.wall_plan import wall_plan as wall_plan_filter
    found = facts(("ollama.service", "0.17.0", "", True))
    assert wall_plan_filter(found, "upgrade", OPTIONS, context()) == wall_plan(found, OPTIONS, context())
    with pytest.raises(AnsibleFilterError, match="ollama_upgrade_sha256"):
        wall_plan_filter(found, "upgrade", dict(OPTIONS, ollama_upgrade_sha256="x"), context())


def test_the_role_reads_the_audit_only_through_its_plan():
    """One call reads ollama_audit_facts (the plan); every task reads the plan."""
    tasks = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles", "ollama_upgrade", "tasks")
    uses = []
    for name in sorted(os.listdir(tasks)):
        with open(os.path.join(tasks, name)) as handle:
            uses += ["%s: %s" % (name, line.strip()) for line in handle
                     if "ollama_audit_facts" in line and not line.strip().startswith("#")]
    assert len(uses) == 1 and "wall_plan('upgrade', " in uses[0], uses
