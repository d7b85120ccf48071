# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the rebind of each Ollama service to loopback (role ollama_bind).

Pure: the audit's facts in, the wall's plan out (``wall_plan``: one item
per service, the steps the tasks loop over, the stamp). Which services are
exposed is the audit's decision, not a second one: the OLLAMA_HOST that
ollama_info parsed (and resolved, for a hostname) is judged by
module_utils/ollama_host.py ``bind_exposed``, the function the audit's
OLLAMA-BIND-002 uses, and a running process by its own parse and the
sockets the audit saw (``is_exposed_scope``, as OLLAMA-BIND-001). Nothing
here parses OLLAMA_HOST again. What the toolkit's own files add is left
out only where the plan needs the service's configuration without them
(OLLAMA_ORIGINS, OLLAMA_NO_CLOUD), so a second run plans exactly what the
first one wrote (idempotence); the port kept is the one the service uses
today.

How the fix wins (docs/remediation.md, "Why the drop-in wins"): the
managed drop-in sorts last and names an environment file of its own, and
``EnvironmentFile=`` values override every ``Environment=`` value, the
later file winning.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_cloud import env_bool
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_host import (
    DEFAULT_PORT, bind_exposed, is_exposed_scope, join_host_port, origins_wildcards)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_servers import SERVERS
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_wall import check_context, stamp

ACTION_NONE = "none"
ACTION_RESTART = "restart"
ACTION_REBIND = "rebind"
ACTION_ADOPT = "adopt"
LOOPBACK_ADDRESSES = ("127.0.0.1", "::1")


def env_file_path(env_dir, unit):
    return "%s/%s.env" % (env_dir.rstrip("/"), unit)


def dropin_path(unit, dropin_name, unit_dir="/etc/systemd/system"):
    return "%s/%s.d/%s" % (unit_dir, unit, dropin_name)


def env_without(history, excluded_files):
    """The effective environment from an audit history, ignoring some files."""
    env = {}
    for item in history or []:
        if item.get("file") in excluded_files:
            continue
        env[item["key"]] = item["value"]
    return env


def listen_value(address, port):
    return join_host_port(address, int(port))


def check_address(address):
    if address not in LOOPBACK_ADDRESSES:
        raise ValueError("ollama_bind_address: %r is not a loopback address (127.0.0.1 or ::1)" % (address,))


def running_exposed(svc, listeners=()):
    """The audit's view of a service's running process: its OLLAMA_HOST
    (as read from /proc) reaches the network, or a socket the audit owns to
    the unit does (OLLAMA-BIND-001's decision)."""
    return bind_exposed(svc.get("running_bind")) or any(
        is_exposed_scope(sock.get("scope")) for sock in listeners or [] if sock.get("unit") == svc["name"])


