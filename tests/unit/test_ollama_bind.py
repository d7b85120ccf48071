# -*- coding: utf-8 -*-
"""The rebind plan (plugin_utils/ollama_bind.py)."""

import itertools
import os
import shlex

import jinja2
import pytest
import yaml

from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_bind import (
    RELAUNCH_PATH, apply_plan, backups, env_without, health, host_plan, plan, plan_adoptions, plan_others,
    plan_service, relaunch_argv, stamp_view, steps, systemd_quote, unsettled, wall_plan)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import parse_ollama_host
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_servers import SERVERS

DROPIN = "zz-ollama-exposure-toolkit.conf"
ENV_DIR = "/etc/ollama-exposure-toolkit"
OUR_DROPIN = "/etc/systemd/system/ollama.service.d/" + DROPIN
OUR_ENV = ENV_DIR + "/ollama.service.env"


def service(history, running=None, dropins=(), env_files=(), name="ollama.service", resolved_scopes=None):
    """An audited service as ollama_info reads it: ``bind`` is the parse of
    the OLLAMA_HOST its next start reads (the last one of its history), with
    the scopes a hostname resolves to."""
    configured = [entry["value"] for entry in history if entry["key"] == "OLLAMA_HOST"]
    bind = parse_ollama_host(configured[-1] if configured else "")
    if resolved_scopes is not None:
        bind["resolved_scopes"] = list(resolved_scopes)
    return {"name": name, "env_history": history, "dropins": list(dropins), "environment_files": list(env_files),
            "bind": bind, "running_bind": parse_ollama_host(running) if running is not None else None,
            "main_pid": 42 if running is not None else 0, "active_state": "active" if running is not None else "inactive"}


def h(key, value, path="/etc/systemd/system/ollama.service.d/override.conf", via="Environment"):
    return {"key": key, "value": value, "file": path, "line": 2, "via": via}


def test_faq_dropin_is_rebound_on_the_same_port():
    item = plan_service(service([h("OLLAMA_HOST", "0.0.0.0:11434")], running="0.0.0.0:11434"),
                        "127.0.0.1", [], True, DROPIN, ENV_DIR)
    assert item["action"] == "rebind"
    assert item["env"] == {"OLLAMA_HOST": "127.0.0.1:11434"}
    assert item["dropin"] == OUR_DROPIN and item["env_file"] == OUR_ENV


def test_environment_file_port_is_kept():
    history = [h("OLLAMA_HOST", "127.0.0.1"), h("OLLAMA_HOST", "0.0.0.0:8080", "/etc/default/ollama", "EnvironmentFile")]
    item = plan_service(service(history, running="0.0.0.0:8080"), "127.0.0.1", [], True, DROPIN, ENV_DIR)
    assert item["listen"] == "127.0.0.1:8080"


def test_http_scheme_keeps_port_80_and_ipv6_loopback_is_bracketed():
    item = plan_service(service([h("OLLAMA_HOST", "http://0.0.0.0")], running="http://0.0.0.0"),
                        "::1", [], True, DROPIN, ENV_DIR)
    assert item["listen"] == "[::1]:80"


def test_stopped_service_uses_the_configured_port():
    item = plan_service(service([h("OLLAMA_HOST", "[::]:9000")]), "127.0.0.1", [], True, DROPIN, ENV_DIR)
    assert item["listen"] == "127.0.0.1:9000" and item["running"] is False


def test_secure_service_is_left_alone():
    item = plan_service(service([], running=""), "127.0.0.1", [], True, DROPIN, ENV_DIR)
    assert item["action"] == "none"


def test_stale_process_is_restarted_only():
    item = plan_service(service([h("OLLAMA_HOST", "127.0.0.1:11434")], running="0.0.0.0:11434"),
                        "127.0.0.1", [], True, DROPIN, ENV_DIR)
    assert item["action"] == "restart"


def test_origins_wildcard_is_narrowed_even_on_loopback():
    item = plan_service(service([h("OLLAMA_ORIGINS", "*")], running=""), "127.0.0.1",
                        ["https://app.example.com"], True, DROPIN, ENV_DIR)
    assert item["action"] == "rebind"
    assert item["env"]["OLLAMA_ORIGINS"] == "https://app.example.com"
    untouched = plan_service(service([h("OLLAMA_ORIGINS", "*")], running=""), "127.0.0.1", [], False, DROPIN, ENV_DIR)
    assert untouched["action"] == "none"


