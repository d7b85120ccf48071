# -*- coding: utf-8 -*-
"""systemd unit files, Environment= words, environment files, systemctl show, unit lookup."""

import os

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_systemd import (
    compute_environment, find_unit_files, parse_env_file, parse_environment_assignment,
    parse_environment_files_property, parse_systemctl_show, parse_unit_text, split_words, unit_template)

UPSTREAM_UNIT = """\
# /etc/systemd/system/ollama.service as the install script writes it
[Unit]
Description=Ollama Service
After=network-online.target

[Service]
ExecStart=/usr/local/bin/ollama serve
User=ollama
Group=ollama
Restart=always
RestartSec=3
Environment="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"

[Install]
WantedBy=default.target
"""


def _kv(entries):
    return [(e["section"], e["key"], e["value"], e["line"]) for e in entries]


# -- unit files ---------------------------------------------------------------

def test_parse_upstream_unit():
    entries, errors = parse_unit_text(UPSTREAM_UNIT, "/etc/systemd/system/ollama.service")
    assert errors == []
    assert _kv(entries) == [
        ("Unit", "Description", "Ollama Service", 3),
        ("Unit", "After", "network-online.target", 4),
        ("Service", "ExecStart", "/usr/local/bin/ollama serve", 7),
        ("Service", "User", "ollama", 8),
        ("Service", "Group", "ollama", 9),
        ("Service", "Restart", "always", 10),
        ("Service", "RestartSec", "3", 11),
        ("Service", "Environment", '"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"', 12),
        ("Install", "WantedBy", "default.target", 15),
    ]
    assert all(e["file"] == "/etc/systemd/system/ollama.service" for e in entries)


def test_comments_blank_lines_and_spaces():
    text = "# hash\n; semicolon\n   # indented\n\n[Service]\n  Environment = OLLAMA_HOST=0.0.0.0  \n"
    entries, errors = parse_unit_text(text)
    assert errors == []
    assert _kv(entries) == [("Service", "Environment", "OLLAMA_HOST=0.0.0.0", 6)]


def test_continuation_lines():
    text = ("[Service]\n"
            "Environment=A=1 \\\n"
            "    OLLAMA_HOST=0.0.0.0\n"
            "ExecStart=/usr/local/bin/ollama \\\n"
            "  serve\n"
            "User=ollama\n")
    entries, errors = parse_unit_text(text)
    assert errors == []
    assert [(e["key"], e["line"]) for e in entries] == [("Environment", 2), ("ExecStart", 4), ("User", 6)]
    words = split_words(entries[0]["value"])[0]
    assert words == ["A=1", "OLLAMA_HOST=0.0.0.0"]
    assert split_words(entries[1]["value"])[0] == ["/usr/local/bin/ollama", "serve"]


def test_comment_inside_continuation_is_skipped():
    # systemd (conf-parser.c) skips comment lines inside a continuation and goes on.
    text = ("[Service]\n"
            "Environment=A=1 \\\n"
            "# exposing on purpose\n"
            "; still a comment\n"
            "    OLLAMA_HOST=0.0.0.0\n")
    entries, errors = parse_unit_text(text)
    assert errors == []
    assert len(entries) == 1 and entries[0]["line"] == 2
    pairs, problems = parse_environment_assignment(entries[0]["value"])
    assert pairs == [("A", "1"), ("OLLAMA_HOST", "0.0.0.0")] and problems == []


def test_continuation_at_end_of_file():
    entries, errors = parse_unit_text("[Service]\nEnvironment=OLLAMA_HOST=0.0.0.0 \\")
    assert errors == []
    assert entries[0]["value"] == "OLLAMA_HOST=0.0.0.0"


def test_malformed_lines_reported_with_line_numbers():
    text = ("Environment=OLLAMA_HOST=0.0.0.0\n"      # 1: outside any section
            "[Service]\n"                            # 2
            "this line is not an assignment\n"       # 3
            "=novalue\n"                             # 4
            "Environment=OLLAMA_HOST=127.0.0.1\n"    # 5: fine
            "[Broken\n"                              # 6: bad header
            "User=ollama\n")                         # 7: outside any section again
    entries, errors = parse_unit_text(text, "/etc/systemd/system/ollama.service.d/override.conf")
    assert [e["line"] for e in entries] == [5]
    assert [(e["line"], e["file"]) for e in errors] == [
        (1, "/etc/systemd/system/ollama.service.d/override.conf"),
        (3, "/etc/systemd/system/ollama.service.d/override.conf"),
        (4, "/etc/systemd/system/ollama.service.d/override.conf"),
        (6, "/etc/systemd/system/ollama.service.d/override.conf"),
        (7, "/etc/systemd/system/ollama.service.d/override.conf"),
    ]
    assert "outside" in errors[0]["reason"]
    assert "not a key=value" in errors[1]["reason"]
    assert "section header" in errors[3]["reason"]