def plan_service(svc, address, origins, fix_origins, dropin_name, env_dir, port=None, no_cloud=False, listeners=()):
    """What to do for one audited service.

    The service's bind is the audit's (``svc['bind']``, ollama_info's parse
    of the OLLAMA_HOST its next start reads): it is rebound where the audit
    calls it exposed (``bind_exposed``, OLLAMA-BIND-002), restarted where
    only its running process is (``running_exposed``). With ``no_cloud``,
    the managed environment also sets OLLAMA_NO_CLOUD=1 (cloud models and
    web search off, Ollama 0.16.2+), unless the service's own configuration
    turns cloud off already. A service with the toolkit's drop-in is
    rebound again each run (its files written again, unchanged).

    Returns a dict: unit, subject (the audit's, ``unit:<name>``), action
    (none / restart / rebind), fix (why: ``bind``, ``running``, ``origins``,
    ``cloud``), exposed (the audit's decision on its bind), port, env (the
    managed OLLAMA_* values), dropin and env_file paths, managed (the
    toolkit's files are there already), running (bool), reasons.
    """
    check_address(address)
    unit = svc["name"]
    dropin = dropin_path(unit, dropin_name)
    env_file = env_file_path(env_dir, unit)
    ours = (dropin, env_file)
    # Without the toolkit's own files: OLLAMA_ORIGINS and OLLAMA_NO_CLOUD as
    # the service has them (the toolkit's environment file changes both).
    base_env = env_without(svc.get("env_history"), ours)
    bind = svc.get("bind") or {}
    running_bind = svc.get("running_bind")
    managed = dropin in (svc.get("dropins") or [])
    exposed = bind_exposed(bind)
    stale = running_exposed(svc, listeners)
    reasons = []
    fix = []

    if port is None:
        if running_bind and running_bind.get("port"):
            port = running_bind["port"]
        elif bind.get("port"):
            port = bind["port"]
        else:
            port = DEFAULT_PORT
            reasons.append("port 0 (random) replaced by %d" % DEFAULT_PORT)

    env = {"OLLAMA_HOST": listen_value(address, port)}
    wildcards = origins_wildcards(base_env.get("OLLAMA_ORIGINS", ""))
    if wildcards and fix_origins:
        env["OLLAMA_ORIGINS"] = ",".join(origins)
        reasons.append("OLLAMA_ORIGINS %s narrowed to %s" % (
            ",".join(wildcards), ",".join(origins) or "upstream defaults"))
    cloud_off = not no_cloud or env_bool(base_env.get("OLLAMA_NO_CLOUD"))
    if no_cloud:
        env["OLLAMA_NO_CLOUD"] = "1"
        if not cloud_off:
            reasons.append("cloud features turned off (OLLAMA_NO_CLOUD=1)")

    if exposed:
        fix.append("bind")
        reasons.append("configured OLLAMA_HOST=%r listens on %s" % (bind.get("value"), bind.get("listen")))
    if wildcards and fix_origins:
        fix.append("origins")
    if not cloud_off:
        fix.append("cloud")
    if stale:
        reasons.append("running with OLLAMA_HOST=%r (%s)" % (
            (running_bind or {}).get("value"), (running_bind or {}).get("listen")))

    if managed or fix:
        action = ACTION_REBIND
    elif stale:
        fix.append("running")
        action = ACTION_RESTART
    else:
        action = ACTION_NONE
    return {
        "unit": unit,
        "subject": "unit:%s" % unit,
        "action": action,
        "fix": fix,
        "exposed": exposed,
        "port": port,
        "listen": env["OLLAMA_HOST"],
        "env": env,
        "dropin": dropin,
        "dropin_existed": managed,
        "env_file": env_file,
        "env_file_existed": any(f.get("path") == env_file and f.get("exists")
                                for f in svc.get("environment_files") or []),
        "running": bool(svc.get("main_pid")),
        "active_state": svc.get("active_state"),
        "reasons": reasons,
    }


def plan(facts, address, origins=(), fix_origins=True, services=None, dropin_name="zz-ollama-exposure-toolkit.conf",
         env_dir="/etc/ollama-exposure-toolkit", port=None, no_cloud=False):
    """Plan items for the audited services (all, or those named in ``services``).

    Raises ValueError naming the first unknown service.
    """
    audited = dict((s["name"], s) for s in (facts or {}).get("services", []) if not s.get("masked"))
    wanted = list(services) if services else sorted(audited)
    for name in wanted:
        if name not in audited:
            raise ValueError("ollama_bind_services: service %r is not an Ollama service on this host (found: %s)" % (
                name, ", ".join(sorted(audited)) or "none"))
    return [plan_service(audited[name], address, list(origins), fix_origins, dropin_name, env_dir, port, no_cloud,
                         (facts or {}).get("listeners"))
            for name in wanted]


def systemd_quote(argv):
    """A command line for ``ExecStart=``: words quoted, ``$`` and ``%`` escaped."""
    words = []
    for word in argv:
        escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
        if not escaped or any(c.isspace() for c in escaped) or escaped != word or "'" in word or ";" in word:
            escaped = '"%s"' % escaped
        words.append(escaped)
    return " ".join(words)