def test_second_run_plans_what_the_first_wrote():
    before = service([h("OLLAMA_HOST", "0.0.0.0:11434"), h("OLLAMA_ORIGINS", "*")], running="0.0.0.0:11434")
    first = plan_service(before, "127.0.0.1", [], True, DROPIN, ENV_DIR)
    after = service([h("OLLAMA_HOST", "0.0.0.0:11434"), h("OLLAMA_ORIGINS", "*"),
                     h("OLLAMA_HOST", "127.0.0.1:11434", OUR_DROPIN),
                     h("OLLAMA_HOST", "127.0.0.1:11434", OUR_ENV, "EnvironmentFile"),
                     h("OLLAMA_ORIGINS", "", OUR_ENV, "EnvironmentFile")],
                    running="127.0.0.1:11434", dropins=[OUR_DROPIN],
                    env_files=[{"path": OUR_ENV, "exists": True}])
    second = plan_service(after, "127.0.0.1", [], True, DROPIN, ENV_DIR)
    assert second["env"] == first["env"] and second["action"] == "rebind"
    assert second["dropin_existed"] and second["env_file_existed"]
    # The stamp's inputs: the run after the rebind has the same view as the
    # rebind (what it writes), though what it found differs.
    assert first != second and stamp_view([first]) == stamp_view([second])
    assert stamp_view([first]) == [{"unit": "ollama.service", "env": {"OLLAMA_HOST": "127.0.0.1:11434",
                                                                       "OLLAMA_ORIGINS": ""},
                                     "dropin": OUR_DROPIN, "env_file": OUR_ENV, "listen": "127.0.0.1:11434",
                                     "port": 11434}]
    other_port = plan_service(after, "127.0.0.1", [], True, DROPIN, ENV_DIR, port=11500)
    assert stamp_view([other_port]) != stamp_view([second])


def test_env_without_ignores_the_toolkits_files():
    history = [h("OLLAMA_HOST", "0.0.0.0"), h("OLLAMA_HOST", "127.0.0.1:1", OUR_ENV)]
    assert env_without(history, (OUR_ENV,)) == {"OLLAMA_HOST": "0.0.0.0"}


def test_plan_rejects_an_unknown_service_and_a_non_loopback_address():
    facts = {"services": [service([])]}
    with pytest.raises(ValueError, match="'ollama-gpu.service' is not an Ollama service"):
        plan(facts, "127.0.0.1", services=["ollama-gpu.service"])
    with pytest.raises(ValueError, match="not a loopback address"):
        plan(facts, "0.0.0.0")
    assert [i["unit"] for i in plan(facts, "127.0.0.1")] == ["ollama.service"]


def test_port_override():
    item = plan({"services": [service([h("OLLAMA_HOST", "0.0.0.0:8080")], running="0.0.0.0:8080")]},
                "127.0.0.1", port=11500)[0]
    assert item["listen"] == "127.0.0.1:11500"


# -- adopting Ollama started by hand -----------------------------------------

def hand_started(pid=4242, host="0.0.0.0:11500", argv=("/usr/local/bin/ollama", "serve"), **extra):
    env = {"OLLAMA_HOST": host}
    env.update(extra)
    return {"pid": pid, "argv": list(argv), "user": "ollama", "home": "/usr/share/ollama", "unit": None,
            "container": False, "env": env, "bind": parse_ollama_host(host)}


def test_hand_started_process_is_adopted_as_ollama_service_on_its_port():
    facts = {"services": [], "processes": [hand_started(OLLAMA_MODELS="/srv/models")], "listeners": []}
    [item] = plan_adoptions(facts, "127.0.0.1", env_dir=ENV_DIR)
    assert item["unit"] == "ollama.service" and item["unit_file"] == "/etc/systemd/system/ollama.service"
    assert item["env"] == {"OLLAMA_HOST": "127.0.0.1:11500", "OLLAMA_MODELS": "/srv/models"}
    assert item["original_env"]["OLLAMA_HOST"] == "0.0.0.0:11500"
    assert item["exec_start"] == "/usr/local/bin/ollama serve"
    assert item["user"] == "ollama" and item["env_file"] == ENV_DIR + "/ollama.service.env"


def test_no_adoption_on_a_host_without_systemd():
    facts = {"systemd": False, "services": [], "processes": [hand_started()], "listeners": []}
    assert plan_adoptions(facts, "127.0.0.1", env_dir=ENV_DIR) == []
    assert len(plan_adoptions(dict(facts, systemd=True), "127.0.0.1", env_dir=ENV_DIR)) == 1


def test_adoption_skips_units_and_containers_and_avoids_taken_names():
    procs = [hand_started(1, "0.0.0.0"), hand_started(2, "[::]:9000"),
             dict(hand_started(3), unit="ollama.service"), dict(hand_started(4), container=True)]
    facts = {"services": [{"name": "ollama.service"}], "processes": procs, "listeners": []}
    items = plan_adoptions(facts, "::1")
    assert [(i["pid"], i["unit"], i["listen"]) for i in items] == [
        (1, "ollama-11434.service", "[::1]:11434"), (2, "ollama-9000.service", "[::1]:9000")]