def test_empty_and_none_unit_text():
    assert parse_unit_text("") == ([], [])
    assert parse_unit_text(None) == ([], [])


# -- Environment= words -------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    ('"A=b c" D=e', [("A", "b c"), ("D", "e")]),
    ("'A=b c' \"D=e f\"", [("A", "b c"), ("D", "e f")]),
    ('A="b c"', [("A", "b c")]),
    ('OLLAMA_HOST=0.0.0.0:11434', [("OLLAMA_HOST", "0.0.0.0:11434")]),
    ('"OLLAMA_HOST=0.0.0.0:11434"', [("OLLAMA_HOST", "0.0.0.0:11434")]),
    ('"A=x\\"y"', [("A", 'x"y')]),
    ("'A=it\\'s'", [("A", "it's")]),
    ('A=\\x41\\101\\t', [("A", "AA\t")]),
    ('"A=a\\sb" B=\\\\', [("A", "a b"), ("B", "\\")]),
    ('A=1\tB=2', [("A", "1"), ("B", "2")]),
    ('A=100%% B=%%h', [("A", "100%"), ("B", "%h")]),
    ('A= B==', [("A", ""), ("B", "=")]),
    ('A=1 A=2', [("A", "1"), ("A", "2")]),
    ('', []),
])
def test_environment_assignment(value, expected):
    pairs, problems = parse_environment_assignment(value)
    assert pairs == expected
    assert problems == []


@pytest.mark.parametrize("value,expected_pairs,n_problems", [
    ("NOEQUALS", [], 1),
    ("1A=x", [], 1),
    ("B-C=y OK=1", [("OK", "1")], 1),
    ("=x", [], 1),
    # unbalanced quote: the unterminated word and the rest of the line are ignored...
    ('"OLLAMA_HOST=127.0.0.1', [], 1),
    ("'OLLAMA_HOST=0.0.0.0 A=1", [], 1),
    # ...but systemd has already applied the words before it (config_parse_environ)
    ('OLLAMA_HOST=0.0.0.0 "BROKEN', [("OLLAMA_HOST", "0.0.0.0")], 1),
])
def test_environment_assignment_problems(value, expected_pairs, n_problems):
    pairs, problems = parse_environment_assignment(value)
    assert pairs == expected_pairs
    assert len(problems) == n_problems


def test_split_words_reports_unbalanced_quotes():
    assert split_words('a "b c" d') == (["a", "b c", "d"], None)
    assert split_words("a 'b") == (["a"], "unbalanced quotes")
    assert split_words('"') == ([], "unbalanced quotes")
    assert split_words("   ") == ([], None)
    assert split_words('""') == ([""], None)


# -- environment files --------------------------------------------------------

ENV_FILE = """\
# /etc/default/ollama
; a comment too
OLLAMA_HOST="0.0.0.0:8080"
OLLAMA_ORIGINS='*'
export OLLAMA_MODELS=/srv/models
NOEQUALS
  SPACED = value with spaces   
ESC="a\\"b\\\\c\\$d\\qe"
CONT=abc\\
def
INLINE=0.0.0.0 # not a comment for systemd
QUOTED_TRAIL="x  "
MIXED='a' "b"
MIDQUOTE=a'b c'
EMPTY=
UNQUOTED_ESC=a\\ b\\"c
1BAD=x
"""


def test_parse_env_file():
    entries, errors = parse_env_file(ENV_FILE, "/etc/default/ollama")
    values = dict((e["key"], e["value"]) for e in entries)
    assert values == {
        "OLLAMA_HOST": "0.0.0.0:8080",
        "OLLAMA_ORIGINS": "*",
        "SPACED": "value with spaces",
        "ESC": 'a"b\\c$d\\qe',
        "CONT": "abcdef",
        "INLINE": "0.0.0.0 # not a comment for systemd",
        "QUOTED_TRAIL": "x  ",
        "MIXED": "ab",
        "MIDQUOTE": "a'b c'",
        "EMPTY": "",
        "UNQUOTED_ESC": 'a b"c',
    }
    lines = dict((e["key"], e["line"]) for e in entries)
    assert lines["OLLAMA_HOST"] == 3 and lines["CONT"] == 9 and lines["INLINE"] == 11
    assert all(e["file"] == "/etc/default/ollama" for e in entries)
    # `export` is not shell syntax systemd knows: the key "export OLLAMA_MODELS" is invalid
    assert [e["line"] for e in errors] == [5, 6, 17]
    assert all(e["file"] == "/etc/default/ollama" for e in errors)
    assert "OLLAMA_MODELS" not in values