def plan_adoptions(facts, address, origins=(), fix_origins=True, env_dir="/etc/ollama-exposure-toolkit",
                   port=None, unit_dir="/etc/systemd/system"):
    """Plan items that move Ollama processes started by hand into managed units.

    Each hand-started process (no unit, not in a container) becomes a unit
    that runs the same command line as the same user, with the process's
    own OLLAMA_* environment in an environment file of the toolkit,
    rebound to loopback on the port it uses today. The unit is named
    ``ollama.service`` when that name is free and one process is adopted,
    else ``ollama-<port>.service``.
    """
    check_address(address)
    facts = facts or {}
    if facts.get("systemd") is False:
        return []  # no systemd to adopt it into: the audit reports it (OLLAMA-BIND-004)
    taken = set(s["name"] for s in facts.get("services", []))
    procs = [p for p in facts.get("processes", []) if not p.get("unit") and not p.get("container")]
    listeners = facts.get("listeners", [])
    items = []
    for proc in sorted(procs, key=lambda p: p["pid"]):
        bind = proc.get("bind") or {}  # the audit's parse (ollama_info)
        ports = sorted(set(l["port"] for l in listeners if l.get("pid") == proc["pid"]))
        use_port = port or bind.get("port") or (ports[0] if ports else DEFAULT_PORT)
        env = dict(proc.get("env") or {})
        env["OLLAMA_HOST"] = listen_value(address, use_port)
        reasons = ["started by hand (pid %d) with OLLAMA_HOST=%r (%s)" % (
            proc["pid"], bind.get("value", ""), bind.get("listen", ""))]
        wildcards = origins_wildcards(env.get("OLLAMA_ORIGINS", ""))
        if wildcards and fix_origins:
            env["OLLAMA_ORIGINS"] = ",".join(origins)
            reasons.append("OLLAMA_ORIGINS %s narrowed to %s" % (
                ",".join(wildcards), ",".join(origins) or "upstream defaults"))
        items.append({"pid": proc["pid"], "port": use_port, "argv": list(proc.get("argv") or []),
                      "uid": proc.get("uid") or 0, "gid": proc.get("gid") or 0,
                      # systemd's User= takes a uid when the account has no name.
                      "user": proc.get("user") or str(proc.get("uid") or 0),
                      "home": proc.get("home") or "/",
                      "original_env": dict(proc.get("env") or {}), "env": env,
                      "listen": env["OLLAMA_HOST"], "reasons": reasons})
    for item in items:
        name = "ollama.service"
        if name in taken or len(items) > 1:
            name = "ollama-%d.service" % item["port"]
        if name in taken:
            raise ValueError("cannot adopt pid %d: unit %s exists already" % (item["pid"], name))
        taken.add(name)
        item.update(unit=name, action=ACTION_ADOPT, unit_file="%s/%s" % (unit_dir.rstrip("/"), name),
                    env_file=env_file_path(env_dir, name), exec_start=systemd_quote(item["argv"]),
                    running=True)
    return items


def health(facts, items):
    """What is wrong with the units of ``items`` once the change is done.

    ``facts``: the audit module's result read after the change; ``items``:
    plan and adoption entries of the role. A unit that ran before must be
    active, listen on loopback only on its port and answer ``GET
    /api/version`` there. Returns one message per problem (empty: healthy).
    """
    facts = facts or {}
    wanted = [i for i in items or [] if i.get("running")]
    states = dict((s.get("name"), s) for s in facts.get("services", []))
    answers = dict((i.get("subject"), i) for i in facts.get("installs", []) if i.get("kind") == "service")
    problems = []
    for item in wanted:
        state = (states.get(item["unit"]) or {}).get("active_state")
        if state != "active":
            problems.append("%s: %s" % (item["unit"], "not found" if state is None else state))
    problems.extend(unsettled(facts.get("listeners"), [i for i in wanted if (states.get(i["unit"]) or {})
                                                       .get("active_state") == "active"]))
    for item in wanted:
        answer = answers.get(item["unit"])
        if answer is not None and not answer.get("version") and (states.get(item["unit"]) or {}).get(
                "active_state") == "active":
            problems.append("%s: no answer to GET /api/version (%s)" % (
                item["unit"], answer.get("reason") or "no reason given"))
    return problems


def unsettled(listeners, items):
    """Units of ``items`` not yet listening on loopback only, on their port.

    ``listeners``: the audit module's listeners; returns one message per
    unit still wrong (empty list: all settled).
    """
    problems = []
    for item in items:
        socks = [s for s in listeners or [] if s.get("unit") == item["unit"]]
        if not socks:
            problems.append("%s: not listening yet" % item["unit"])
            continue
        outside = sorted(set("%s:%s" % (s.get("address"), s.get("port")) for s in socks
                             if is_exposed_scope(s.get("scope"))))
        ports = sorted(set(s.get("port") for s in socks))
        if outside:
            problems.append("%s: still listening on %s" % (item["unit"], ", ".join(outside)))
        elif ports != [item["port"]]:
            problems.append("%s: listening on port %s, expected %d" % (
                item["unit"], ",".join(str(p) for p in ports), item["port"]))
    return problems