def test_adoption_port_zero_uses_the_socket_in_use_and_narrows_origins():
    proc = hand_started(7, "0.0.0.0:0", OLLAMA_ORIGINS="*")
    facts = {"services": [], "processes": [proc], "listeners": [{"pid": 7, "port": 40001}]}
    [item] = plan_adoptions(facts, "127.0.0.1", origins=["https://app.example"])
    assert item["listen"] == "127.0.0.1:40001" and item["env"]["OLLAMA_ORIGINS"] == "https://app.example"


def test_adoption_rejects_a_non_loopback_address():
    with pytest.raises(ValueError, match="loopback"):
        plan_adoptions({"processes": [hand_started()]}, "0.0.0.0")


@pytest.mark.parametrize("argv,expected", [
    (["/usr/bin/ollama", "serve"], "/usr/bin/ollama serve"),
    (["/opt/my ollama/ollama", "serve"], '"/opt/my ollama/ollama" serve'),
    (["ollama", "serve", "50%", "$HOME"], 'ollama serve "50%%" "$$HOME"'),
    (["a\"b", ";"], '"a\\"b" ";"'),
])
def test_systemd_quote(argv, expected):
    assert systemd_quote(argv) == expected


def test_unsettled_reports_each_unit_still_wrong():
    items = [{"unit": "a.service", "port": 11434}, {"unit": "b.service", "port": 8080},
             {"unit": "c.service", "port": 80}, {"unit": "d.service", "port": 9000}]
    listeners = [
        {"unit": "a.service", "address": "127.0.0.1", "port": 11434, "scope": "loopback"},
        {"unit": "b.service", "address": "0.0.0.0", "port": 8080, "scope": "wildcard"},
        {"unit": "c.service", "address": "127.0.0.1", "port": 81, "scope": "loopback"},
    ]
    assert unsettled(listeners, items) == [
        "b.service: still listening on 0.0.0.0:8080", "c.service: listening on port 81, expected 80",
        "d.service: not listening yet"]
    assert unsettled(listeners, items[:1]) == []


def _after(state="active", address="127.0.0.1", port=11434, version="0.12.3", reason=None):
    return {"services": [{"name": "ollama.service", "active_state": state}],
            "listeners": [{"unit": "ollama.service", "address": address, "port": port,
                           "scope": "loopback" if address.startswith("127.") else "wildcard"}]
            if state == "active" else [],
            "installs": [{"subject": "ollama.service", "kind": "service", "version": version, "reason": reason}]}


def test_health_is_empty_for_a_service_up_on_loopback_that_answers():
    assert health(_after(), [{"unit": "ollama.service", "port": 11434, "running": True}]) == []


def test_health_names_a_stopped_missing_exposed_or_silent_unit():
    item = {"unit": "ollama.service", "port": 11434, "running": True}
    assert health(_after(state="failed"), [item]) == ["ollama.service: failed"]
    assert health({"services": []}, [item]) == ["ollama.service: not found"]
    assert health(_after(address="0.0.0.0"), [item]) == ["ollama.service: still listening on 0.0.0.0:11434"]
    assert health(_after(version=None, reason="timed out"), [item]) == [
        "ollama.service: no answer to GET /api/version (timed out)"]


def test_health_ignores_units_that_were_not_running_before():
    assert health(_after(state="inactive"), [{"unit": "ollama.service", "port": 11434, "running": False}]) == []



# -- what the tasks do with the plan (steps, backups, apply_plan, relaunch_argv) ----------

def item(unit, action, dropin_existed=False, env_file_existed=False, running=True):
    return {"unit": unit, "action": action, "dropin": "/etc/systemd/system/%s.d/%s" % (unit, DROPIN),
            "dropin_existed": dropin_existed, "env_file": "%s/%s.env" % (ENV_DIR, unit),
            "env_file_existed": env_file_existed, "running": running, "listen": "127.0.0.1:11434", "port": 11434}


ADOPTED = {"unit": "ollama-11500.service", "action": "adopt", "unit_file": "/etc/systemd/system/ollama-11500.service",
           "env_file": ENV_DIR + "/ollama-11500.service.env", "running": True}
PLAN = [item("a.service", "none"), item("b.service", "restart"), item("c.service", "rebind"),
        item("d.service", "rebind", dropin_existed=True), item("e.service", "rebind", True, True, running=False),
        ADOPTED]


def test_host_plan_adds_the_adoptions_only_when_asked():
    facts = {"services": [service([h("OLLAMA_HOST", "0.0.0.0")], running="0.0.0.0")],
             "processes": [hand_started()], "listeners": []}
    assert [i["action"] for i in host_plan(facts, "127.0.0.1")] == ["rebind"]
    both = host_plan(facts, "127.0.0.1", adopt=True)
    assert [(i["unit"], i["action"]) for i in both] == [("ollama.service", "rebind"), ("ollama-11500.service", "adopt")]
    assert both == plan(facts, "127.0.0.1") + plan_adoptions(facts, "127.0.0.1")