def test_env_file_later_assignment_wins_in_compute():
    text = "OLLAMA_HOST=127.0.0.1\nOLLAMA_HOST=0.0.0.0\n"
    result = compute_environment(
        [{"section": "Service", "key": "EnvironmentFile", "value": "/e", "file": "/u", "line": 1}],
        lambda path: text)
    assert result["env"]["OLLAMA_HOST"] == "0.0.0.0"
    assert result["origin"]["OLLAMA_HOST"]["line"] == 2


# -- compute_environment ------------------------------------------------------

def _entries(*files):
    """Parse (path, text) pairs in order, like the module does with the fragment and drop-ins."""
    out = []
    for path, text in files:
        entries, errors = parse_unit_text(text, path)
        assert errors == []
        out.extend(entries)
    return out


def _reader(files):
    return lambda path: files.get(path)


UNIT = "/etc/systemd/system/ollama.service"
DROPIN_DIR = "/etc/systemd/system/ollama.service.d/"


def test_environment_file_beats_environment_from_a_later_dropin():
    entries = _entries(
        (UNIT, "[Service]\nExecStart=/usr/local/bin/ollama serve\nEnvironmentFile=-/etc/default/ollama\n"),
        (DROPIN_DIR + "10-loopback.conf", '[Service]\nEnvironment="OLLAMA_HOST=127.0.0.1"\n'),
    )
    result = compute_environment(entries, _reader({"/etc/default/ollama": "OLLAMA_HOST=0.0.0.0:8080\n"}))
    assert result["env"]["OLLAMA_HOST"] == "0.0.0.0:8080"
    assert result["origin"]["OLLAMA_HOST"] == {"file": "/etc/default/ollama", "line": 1, "via": "EnvironmentFile"}
    # both assignments are in the history, Environment= first
    assert [(h["value"], h["via"]) for h in result["history"]] == [
        ("127.0.0.1", "Environment"), ("0.0.0.0:8080", "EnvironmentFile")]
    assert result["errors"] == []


def test_later_environment_file_wins():
    entries = _entries(
        (UNIT, "[Service]\nEnvironmentFile=/etc/default/a\n"),
        (DROPIN_DIR + "override.conf", "[Service]\nEnvironmentFile=/etc/default/b\n"),
    )
    files = {"/etc/default/a": "OLLAMA_HOST=0.0.0.0\nOLLAMA_ORIGINS=*\n", "/etc/default/b": "OLLAMA_HOST=127.0.0.1\n"}
    result = compute_environment(entries, _reader(files))
    assert result["env"] == {"OLLAMA_HOST": "127.0.0.1", "OLLAMA_ORIGINS": "*"}
    assert result["origin"]["OLLAMA_HOST"]["file"] == "/etc/default/b"
    assert [f["path"] for f in result["environment_files"]] == ["/etc/default/a", "/etc/default/b"]
    assert all(f["exists"] for f in result["environment_files"])


def test_later_dropin_environment_wins_and_origin_points_at_it():
    entries = _entries(
        (UNIT, UPSTREAM_UNIT),
        (DROPIN_DIR + "10-secure.conf", '[Service]\nEnvironment="OLLAMA_HOST=127.0.0.1:11434"\n'),
        (DROPIN_DIR + "20-expose.conf", '[Service]\n# FAQ\nEnvironment="OLLAMA_HOST=0.0.0.0:11434"\n'),
    )
    result = compute_environment(entries, _reader({}))
    assert result["env"]["OLLAMA_HOST"] == "0.0.0.0:11434"
    assert result["env"]["PATH"].startswith("/usr/local/sbin")
    assert result["origin"]["OLLAMA_HOST"] == {"file": DROPIN_DIR + "20-expose.conf", "line": 3,
                                               "via": "Environment"}


