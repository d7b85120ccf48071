# -*- coding: utf-8 -*-
"""The front for the other model servers (ollama_front_backends): the plan
(plugin_utils/ollama_front.py backend_plan and wall_plan), each kind's
endpoint policy (roles/ollama_front/vars/main.yml
__ollama_front_backend_endpoints) and the rendered site
(templates/ollama-front.conf.j2). nginx -t runs on the rendered site in
the front scenario (molecule/front)."""

import os
import re

import jinja2
import pytest
import yaml

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_front_site import (
    ADVISORY_ROUTES, front_state, parse_front_config)
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_servers import SERVERS
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_findings import evaluate_host
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_front import (
    BACKEND_KINDS, backend_plan, wall_plan)
from ansible_collections.ollama_toolkit.exposure.plugins.plugin_utils.ollama_report import (
    build_report, records_from_results)

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ROLE = os.path.join(REPO, "roles", "ollama_front")


def _load(name):
    with open(os.path.join(ROLE, name)) as handle:
        return yaml.safe_load(handle)


RAW_VARS = _load("vars/main.yml")
DEFAULTS = _load("defaults/main.yml")
POLICIES = RAW_VARS["__ollama_front_backend_endpoints"]
LISTEN = ["0.0.0.0", "[::]"]
DEBIAN = {"ID": "debian", "VERSION_ID": "12"}
KEY = "ak_" + "q" * 30


def _resolve(value, data):
    ref = re.compile(r"\{\{ (__ollama_front_\w+) \}\}")
    if isinstance(value, str):
        while ref.search(value):
            value = ref.sub(lambda m: data[m.group(1)], value)
        return value
    if isinstance(value, list):
        return [_resolve(v, data) for v in value]
    if isinstance(value, dict):
        return dict((k, _resolve(v, data)) for k, v in value.items())
    return value


VARS = _resolve(RAW_VARS, RAW_VARS)


def _context():
    return {"host": "web-1", "ansible_host": "192.0.2.10", "run_tags": ["all"], "skip_tags": [],
            "check_mode": False, "role_path": ROLE, "endpoints": VARS["__ollama_front_endpoints"],
            "backend_endpoints": POLICIES, "ciphers": VARS["__ollama_front_ciphers"],
            "files": VARS["__ollama_front_files"], "stamp_paths": VARS["__ollama_front_stamp_paths"],
            "families": VARS["__ollama_front_families"]}


def _options(**extra):
    options = dict(DEFAULTS)
    options["ollama_front_credentials"] = [{"name": "alice", "api_key": KEY},
                                           {"name": "root", "role": "admin", "api_key": KEY + "r"}]
    options.update(extra)
    return options


def _facts():
    return {"os": DEBIAN, "addresses": [], "addresses_skipped": [],
            "services": [{"running_bind": {"port": 11434}, "env": {}}]}


def _policy(kind):
    """(path or regex) -> (methods, role) of a kind's policy."""
    return dict((ep.get("path") or ep.get("regex"), (ep["methods"], ep["role"])) for ep in POLICIES[kind])


# -- The policy per kind ------------------------------------------------------------------

def test_every_openai_compatible_kind_has_a_policy_and_nothing_else_does():
    assert sorted(POLICIES) == sorted(BACKEND_KINDS)
    assert all(kind in SERVERS for kind in BACKEND_KINDS)
    for kind, endpoints in POLICIES.items():
        keys = [ep.get("path") or ep.get("regex") for ep in endpoints]
        assert len(keys) == len(set(keys)), kind  # one location per path
        for ep in endpoints:
            assert ("path" in ep) != ("regex" in ep), (kind, ep)
            assert ep["role"] in ("user", "admin") and ep["methods"], (kind, ep)
            assert set(ep["methods"]) <= {"GET", "POST", "DELETE", "HEAD"}, (kind, ep)
            if "regex" in ep:
                assert ep["regex"].startswith("^/") and ep["regex"].endswith("$"), (kind, ep)