def test_steps_split_the_plan_into_what_the_tasks_loop_over():
    got = steps(PLAN, backup_dir="/var/backups/t")
    assert [i["unit"] for i in got["todo"]] == ["b.service", "c.service", "d.service", "e.service"]
    assert [i["unit"] for i in got["rebind"]] == ["c.service", "d.service", "e.service"]
    # Without the drop-in first, then with the drop-in but without the environment file.
    assert [i["unit"] for i in got["unbacked"]] == ["c.service", "d.service"]
    assert got["make_env_dir"] is True
    assert got["dropin_dirs"] == ["/etc/systemd/system/c.service.d"]
    assert got["adopt"] == [ADOPTED]
    assert got["adopt_leftovers"] == [ADOPTED["unit_file"], ADOPTED["env_file"], "/var/backups/t/ollama-11500.service"]


def test_steps_of_a_secure_host_do_nothing():
    got = steps([item("a.service", "none")])
    assert got["todo"] == got["rebind"] == got["unbacked"] == got["dropin_dirs"] == got["adopt"] == []
    assert got["make_env_dir"] is False and steps(None)["todo"] == []


def test_backups_keep_the_state_of_services_without_one():
    c, d = item("c.service", "rebind"), item("d.service", "rebind", True, True)
    registered = {"results": [{"__ollama_bind_item": c, "stat": {"exists": False}},
                              {"__ollama_bind_item": d, "stat": {"exists": False}},
                              {"__ollama_bind_item": item("x.service", "rebind"), "stat": {"exists": True}}]}
    assert backups(registered) == {"services": [c, d], "dropins": [d], "env_files": [d]}
    assert backups({"results": [], "skipped": True}) == {"services": [], "dropins": [], "env_files": []}


def written(unit, changed, backup=None, kind="env"):
    result = {"__ollama_bind_item": {"unit": unit}, "changed": changed, "dest": "/%s/%s" % (kind, unit)}
    if backup:
        result["backup_file"] = backup
    return result


def test_apply_restarts_stale_processes_and_services_whose_files_changed():
    plan_steps = steps(PLAN)
    env = {"results": [written("c.service", True), written("d.service", False), written("e.service", True, "/bk/e")]}
    dropin = {"results": [written("c.service", True, kind="dropin"), written("d.service", False, kind="dropin"),
                          written("e.service", False, kind="dropin")]}
    got = apply_plan(plan_steps, env, dropin)
    assert [i["unit"] for i in got["apply"]] == ["b.service", "c.service", "e.service"]
    assert [i["unit"] for i in got["restarts"]] == ["b.service", "c.service"]  # e.service was not running
    assert got["restart_back"] == got["restarts"]
    assert got["copies"] == ["/bk/e"] and got["put_back"] == [{"src": "/bk/e", "dest": "/env/e.service"}]
    assert got["created"] == ["/env/c.service", "/dropin/c.service"]
    held = apply_plan(plan_steps, env, dropin, restart=False)
    assert held["restarts"] == [] and held["restart_back"] == got["restart_back"]


def test_apply_in_check_mode_where_template_results_name_no_dest():
    """Check mode: the templates report changed with no dest (nothing was written)."""
    env = {"results": [{"__ollama_bind_item": {"unit": "c.service"}, "changed": True}]}
    got = apply_plan(steps(PLAN), env, {"results": []})
    assert [i["unit"] for i in got["apply"]] == ["b.service", "c.service"]
    assert got["put_back"] == [] and got["created"] == []


def test_apply_without_registered_results_restarts_only_stale_processes():
    got = apply_plan(steps(PLAN), {}, [])
    assert [i["unit"] for i in got["apply"]] == ["b.service"] and got["copies"] == got["created"] == []


# The Jinja expressions these functions replace (roles/ollama_bind/vars/main.yml before),
# evaluated with plain Jinja on every combination of plan items and template results.
OLD = {
    "todo": "{{ plan | rejectattr('action', 'equalto', 'none') | list }}",
    "rebind": "{{ todo | selectattr('action', 'equalto', 'rebind') | list }}",
    "unbacked": "{{ rebind | rejectattr('dropin_existed') | list"
                " + rebind | selectattr('dropin_existed') | rejectattr('env_file_existed') | list }}",
    "written": "{{ env.results | default([]) + dropin.results | default([]) }}",
    "changed_units": "{{ written | selectattr('changed') | map(attribute='__ollama_bind_item.unit') | unique | list }}",
    "apply": "{{ todo | selectattr('action', 'equalto', 'restart') | list"
             " + rebind | selectattr('unit', 'in', changed_units) | list }}",
    "restarts": "{{ apply | selectattr('running') | list if restart else [] }}",
}