def test_empty_environment_resets_the_list():
    entries = _entries(
        (UNIT, "[Service]\nEnvironment=OLLAMA_HOST=0.0.0.0 PATH=/bin\n"),
        (DROPIN_DIR + "override.conf", "[Service]\nEnvironment=\nEnvironment=OLLAMA_ORIGINS=http://a\n"),
    )
    result = compute_environment(entries, _reader({}))
    assert result["env"] == {"OLLAMA_ORIGINS": "http://a"}


def test_empty_environment_file_resets_the_list():
    entries = _entries(
        (UNIT, "[Service]\nEnvironmentFile=/etc/default/ollama\n"),
        (DROPIN_DIR + "override.conf", "[Service]\nEnvironmentFile=\n"),
    )
    result = compute_environment(entries, _reader({"/etc/default/ollama": "OLLAMA_HOST=0.0.0.0\n"}))
    assert result["env"] == {} and result["environment_files"] == [] and result["errors"] == []


def test_missing_environment_files():
    entries = _entries((UNIT, "[Service]\nEnvironmentFile=-/etc/default/optional\n"
                              "EnvironmentFile=/etc/default/required\n"))
    result = compute_environment(entries, _reader({}))
    files = result["environment_files"]
    assert [(f["path"], f["optional"], f["exists"]) for f in files] == [
        ("/etc/default/optional", True, False), ("/etc/default/required", False, False)]
    assert len(result["errors"]) == 1
    error = result["errors"][0]
    assert (error["file"], error["line"]) == (UNIT, 3)
    assert "/etc/default/required" in error["reason"]


def test_errors_from_words_and_env_files_are_collected():
    entries = _entries((UNIT, '[Service]\nEnvironment=1BAD=x "OLLAMA_HOST=0.0.0.0\nEnvironmentFile=/e\n'))
    result = compute_environment(entries, _reader({"/e": "export X=1\n"}))
    assert result["env"] == {}
    assert sorted((e["file"], e["line"]) for e in result["errors"]) == [("/e", 1), (UNIT, 2), (UNIT, 2)]


def test_only_service_section_counts():
    entries = [{"section": "Unit", "key": "Environment", "value": "OLLAMA_HOST=0.0.0.0", "file": UNIT, "line": 2},
               {"section": "Service", "key": "Environment", "value": "OLLAMA_HOST=127.0.0.1", "file": UNIT, "line": 5}]
    assert compute_environment(entries, _reader({}))["env"] == {"OLLAMA_HOST": "127.0.0.1"}


# -- systemctl show -----------------------------------------------------------

SHOW = """\
Id=ollama.service
LoadState=loaded
ActiveState=active
SubState=running
MainPID=1234
NeedDaemonReload=no
Environment=PATH=/usr/local/bin:/usr/bin "OLLAMA_HOST=0.0.0.0:11434"
EnvironmentFiles=/etc/default/ollama (ignore_errors=yes)
EnvironmentFiles=/etc/ollama/env file (ignore_errors=no)
a line without an equals sign

Id=ollama-gpu.service
LoadState=not-found
ActiveState=inactive
MainPID=0
MainPID=7
"""


def test_parse_systemctl_show_blocks():
    blocks = parse_systemctl_show(SHOW)
    assert len(blocks) == 2
    first, second = blocks
    assert first["Id"] == "ollama.service" and first["MainPID"] == "1234"
    assert first["Environment"] == 'PATH=/usr/local/bin:/usr/bin "OLLAMA_HOST=0.0.0.0:11434"'
    assert first["EnvironmentFiles"] == ["/etc/default/ollama (ignore_errors=yes)",
                                         "/etc/ollama/env file (ignore_errors=no)"]
    assert second["Id"] == "ollama-gpu.service" and second["LoadState"] == "not-found"
    assert second["MainPID"] == "7"  # the last value wins
    assert "EnvironmentFiles" not in second
    assert parse_systemctl_show("") == [] and parse_systemctl_show("\n\n\n") == []


def test_parse_environment_files_property():
    files = parse_environment_files_property(parse_systemctl_show(SHOW)[0]["EnvironmentFiles"] + ["/plain", "  "])
    assert files == [
        {"path": "/etc/default/ollama", "optional": True},
        {"path": "/etc/ollama/env file", "optional": False},
        {"path": "/plain", "optional": False},
    ]
    assert parse_environment_files_property(None) == []


# -- finding unit files under a root -----------------------------------------

def _write(root, path, text="[Service]\n"):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as handle:
        handle.write(text)
    return full


