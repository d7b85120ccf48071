# -*- coding: utf-8 -*-
"""Credentials and plan of the front (plugin_utils/ollama_front.py)."""

import warnings

import pytest

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_front import (
    audited_port, check_address, front_plan, remove_default, upstream_port,
    credential_entries, derived_salt, sha512_crypt, audited_env, ollama_capacity)

KEY = "k" * 32


def test_sha512_crypt_matches_the_specification_vectors():
    # Test vectors of Drepper's "Unix crypt using SHA-256 and SHA-512".
    assert sha512_crypt("Hello world!", "saltstring") == (
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")
    assert sha512_crypt("Hello world!", "saltstringsaltst", rounds=10000) == (
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZe"
        "HBy/YTBmSK6H9qs/y3RnOaw5v.")


def test_sha512_crypt_matches_the_system_crypt():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        crypt = pytest.importorskip("crypt")
    for password in ("a", "correct horse battery staple", "ü" * 70, "x" * 200):
        salt = derived_salt("alice", "front", password)
        assert sha512_crypt(password, salt) == crypt.crypt(password, "$6$" + salt)


def test_salt_is_stable_and_depends_on_name_host_password():
    salt = derived_salt("alice", "front", "pw")
    assert salt == derived_salt("alice", "front", "pw") and len(salt) == 16
    assert len({salt, derived_salt("bob", "front", "pw"), derived_salt("alice", "h2", "pw"),
                derived_salt("alice", "front", "pw2")}) == 4


def test_entries_split_users_admins_and_keys():
    creds = [{"name": "alice", "role": "user", "password": "alice-password-1", "api_key": KEY},
             {"name": "root", "role": "admin", "password": "admin-password-1"},
             {"name": "ci", "api_key": "c" * 40}]
    out = credential_entries(creds, "front")
    assert [line.split(":")[0] for line in out["users_htpasswd"]] == ["alice", "root"]
    assert [line.split(":")[0] for line in out["admins_htpasswd"]] == ["root"]
    assert out["api_keys"] == [{"name": "alice", "role": "user", "key": KEY}, {"name": "ci", "role": "user", "key": "c" * 40}]
    assert out["names"] == {"alice": "user", "root": "admin", "ci": "user"}
    assert "alice-password-1" not in repr(out)
    assert credential_entries(creds, "front") == out  # idempotent


def test_names_that_differ_only_in_case_are_refused_by_name():
    # nginx's map compares strings in any case: "Alice" the admin and "alice"
    # the user would be one name to the front's maps (known names, admins).
    creds = [{"name": "alice", "role": "user", "api_key": KEY},
             {"name": "bob", "role": "user", "api_key": "b" * 30},
             {"name": "Alice", "role": "admin", "password": "alice-admin-password"}]
    with pytest.raises(ValueError) as err:
        credential_entries(creds, "front")
    assert str(err.value).startswith("credential Alice: name differs only in case from credential alice")
    assert KEY not in str(err.value) and "alice-admin-password" not in str(err.value)
    # Control: the same three with distinct names pass.
    creds[2]["name"] = "alicia"
    assert set(credential_entries(creds, "front")["names"]) == {"alice", "bob", "alicia"}


@pytest.mark.parametrize("creds, message", [
    ([{"name": "a b", "api_key": KEY}], "name must match"),
    ([{"name": "a", "api_key": KEY}, {"name": "a", "api_key": "z" * 30}], "duplicate name"),
    ([{"name": "a", "role": "root", "api_key": KEY}], "role must be"),
    ([{"name": "a"}], "needs a password"),
    ([{"name": "a", "password": "short"}], "at least 12"),
    ([{"name": "a", "api_key": "has space and ; quote\"" + "x" * 30}], "api_key must be"),
    ([{"name": "a", "api_key": "short"}], "api_key must be"),
    ([{"name": "a", "api_key": KEY}, {"name": "b", "api_key": KEY}], "already used"),
    (["not a mapping"], "not a mapping"),
    # Python's `$` matches before a final newline: such a name or key would
    # render, pass `nginx -t` and never match a request.
    ([{"name": "alice\n", "api_key": KEY}], "name must match"),
    ([{"name": "a", "api_key": KEY + "\n"}], "api_key must be"),
])
def test_bad_entries_are_refused_without_quoting_secrets(creds, message):
    with pytest.raises(ValueError) as err:
        credential_entries(creds, "front")
    assert message in str(err.value)
    for cred in creds:
        if isinstance(cred, dict) and cred.get("api_key"):
            assert cred["api_key"] not in str(err.value)



# -- the front's decisions (front_plan, check_address) -----------------------------------

def bind(port):
    return {"port": port, "scope": "wildcard"}


@pytest.mark.parametrize("facts,port", [
    ({}, 11434),
    (None, 11434),
    ({"services": [{"running_bind": None}, {"running_bind": bind(8080)}]}, 8080),
    ({"services": [{"running_bind": None}], "processes": [{"container": True, "bind": bind(1)},
                                                          {"container": False, "bind": bind(11500)}]}, 11500),
    ({"services": [{"running_bind": bind(0)}], "processes": [{"bind": None}],
      "containers": [{"ports": [{"public_port": 0}, {"public_port": 21434}]}]}, 21434),
    ({"services": [{"running_bind": bind(80)}], "containers": [{"ports": [{"public_port": 21434}]}]}, 80),
    ({"containers": [{"ports": []}, {}]}, 11434),
])
def test_audited_port_prefers_services_then_processes_then_containers(facts, port):
    assert audited_port(facts) == port


def test_upstream_port_is_the_setting_when_set_else_the_audited_port():
    facts = {"services": [{"running_bind": bind(8080)}]}
    assert upstream_port(0, facts) == 8080 and upstream_port("0", facts) == 8080
    assert upstream_port(11500, facts) == 11500 and upstream_port("11500", facts) == 11500
    assert upstream_port("nonsense", facts) == 8080 and upstream_port(None, {}) == 11434


@pytest.mark.parametrize("setting,port,expected", [
    ("auto", 80, True), ("auto", "443", True), ("auto", 11434, False),
    (True, 11434, True), ("yes", 11434, True), ("false", 80, False), (False, 443, False), ("no", 80, False),
])
def test_remove_default_site(setting, port, expected):
    assert remove_default(setting, port) is expected


@pytest.mark.parametrize("listen,address", [
    (["0.0.0.0", "[::]"], "127.0.0.1"), (["[::]"], "[::1]"), (["10.0.0.5", "[::]"], "[::1]"),
    (["10.0.0.5"], "10.0.0.5"), (["[fd00::5]", "10.0.0.5"], "[fd00::5]"), ([], ""),
])
def test_check_address(listen, address):
    assert check_address(listen) == address


def test_front_plan():
    facts = {"services": [{"running_bind": bind(80)}]}
    assert front_plan(facts, "127.0.0.1") == {"upstream_port": 80, "host_header": "127.0.0.1:80",
                                              "remove_default": True, "upstream_max_conns": 515}
    assert front_plan(facts, "[::1]", 11434, "auto") == {"upstream_port": 11434, "host_header": "[::1]:11434",
                                                         "remove_default": False, "upstream_max_conns": 515}
    assert front_plan(facts, max_conns=40)["upstream_max_conns"] == 40
    assert front_plan({}, "localhost", 0, "true")["remove_default"] is True


@pytest.mark.parametrize("env, capacity", [
    ({}, 1 * 3 + 512),
    ({"OLLAMA_NUM_PARALLEL": "4", "OLLAMA_MAX_LOADED_MODELS": "2", "OLLAMA_MAX_QUEUE": "64"}, 4 * 2 + 64),
    ({"OLLAMA_NUM_PARALLEL": "0", "OLLAMA_MAX_LOADED_MODELS": "", "OLLAMA_MAX_QUEUE": "junk"}, 1 * 3 + 512),
    ({"OLLAMA_MAX_QUEUE": "10"}, 3 + 10),
])
def test_ollama_capacity_uses_upstream_defaults_where_unset(env, capacity):
    assert ollama_capacity(env) == capacity


def test_max_conns_follow_the_service_on_the_upstream_port():
    facts = {"services": [
        {"running_bind": bind(11434), "running_env": {"OLLAMA_MAX_QUEUE": "20"}, "env": {"OLLAMA_MAX_QUEUE": "99"}},
        {"running_bind": None, "bind": bind(11500), "running_env": None, "env": {"OLLAMA_NUM_PARALLEL": "2"}},
    ]}
    assert audited_env(facts, 11434) == {"OLLAMA_MAX_QUEUE": "20"}  # what it runs with wins
    assert front_plan(facts)["upstream_max_conns"] == 3 + 20
    assert front_plan(facts, requested_port=11500)["upstream_max_conns"] == 2 * 3 + 512
    assert front_plan(facts, requested_port=11600)["upstream_max_conns"] == 515  # no service there: defaults


# -- The front's plan (wall_plan('front', options, context)) -----------------------------------
import copy  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402

import yaml  # noqa: E402

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_front import (  # noqa: E402
    STAMP_VERSION, host_port, os_family, wall_plan)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_stamp import digest  # noqa: E402
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_wall import templates_digest  # noqa: E402

ROLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles", "ollama_front")


def _role_data():
    """The role's vars/main.yml and defaults, with their "{{ __name }}" references resolved."""
    with open(os.path.join(ROLE, "vars", "main.yml")) as handle:
        data = yaml.safe_load(handle)
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    ref = re.compile(r"\{\{ (__ollama_front_\w+) \}\}")

    def resolve(value):
        if isinstance(value, str):
            while ref.search(value):
                value = ref.sub(lambda m: data[m.group(1)], value)
            return value
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return dict((k, resolve(v)) for k, v in value.items())
        return value
    return resolve(data), defaults


VARS, DEFAULTS = _role_data()
PASSWORD = "correct horse battery staple"
API_KEY = "ak_" + "q" * 30
TLS_KEY = "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n"
DEBIAN = {"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"}


def _facts(port=11434, os_release=DEBIAN, stamp=None):
    facts = {"os": os_release, "addresses": [{"address": "192.0.2.10"}], "addresses_skipped": [],
             "services": [{"running_bind": {"port": port}, "env": {}}]}
    if stamp is not None:
        facts["stamps"] = {"ollama_front": stamp}
    return facts


def _options(**extra):
    options = dict(DEFAULTS)
    options["ollama_front_credentials"] = [{"name": "alice", "password": PASSWORD},
                                           {"name": "root", "role": "admin", "api_key": API_KEY}]
    options.update(extra)
    return options


def _context(**extra):
    context = {"host": "web-1", "ansible_host": "192.0.2.10", "run_tags": ["all"], "skip_tags": [],
               "check_mode": False, "role_path": ROLE, "endpoints": VARS["__ollama_front_endpoints"],
               "ciphers": VARS["__ollama_front_ciphers"], "files": VARS["__ollama_front_files"],
               "stamp_paths": VARS["__ollama_front_stamp_paths"], "families": VARS["__ollama_front_families"]}
    context.update(extra)
    return context


def _in_place_stamp(plan, **extra):
    stamp = {"present": True, "drift": [], "inputs": plan["stamp"]["inputs"]}
    stamp.update(extra)
    return stamp


@pytest.mark.parametrize("host, port, expected", [
    ("127.0.0.1", 11434, "127.0.0.1:11434"),
    ("[::1]", 11434, "[::1]:11434"),
    ("::1", 11434, "[::1]:11434"),
    ("[::]", 11443, "[::]:11443"),
    ("0.0.0.0", 11443, "0.0.0.0:11443"),
    ("localhost", 80, "localhost:80"),
])
def test_host_port_brackets_ipv6_literals_once(host, port, expected):
    assert host_port(host, port) == expected


@pytest.mark.parametrize("os_release, family", [
    (DEBIAN, "Debian"),
    ({"ID": "ubuntu", "ID_LIKE": "debian"}, "Debian"),
    ({"ID": "rocky", "ID_LIKE": "rhel centos fedora"}, "RedHat"),
    ({"ID": "rhel"}, "RedHat"),
    ({"ID": "arch"}, None),
    ({}, None),
    (None, None),
])
def test_os_family_from_os_release(os_release, family):
    assert os_family(os_release) == family


def test_plan_keeps_the_wall_contract():
    plan = wall_plan(_facts(), _options(), _context())
    assert plan["wall"] == "front" and plan["settled"] is True and plan["in_place"] is False
    stamp = plan["stamp"]
    assert (stamp["name"], stamp["units"], stamp["write"]) == ("ollama_front", ["nginx.service"], True)
    assert re.match(r"^[0-9a-f]{64}\Z", stamp["inputs"])
    # The files the stamp records: the role's paths and every rendered file, no default site here.
    dests = [f["dest"] for f in VARS["__ollama_front_files"]]
    assert stamp["files"] == VARS["__ollama_front_stamp_paths"] + dests
    assert "/etc/nginx/ollama-front/tls/front.key" in stamp["files"]
    assert (plan["upstream_port"], plan["host_header"], plan["remove_default"]) == (11434, "127.0.0.1:11434", False)
    assert plan["remove_sites"] == []


def test_plan_joins_the_listen_addresses_and_the_check_url():
    plan = wall_plan(_facts(), _options(), _context())
    assert plan["listen"] == ["0.0.0.0:11443", "[::]:11443"]
    assert plan["check"]["url"] == "https://127.0.0.1:11443/api/version"
    plan = wall_plan(_facts(), _options(ollama_front_listen=["[::]"], ollama_front_port=8443,
                                        ollama_front_upstream_host="[::1]"), _context())
    assert plan["listen"] == ["[::]:8443"] and plan["check"]["url"] == "https://[::1]:8443/api/version"
    assert plan["host_header"] == "[::1]:11434"
    plan = wall_plan(_facts(), _options(ollama_front_listen=["192.0.2.10", "[2001:db8::1]"]), _context())
    assert plan["listen"] == ["192.0.2.10:11443", "[2001:db8::1]:11443"]
    assert plan["check"]["url"] == "https://192.0.2.10:11443/api/version"


@pytest.mark.parametrize("context, write", [
    ({}, True),
    ({"check_mode": True}, False),
    ({"run_tags": ["OLLAMA-FRONT-003"]}, False),
    ({"skip_tags": ["OLLAMA-FRONT-007"]}, False),
    ({"skip_tags": ["ollama_front"]}, False),
    ({"skip_tags": ["OLLAMA-FW-003"]}, True),
])
def test_the_stamp_is_written_only_after_a_whole_run(context, write):
    assert wall_plan(_facts(), _options(), _context(**context))["stamp"]["write"] is write


def test_in_place_when_the_stamp_holds_the_same_inputs_and_nothing_moved():
    plan = wall_plan(_facts(), _options(), _context())
    assert wall_plan(_facts(stamp=_in_place_stamp(plan)), _options(), _context())["in_place"] is True
    # Something it recorded moved, or no stamp at all.
    assert wall_plan(_facts(stamp=_in_place_stamp(plan, drift=["/etc/nginx/nginx.conf"])), _options(),
                     _context())["in_place"] is False
    assert wall_plan(_facts(stamp=_in_place_stamp(plan, present=False)), _options(), _context())["in_place"] is False


@pytest.mark.parametrize("change", [
    {"options": {"ollama_front_credentials": [{"name": "alice", "password": PASSWORD + "!"},
                                              {"name": "root", "role": "admin", "api_key": API_KEY}]}},
    {"options": {"ollama_front_credentials": [{"name": "alice", "password": PASSWORD},
                                              {"name": "root", "role": "admin", "api_key": API_KEY[:-1] + "r"}]}},
    {"options": {"ollama_front_tls_key": TLS_KEY}},
    {"options": {"ollama_front_rate_user": "10r/s"}},
    {"options": {"ollama_front_listen": ["0.0.0.0"]}},
    {"facts": {"addresses": [{"address": "192.0.2.11"}]}},
    {"facts": {"services": [{"running_bind": {"port": 11500}, "env": {}}]}},
    {"context": {"host": "web-2"}},
    {"context": {"ansible_host": "192.0.2.99"}},
    {"context": {"ciphers": "ECDHE-RSA-AES128-GCM-SHA256"}},
    {"context": {"endpoints": VARS["__ollama_front_endpoints"][1:]}},
])
def test_every_input_takes_the_front_again(change):
    before = wall_plan(_facts(), _options(), _context())
    facts = _facts()
    facts.update(change.get("facts", {}))
    facts["stamps"] = {"ollama_front": _in_place_stamp(before)}
    after = wall_plan(facts, _options(**change.get("options", {})), _context(**change.get("context", {})))
    assert after["stamp"]["inputs"] != before["stamp"]["inputs"] and after["in_place"] is False


def test_what_is_not_an_input_keeps_the_front_in_place():
    plan = wall_plan(_facts(), _options(), _context())
    stamp = _in_place_stamp(plan)
    # The check writes nothing; the plan of an earlier run is not an option; the tags decide the write only.
    for options, context in (({"ollama_front_verify": False}, {}), ({"ollama_front_plan": plan}, {}),
                             ({}, {"check_mode": True}), ({}, {"run_tags": ["OLLAMA-FRONT-007"]})):
        again = wall_plan(_facts(stamp=stamp), _options(**options), _context(**context))
        assert again["in_place"] is True, (options, context)


def test_the_inputs_digest_covers_the_templates(tmp_path):
    os.makedirs(str(tmp_path / "templates"))
    for name in os.listdir(os.path.join(ROLE, "templates")):
        with open(os.path.join(ROLE, "templates", name)) as src, open(str(tmp_path / "templates" / name), "w") as dst:
            dst.write(src.read())
    same = wall_plan(_facts(), _options(), _context(role_path=str(tmp_path)))
    assert same["stamp"]["inputs"] == wall_plan(_facts(), _options(), _context())["stamp"]["inputs"]
    with open(str(tmp_path / "templates" / "keys.map.j2"), "a") as handle:
        handle.write("# changed\n")
    assert wall_plan(_facts(), _options(), _context(role_path=str(tmp_path)))["stamp"]["inputs"] != same["stamp"]["inputs"]


def test_no_password_or_key_text_in_the_plan_but_the_bearer_map():
    plan = wall_plan(_facts(), _options(ollama_front_tls_key=TLS_KEY), _context())
    text = json.dumps(plan)
    assert PASSWORD not in text and "not-a-real-key" not in text
    assert plan["credentials"]["users_htpasswd"][0].startswith("alice:$6$")
    # The bearer map needs the key itself (nginx compares it): only there.
    without = copy.deepcopy(plan)
    del without["credentials"]
    assert API_KEY not in json.dumps(without)
    assert plan["credentials"]["api_keys"] == [{"name": "root", "role": "admin", "key": API_KEY}]


def test_a_bad_credential_is_refused_by_name_without_its_secret():
    with pytest.raises(ValueError, match=r"^ollama_front_credentials: credential alice: password must be") as err:
        wall_plan(_facts(), _options(ollama_front_credentials=[{"name": "alice", "password": "short-pw-1"}]),
                  _context())
    assert "short-pw-1" not in str(err.value)
    with pytest.raises(ValueError, match="context lacks role_path"):
        context = _context()
        del context["role_path"]
        wall_plan(_facts(), _options(), context)
    with pytest.raises(ValueError, match="context lacks families"):
        context = _context()
        del context["families"]
        wall_plan(_facts(), _options(), context)


def test_the_os_family_gives_the_packages_group_and_default_site():
    plan = wall_plan(_facts(port=80), _options(), _context())
    debian = VARS["__ollama_front_families"]["Debian"]
    assert plan["os_family"] == "Debian" and plan["packages"] == debian["packages"]
    assert plan["njs_available"] is True and plan["selinux"] is False
    groups = dict((f["dest"].rsplit("/", 1)[1], (f["group"], f["mode"])) for f in plan["files"])
    assert groups == {"users.htpasswd": ("www-data", "0640"), "admins.htpasswd": ("www-data", "0640"),
                      "keys.map": ("root", "0600"), "cloud-models.js": ("root", "0644"),
                      "ollama-front.conf": ("root", "0644")}
    # Ollama on port 80: the default site goes, and the stamp watches that it stays gone.
    assert plan["remove_default"] is True and plan["remove_sites"] == [debian["default_site"]]
    assert plan["stamp"]["files"][-1] == debian["default_site"]
    cloud = wall_plan(_facts(), _options(ollama_front_refuse_cloud_models=True), _context())
    assert cloud["packages"] == debian["packages"] + debian["njs_packages"]
    rhel = wall_plan(_facts(port=80, os_release={"ID": "rocky", "ID_LIKE": "rhel centos fedora"}),
                     _options(ollama_front_refuse_cloud_models=True), _context())
    assert (rhel["os_family"], rhel["nginx_group"], rhel["njs_available"], rhel["selinux"]) == (
        "RedHat", "nginx", False, True)
    assert rhel["remove_default"] is True and rhel["remove_sites"] == []
    assert {f["group"] for f in rhel["files"] if f["nginx_reads"]} == {"nginx"}
    unknown = wall_plan(_facts(os_release={"ID": "arch"}), _options(), _context())
    assert unknown["os_family"] is None and unknown["packages"] == []


def test_the_inputs_are_one_digest_of_the_named_parts():
    """The digest is made from the parts the docstring names (not hard-coded: recomputed)."""
    options = _options(ollama_front_tls_key=TLS_KEY)
    plan = wall_plan(_facts(), options, _context())
    inputs = {"vars": dict((k, v) for k, v in options.items()
                           if k not in ("ollama_front_credentials", "ollama_front_tls_key", "ollama_front_verify")),
              "credentials": credential_entries(options["ollama_front_credentials"], "web-1"),
              "tls_key": hashlib.sha256(TLS_KEY.encode("utf-8")).hexdigest(),
              "host": ["web-1", "192.0.2.10"], "addresses": [[{"address": "192.0.2.10"}], []],
              "plan": dict((k, plan[k]) for k in ("upstream_port", "host_header", "remove_default",
                                                  "upstream_max_conns")),
              "endpoints": VARS["__ollama_front_endpoints"], "ciphers": VARS["__ollama_front_ciphers"]}
    assert plan["stamp"]["inputs"] == digest({"version": STAMP_VERSION, "inputs": inputs,
                                              "templates": templates_digest(ROLE)})


@pytest.mark.parametrize("credentials, cert, expected", [
    # A user's key before an admin's, a user's password before an admin's.
    ([{"name": "root", "role": "admin", "api_key": KEY}, {"name": "alice", "password": PASSWORD},
      {"name": "bob", "role": "user", "api_key": KEY + "b"}], "", {"name": "bob", "send": "api_key"}),
    # A key before a password, whatever its role (as the task did before the plan).
    ([{"name": "root", "role": "admin", "api_key": KEY}, {"name": "alice", "password": PASSWORD}], "",
     {"name": "root", "send": "api_key"}),
    ([{"name": "root", "role": "admin", "password": PASSWORD + "r"}, {"name": "alice", "password": PASSWORD}], "",
     {"name": "alice", "send": "password"}),
    ([{"name": "root", "role": "admin", "password": PASSWORD}], "", {"name": "root", "send": "password"}),
    ([], "", None),
    # A certificate from the operator: no credential, the check expects 401.
    ([{"name": "alice", "password": PASSWORD}], "-----BEGIN CERTIFICATE-----", None),
])
def test_the_check_sends_the_least_credential_by_name(credentials, cert, expected):
    check = wall_plan(_facts(), _options(ollama_front_credentials=credentials, ollama_front_tls_cert=cert),
                      _context())["check"]
    assert {"name": check["name"], "send": check["send"]} == (expected or {"name": "", "send": ""})
    assert check["status"] == ([200] if expected else [401]) and check["self_signed"] is (cert == "")