def old(name, **context):
    env = jinja2.Environment()
    env.tests["in"] = lambda value, seq: value in seq
    template = OLD[name][3:-3]
    return env.compile_expression(template)(**context)


@pytest.mark.parametrize("actions,changed,restart", [
    (actions, changed, restart)
    for actions in itertools.product(["none", "restart", "rebind"], repeat=3)
    for changed in [(True, False, True), (False, False, False), (True, True, True)]
    for restart in (True, False)])
def test_steps_and_apply_decide_what_the_jinja_decided(actions, changed, restart):
    items = [item("s%d.service" % n, a, dropin_existed=bool(n % 2), env_file_existed=n == 2, running=n != 1)
             for n, a in enumerate(actions)]
    ctx = {"plan": items}
    ctx["todo"] = old("todo", **ctx)
    ctx["rebind"] = old("rebind", **ctx)
    env = {"results": [written(i["unit"], c) for i, c in zip(ctx["rebind"], changed)]}
    ctx.update(env=env, dropin={}, restart=restart)
    ctx["written"] = env["results"]
    ctx["changed_units"] = old("changed_units", **ctx)
    ctx["apply"] = old("apply", **ctx)
    new = steps(items)
    assert (new["todo"], new["rebind"], new["unbacked"]) == (ctx["todo"], ctx["rebind"], old("unbacked", **ctx))
    applied = apply_plan(new, env, {}, restart)
    assert applied["apply"] == ctx["apply"] and applied["restarts"] == old("restarts", **ctx)


def old_relaunch(item):
    """The shell command of the old template string, as the shell splits it."""
    words = ["setsid", "-f"]
    if int(item["uid"]) != 0:
        words += ["setpriv", "--reuid=%d" % int(item["uid"]), "--regid=%d" % int(item["gid"]), "--init-groups"]
    words += ["env", "-i", "HOME=" + shlex.quote(item["home"]), "PATH=" + RELAUNCH_PATH]
    words += [shlex.quote(k + "=" + v) for k, v in sorted(item["original_env"].items(), key=lambda kv: kv[0].lower())]
    words += [shlex.quote(w) for w in item["argv"]]
    return shlex.split(" ".join(words))


@pytest.mark.parametrize("uid", [0, 998])
def test_relaunch_argv_runs_what_the_shell_string_ran(uid):
    record = {"uid": uid, "gid": 997, "home": "/usr/share/my ollama", "argv": ["/opt/o llama/ollama", "serve", "$HOME"],
              "original_env": {"OLLAMA_HOST": "0.0.0.0:11500", "OLLAMA_MODELS": "/srv/it's", "lang": "C"}}
    argv = relaunch_argv(record)
    assert argv[:4] == ["sh", "-c", 'exec "$@" </dev/null >/dev/null 2>&1', "sh"]
    assert argv[4:] == old_relaunch(record)
    assert ("setpriv" in argv) == (uid != 0)
    assert argv[-3:] == record["argv"]


def test_relaunch_argv_of_an_adoption_plan_item():
    facts = {"services": [], "processes": [dict(hand_started(), uid=998, gid=997)], "listeners": []}
    [adopted] = plan_adoptions(facts, "127.0.0.1")
    argv = relaunch_argv(adopted)
    assert argv[4:10] == ["setsid", "-f", "setpriv", "--reuid=998", "--regid=997", "--init-groups"]
    assert "HOME=/usr/share/ollama" in argv and "OLLAMA_HOST=0.0.0.0:11500" in argv
    assert argv[-2:] == ["/usr/local/bin/ollama", "serve"]


# -- ollama_bind_disable_cloud (issue 14) -----------------------------------------------------
def test_disable_cloud_adds_no_cloud_and_rebinds_a_loopback_service():
    item = plan_service(service([], running=""), "127.0.0.1", [], True, DROPIN, ENV_DIR, no_cloud=True)
    assert item["action"] == "rebind"
    assert item["env"] == {"OLLAMA_HOST": "127.0.0.1:11434", "OLLAMA_NO_CLOUD": "1"}
    assert "cloud features turned off (OLLAMA_NO_CLOUD=1)" in item["reasons"]
    assert plan_service(service([], running=""), "127.0.0.1", [], True, DROPIN, ENV_DIR)["action"] == "none"


@pytest.mark.parametrize("value, action", [("1", "none"), ("true", "none"), ("0", "rebind"), ("", "rebind")])
def test_disable_cloud_leaves_a_service_whose_own_configuration_turns_cloud_off(value, action):
    svc = service([h("OLLAMA_NO_CLOUD", value)], running="")
    assert plan_service(svc, "127.0.0.1", [], True, DROPIN, ENV_DIR, no_cloud=True)["action"] == action


