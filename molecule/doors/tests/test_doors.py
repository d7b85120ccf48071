"""Verify the doors lab (issue 26) from its scanner (odr-scanner).

Ground truth first: each door answers from outside as the lab set it up,
over IPv4 and over IPv6 where it listens on both (open ones hand out a model
list without credentials, closed ones are refused or answer 401). Then the
audit's report (converge): every open door found with its control, port and
process, no closed one reported, each host's status as expected, and no
secret of the lab in any report file.

Expectations live in the scenario's inventory (doors_expect_*), next to how
each host is set up.
"""

import json
import os
import shlex
import subprocess
import uuid

import pytest
import testinfra
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
INVENTORY = os.path.join(HERE, "..", "inventory.yml")
REPORT_DIR = os.environ.get("OLLAMA_AUDIT_REPORT_DIR") or os.path.join(
    os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "reports")
SCANNER = testinfra.get_host("ansible://scanner", ansible_inventory=INVENTORY)

with open(INVENTORY) as _handle:
    _INV = yaml.safe_load(_handle)["all"]
VARS = _INV["vars"]
HOSTS = _INV["children"]["ollama_lab"]["hosts"]
NETWORK = VARS["lab_network"]
DOOR_IDS = ("OLLAMA-DOOR-", "OLLAMA-WEBUI-", "OLLAMA-SRV-001", "OLLAMA-SRV-002")
SECRETS = [VARS[k] for k in ("doors_htpasswd_password", "doors_webui_admin_password",
                             "doors_vllm_key", "doors_localai_key")]
REFUSED = 7          # curl: failed to connect


def addresses(name):
    """{4: IPv4, 6: IPv6} of a lab host on the scenario's network."""
    out = subprocess.check_output(["docker", "inspect", "-f", "{{ json .NetworkSettings.Networks }}",
                                   HOSTS[name]["ansible_host"]])
    net = json.loads(out)[NETWORK]
    return {4: net["IPAddress"], 6: net["GlobalIPv6Address"]}


ADDR = {name: addresses(name) for name in HOSTS}


def url(name, family, port, path):
    addr = ADDR[name][family]
    return "http://%s:%d%s" % ("[%s]" % addr if family == 6 else addr, port, path)


def curl(name, family, port, path, *args):
    """(curl's exit code, HTTP status, body) of one request from the scanner."""
    cmd = ["curl", "-sS", "-m", "8", "-o", "/tmp/doors-body", "-w", "%{http_code}"] + list(args) \
        + [url(name, family, port, path)]
    result = SCANNER.run(" ".join(shlex.quote(a) for a in cmd))
    body = SCANNER.run("cat /tmp/doors-body 2>/dev/null; rm -f /tmp/doors-body").stdout
    return result.rc, int(result.stdout.strip() or 0), body


def get_json(name, family, port, path, *args):
    rc, status, body = curl(name, family, port, path, *args)
    assert rc == 0, "%s %s: curl exit %d" % (name, path, rc)
    return status, (json.loads(body) if body.strip() else None)


def post_json(name, port, path, payload, *args):
    return get_json(name, 4, port, path, "-X", "POST", "-H", "Content-Type: application/json",
                    "-d", json.dumps(payload), *args)


def refused(name, family, port):
    rc, _, _ = curl(name, family, port, "/")
    return rc == REFUSED


# -- Ground truth: forwarders in front of a loopback Ollama --

@pytest.mark.parametrize("family", [4, 6])
def test_nginx_open_hands_out_models(family):
    status, tags = get_json("nginx-open", family, 80, "/api/tags")
    assert status == 200 and tags["models"], tags


@pytest.mark.parametrize("family", [4, 6])
def test_nginx_auth_asks_for_credentials(family):
    assert curl("nginx-auth", family, 80, "/api/tags")[1] == 401
    user = "%s:%s" % (VARS["doors_htpasswd_user"], VARS["doors_htpasswd_password"])
    status, tags = get_json("nginx-auth", family, 80, "/api/tags", "-u", user)
    assert status == 200 and tags["models"]


@pytest.mark.parametrize("family", [4, 6])
def test_socat_hands_out_models(family):
    status, tags = get_json("socat", family, 8080, "/api/tags")
    assert status == 200 and tags["models"], tags


@pytest.mark.parametrize("name", ["nginx-open", "nginx-auth", "socat", "webui"])
@pytest.mark.parametrize("family", [4, 6])
def test_ollama_itself_is_on_loopback(name, family):
    assert refused(name, family, 11434)


# -- Ground truth: Open WebUI --

def webui_config(port):
    status, config = get_json("webui", 4, port, "/api/config")
    assert status == 200
    return config


def test_webui_without_login_hands_anyone_the_models():
    assert webui_config(3000)["features"]["auth"] is False
    status, session = post_json("webui", 3000, "/api/v1/auths/signin", {"email": "", "password": ""})
    assert status == 200 and session["role"] == "admin"
    status, tags = get_json("webui", 4, 3000, "/ollama/api/tags", "-H", "Authorization: Bearer " + session["token"])
    assert status == 200 and tags["models"]


def test_webui_open_signup_makes_users_with_models():
    features = webui_config(3001)["features"]
    assert features["auth"] is True and features["enable_signup"] is True
    email = "visitor-%s@doors.test" % uuid.uuid4().hex[:8]
    status, session = post_json("webui", 3001, "/api/v1/auths/signup",
                                {"name": "visitor", "email": email, "password": "visitor-pw"})
    assert status == 200 and session["role"] == "user"
    status, tags = get_json("webui", 4, 3001, "/ollama/api/tags", "-H", "Authorization: Bearer " + session["token"])
    assert status == 200 and tags["models"]