# -- What the role's tasks do with the plan -------------------------------------------------
# Pure decisions, each a filter of filter_plugins/ollama_bind.py: the tasks
# loop over these lists and test these flags; roles/ollama_bind/vars/ holds
# no decision.

# PATH of a process started again by hand (rescue and rollback of an adoption).
RELAUNCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The relaunched process must not hold the module's pipes (the task would
# wait for it): stdin and output to /dev/null, the words passed as "$@".
RELAUNCH_SHELL = 'exec "$@" </dev/null >/dev/null 2>&1'


def host_plan(facts, address, origins=(), fix_origins=True, services=None,
              dropin_name="zz-ollama-exposure-toolkit.conf", env_dir="/etc/ollama-exposure-toolkit", port=None,
              adopt=False, no_cloud=False):
    """The whole plan of a host: one item per audited service (``plan``),
    then, with ``adopt``, one per process started by hand (``plan_adoptions``).

    Each item's ``action`` says what the role does with it: none, restart,
    rebind or adopt: the ``services`` of the role's plan (``wall_plan``).
    ``no_cloud``: services also get OLLAMA_NO_CLOUD=1 (``plan_service``).
    """
    items = plan(facts, address, origins, fix_origins, services, dropin_name, env_dir, port, no_cloud)
    if adopt:
        items = items + plan_adoptions(facts, address, origins, fix_origins, env_dir, port)
    return items


def steps(items, backup_dir="/var/backups/ollama-exposure-toolkit"):
    """What the tasks do, from the plan alone.

    * ``todo``: services with something to do (restart a stale process, or rebind);
    * ``rebind``: those that get the toolkit's drop-in and environment file;
    * ``unbacked``: rebound services whose toolkit files are not both there
      yet (their backup is looked for): first those without the drop-in,
      then those with the drop-in but without the environment file;
    * ``make_env_dir``: an environment file is new (its directory may be missing);
    * ``dropin_dirs``: drop-in directories of services without the drop-in;
    * ``adopt``: processes started by hand to move into units;
    * ``adopt_leftovers``: what the rescue of an adoption removes (units,
      environment files, records under ``backup_dir``).
    """
    items = list(items or [])
    todo = [i for i in items if i.get("action") in (ACTION_RESTART, ACTION_REBIND)]
    rebind = [i for i in todo if i["action"] == ACTION_REBIND]
    adopt = [i for i in items if i.get("action") == ACTION_ADOPT]
    return {
        "todo": todo,
        "rebind": rebind,
        "unbacked": ([i for i in rebind if not i.get("dropin_existed")]
                     + [i for i in rebind if i.get("dropin_existed") and not i.get("env_file_existed")]),
        "make_env_dir": any(not i.get("env_file_existed") for i in rebind),
        "dropin_dirs": [i["dropin"].rsplit("/", 1)[0] for i in rebind if not i.get("dropin_existed")],
        "adopt": adopt,
        "adopt_leftovers": ([i["unit_file"] for i in adopt] + [i["env_file"] for i in adopt]
                            + ["%s/%s" % (backup_dir, i["unit"]) for i in adopt]),
    }


def _results(registered):
    """The per-item results of a registered loop task (a dict with
    ``results``) or such a list itself; nothing when the task did not run."""
    if isinstance(registered, dict) or hasattr(registered, "keys"):
        return list(registered.get("results") or [])
    return list(registered or [])


def backups(stat_results, loop_var="__ollama_bind_item"):
    """Which services to back up now, from the ``stat`` of their backup.

    ``stat_results``: the registered loop over ``steps()['unbacked']``.
    Returns ``services`` (no backup yet: keep their state now), and of
    those ``dropins`` (a drop-in to copy) and ``env_files`` (an environment
    file to copy).
    """
    services = [r[loop_var] for r in _results(stat_results) if not (r.get("stat") or {}).get("exists")]
    return {"services": services,
            "dropins": [i for i in services if i.get("dropin_existed")],
            "env_files": [i for i in services if i.get("env_file_existed")]}