def test_disable_cloud_second_run_plans_what_the_first_wrote():
    first = plan_service(service([h("OLLAMA_HOST", "0.0.0.0")], running="0.0.0.0"), "127.0.0.1", [], True,
                         DROPIN, ENV_DIR, no_cloud=True)
    after = service([h("OLLAMA_HOST", "0.0.0.0"), h("OLLAMA_HOST", "127.0.0.1:11434", OUR_DROPIN),
                     h("OLLAMA_HOST", "127.0.0.1:11434", OUR_ENV, "EnvironmentFile"),
                     h("OLLAMA_NO_CLOUD", "1", OUR_ENV, "EnvironmentFile")],
                    running="127.0.0.1:11434", dropins=[OUR_DROPIN], env_files=[{"path": OUR_ENV, "exists": True}])
    second = plan_service(after, "127.0.0.1", [], True, DROPIN, ENV_DIR, no_cloud=True)
    assert second["env"] == first["env"] == {"OLLAMA_HOST": "127.0.0.1:11434", "OLLAMA_NO_CLOUD": "1"}
    assert second["action"] == "rebind" and "cloud features turned off (OLLAMA_NO_CLOUD=1)" in first["reasons"]
    # The service's own configuration (the toolkit's files left out) still has cloud on: said again.
    assert "cloud features turned off (OLLAMA_NO_CLOUD=1)" in second["reasons"]
    # Without the option, the toolkit's file no longer carries it (the file says what the options say).
    assert "OLLAMA_NO_CLOUD" not in plan_service(after, "127.0.0.1", [], True, DROPIN, ENV_DIR)["env"]


def test_host_plan_passes_disable_cloud_to_every_service():
    facts = {"services": [service([], running="", name="a.service"), service([], running="", name="b.service")]}
    items = host_plan(facts, "127.0.0.1", no_cloud=True)
    assert [i["env"].get("OLLAMA_NO_CLOUD") for i in items] == ["1", "1"]
    assert [i["action"] for i in host_plan(facts, "127.0.0.1")] == ["none", "none"]


# -- the wall's plan (wall_plan: the contract of plugin_utils/ollama_wall.py) ----------------

ROLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles", "ollama_bind")
OPTIONS = {"ollama_bind_address": "127.0.0.1", "ollama_bind_port": 0, "ollama_bind_services": [],
           "ollama_bind_fix_origins": True, "ollama_bind_origins": [], "ollama_bind_disable_cloud": False,
           "ollama_bind_adopt": False, "ollama_bind_restart": True, "ollama_bind_wait_timeout": 30,
           "ollama_bind_dropin_name": DROPIN, "ollama_bind_env_dir": ENV_DIR,
           "ollama_bind_backup_dir": "/var/backups/ollama-exposure-toolkit", "ollama_bind_other_servers": False}


def context(**extra):
    found = {"host": "h", "ansible_host": "h", "run_tags": ["all"], "skip_tags": [], "check_mode": False,
             "role_path": ROLE}
    found.update(extra)
    return found


def exposed_host():
    return {"systemd": True, "services": [service([h("OLLAMA_HOST", "0.0.0.0:11434")], running="0.0.0.0:11434")],
            "processes": [], "listeners": []}


def rebound_host(stamp=None):
    """The same host after the rebind: the toolkit's files win."""
    svc = service([h("OLLAMA_HOST", "0.0.0.0:11434"), h("OLLAMA_HOST", "127.0.0.1:11434", OUR_DROPIN),
                   h("OLLAMA_HOST", "127.0.0.1:11434", OUR_ENV, "EnvironmentFile")],
                  running="127.0.0.1:11434", dropins=[OUR_DROPIN], env_files=[{"path": OUR_ENV, "exists": True}])
    return {"systemd": True, "services": [svc], "processes": [], "listeners": [],
            "stamps": {"ollama_bind": stamp} if stamp else {}}


def test_wall_plan_holds_the_services_the_steps_and_the_stamp():
    got = wall_plan(exposed_host(), OPTIONS, context())
    assert got["wall"] == "bind" and [i["action"] for i in got["services"]] == ["rebind"]
    assert got["steps"] == steps(got["services"], OPTIONS["ollama_bind_backup_dir"])
    assert (got["in_place"], got["apply"], got["settled"], got["left"]) == (False, True, True, [])
    assert got["stamp"]["name"] == "ollama_bind" and got["stamp"]["write"] is True
    assert got["stamp"]["files"] == [OUR_ENV, OUR_DROPIN] and got["stamp"]["units"] == ["ollama.service"]


