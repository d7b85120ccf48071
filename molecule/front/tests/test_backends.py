"""The front for another model server (ollama_front_backends): a vLLM
stand-in on the front host's 127.0.0.1:8000 (the lab's tests/lab/standin/vllm,
unit vllm.service) behind the front's TLS port 18000, asked from the client
container."""

import json
import re
import time

import pytest

from conftest import CA, CLIENT, CREDS, FRONT, SECRETS, VARS, basic, bearer, client_curl, client_status, run_front

(BACKEND,) = VARS["ollama_front_backends"]
PORT = BACKEND["port"]
URL = "https://ofr-front:%d" % PORT
CONF = "/etc/nginx/conf.d/ollama-front.conf"
STANDIN_CURSOR = "/root/vllm-standin.cursor"
STANDIN_UNIT = "vllm.service"
# The stand-in's request line (tests/lab/standin/odr_standin.py):
#   vllm: 127.0.0.1 - "GET /v1/models HTTP/1.1" 200 - authorization=no
REQUEST_LINE = re.compile(r'^vllm: \S+ - "(\S+) (\S+) HTTP/[0-9.]+" \d+ \S+ authorization=(yes|no)$')


def curl(*args, path="/v1/models", url=URL):
    return client_curl(url + path, *args)


def status(*args, path="/v1/models", url=URL):
    return client_status(url + path, *args)


def standin_log():
    """The stand-in's requests since the last call (journal cursor), each as
    "METHOD PATH authorization=yes|no"."""
    out = FRONT.check_output("journalctl -u %s -o cat --no-pager --cursor-file=%s" % (STANDIN_UNIT, STANDIN_CURSOR))
    return ["%s %s authorization=%s" % m.groups() for m in map(REQUEST_LINE.match, out.splitlines()) if m]


def standin_log_until(line, count=1, timeout=20):
    """New stand-in lines until ``line`` is there ``count`` times (bounded wait for journald)."""
    lines, deadline = [], time.monotonic() + timeout
    while lines.count(line) < count and time.monotonic() < deadline:
        time.sleep(0.3)
        lines += standin_log()
    return lines


def standin_log_through_sentinel():
    """Every stand-in line up to a sentinel request sent now through the
    front: one process's lines reach the journal in order, so once the
    sentinel's is there, every line of an earlier request is too."""
    mark = "%d" % time.monotonic_ns()
    assert status(*bearer("bob"), path="/v1/models?sentinel=" + mark) == 200
    return standin_log_until("GET /v1/models?sentinel=%s authorization=no" % mark)


@pytest.fixture(scope="module", autouse=True)
def standin_cursor():
    """The stand-in's journal is read from here on."""
    standin_log()
    yield


def test_positive_control_the_standin_answers_on_loopback_without_credentials():
    """The server behind the front is open on its own port (loopback only):
    the front is what asks for credentials."""
    out = FRONT.run("curl -sS -m 5 http://127.0.0.1:8000/v1/models")
    assert out.rc == 0 and json.loads(out.stdout)["data"][0]["owned_by"] == "vllm", out.stdout
    assert "GET /v1/models authorization=no" in standin_log_until("GET /v1/models authorization=no")
    # Its log does tell a request that carries an Authorization header (never the value).
    FRONT.check_output("curl -sS -m 5 -o /dev/null -H 'Authorization: Bearer not-a-lab-key' "
                       "http://127.0.0.1:8000/v1/models?with=header")
    assert "GET /v1/models?with=header authorization=yes" in standin_log_until(
        "GET /v1/models?with=header authorization=yes")
    assert "not-a-lab-key" not in FRONT.check_output("journalctl -u %s --no-pager -o cat" % STANDIN_UNIT)
    assert CLIENT.run("curl -sS -m 5 -o /dev/null http://ofr-front:8000/v1/models").rc != 0  # not from outside


def test_without_or_with_wrong_credentials_401():
    assert status() == 401
    assert status("-d", "{}", path="/v1/chat/completions") == 401
    # An admin route asks for credentials too (a user's are checked against the admins' file).
    assert status("-d", "{}", path="/v1/load_lora_adapter") == 401
    assert status("-u", "alice:not-the-password") == 401
    assert status("-H", "Authorization: Bearer %sX" % CREDS["bob"]["api_key"]) == 401
    lines = standin_log_through_sentinel()
    assert len(lines) == 1 and "sentinel" in lines[0], lines  # none of them reached the server


def test_a_user_lists_the_models_and_chats_over_ipv4_and_ipv6():
    for auth in (bearer("bob"), basic("alice"), bearer("alice")):
        out = curl(*auth)
        assert out.rc == 0 and json.loads(out.stdout)["data"][0]["id"] == "standin/vllm-model", out.stdout
    front_v6 = next(a for a in FRONT.check_output("hostname -I").split() if ":" in a)
    out = curl("-6", "--resolve", "ofr-front:%d:[%s]" % (PORT, front_v6), *bearer("bob"))
    assert out.rc == 0 and json.loads(out.stdout)["object"] == "list", out.stderr
    body = json.dumps({"model": "standin/vllm-model", "messages": [{"role": "user", "content": "hi"}]})
    out = curl("-H", "Content-Type: application/json", "-d", body, *bearer("bob"), path="/v1/chat/completions")
    assert json.loads(out.stdout)["object"] == "chat.completion", out.stdout