def apply_plan(plan_steps, env_results, dropin_results, restart=True, loop_var="__ollama_bind_item"):
    """What to apply once the files are written, and how to undo it.

    ``plan_steps``: ``steps()``; ``env_results``, ``dropin_results``: the
    registered template loops over ``rebind``. Returns:

    * ``apply``: services to apply (a stale process, or a rebound service
      whose files changed in this run), in that order;
    * ``restarts``: those of ``apply`` that run, when ``restart`` (else none);
    * ``restart_back``: those of ``apply`` that run (the rescue restarts them
      with their old files, whatever ``restart`` says);
    * ``copies``: this run's copies of replaced files (``backup: true``);
    * ``put_back``: ``{src, dest}`` of each copy, to put it back;
    * ``created``: files this run created (changed, nothing replaced).
    """
    written = _results(env_results) + _results(dropin_results)
    changed_units = set((r.get(loop_var) or {}).get("unit") for r in written if r.get("changed"))
    apply = ([i for i in plan_steps["todo"] if i["action"] == ACTION_RESTART]
             + [i for i in plan_steps["rebind"] if i["unit"] in changed_units])
    running = [i for i in apply if i.get("running")]
    copies = [r for r in written if "backup_file" in r]
    return {
        "apply": apply,
        "restarts": running if restart else [],
        "restart_back": running,
        "copies": [r["backup_file"] for r in copies],
        # Check mode's template results name no dest (nothing was written).
        "put_back": [{"src": r["backup_file"], "dest": r["dest"]} for r in copies if r.get("dest")],
        "created": [r["dest"] for r in written if r.get("changed") and "backup_file" not in r and r.get("dest")],
    }


def relaunch_argv(item):
    """The argv that starts an adopted process by hand again, as it was.

    ``item``: an adoption plan item (or its record, state.json). A detached
    session (``setsid -f``), the process's user and groups (``setpriv``,
    unless root), only its own environment (``env -i``) with HOME and a
    standard PATH, then its command line; stdin and output go to /dev/null
    through ``sh -c`` with the words as arguments (nothing is quoted into a
    shell string).
    """
    argv = ["sh", "-c", RELAUNCH_SHELL, "sh", "setsid", "-f"]
    uid = int(item.get("uid") or 0)
    if uid != 0:
        argv += ["setpriv", "--reuid=%d" % uid, "--regid=%d" % int(item.get("gid") or 0), "--init-groups"]
    argv += ["env", "-i", "HOME=%s" % (item.get("home") or "/"), "PATH=%s" % RELAUNCH_PATH]
    env = item.get("original_env") or {}
    argv += ["%s=%s" % (key, env[key]) for key in sorted(env, key=lambda k: (k.lower(), k))]
    return argv + [str(word) for word in item["argv"]]


STAMP_KEYS = ("unit", "env", "dropin", "env_file", "listen", "port")


def stamp_view(items):
    """What the role writes for each planned item, for its stamp's inputs
    (module_utils/ollama_stamp.py): the unit, its files, the managed
    environment and the port. Not what the audit found (reasons, files that
    existed, the running process), which the rebind itself changes: the plan
    of the run after a rebind has the same view as the plan of the rebind."""
    return [dict((key, item.get(key)) for key in STAMP_KEYS) for item in items or []]


# -- Other model servers (issue 26, ollama_bind_other_servers) -------------------------------
# A unit name the role may write a drop-in directory for.
UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.@\\-]+\.service\Z")


def _server_exposed(srv):
    """The read's decision: configured to listen beyond loopback, or listening there now."""
    return bool((srv.get("bind") or {}).get("exposed")) or any(
        is_exposed_scope(sock.get("scope")) for sock in srv.get("listen") or [])


def _server_port(srv, spec):
    for port in [(srv.get("bind") or {}).get("port")] + [s.get("port") for s in srv.get("listen") or []]:
        if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536:
            return port
    return spec.get("port")


def _server_name(srv, spec):
    where = srv.get("unit") or (srv.get("container") and "container %s" % srv["container"]) or (
        "pid %s" % srv.get("pid"))
    return "%s (%s)" % (spec.get("title") or srv.get("kind"), where)