def test_webui_fresh_waits_for_its_first_admin():
    config = webui_config(3002)
    assert config.get("onboarding") is True and config["features"]["enable_signup"] is True
    assert curl("webui", 4, 3002, "/ollama/api/tags")[1] == 401


def test_webui_closed_lets_nobody_in():
    config = webui_config(3003)
    assert "onboarding" not in config and config["features"]["enable_signup"] is False
    assert post_json("webui", 3003, "/api/v1/auths/signup",
                     {"name": "n", "email": "n@doors.test", "password": "pw"})[0] == 403
    assert curl("webui", 4, 3003, "/ollama/api/tags")[1] == 401


# -- Ground truth: the other model servers --

@pytest.mark.parametrize("port,path,family,check", [
    (8000, "/v1/models", 4, lambda a: a["data"][0]["owned_by"] == "vllm"),
    (3000, "/info", 4, lambda a: a["router"] == "text-generation-router"),
    (8080, "/v1/models", 4, lambda a: a["data"]),
    (8080, "/v1/models", 6, lambda a: a["data"]),
    (8081, "/v1/models", 4, lambda a: a["data"][0]["owned_by"] == "llamacpp"),
    (8188, "/api/system_stats", 4, lambda a: a["system"]["comfyui_version"]),
    (8188, "/api/system_stats", 6, lambda a: a["system"]["comfyui_version"]),
    (1234, "/v1/models", 4, lambda a: a["data"]),
])
def test_wide_servers_answer_without_credentials(port, path, family, check):
    status, answer = get_json("models-wide", family, port, path)
    assert status == 200 and check(answer), answer


def rpc_hello(name):
    """RPC_CMD_HELLO to port 50052 from the scanner: the 3-byte version, or the error."""
    code = ("import socket,struct\n"
            "s=socket.create_connection((%r,50052),timeout=5)\n"
            "s.sendall(bytes([14])+struct.pack('<Q',0))\n"
            "print(struct.unpack('<Q',s.recv(8))[0], list(s.recv(3)))\n") % ADDR[name][4]
    return SCANNER.run("python3 -c %s" % shlex.quote(code))


def test_wide_rpc_server_answers_hello():
    result = rpc_hello("models-wide")
    assert result.rc == 0 and result.stdout.startswith("3 ["), result.stderr


@pytest.mark.parametrize("port,path,family,body", [
    (8000, "/v1/models", 4, {"error": "Unauthorized"}),
    (8080, "/v1/models", 4, None),
    (8080, "/v1/models", 6, None),
])
def test_closed_servers_with_a_key_answer_401(port, path, family, body):
    status, answer = get_json("models-closed", family, port, path)
    assert status == 401
    if body is not None:
        assert answer == body


@pytest.mark.parametrize("port", [3000, 8081, 8188, 1234])
@pytest.mark.parametrize("family", [4, 6])
def test_closed_servers_on_loopback_refuse(port, family):
    assert refused("models-closed", family, port)


def test_closed_rpc_server_refuses():
    result = rpc_hello("models-closed")
    assert result.rc != 0 and "Connection refused" in result.stderr


# -- The audit's report (these need the issue-26 host read, probe and findings) --

@pytest.fixture(scope="module")
def report():
    with open(os.path.join(REPORT_DIR, "findings.json")) as handle:
        return json.load(handle)


def host_findings(report, name):
    return [f for f in report["findings"] if f["host"] == name]


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_host_status(report, name):
    assert report["hosts"][name]["status"] == HOSTS[name]["lab_expect_status"]


@pytest.mark.parametrize("name,expected", [
    (name, exp) for name in sorted(HOSTS) for exp in HOSTS[name]["doors_expect_findings"]],
    ids=lambda v: v if isinstance(v, str) else "%s:%s" % (v["id"], v["port"]))
def test_each_open_door_is_found(report, name, expected):
    found = [f for f in host_findings(report, name) if f["id"] == expected["id"] and f.get("port") == expected["port"]]
    assert found, "%s: no %s on port %s in %s" % (name, expected["id"], expected["port"],
                                                   sorted((f["id"], f.get("port")) for f in host_findings(report, name)))
    text = json.dumps(found[0])
    assert any(n in text for n in expected["names"]), "%s does not name %s" % (text, expected["names"])


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_no_closed_door_is_a_finding(report, name):
    doors = [f for f in host_findings(report, name) if f["id"].startswith(DOOR_IDS)]
    expected = {(e["id"], e["port"]) for e in HOSTS[name]["doors_expect_findings"]}
    extra = sorted((f["id"], f.get("port")) for f in doors if (f["id"], f.get("port")) not in expected)
    assert extra == []
    assert not [f for f in doors if f.get("port") in HOSTS[name]["doors_expect_clean_ports"]]


def test_nginx_door_names_its_proxy_pass(report):
    site = "/etc/nginx/sites-available/ollama"
    host = testinfra.get_host("ansible://nginx-open", ansible_inventory=INVENTORY)
    number = int(host.check_output("grep -n proxy_pass %s | head -n1 | cut -d: -f1" % site))
    door = [f for f in host_findings(report, "nginx-open") if f["id"] == "OLLAMA-DOOR-001"][0]
    location = json.dumps(door.get("location"))
    assert "/etc/nginx/sites-" in location and "ollama" in location, location
    assert str(number) in location, location


def test_no_lab_secret_in_any_report_file():
    assert os.path.isfile(os.path.join(REPORT_DIR, "findings.json"))
    for root, _dirs, files in os.walk(REPORT_DIR):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                content = handle.read().decode("utf-8", "replace")
            for secret in SECRETS:
                assert secret not in content, "%s holds a lab secret" % os.path.join(root, name)