@pytest.mark.parametrize("kind, routes", [
    ("vllm", ["/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings"]),
    ("llama-server", ["/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/completion",
                      "/tokenize"]),
    ("localai", ["/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings"]),
    ("tgi", ["/v1/models", "/v1/chat/completions", "/v1/completions", "/generate", "/generate_stream", "/info"]),
])
def test_inference_routes_are_for_users(kind, routes):
    policy = _policy(kind)
    for route in routes:
        assert policy[route][1] == "user", (kind, route)


@pytest.mark.parametrize("kind, routes", [
    ("vllm", ["/v1/load_lora_adapter", "/v1/unload_lora_adapter", "/start_profile", "/stop_profile",
              "/reset_prefix_cache", "/sleep", "/wake_up", "/collective_rpc", "/scale_elastic_ep", "/metrics"]),
    ("llama-server", ["/slots", "^/slots/[0-9]+$", "/props", "/lora-adapters", "/models/load", "/models/unload",
                      "/metrics"]),
    ("localai", ["/models/apply", "^/models/delete/[^/]+$", "/backends/apply", "^/backends/delete/[^/]+$",
                 "/backends", "/backend/load", "/backend/shutdown", "/system", "/metrics"]),
    ("tgi", ["/metrics"]),
])
def test_loading_admin_and_debug_routes_are_for_admins_only(kind, routes):
    policy = _policy(kind)
    for route in routes:
        assert policy[route][1] == "admin", (kind, route)


@pytest.mark.parametrize("kind, refused", [
    # Docs and schema, the server's own UI, streams of other clients, routes behind a flag.
    ("vllm", ["/docs", "/openapi.json", "/redoc", "/v1/chat/completions/render"]),
    ("llama-server", ["/v1/streams", "/cors-proxy", "/tools", "/"]),
    ("localai", ["/", "/swagger/index.html", "/api/p2p/token", "/stores/get", "/api/settings"]),
    ("tgi", ["/docs", "/api-doc/openapi.json"]),
])
def test_what_a_kind_does_not_list_is_refused_for_everyone(kind, refused):
    policy = _policy(kind)
    for path in refused:
        assert path not in policy and not any(
            key.startswith("^") and re.match(key, path) for key in policy), (kind, path)


def test_a_path_that_models_and_loads_is_get_only_for_users():
    # llama-server's router mode adds (POST) and removes (DELETE) models on /models.
    assert _policy("llama-server")["/models"] == (["GET"], "user")


# -- The plan ------------------------------------------------------------------------------

def test_defaults_come_from_the_servers_table():
    plan = backend_plan([{"kind": kind, "port": 18000 + i} for i, kind in enumerate(BACKEND_KINDS)],
                        11443, 11434, LISTEN, POLICIES)
    assert [b["upstream_port"] for b in plan] == [SERVERS[k]["port"] for k in BACKEND_KINDS]
    assert [b["upstream"] for b in plan] == ["127.0.0.1:%d" % SERVERS[k]["port"] for k in BACKEND_KINDS]
    assert plan[0]["listen"] == ["0.0.0.0:18000", "[::]:18000"]
    assert [b["endpoints"] for b in plan] == [POLICIES[k] for k in BACKEND_KINDS]
    assert len({b["name"] for b in plan}) == len(plan)
    assert all(b["cloud"] is False for b in plan)


def test_given_upstream_host_and_port_are_used():
    plan = backend_plan([{"kind": "vllm", "port": "18443", "upstream_port": 9000, "upstream_host": "::1"}],
                        11443, 11434, ["[::]"], POLICIES)
    assert (plan[0]["port"], plan[0]["upstream"], plan[0]["listen"]) == (18443, "[::1]:9000", ["[::]:18443"])


def test_no_backends_is_an_empty_list():
    assert backend_plan(None, 11443, 11434, LISTEN, POLICIES) == []
    assert backend_plan([], 11443, 11434, LISTEN, POLICIES) == []