def test_wall_plan_is_in_place_where_the_stamp_shows_the_same_rebind():
    first = wall_plan(exposed_host(), OPTIONS, context())
    # The run after the rebind plans the same inputs (what it writes, not what it found).
    after = wall_plan(rebound_host(), OPTIONS, context())
    assert after["stamp"]["inputs"] == first["stamp"]["inputs"] and after["in_place"] is False
    read = {"present": True, "drift": False, "inputs": first["stamp"]["inputs"]}
    again = wall_plan(rebound_host(read), OPTIONS, context())
    assert (again["in_place"], again["apply"], again["stamp"]["in_place"]) == (True, False, True)
    # Drift, other inputs, or a service still to rebind: the normal path.
    assert wall_plan(rebound_host(dict(read, drift=True)), OPTIONS, context())["in_place"] is False
    assert wall_plan(rebound_host(read), dict(OPTIONS, ollama_bind_port=11500), context())["in_place"] is False
    assert wall_plan(dict(exposed_host(), stamps={"ollama_bind": read}), OPTIONS, context())["in_place"] is False


@pytest.mark.parametrize("ctx", [{"check_mode": True}, {"run_tags": ["OLLAMA-BIND-002"]},
                                 {"skip_tags": ["OLLAMA-BIND-004"]}, {"skip_tags": ["ollama_bind"]}])
def test_wall_plan_writes_its_stamp_only_after_a_whole_run(ctx):
    assert wall_plan(exposed_host(), OPTIONS, context(**ctx))["stamp"]["write"] is False
    assert wall_plan(exposed_host(), OPTIONS, context(skip_tags=["OLLAMA-FW-001"]))["stamp"]["write"] is True


def test_wall_plan_writes_no_stamp_without_a_rebind():
    quiet = {"systemd": True, "services": [service([], running="")], "processes": [], "listeners": []}
    got = wall_plan(quiet, OPTIONS, context())
    assert (got["apply"], got["stamp"]["write"], got["stamp"]["files"]) == (False, False, [])


def test_wall_plan_is_unsettled_where_ollama_started_by_hand_is_left():
    facts = dict(exposed_host(), processes=[hand_started()])
    left = wall_plan(facts, OPTIONS, context())
    assert (left["settled"], [p["pid"] for p in left["left"]]) == (False, [4242])
    adopted = wall_plan(facts, dict(OPTIONS, ollama_bind_adopt="true"), context())
    assert (adopted["settled"], adopted["left"]) == (True, [])
    assert [i["action"] for i in adopted["services"]] == ["rebind", "adopt"] and adopted["in_place"] is False
    no_systemd = wall_plan(dict(facts, systemd=False), dict(OPTIONS, ollama_bind_adopt=True), context())
    assert no_systemd["settled"] is False and [i["action"] for i in no_systemd["services"]] == ["rebind"]


@pytest.mark.parametrize("name,value", [("address", "0.0.0.0"), ("port", 70000), ("port", "x"),
                                        ("adopt", "maybe"), ("services", "ollama.service"),
                                        ("services", ["ollama-gpu.service"])])
def test_wall_plan_names_the_bad_option(name, value):
    with pytest.raises(ValueError, match="ollama_bind_%s" % name):
        wall_plan(exposed_host(), dict(OPTIONS, **{"ollama_bind_" + name: value}), context())
    options = dict(OPTIONS)
    del options["ollama_bind_env_dir"]
    with pytest.raises(ValueError, match="ollama_bind_env_dir"):
        wall_plan(exposed_host(), options, context())


# -- other model servers (issue 26, ollama_bind_other_servers) ---------------------------------
# Fixture servers[] shaped per ollama_info's contract (plugin_utils/ollama_doors.py).
def other(kind, port, unit=None, possible=True, why=None, key=False, container=None, wide=True, origin="default"):
    spec = SERVERS[kind]
    scope = "wildcard" if wide else "loopback"
    return {"kind": kind, "source": "container" if container else "process", "pid": 77,
            "unit": unit if unit is not None else (None if container else "%s.service" % kind),
            "container": container, "image": None, "argv": [kind], "process": kind,
            "listen": [{"address": "0.0.0.0" if wide else "127.0.0.1", "port": port, "family": "ipv4", "scope": scope}],
            "bind": {"address": "0.0.0.0" if wide else "127.0.0.1", "port": port, "scope": scope, "exposed": wide,
                     "origin": origin},
            "key": {"set": key, "origin": "env" if key else None}, "env": {}, "version": None,
            "rebind": {"possible": possible, "env": (spec["rebind"] or {}).get("env"),
                       "value": (spec["rebind"] or {}).get("value"), "why": why}}


def others_host(*servers):
    return dict(exposed_host(), servers=list(servers))