def plan_others(facts, enabled, dropin_name="zz-ollama-exposure-toolkit.conf", env_dir="/etc/ollama-exposure-toolkit"):
    """The other model servers of the host's read (ollama_info's ``servers``)
    that listen, or are configured to listen, beyond loopback without a key:
    ``(items, refused)``.

    ``items``: those the role rebinds to loopback (with ``enabled``:
    ollama_bind_other_servers), each run by a systemd unit whose kind has a
    ``rebind`` variable (module_utils/ollama_servers.py) and whose
    ``ExecStart`` does not pass the bind flag (the read's
    ``rebind.possible``): a drop-in of the unit names an environment file
    of the toolkit's setting that variable (read after the unit's own, so it
    wins), {unit, kind, title, port, env: {VAR: value}, listen, dropin,
    env_file, running, action: rebind, reasons}. ``refused``: every other one,
    by name, with ``why`` (SERVERS[kind].refuse, or the read's
    ``rebind.why``, or what stands in the way; or that the opt-in is off).
    A server whose key is set is no door: neither list.
    """
    items, refused, seen = [], [], set()
    facts = facts if isinstance(facts, dict) else {}
    ollama_units = set(svc.get("name") for svc in facts.get("services") or [])
    for srv in facts.get("servers") or []:
        kind = srv.get("kind")
        spec = SERVERS.get(kind) or {}
        if not _server_exposed(srv) or (srv.get("key") or {}).get("set"):
            continue
        name = _server_name(srv, spec)
        port = _server_port(srv, spec)
        rebind = srv.get("rebind") or {}
        unit = srv.get("unit")
        why = None
        if not spec:
            why = "unknown kind %r: left to the operator" % (kind,)
        elif not spec.get("rebind"):
            why = spec.get("refuse") or rebind.get("why") or "no setting the toolkit can change"
        elif srv.get("source") == "container" or srv.get("container"):
            why = ("runs in container %s: recreate it with %s=%s or publish its port on 127.0.0.1 "
                   "(-p 127.0.0.1:%s:%s)" % (srv.get("container"), spec["rebind"]["env"],
                                             spec["rebind"]["value"].format(port=port), port, port))
        elif not unit or not UNIT_NAME.match(str(unit)) or unit in ollama_units:
            why = "not run by a systemd service unit of its own (%s): left to the operator" % (unit or "no unit")
        elif not rebind.get("possible"):
            why = rebind.get("why") or "its unit's ExecStart sets the address (%s)" % ", ".join(spec.get("bind_flags") or [])
        elif not enabled:
            why = "ollama_bind_other_servers is off (%s=%s in a drop-in would move it to loopback)" % (
                spec["rebind"]["env"], spec["rebind"]["value"].format(port=port))
        elif unit in seen:
            continue
        if why:
            refused.append({"name": name, "kind": kind, "unit": unit, "container": srv.get("container"),
                            "port": port, "why": why})
            continue
        seen.add(unit)
        variable = rebind.get("env") or spec["rebind"]["env"]
        value = rebind.get("value") if rebind.get("value") and "{" not in str(rebind.get("value")) else (
            spec["rebind"]["value"].format(port=port))
        items.append({
            "unit": unit, "kind": kind, "title": spec.get("title") or kind, "port": port,
            "env": {variable: value}, "listen": "%s=%s" % (variable, value),
            "dropin": dropin_path(unit, dropin_name), "env_file": env_file_path(env_dir, unit),
            "running": bool(srv.get("pid")), "action": ACTION_REBIND,
            "reasons": ["%s listens beyond loopback without a key (%s)" % (
                name, (srv.get("bind") or {}).get("origin") or "listening")]})
    return items, refused


# -- The wall's plan (the contract of plugin_utils/ollama_wall.py) ---------------------------

# The stamp the role writes after a rebind, read back by the audit.
STAMP_NAME = "ollama_bind"
# Bump when the role's tasks change what they leave on a host.
STAMP_VERSION = 1
# Every option wall_plan reads (ollama_bind_<name>), as the role's defaults set them.
OPTIONS = ("address", "port", "services", "fix_origins", "origins", "disable_cloud", "adopt", "dropin_name",
           "env_dir", "backup_dir", "other_servers")
_TRUE = ("true", "yes", "on", "1", "y", "t")
_FALSE = ("false", "no", "off", "0", "n", "f", "")


def _flag(options, name):
    value = options["ollama_bind_" + name]
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError("ollama_bind_%s: %r is not a boolean" % (name, value))


def _names(options, name):
    value = options["ollama_bind_" + name]
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError("ollama_bind_%s: a list is expected (got %r)" % (name, value))
    return [str(v) for v in value]