@pytest.mark.parametrize("backends, message", [
    ({"kind": "vllm", "port": 18000}, "ollama_front_backends: must be a list"),
    (["vllm"], "ollama_front_backends[0]: must be a mapping"),
    ([{"kind": "ollama", "port": 18000}], "ollama_front_backends[0].kind: 'ollama' is not one of"),
    ([{"kind": "comfyui", "port": 18000}], "ollama_front_backends[0].kind: 'comfyui' is not one of"),
    ([{"kind": "vllm", "port": 18000}, {"kind": "VLLM", "port": 18001}], "ollama_front_backends[1].kind:"),
    ([{"kind": "vllm"}], "ollama_front_backends[0].port: required"),
    ([{"kind": "vllm", "port": 0}], "ollama_front_backends[0].port: 0 is not a port"),
    ([{"kind": "vllm", "port": 65536}], "ollama_front_backends[0].port: 65536 is not a port"),
    ([{"kind": "vllm", "port": True}], "ollama_front_backends[0].port: True is not a port"),
    ([{"kind": "vllm", "port": "18000x"}], "ollama_front_backends[0].port: '18000x' is not a port"),
    ([{"kind": "vllm", "port": 11443}], "ollama_front_backends[0].port: 11443 is already taken by ollama_front_port"),
    ([{"kind": "vllm", "port": 18000}, {"kind": "tgi", "port": 18000}],
     "ollama_front_backends[1].port: 18000 is already taken by ollama_front_backends[0].port"),
    ([{"kind": "vllm", "port": 8000}], "ollama_front_backends[0].port: 8000 is the port of a server behind the front "
                                       "(ollama_front_backends[0].upstream_port)"),
    ([{"kind": "vllm", "port": 18000}, {"kind": "tgi", "port": 3001, "upstream_port": 18000}],
     "ollama_front_backends[0].port: 18000 is the port of a server behind the front "
     "(ollama_front_backends[1].upstream_port)"),
    ([{"kind": "tgi", "port": 11434}], "ollama_front_backends[0].port: 11434 is the port of a server behind the front "
                                       "(ollama_front_upstream_port)"),
    ([{"kind": "vllm", "port": 18000, "upstream_port": 70000}], "ollama_front_backends[0].upstream_port: 70000"),
    ([{"kind": "vllm", "port": 18000, "upstream_host": "127.0.0.1; evil"}], "ollama_front_backends[0].upstream_host:"),
    ([{"kind": "vllm", "port": 18000, "upstream_host": "-x"}], "ollama_front_backends[0].upstream_host:"),
    ([{"kind": "vllm", "port": 18000, "api_key": "x"}], "ollama_front_backends[0]: unknown field api_key"),
])
def test_bad_input_is_refused_naming_the_entry_and_field(backends, message):
    with pytest.raises(ValueError) as err:
        backend_plan(backends, 11443, 11434, LISTEN, POLICIES)
    assert message in str(err.value)


def test_a_kind_without_a_policy_is_refused():
    policies = dict(POLICIES)
    del policies["tgi"]
    with pytest.raises(ValueError, match=r"ollama_front_backends\[0\]\.kind: no endpoint policy for tgi"):
        backend_plan([{"kind": "tgi", "port": 3443}], 11443, 11434, LISTEN, policies)


def test_wall_plan_refuses_a_bad_backend_by_name():
    with pytest.raises(ValueError, match=r"ollama_front_backends\[0\]\.port"):
        wall_plan(_facts(), _options(ollama_front_backends=[{"kind": "vllm", "port": 11443}]), _context())


def test_wall_plan_carries_the_backends_their_check_and_a_new_stamp():
    without = wall_plan(_facts(), _options(), _context())
    assert without["backends"] == []
    with_vllm = wall_plan(_facts(), _options(ollama_front_backends=[{"kind": "vllm", "port": 18000}]), _context())
    (backend,) = with_vllm["backends"]
    assert backend["check_url"] == "https://127.0.0.1:18000/v1/models"
    assert with_vllm["stamp"]["inputs"] != without["stamp"]["inputs"]
    # A changed policy is a new input too.
    policies = dict(POLICIES, vllm=POLICIES["vllm"][:-1])
    changed = wall_plan(_facts(), _options(ollama_front_backends=[{"kind": "vllm", "port": 18000}]),
                        dict(_context(), backend_endpoints=policies))
    assert changed["stamp"]["inputs"] != with_vllm["stamp"]["inputs"]