def test_other_servers_with_an_env_variable_are_rebound_by_a_dropin():
    items, refused = plan_others(others_host(other("localai", 8080), other("llama-server", 8081),
                                             other("tgi", 3000), other("open-webui", 3001)), True)
    assert refused == []
    got = dict((i["unit"], i) for i in items)
    assert got["localai.service"]["env"] == {"LOCALAI_ADDRESS": "127.0.0.1:8080"}
    assert got["llama-server.service"]["env"] == {"LLAMA_ARG_HOST": "127.0.0.1"}
    assert got["tgi.service"]["env"] == {"HOSTNAME": "127.0.0.1"}
    assert got["open-webui.service"]["env"] == {"HOST": "127.0.0.1"}
    local = got["localai.service"]
    assert local["dropin"] == "/etc/systemd/system/localai.service.d/" + DROPIN
    assert local["env_file"] == ENV_DIR + "/localai.service.env"
    assert local["running"] is True and local["action"] == "rebind" and local["port"] == 8080
    assert "LocalAI (localai.service) listens beyond loopback without a key" in local["reasons"][0]


def test_every_other_server_the_role_cannot_move_is_refused_by_name_with_its_reason():
    items, refused = plan_others(others_host(
        other("vllm", 8000, possible=False, why="x"), other("comfyui", 8188), other("rpc-server", 50052),
        other("lmstudio", 1234),
        other("localai", 8090, unit="local.service", possible=False, why="its ExecStart passes --address"),
        other("localai", 8091, container="localai"), other("tgi", 3002, unit=""),
        other("llama-server", 8092, unit="ollama.service")), True)
    assert items == []
    why = dict((r["port"], r["why"]) for r in refused)
    for kind, port in (("vllm", 8000), ("comfyui", 8188), ("rpc-server", 50052), ("lmstudio", 1234)):
        assert why[port] == SERVERS[kind]["refuse"], kind
    assert why[8090] == "its ExecStart passes --address"
    assert why[8091].startswith("runs in container localai: recreate it with LOCALAI_ADDRESS=127.0.0.1:8091")
    assert "-p 127.0.0.1:8091:8091" in why[8091]
    assert "not run by a systemd service unit of its own" in why[3002]
    assert "not run by a systemd service unit of its own (ollama.service)" in why[8092]
    names = dict((r["port"], r["name"]) for r in refused)
    assert names[8000] == "vLLM (vllm.service)" and names[8091] == "LocalAI (container localai)"


def test_servers_on_loopback_or_with_a_key_are_not_doors_and_the_opt_in_is_named():
    host = others_host(other("localai", 8080, wide=False), other("tgi", 3000, key=True), other("open-webui", 3001))
    items, refused = plan_others(host, True)
    assert [i["unit"] for i in items] == ["open-webui.service"] and refused == []
    items, refused = plan_others(host, False)
    assert items == [] and len(refused) == 1
    assert refused[0]["why"] == ("ollama_bind_other_servers is off (HOST=127.0.0.1 in a drop-in would move it "
                                 "to loopback)")


def test_wall_plan_rebinds_other_servers_only_with_the_opt_in():
    host = others_host(other("localai", 8080))
    off = wall_plan(host, OPTIONS, context())
    assert off["others"] == [] and [r["kind"] for r in off["others_refused"]] == ["localai"]
    on = wall_plan(host, dict(OPTIONS, ollama_bind_other_servers="true"), context())
    assert [i["unit"] for i in on["others"]] == ["localai.service"] and on["apply"] is True
    # Only another server to move: the role's normal path runs, the fast path does not.
    quiet = dict(host, services=[])
    assert wall_plan(quiet, dict(OPTIONS, ollama_bind_other_servers=True), context())["apply"] is True
    assert wall_plan(quiet, OPTIONS, context())["apply"] is False
    with pytest.raises(ValueError, match="ollama_bind_other_servers"):
        wall_plan(host, dict(OPTIONS, ollama_bind_other_servers="maybe"), context())
    missing = dict(OPTIONS)
    del missing["ollama_bind_other_servers"]
    with pytest.raises(ValueError, match="ollama_bind_other_servers"):
        wall_plan(host, missing, context())


def test_the_other_servers_dropin_names_the_toolkits_env_file_last():
    item = plan_others(others_host(other("localai", 8080)), True)[0][0]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")), keep_trailing_newline=True)
    dropin = env.get_template("other-dropin.conf.j2").render(__ollama_bind_item=item)
    lines = [line for line in dropin.splitlines() if line and not line.startswith("#")]
    assert lines == ["[Service]", 'Environment="LOCALAI_ADDRESS=127.0.0.1:8080"',
                     "EnvironmentFile=" + ENV_DIR + "/localai.service.env"]
    assert "LOCALAI_ADDRESS=127.0.0.1:8080" in env.get_template("service.env.j2").render(__ollama_bind_item=item)


def test_the_role_defaults_the_opt_in_off():
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        assert yaml.safe_load(handle)["ollama_bind_other_servers"] is False