def test_fragment_precedence_etc_over_usr_lib(tmp_path):
    _write(tmp_path, "/usr/lib/systemd/system/ollama.service")
    _write(tmp_path, "/lib/systemd/system/ollama.service")
    result = find_unit_files("ollama.service", root=str(tmp_path))
    assert result["fragment"] == "/usr/lib/systemd/system/ollama.service"
    _write(tmp_path, "/etc/systemd/system/ollama.service")
    result = find_unit_files("ollama.service", root=str(tmp_path))
    assert result == {"fragment": "/etc/systemd/system/ollama.service", "masked": False, "dropins": []}


def test_missing_unit(tmp_path):
    assert find_unit_files("ollama.service", root=str(tmp_path)) == {
        "fragment": None, "masked": False, "dropins": []}


def test_dropins_sorted_by_name_with_masking(tmp_path):
    _write(tmp_path, "/usr/lib/systemd/system/ollama.service")
    _write(tmp_path, "/usr/lib/systemd/system/ollama.service.d/10-vendor.conf")
    _write(tmp_path, "/usr/lib/systemd/system/ollama.service.d/50-shared.conf")
    _write(tmp_path, "/run/systemd/system/ollama.service.d/20-runtime.conf")
    _write(tmp_path, "/etc/systemd/system/ollama.service.d/override.conf")
    _write(tmp_path, "/etc/systemd/system/ollama.service.d/50-shared.conf")
    _write(tmp_path, "/etc/systemd/system/ollama.service.d/README")  # not a .conf
    _write(tmp_path, "/etc/systemd/system/service.d/00-all-services.conf")
    _write(tmp_path, "/etc/systemd/system/other.service.d/99-other.conf")
    result = find_unit_files("ollama.service", root=str(tmp_path))
    assert result["fragment"] == "/usr/lib/systemd/system/ollama.service"
    assert result["dropins"] == [
        "/etc/systemd/system/service.d/00-all-services.conf",
        "/usr/lib/systemd/system/ollama.service.d/10-vendor.conf",
        "/run/systemd/system/ollama.service.d/20-runtime.conf",
        "/etc/systemd/system/ollama.service.d/50-shared.conf",  # masks the /usr/lib one
        "/etc/systemd/system/ollama.service.d/override.conf",
    ]


def test_masked_unit(tmp_path):
    _write(tmp_path, "/usr/lib/systemd/system/ollama.service")
    link = os.path.join(str(tmp_path), "etc/systemd/system/ollama.service")
    os.makedirs(os.path.dirname(link))
    os.symlink("/dev/null", link)
    result = find_unit_files("ollama.service", root=str(tmp_path))
    assert result["masked"] is True
    assert result["fragment"] == "/etc/systemd/system/ollama.service"


def test_template_instance(tmp_path):
    _write(tmp_path, "/usr/lib/systemd/system/ollama@.service")
    _write(tmp_path, "/etc/systemd/system/ollama@.service.d/10-template.conf")
    _write(tmp_path, "/etc/systemd/system/ollama@gpu0.service.d/20-instance.conf")
    _write(tmp_path, "/etc/systemd/system/ollama@gpu1.service.d/30-other-instance.conf")
    result = find_unit_files("ollama@gpu0.service", root=str(tmp_path))
    assert result["fragment"] == "/usr/lib/systemd/system/ollama@.service"
    assert result["dropins"] == ["/etc/systemd/system/ollama@.service.d/10-template.conf",
                                 "/etc/systemd/system/ollama@gpu0.service.d/20-instance.conf"]
    # an instance file of its own beats the template
    _write(tmp_path, "/usr/lib/systemd/system/ollama@gpu0.service")
    assert find_unit_files("ollama@gpu0.service", root=str(tmp_path))["fragment"] == \
        "/usr/lib/systemd/system/ollama@gpu0.service"


@pytest.mark.parametrize("name,expected", [
    ("ollama@gpu0.service", "ollama@.service"),
    ("ollama@a.b.service", "ollama@.service"),
    ("ollama.service", None),
])
def test_unit_template(name, expected):
    assert unit_template(name) == expected


def test_a_quoted_newline_never_makes_a_key():
    """Found by the property test: `A'\\n='` splits into the word `A\\n=`,
    which is not KEY=VALUE (systemd ignores it)."""
    pairs, problems = parse_environment_assignment("A'\n='")
    assert pairs == [] and problems