# -- The rendered site ---------------------------------------------------------------------

def render(plan, **extra):
    """The site as the role renders it (Jinja with Ansible's bool filter)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True)  # as Ansible's template module
    env.filters["bool"] = lambda v: str(v).lower() in ("1", "true", "yes", "on")
    variables = dict(DEFAULTS)
    variables.update(VARS)
    variables.update(extra)
    variables.update({"ollama_front_plan": plan, "ansible_managed": "managed"})
    return env.get_template("ollama-front.conf.j2").render(**variables)


def blocks(text, opener):
    """The text of each top-level block that starts with ``opener`` (brace counting)."""
    out, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith(opener):
            depth, body = 0, []
            while True:
                depth += lines[i].count("{") - lines[i].count("}")
                body.append(lines[i])
                i += 1
                if depth <= 0:
                    break
            out.append("\n".join(body))
        else:
            i += 1
    return out


def locations(server):
    """location key -> its body, of one server block."""
    out = {}
    for block in re.findall(r"\n    location ([^{]+)\{\n(.*?)\n    \}", server, re.S):
        key = block[0].strip()
        # exact (= path) and regex (~ "re") by their path or regex; a prefix
        # location as "prefix <path>" (nginx has both "= /" and "/").
        key = key[2:] if key.startswith("= ") else key[3:-1] if key.startswith('~ "') else "prefix " + key
        out[key] = block[1]
    return out


BACKENDS = [{"kind": "vllm", "port": 18000}, {"kind": "llama-server", "port": 18080, "upstream_port": 8081},
            {"kind": "localai", "port": 18081}, {"kind": "tgi", "port": 13000}]


def test_without_backends_the_site_has_one_server():
    plan = wall_plan(_facts(), _options(), _context())
    text = render(plan)
    assert len(blocks(text, "server {")) == 1 and len(blocks(text, "upstream ")) == 1


def test_each_backend_gets_its_own_tls_server_with_the_same_auth_limits_and_timeouts():
    plan = wall_plan(_facts(), _options(ollama_front_backends=BACKENDS), _context())
    text = render(plan)
    servers = blocks(text, "server {")
    assert len(servers) == 1 + len(BACKENDS)
    ollama = servers[0]

    def common(server):
        """The server's directives outside its locations, less what differs by front (and comments)."""
        head = server.split("\n    location ", 1)[0]
        return [line for line in head.splitlines() if not re.match(r"\s*(listen|proxy_set_header Host|#) ", line)]
    for backend, server in zip(BACKENDS, servers[1:]):
        assert re.findall(r"^    listen (\S+) ssl;$", server, re.M) == ["0.0.0.0:%d" % backend["port"],
                                                                       "[::]:%d" % backend["port"]]
        assert common(server) == common(ollama)
        for needed in ("auth_basic $ollama_front_realm;", "ssl_certificate ", "limit_req zone=ollama_front_cred",
                       'proxy_set_header Authorization "";', "client_header_timeout "):
            assert needed in server
    upstreams = dict((b.split()[1], b) for b in blocks(text, "upstream "))
    assert "server 127.0.0.1:8000;" in upstreams["ollama_front_backend_18000"]
    assert "server 127.0.0.1:8081;" in upstreams["ollama_front_backend_18080"]
    assert "server 127.0.0.1:3000;" in upstreams["ollama_front_backend_13000"]