def options_of(options):
    """The role's options (``ollama_bind_*`` by name) as the plan takes
    them; ValueError naming the variable on a missing or bad one."""
    missing = ["ollama_bind_" + name for name in OPTIONS if "ollama_bind_" + name not in (options or {})]
    if missing:
        raise ValueError("wall_plan('bind'): %s missing from the options" % ", ".join(missing))
    try:
        port = int(options["ollama_bind_port"] or 0)
    except (TypeError, ValueError):
        port = -1
    if not 0 <= port <= 65535:
        raise ValueError("ollama_bind_port: must be 0 (keep) or 1-65535 (got %r)" % (options["ollama_bind_port"],))
    address = str(options["ollama_bind_address"])
    check_address(address)
    return {"address": address, "port": port or None, "services": _names(options, "services"),
            "origins": _names(options, "origins"), "fix_origins": _flag(options, "fix_origins"),
            "no_cloud": _flag(options, "disable_cloud"), "adopt": _flag(options, "adopt"),
            "dropin_name": str(options["ollama_bind_dropin_name"]), "env_dir": str(options["ollama_bind_env_dir"]),
            "backup_dir": str(options["ollama_bind_backup_dir"]), "other_servers": _flag(options, "other_servers")}


def left_by_hand(facts, adopt):
    """Ollama started by hand that the role leaves as it is, reported on
    every run (OLLAMA-BIND-004): all of them without ``adopt``, and with it
    where the host has no systemd to adopt them into."""
    facts = facts or {}
    if adopt and facts.get("systemd") is not False:
        return []
    return [p for p in facts.get("processes") or [] if not p.get("unit") and not p.get("container")]


def wall_plan(facts, options, context):
    """The bind wall's plan (``ollama_audit_facts | wall_plan('bind', options,
    context)``), the role's returned fact ``ollama_bind_plan``:

    * ``services``: one item per audited service (``plan``), then, with
      ollama_bind_adopt, one per process started by hand (``plan_adoptions``);
    * ``steps``: what the tasks loop over (``steps``);
    * ``left``: Ollama started by hand and left, reported (OLLAMA-BIND-004);
    * ``stamp``: name, inputs (version, every option, what the rebind
      writes - ``stamp_view`` - and the templates), files and units of the
      rebind; written where there is a rebind, after a whole run, not in
      check mode;
    * ``in_place``: the audit's read shows that stamp with nothing moved and
      the same inputs, and every service with something to do is one the
      role rebound already: the normal path would write the same files and
      restart nothing, so nothing is read or written;
    * ``apply``: the normal path runs (something to do, not in place);
    * ``others``, ``others_refused``: the other model servers rebound to
      loopback (ollama_bind_other_servers) and those left, each with its
      reason (``plan_others``);
    * ``settled``: nothing is left to report each run (no ``left``).
    """
    opts = options_of(options)
    context = check_context(context)
    items = host_plan(facts, opts["address"], opts["origins"], opts["fix_origins"], opts["services"] or None,
                      opts["dropin_name"], opts["env_dir"], opts["port"], adopt=opts["adopt"],
                      no_cloud=opts["no_cloud"])
    plan_steps = steps(items, opts["backup_dir"])
    rebind = plan_steps["rebind"]
    others, refused = plan_others(facts, opts["other_servers"], opts["dropin_name"], opts["env_dir"])
    made = stamp(STAMP_NAME, STAMP_VERSION, {"vars": dict(options), "plan": stamp_view(rebind)}, facts, context,
                 stampable=bool(rebind), files=[i["env_file"] for i in rebind] + [i["dropin"] for i in rebind],
                 units=[i["unit"] for i in rebind], prefix="OLLAMA-BIND")
    changes = [i for i in items if i.get("action") != ACTION_NONE]
    # Another server to rebind is work the stamp does not cover.
    in_place = bool(made["in_place"] and changes and not others
                    and all(i["action"] == ACTION_REBIND and i.get("dropin_existed") for i in changes))
    made["in_place"] = in_place
    left = left_by_hand(facts, opts["adopt"])
    return {"wall": "bind", "services": items, "steps": plan_steps, "left": left, "stamp": made,
            "in_place": in_place,
            "apply": bool(plan_steps["todo"] or plan_steps["adopt"] or others) and not in_place,
            "others": others, "others_refused": refused,
            "settled": not left}