def test_the_admin_route_is_refused_to_users_and_passes_for_admins():
    body = json.dumps({"lora_name": "sql-lora", "lora_path": "/models/sql-lora"})
    post = ["-H", "Content-Type: application/json", "-d", body]
    assert status(*post, *bearer("bob"), path="/v1/load_lora_adapter") == 403
    # A user's password is checked against the admins' file there: 401.
    assert status(*post, *basic("alice"), path="/v1/load_lora_adapter") == 401
    line = "POST /v1/load_lora_adapter authorization=no"
    assert line not in standin_log_through_sentinel()  # the refused ones never reached it
    out = curl(*post, *bearer("root"), path="/v1/load_lora_adapter")
    assert out.stdout == "Success: LoRA adapter 'sql-lora' added successfully.", out.stdout
    assert status(*post, *basic("root"), path="/v1/load_lora_adapter") == 200
    lines = standin_log_until(line, count=2) + standin_log_through_sentinel()
    assert lines.count(line) == 2, lines  # the admin's two, no more


@pytest.mark.parametrize("name, method, path, code", [
    # Not in vLLM's policy: 404 for everyone (the stand-in would answer its own 404 too: the
    # journal shows these never reach it).
    ("root", "GET", "/docs", 404),
    ("root", "GET", "/openapi.json", 404),
    ("bob", "POST", "/v1/unknown", 404),
    ("root", "GET", "/api/tags", 404),
    # A known path with another method: 403.
    ("bob", "GET", "/v1/chat/completions", 403),
    ("root", "DELETE", "/v1/models", 403),
    # Not canonical: 400.
    ("root", "GET", "/v1//models", 400),
    ("root", "GET", "/v1/%6Dodels", 400),
])
def test_everything_else_is_refused(name, method, path, code):
    assert status("-X", method, *bearer(name), path=path) == code
    lines = standin_log_through_sentinel()
    assert len(lines) == 1 and "sentinel" in lines[0], lines  # refused by the front, not by the server


def test_the_server_behind_never_sees_an_authorization_header():
    for auth in (bearer("bob"), basic("alice"), bearer("root")):
        assert status(*auth) == 200
    lines = standin_log_until("GET /v1/models authorization=no")
    assert lines and all(line.endswith("authorization=no") for line in lines), lines
    journal = FRONT.check_output("journalctl -u %s --no-pager -o cat" % STANDIN_UNIT)
    # The only request that came with a header is the positive control's, sent on loopback.
    assert [line for line in journal.splitlines() if "authorization=yes" in line] == [
        line for line in journal.splitlines() if "?with=header" in line], journal
    for secret in SECRETS:
        assert secret not in journal


def test_the_backend_is_on_the_same_tls_and_logs_the_credential():
    # The client may offer TLS 1.1 (seclevel 0, as test_front.py's positive control shows); the front refuses it.
    out = CLIENT.run("timeout 20 openssl s_client -connect ofr-front:%d -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' "
                     "-CAfile %s </dev/null 2>&1" % (PORT, CA))
    assert out.rc != 0 and "Cipher is (NONE)" in out.stdout and "alert protocol version" in out.stdout, out.stdout
    chain = CLIENT.run("timeout 20 openssl s_client -connect ofr-front:%d -CAfile %s </dev/null 2>&1" % (PORT, CA))
    assert "Verify return code: 0 (ok)" in chain.stdout, chain.stdout  # the front's own certificate
    head = curl("-D", "-", "-o", "/dev/null", *bearer("bob")).stdout
    assert "strict-transport-security" in head.lower() and "server: nginx\r" in head.lower()
    logs = FRONT.check_output("cat /var/log/nginx/ollama-front.access.log")
    assert '"GET /v1/models HTTP/1.1" 200' in logs and "cred=key:bob" in logs


def test_the_server_behind_down_gets_a_json_503():
    FRONT.check_output("systemctl stop %s" % STANDIN_UNIT)
    try:
        out = curl("-w", "\n%{http_code}", *bearer("bob"))
        body, code = out.stdout.rsplit("\n", 1)
        assert code == "503" and json.loads(body)["error"].startswith("the vLLM server is busy"), out.stdout
    finally:
        FRONT.check_output("systemctl start %s" % STANDIN_UNIT)
        FRONT.run("for i in $(seq 20); do curl -s -o /dev/null 127.0.0.1:8000/v1/models && break; sleep 0.5; done")
    assert status(*bearer("bob")) == 200


def test_a_bad_backend_is_refused_by_name_before_any_change():
    before = FRONT.file(CONF).sha256sum
    out = run_front("-e", json.dumps({"ollama_front_backends": [{"kind": "vllm", "port": 18000},
                                                                {"kind": "tgi", "port": 18000}]}))
    assert out.returncode != 0, out.stdout[-3000:]
    assert "ollama_front_backends[1].port: 18000 is already taken by ollama_front_backends[0].port" in out.stdout
    assert FRONT.file(CONF).sha256sum == before
    for secret in SECRETS:
        assert secret not in out.stdout


def test_removing_the_backend_leaves_nothing_of_it():
    """A run without ollama_front_backends takes the backend's front away
    whole (the site is rendered whole); the next run with it puts it back."""
    removed = run_front("-e", json.dumps({"ollama_front_backends": []}))
    try:
        assert removed.returncode == 0, removed.stdout[-3000:]
        conf = FRONT.file(CONF).content_string
        assert "ollama_front_backend" not in conf and ":%d" % PORT not in conf
        assert ":%d " % PORT not in FRONT.check_output("ss -Htln")
        assert status(*bearer("root")) == 0  # nothing listens there
        assert status(*bearer("bob"), path="/api/tags", url="https://ofr-front:11443") == 200  # Ollama's front stays
        # Nothing of it anywhere in nginx's configuration (no backup left either).
        assert FRONT.run("grep -rl -e ollama_front_backend -e ':%d ssl' /etc/nginx" % PORT).stdout.strip() == ""
    finally:
        restored = run_front()
    assert restored.returncode == 0, restored.stdout[-3000:]
    assert status(*bearer("bob")) == 200