@pytest.mark.parametrize("index", range(len(BACKENDS)))
def test_each_backend_location_follows_its_kinds_policy(index):
    plan = wall_plan(_facts(), _options(ollama_front_backends=BACKENDS), _context())
    server = blocks(render(plan), "server {")[1 + index]
    kind = BACKENDS[index]["kind"]
    locs = locations(server)
    policy = _policy(kind)
    for key, (methods, role) in policy.items():
        body = locs[key]
        assert "limit_except %s {" % " ".join(methods) in body, (kind, key)
        assert ("admins.htpasswd" in body) == (role == "admin"), (kind, key)
        assert ('$ollama_front_bearer_role = "user"' in body) == (role == "admin"), (kind, key)
        assert "proxy_pass http://ollama_front_backend_%d;" % BACKENDS[index]["port"] in body, (kind, key)
        assert "js_content" not in body
    # Everything else: 404 (and only the refusal locations besides the policy's).
    assert "rewrite ^ /.ollama-front/404 last;" in locs["prefix /"]
    extra = set(locs) - set(policy) - {"prefix /"}
    assert all(k.startswith("/.ollama-front/") or k.startswith("prefix @ollama_front_") for k in extra), extra
    assert "proxy_pass http://ollama_front_upstream;" not in server
    assert "the %s server is busy" % plan["backends"][index]["title"] in server


def test_the_ollama_server_is_unchanged_by_backends():
    plain = blocks(render(wall_plan(_facts(), _options(), _context())), "server {")[0]
    with_backends = blocks(render(wall_plan(_facts(), _options(ollama_front_backends=BACKENDS), _context())),
                           "server {")[0]
    assert plain == with_backends


def test_the_cloud_model_check_stays_with_ollama():
    plan = wall_plan(_facts(), _options(ollama_front_backends=BACKENDS, ollama_front_refuse_cloud_models=True),
                     _context())
    servers = blocks(render(plan, ollama_front_refuse_cloud_models=True), "server {")
    assert "js_content ollama_front_cloud.check;" in servers[0]
    assert all("js_content" not in s and "@ollama_front_proxy" not in s for s in servers[1:])


# -- The host read tells the front of Ollama from its backends (module_utils/ollama_front_site.py) --

def _site_with_backends():
    return render(wall_plan(_facts(), _options(ollama_front_backends=BACKENDS), _context()))


def test_the_fronts_own_port_and_routes_are_read_apart_from_its_backends():
    text = _site_with_backends()
    parsed = parse_front_config(text)
    assert parsed["ports"] == [11443]  # not 13000, 18000, 18080, 18081: other servers' fronts
    assert parsed["routes"] == dict((route, "admin") for route in ADVISORY_ROUTES)
    # Only backends' ports listen: the front of Ollama is not in place.
    state = front_state(text, [{"port": b["port"]} for b in BACKENDS])
    assert not state["in_place"] and state["why"] == "nothing listens on the front's port 11443", state
    state = front_state(text, [{"port": 11443}, {"port": 18000}])
    assert state["in_place"] and (state["ports"], state["listening"]) == ([11443], [11443]), state


def _audit(catalog, listeners):
    facts = {"supported": True, "addresses": ["172.30.61.5"], "firewall": {},
             "listeners": [{"address": "127.0.0.1", "port": 11434, "family": "ipv4", "scope": "loopback",
                            "unit": "ollama.service"}],
             "services": [{"name": "ollama.service", "bind": {"exposed": False, "port": 11434}, "masked": False}],
             "processes": [], "containers": [],
             "installs": [{"subject": "ollama.service", "kind": "service", "version": "0.17.1"}],
             "front": front_state(_site_with_backends(), listeners)}
    facts["findings"] = evaluate_host(facts, catalog, "h")
    report = build_report(records_from_results({"h": facts}), {"h": {"results": [], "findings": []}}, catalog,
                          "2026-11-30T00:00:00Z")
    return report, [f for f in report["findings"] if f["id"] == "OLLAMA-VER-003"][0]


def test_the_audit_of_a_host_with_backends_names_only_the_fronts_own_port(catalog):
    report, ver3 = _audit(catalog, [{"port": 11443}] + [{"port": b["port"]} for b in BACKENDS])
    assert report["hosts"]["h"]["status"] == "secure"
    assert "front (port 11443)" in ver3["mitigated_by"], ver3
    assert "the toolkit's front is in place (port 11443)" in ver3["evidence"], ver3
    # The backends' fronts listening does not make the front of Ollama in place.
    report, ver3 = _audit(catalog, [{"port": b["port"]} for b in BACKENDS])
    assert not ver3.get("mitigated_by") and "nothing listens on the front's port 11443" in ver3["evidence"], ver3
