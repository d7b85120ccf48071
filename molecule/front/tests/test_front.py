"""Verify the authenticating front from a second container (ofr-client):
credentials, endpoint policy against crafted paths and methods (the Ollama
stand-in must never see them), streaming, CORS, TLS versions, rate limits,
logs without secrets, key removal on the next run, and a refused config
that leaves the running front serving."""

import json
import shlex
import time

import pytest

from conftest import CA, CLIENT, CREDS, FRONT, SECRETS, VARS, basic, bearer, client_curl, client_status, run_front

URL = "https://ofr-front:11443"


def curl(*args, path="/api/tags", timeout=20):
    """Run curl in the client container; returns the testinfra result."""
    return client_curl(URL + path, *args, timeout=timeout)


def status(*args, path="/api/tags"):
    return client_status(URL + path, *args)


STANDIN_CURSOR = "/root/standin-journal.cursor"


def standin_log():
    """[GIN] lines (one per request) the Ollama stand-in logged since the last call.

    journalctl --cursor-file starts after the entry it read last time and
    stores where it stopped: each call returns only what is new."""
    out = FRONT.check_output("journalctl -u ollama.service -o cat --no-pager --cursor-file=%s" % STANDIN_CURSOR)
    return [line for line in out.splitlines() if line.startswith("[GIN]")]


def standin_log_until(method, path, timeout=20):
    """New [GIN] lines up to the first one for `method path` (bounded wait for journald).

    Lines of one process reach the journal in order: once this request's line
    is there, every line the stand-in wrote before it is there too."""
    lines, deadline = [], time.monotonic() + timeout
    while True:
        lines += standin_log()
        if any(gin_request(line) == (method, path) for line in lines):
            return lines
        if time.monotonic() > deadline:
            return lines
        time.sleep(0.5)


def gin_request(line):
    """(method, path) of a stand-in [GIN] line: ... | GET     "/api/tags"."""
    method_path = line.rsplit("|", 1)[-1].split(None, 1)
    return (method_path[0], method_path[1].strip().strip('"')) if len(method_path) == 2 else (None, None)


def test_files_on_the_host_hold_no_plaintext_password_and_the_key_is_root_only():
    key = FRONT.file("/etc/nginx/ollama-front/tls/front.key")
    assert (key.user, key.mode) == ("root", 0o600)
    keymap = FRONT.file("/etc/nginx/ollama-front/keys.map")
    assert (keymap.user, keymap.mode) == ("root", 0o600)
    users = FRONT.file("/etc/nginx/ollama-front/users.htpasswd")
    assert users.mode == 0o640 and users.group == "www-data"
    content = users.content_string + FRONT.file("/etc/nginx/ollama-front/admins.htpasswd").content_string
    assert "alice:$6$" in content and "root:$6$" in content
    for cred in CREDS.values():
        if cred.get("password"):
            assert cred["password"] not in content
    admins = FRONT.file("/etc/nginx/ollama-front/admins.htpasswd").content_string
    assert "root:$6$" in admins and "alice:" not in admins


# One client for TLS 1.0/1.1: Debian's openssl refuses them at its default
# security level, so it is lowered to 0. The same command is first shown to
# complete those handshakes with a server that allows them.
OLD_TLS_CLIENT = "timeout 20 openssl s_client -connect %s %s -cipher 'DEFAULT:@SECLEVEL=0' -CAfile " + CA + " </dev/null 2>&1"
OLD_TLS_SERVER = "127.0.0.1:4433"  # the client container's own loopback


def old_tls_control(flag):
    """The old-protocol client against an openssl s_server that allows `flag`,
    started for one connection on the client container's loopback."""
    script = (
        "cd /tmp && { [ -s old-tls.key ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout old-tls.key "
        "-out old-tls.crt -days 1 -subj /CN=localhost >/dev/null 2>&1; } && "
        "{ timeout 30 openssl s_server -www -naccept 1 -accept %s %s -cipher 'DEFAULT:@SECLEVEL=0' "
        "-cert old-tls.crt -key old-tls.key >/tmp/old-tls-server.log 2>&1 & server=$!; "
        "for i in $(seq 100); do ss -Hltn | grep -q ' %s ' && break; sleep 0.1; done; "
        "%s; rc=$?; kill $server 2>/dev/null; wait $server; exit $rc; }"
    ) % (OLD_TLS_SERVER, flag, OLD_TLS_SERVER, OLD_TLS_CLIENT % (OLD_TLS_SERVER, flag))
    return CLIENT.run(script)


def test_certificate_names_the_host_and_tls_is_1_2_or_1_3_only():
    sans = FRONT.check_output("openssl x509 -in /etc/nginx/ollama-front/tls/front.crt -noout -ext subjectAltName")
    assert "DNS:front" in sans and "DNS:ofr-front" in sans and "IP Address:127.0.0.1" in sans
    for version in ("--tlsv1.2 --tls-max 1.2", "--tlsv1.3"):
        assert status(*version.split(), *bearer("bob")) == 200
    # Positive controls: openssl s_client completes TLS 1.2 and 1.3 with the front.
    for flag, name in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        out = CLIENT.run("timeout 20 openssl s_client -connect ofr-front:11443 %s -CAfile %s </dev/null 2>&1" % (flag, CA))
        assert out.rc == 0 and "New, %s, Cipher is " % name in out.stdout, out.stdout
        assert "Verify return code: 0 (ok)" in out.stdout, out.stdout
    for flag, name in (("-tls1", "TLSv1"), ("-tls1_1", "TLSv1.1")):
        # The same client completes the old protocol where a server allows it ...
        control = old_tls_control(flag)
        assert control.rc == 0 and "Protocol  : %s\n" % name in control.stdout, control.stdout
        assert "Cipher is (NONE)" not in control.stdout, control.stdout
        # ... and the front refuses it: a protocol-version alert from the server.
        out = CLIENT.run(OLD_TLS_CLIENT % ("ofr-front:11443", flag))
        assert out.rc != 0 and "Cipher is (NONE)" in out.stdout, out.stdout
        assert "alert protocol version" in out.stdout and "BEGIN CERTIFICATE" not in out.stdout, out.stdout


def test_no_or_wrong_credentials_get_401():
    assert status() == 401
    assert status("-u", "alice:not-the-password") == 401
    assert status("-u", "nobody:whatever-password") == 401
    assert status("-H", "Authorization: Bearer ak_not_a_key_at_all_000000000") == 401
    assert status("-H", "Authorization: Bearer %s" % CREDS["bob"]["api_key"][:-1]) == 401
    assert status("-H", "Authorization: Bearer %sX" % CREDS["bob"]["api_key"]) == 401
    assert status("-H", "Authorization: Bearer %s" % CREDS["bob"]["api_key"].upper()) == 401


def test_user_basic_and_bearer_get_tags():
    for auth in (basic("alice"), bearer("alice"), bearer("bob")):
        out = curl(*auth)
        assert out.rc == 0 and "models" in json.loads(out.stdout), out.stdout


def test_headers_hsts_and_no_version():
    head = curl("-D", "-", "-o", "/dev/null", *bearer("bob")).stdout
    assert "Strict-Transport-Security: max-age=" in head
    assert "Server: nginx\r\n" in head  # server_tokens off: no version


# The stand-in pauses this long between the pieces of a streamed answer
# (its test-only standin_stream_interval): 7 NDJSON lines or 8 SSE events
# take 1.8 s or more. Streamed through the front, the first line arrives at
# least STREAM_SPREAD before the last; a buffered answer arrives at once.
STREAM_PAUSE = 0.3
STREAM_SPREAD = 1.0


def stamped_lines(path, body, no_buffer=True):
    """(arrival time in s, line) of each non-empty line of a POST through the
    front, stamped in the client by bash's $EPOCHREALTIME (no fork per line)."""
    script = ("set -o pipefail; curl -sS %s -m 30 --cacert %s -H %s -H 'Content-Type: application/json' -d %s %s%s "
              "| while IFS= read -r line; do if [ -n \"$line\" ]; then printf '%%s %%s\\n' \"$EPOCHREALTIME\" \"$line\"; fi; "
              "done") % ("-N" if no_buffer else "", CA, shlex.quote("Authorization: Bearer %s" % CREDS["bob"]["api_key"]),
                         shlex.quote(json.dumps(body)), URL, path)
    out = CLIENT.check_output("bash -c %s" % shlex.quote(script))
    return [(float(stamp), line) for stamp, line in (row.split(" ", 1) for row in out.splitlines())]


def spread(stamped):
    return stamped[-1][0] - stamped[0][0]


def test_streamed_generate_and_sse_arrive_in_pieces():
    generate = {"model": "llama3.2:1b", "prompt": "hello", "standin_stream_interval": STREAM_PAUSE}
    # Control: the same answer read by a curl that buffers its own output
    # (no -N) arrives at once, so the measure below tells the two apart.
    buffered = stamped_lines("/api/generate", generate, no_buffer=False)
    assert len(buffered) == 7 and spread(buffered) < STREAM_SPREAD / 2, buffered
    lines = stamped_lines("/api/generate", generate)
    assert len(lines) == 7 and json.loads(lines[-1][1])["done"] is True, lines
    assert spread(lines) >= STREAM_SPREAD, "the lines arrived together, buffered: %s" % lines
    gaps = [later[0] - earlier[0] for earlier, later in zip(lines, lines[1:])]
    assert sum(gap >= STREAM_PAUSE / 2 for gap in gaps) >= 4, gaps  # piece by piece, not in two bursts
    chat = {"model": "llama3.2:1b", "stream": True, "standin_stream_interval": STREAM_PAUSE,
            "messages": [{"role": "user", "content": "hi"}]}
    events = stamped_lines("/v1/chat/completions", chat)
    assert len(events) == 8 and all(line.startswith("data: ") for _t, line in events), events
    assert events[-1][1] == "data: [DONE]", events
    assert spread(events) >= STREAM_SPREAD, "the events arrived together, buffered: %s" % events


def test_model_management_is_for_admins_only():
    body = json.dumps({"model": "tinyllama"})
    assert status(*bearer("bob"), "-d", body, path="/api/pull") == 403
    assert status(*bearer("alice"), "-d", body, path="/api/pull") == 403
    assert status(*basic("alice"), "-d", body, path="/api/pull") == 401  # not in the admins' file
    assert status(*bearer("root"), "-d", body, path="/api/pull") == 200
    assert status(*basic("root"), "-d", body, path="/api/pull") == 200
    assert status(*bearer("bob"), "-X", "POST", "-d", "{}", path="/api/me") == 403
    assert status(*bearer("root"), "-X", "POST", "-d", "{}", path="/api/me") == 200


# The host's ollama.com account (its sign-in): admins only, whatever the
# credential's form. (method, path, body) as upstream's routes take them.
ACCOUNT = [("POST", "/api/me", "{}"), ("POST", "/api/signout", "{}"), ("DELETE", "/api/user/keys/ssh-ed25519-AAAAkey", ""),
           ("POST", "/api/experimental/web_search", '{"query": "ollama"}'),
           ("POST", "/api/experimental/web_fetch", '{"url": "https://example.com/"}')]


@pytest.mark.parametrize("method, path, body", ACCOUNT)
def test_account_and_web_endpoints_are_for_admins_only(method, path, body):
    data = ["-d", body] if body else []
    standin_log()  # start from here
    for user in (bearer("bob"), bearer("alice"), basic("alice")):
        code = status("-X", method, *user, *data, path=path)
        assert code in (401, 403), (user[0], code)  # basic users are not in the admins' file: 401
    # The stand-in answers these (200): an admin gets through, and the users' tries never reached it.
    assert status("-X", method, *bearer("root"), *data, path=path) == 200
    assert status("-X", method, *basic("root"), *data, path=path) == 200
    seen = [gin_request(line) for line in standin_log_until(method, path)]
    time.sleep(1)
    seen += [gin_request(line) for line in standin_log()]
    assert seen == [(method, path)] * 2, seen


# ollama_front_refuse_cloud_models is on in this scenario's inventory.
# (upstream's modelref reads the tag after the last ":": "qwen3-coder-cloud", no tag, is a local name.)
CLOUD_MODELS = ["gpt-oss:120b-cloud", "glm-4.6:cloud", "GPT-OSS:120B-CLOUD", "qwen3-coder:480b-cloud", "kimi-k2:1t-cloud:latest"]


def post_json(user, path, body, *args):
    out = curl("-o", "/tmp/cloud-answer", "-w", "%{http_code}", *user, "-H", "Content-Type: application/json",
               "--data-binary", body if isinstance(body, str) else json.dumps(body), *args, path=path)
    return int(out.stdout.strip() or 0), CLIENT.check_output("cat /tmp/cloud-answer")


@pytest.mark.parametrize("model", CLOUD_MODELS)
def test_a_user_gets_403_for_a_cloud_model_on_chat_and_generate(model):
    standin_log()
    for user in (bearer("bob"), basic("alice")):
        code, answer = post_json(user, "/api/chat", {"model": model, "messages": [{"role": "user", "content": "hi"}]})
        assert code == 403 and "cloud models are not allowed" in json.loads(answer)["error"], (code, answer)
        code, answer = post_json(user, "/api/generate", {"model": model, "prompt": "hi"})
        assert code == 403, (code, answer)
    # The same check on the OpenAI-compatible route and with the field's other spellings (Go matches any case).
    assert post_json(bearer("bob"), "/v1/chat/completions", {"model": model, "messages": []})[0] == 403
    assert post_json(bearer("bob"), "/api/chat", '{"model": "llama3.2:1b", "MODEL": "%s"}' % model)[0] == 403
    # Positive control: a local model passes, then nothing else reached the stand-in.
    assert post_json(bearer("bob"), "/api/show", {"model": "llama3.2:1b"})[0] == 200
    seen = [gin_request(line) for line in standin_log_until("POST", "/api/show")]
    assert seen == [("POST", "/api/show")], seen


def test_a_users_body_that_is_not_one_json_value_is_refused():
    # Go would read the first value and ignore the rest: a cloud model could hide behind it.
    code, answer = post_json(bearer("bob"), "/api/chat", '{"model": "llama3.2:1b"} {"model": "gpt-oss:120b-cloud"}')
    assert code == 400 and "not valid JSON" in answer, (code, answer)


def test_a_users_local_model_streams_and_an_admins_cloud_model_passes():
    generate = {"model": "llama3.2:1b", "prompt": "hello", "standin_stream_interval": STREAM_PAUSE}
    lines = stamped_lines("/api/generate", generate)
    assert len(lines) == 7 and spread(lines) >= STREAM_SPREAD, lines  # read by njs, then streamed
    chat = {"model": "llama3.2:1b", "messages": [{"role": "user", "content": "hi"}], "standin_stream_interval": STREAM_PAUSE}
    lines = stamped_lines("/api/chat", chat)
    assert len(lines) == 7 and spread(lines) >= STREAM_SPREAD and json.loads(lines[-1][1])["done"], lines
    standin_log()
    for admin in (bearer("root"), basic("root")):
        # The stand-in has no cloud model: its own 404 proves the request reached it.
        code, answer = post_json(admin, "/api/chat", {"model": "gpt-oss:120b-cloud", "messages": []})
        assert code not in (401, 403), (code, answer)
    seen = [gin_request(line) for line in standin_log_until("POST", "/api/chat")]
    time.sleep(1)
    seen += [gin_request(line) for line in standin_log()]
    assert seen == [("POST", "/api/chat")] * 2, seen


def test_a_big_local_body_passes_the_cloud_check():
    # 6 MB of prompt: read whole by the front, then passed on (the stand-in takes up to 8 MiB).
    CLIENT.check_output("python3 -c 'import json; print(json.dumps({\"model\": \"llama3.2:1b\", \"stream\": False, "
                        "\"prompt\": \"x\" * 6000000}))' > /tmp/big-chat.json")
    code, answer = post_json(bearer("bob"), "/api/generate", "@/tmp/big-chat.json")
    assert code == 200 and json.loads(answer)["done"] is True, (code, answer[:300])


# The bodies, raw as a client sends them (json.dumps would tidy them):
# each one Ollama reads as a cloud model, or a body the front cannot read as
# Go does. Each must get 403 and never reach Ollama.
HOSTILE_BODIES = [
    '{"model":"gpt-oss:120b-cloud","model":null,"messages":[]}',       # Go keeps the first, JSON.parse the null
    '{"model":"glm-4.6: cloud","messages":[]}',                        # modelref trims after the last ":"
    '{"model":"glm-4.6:\\tcloud","messages":[]}',
    '{"model":"glm-4.6:\u00a0cloud","messages":[]}',                  # a raw U+00A0
    '{"model":"glm-4.6:\\u00a0cloud","messages":[]}',
    '{"model":"gpt-oss:120b-cloud\\u0085","messages":[]}',           # Go's TrimSpace, not JavaScript's trim()
    '{"model":"llama3.2:1b","mod\\u0065l":"gpt-oss:120b-cloud","messages":[]}',
    '{"model":["gpt-oss:120b-cloud"],"messages":[]}',
]


@pytest.mark.parametrize("body", HOSTILE_BODIES)
def test_a_users_hostile_body_gets_403_and_never_reaches_ollama(body):
    standin_log()
    for user in (bearer("bob"), basic("alice")):
        code, answer = post_json(user, "/api/chat", body)
        assert code == 403 and json.loads(answer)["error"], (code, answer)
    # Positive control: the same user's local model reaches the stand-in, and is all that did.
    code, answer = post_json(bearer("bob"), "/api/chat", {"model": "llama3.2:1b", "messages": [], "stream": False})
    assert code == 200, (code, answer)
    seen = [gin_request(line) for line in standin_log_until("POST", "/api/chat")]
    time.sleep(1)
    seen += [gin_request(line) for line in standin_log()]
    assert seen == [("POST", "/api/chat")], seen


# Routes where the server runs ollama.com's web search itself (signed with
# the host's key) when the body declares a web search tool, local model or not.
WEB_SEARCH = [
    ("/v1/messages", {"model": "llama3.2:1b", "max_tokens": 16, "messages": [{"role": "user", "content": "news?"}],
                      "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 1}]}),
    ("/v1/responses", {"model": "llama3.2:1b", "input": "news?", "tools": [{"type": "web_search"}]}),
]


@pytest.mark.parametrize("path, body", WEB_SEARCH)
def test_a_users_web_search_tool_is_refused_and_an_admins_passes(path, body):
    standin_log()
    for user in (bearer("bob"), basic("alice")):
        code, answer = post_json(user, path, body)
        assert code == 403 and "web search" in json.loads(answer)["error"], (code, answer)
    # Control: the same user without the tool reaches the stand-in; so do both admin forms with it.
    code, answer = post_json(bearer("bob"), path, dict((k, v) for k, v in body.items() if k != "tools"))
    assert code == 200, (code, answer)
    for admin in (bearer("root"), basic("root")):
        code, answer = post_json(admin, path, body)
        assert code == 200, (code, answer)
    seen = [gin_request(line) for line in standin_log()]
    deadline = time.monotonic() + 20
    while len(seen) < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
        seen += [gin_request(line) for line in standin_log()]
    time.sleep(1)
    seen += [gin_request(line) for line in standin_log()]
    assert seen == [("POST", path)] * 3, seen


def test_transcriptions_are_for_admins_only_with_the_cloud_check():
    # The form's "model" becomes a chat request upstream; the front does not read forms.
    CLIENT.check_output("head -c 4000 /dev/urandom > /tmp/audio.wav")
    form = ["-F", "model=gpt-oss:120b-cloud", "-F", "file=@/tmp/audio.wav"]
    path = "/v1/audio/transcriptions"
    standin_log()
    assert status(*bearer("bob"), *form, path=path) == 403
    assert status(*bearer("alice"), *form, path=path) == 403
    assert status(*basic("alice"), *form, path=path) == 401  # not in the admins' file
    assert status(*bearer("root"), *form, path=path) == 200
    assert status(*basic("root"), *form, path=path) == 200
    seen = [gin_request(line) for line in standin_log_until("POST", path)]
    time.sleep(1)
    seen += [gin_request(line) for line in standin_log()]
    assert seen == [("POST", path)] * 2, seen


def test_admin_uploads_a_large_blob():
    # 6 MB: more than the front's default body limit for users (set to 32m
    # here it would pass too), under the stand-in's own 8 MiB limit.
    digest = CLIENT.check_output("head -c 6000000 /dev/urandom > /tmp/blob.bin && sha256sum /tmp/blob.bin | cut -c1-64")
    code = status(*bearer("root"), "--data-binary", "@/tmp/blob.bin", path="/api/blobs/sha256:%s" % digest)
    assert code == 201, code
    assert status(*bearer("bob"), "--data-binary", "@/tmp/blob.bin", path="/api/blobs/sha256:%s" % digest) == 403


VARIANTS = [
    # (curl arguments, path): encoded, duplicated slashes, dot segments, case, trailing slash
    ([], "/api/%70ull"), ([], "/api/pul%6C"), ([], "/api%2Fpull"), ([], "/%61pi/pull"), ([], "/api/pull%00"),
    ([], "/api//pull"), ([], "//api/pull"), ([], "/api/./pull"), ([], "/api/x/../pull"), ([], "/api/tags/../pull"),
    ([], "/./api/pull"), ([], "/api/pull/."), ([], "/api/pull/.."), ([], "/api\\pull"),
    ([], "/API/PULL"), ([], "/api/Pull"), ([], "/api/pull/"), ([], "/api/pull;x"), ([], "/api/pull?x=1"),
    # methods
    (["-X", "GET"], "/api/pull"), (["-X", "PUT"], "/api/pull"), (["-X", "PATCH"], "/api/pull"),
    (["-X", "post"], "/api/pull"), (["-X", "OPTIONS"], "/api/pull"), (["-I"], "/api/pull"),
    (["-X", "DELETE"], "/api/delete"), (["-X", "POST"], "/api/delete"), (["-X", "DELETE"], "/api/user/keys/abc"),
    (["-X", "POST"], "/api/copy"), (["-X", "POST"], "/api/create"), (["-X", "POST"], "/api/signout"),
    (["-X", "POST"], "/api/experimental/web_search"), (["-X", "POST"], "/api/blobs/sha256:" + "0" * 64),
    # unknown or wrong-method endpoints for everyone
    (["-X", "DELETE"], "/api/tags"), (["-X", "POST"], "/api/tags"), (["-X", "TRACE"], "/"),
    ([], "/api/unknown"), ([], "/debug/pprof/"), (["--request-target", "http://127.0.0.1:11434/api/pull"], "/"),
    (["--request-target", "*", "-X", "OPTIONS"], "/"),
]


def test_crafted_variants_are_refused_and_never_reach_ollama():
    standin_log()  # start from here
    # Positive control: an allowed request shows up in what the stand-in
    # recorded, so the record below could show a crafted one too.
    assert status(*bearer("alice"), path="/api/tags") == 200
    seen = standin_log_until("GET", "/api/tags")
    assert [gin_request(line) for line in seen] == [("GET", "/api/tags")], seen
    results = {}
    for args, path in VARIANTS:
        body = [] if "-I" in args else ["-d", "{}"]
        results[(" ".join(args), path)] = status("--path-as-is", *bearer("bob"), *body, *args, path=path)
    # non-canonical paths are refused for admins too
    for path in ("/api/%70ull", "/api//pull", "/api/x/../pull", "/api/./pull", "/api\\pull"):
        results[("admin", path)] = status("--path-as-is", *bearer("root"), "-d", "{}", path=path)
    # A second allowed request closes the record: every line before its own
    # would be a crafted request that reached the stand-in.
    assert status(*bearer("alice"), path="/api/ps") == 200
    seen = standin_log_until("GET", "/api/ps")
    assert [gin_request(line) for line in seen] == [("GET", "/api/ps")], "the stand-in saw: %s" % seen
    bad = {k: v for k, v in results.items() if v not in (400, 401, 403, 404, 405)}
    assert not bad, bad
    assert all(v == 400 for k, v in results.items() if k[0] == "admin"), results


def test_cors_answered_by_the_front_and_origin_not_forwarded():
    origin = VARS["ollama_front_allowed_origins"][0]
    pre = curl("-D", "-", "-o", "/dev/null", "-X", "OPTIONS", "-H", "Origin: " + origin,
               "-H", "Access-Control-Request-Method: POST", path="/api/chat").stdout
    assert " 204" in pre.splitlines()[0] and "Access-Control-Allow-Origin: %s" % origin in pre
    # The stand-in (no OLLAMA_ORIGINS) would answer 403 to this Origin: 200 proves the front dropped it.
    got = curl("-D", "-", "-o", "/dev/null", "-H", "Origin: " + origin, *bearer("bob")).stdout
    assert " 200" in got.splitlines()[0] and "Access-Control-Allow-Origin: %s" % origin in got
    assert status("-H", "Origin: https://evil.example", *bearer("bob")) == 403


def test_long_requests_and_keepalive_to_ollama_are_configured():
    # The front's own file only: `nginx -T` would also print keys.map, and
    # a failing assertion would put every key in the test's output.
    conf = FRONT.check_output("cat /etc/nginx/conf.d/ollama-front.conf")
    assert "proxy_read_timeout 900s;" in conf and "proxy_buffering off;" in conf
    assert "keepalive 32;" in conf and 'proxy_set_header Connection "";' in conf


def test_rate_limit_answers_429():
    time.sleep(2)
    urls = " ".join(["-o /dev/null " + URL + "/api/version"] * 80)
    auth = shlex.quote("Authorization: Bearer %s" % CREDS["bob"]["api_key"])
    out = CLIENT.check_output("curl -s -m 30 --cacert %s -H %s -w '%%{http_code}\\n' %s" % (CA, auth, urls))
    codes = out.split()
    assert len(codes) == 80 and "200" in codes and "429" in codes, codes
    time.sleep(3)  # refill before the next tests
    assert status(*bearer("alice")) == 200  # another credential is not affected


# ---------------------------------------------------------------- hostile traffic
# The front's one door stays up and fair: a slowloris from one address, one
# user's streams, spellings of one credential, floods of refusals. Every
# loop here is bounded in count and time.

SLOWLORIS = r"""
import concurrent.futures, json, socket, ssl, subprocess, sys, time
CA, COUNT, PROBES, AUTH = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(cafile=CA)
v4 = socket.getaddrinfo("ofr-front", 11443, socket.AF_INET, socket.SOCK_STREAM)[0][4]
v6 = socket.getaddrinfo("ofr-front", 11443, socket.AF_INET6, socket.SOCK_STREAM)[0][4][0]
def half_open(_index):  # TLS done, request head never finished, over IPv4
    try:
        conn = ctx.wrap_socket(socket.create_connection(v4, timeout=10), server_hostname="ofr-front")
        conn.sendall(b"GET /api/tags HTTP/1.1\r\nHost: ofr-front\r\nX-Pad: ")
        conn.setblocking(False)
        return conn
    except OSError:
        return None
def alive(conn):
    try:
        return conn.recv(1) != b""
    except ssl.SSLWantReadError:
        return True
    except (OSError, ssl.SSLError):
        return False
def probe():  # a legitimate client from the other address (IPv6)
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-m", "10", "--cacert", CA, "-H", AUTH,
                          "-w", "%{http_code} %{time_total}", "--resolve", "ofr-front:11443:[%s]" % v6,
                          "https://ofr-front:11443/api/tags"], stdout=subprocess.PIPE, text=True)
    code, seconds = (out.stdout.split() + ["0", "99"])[:2]
    return [int(code), float(seconds)]
started = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    conns = list(pool.map(half_open, range(COUNT)))
held = [c for c in conns if c]
opened_s = time.monotonic() - started
probes = [probe() for _ in range(PROBES)]
alive_after_probes = sum(alive(c) for c in held)
time.sleep(13)  # past client_header_timeout (10 s) from the last one opened
closed = sum(not alive(c) for c in held)
print(json.dumps({"held": len(held), "opened_s": round(opened_s, 2), "probes": probes,
                  "alive_after_probes": alive_after_probes, "closed_after_timeout": closed}))
"""


def test_slowloris_from_one_address_leaves_the_front_to_others():
    """1,000 TLS connections with an unfinished request head from the client's
    IPv4 address, all open at once (more than Debian's 768 worker connections);
    meanwhile every request from its IPv6 address gets 200 in under 2 s, and
    after the header timeout the front has closed them all. A machine too
    slow to hold them all open at once within the 10 s timeout tries again
    (bounded), then fails."""
    CLIENT.run("cat > /tmp/slowloris.py <<'EOF'\n%sEOF" % SLOWLORIS)
    auth = shlex.quote("Authorization: Bearer %s" % CREDS["alice"]["api_key"])
    attempts = []
    for _attempt in range(3):
        out = CLIENT.run("ulimit -n 4096 && timeout 150 python3 /tmp/slowloris.py %s 1000 10 %s" % (CA, auth))
        assert out.rc == 0, out.stderr[-2000:]
        result = json.loads(out.stdout.strip().splitlines()[-1])
        attempts.append(result)
        # Whatever the speed: every probe served quickly, every half-open connection let go.
        assert len(result["probes"]) == 10
        assert all(code == 200 and seconds < 2.0 for code, seconds in result["probes"]), result
        assert result["held"] == 1000 and result["closed_after_timeout"] == 1000, result
        if result["alive_after_probes"] >= 990:  # the attack was in force while the probes ran
            return
    raise AssertionError("never 990 of 1,000 half-open connections at once (the machine too slow?): %s" % attempts)


def test_one_user_cannot_hold_more_streams_than_its_cap():
    """bob opens cap + 2 streams at once (6 s each): cap of them stream, the
    other two get 429 at once; alice, streaming at the same time, gets hers whole."""
    cap = VARS["ollama_front_conn_per_user"]
    body = json.dumps({"model": "llama3.2:1b", "prompt": "hi", "standin_stream_interval": 1.0})

    def transfer(name):
        return ["-sS", "--cacert", CA, "-m", "30", "-o", "/dev/null", "-w", "%{http_code} %{size_download}\n",
                "-H", "Authorization: Bearer %s" % CREDS[name]["api_key"], "-d", body, URL + "/api/generate"]
    bobs = []
    for _ in range(cap + 2):
        bobs += ["--next"] + transfer("bob")
    script = "curl %s > /tmp/alice-stream & sleep 0.3; curl --parallel --parallel-immediate --parallel-max %d %s; wait" % (
        " ".join(shlex.quote(a) for a in transfer("alice")), cap + 2, " ".join(shlex.quote(a) for a in bobs[1:]))
    time.sleep(3)  # refill the buckets used before
    out = CLIENT.run("bash -c %s" % shlex.quote(script))
    rows = [line.split() for line in out.stdout.splitlines()]
    assert sorted(code for code, _size in rows) == ["200"] * cap + ["429"] * 2, (rows, out.stderr)
    assert all(int(size) > 0 for code, size in rows if code == "200"), rows
    alice_code, alice_size = CLIENT.check_output("cat /tmp/alice-stream").split()
    assert alice_code == "200" and int(alice_size) > 0  # another user still streamed, to its end


def test_addresses_of_one_ipv6_64_share_their_limits():
    """The client holds as many streams as one source may (8) from its IPv6
    address; a second address of the same /64 is then refused with 429,
    while its IPv4 address (another source) still gets 200."""
    cap = VARS["ollama_front_conn_per_address"]
    mine = CLIENT.check_output("hostname -I").split()
    primary, v4 = next(a for a in mine if ":" in a), next(a for a in mine if ":" not in a)
    second = primary.rsplit(":", 1)[0] + ":6464"
    front_v6 = next(a for a in FRONT.check_output("hostname -I").split() if ":" in a)
    body = json.dumps({"model": "llama3.2:1b", "prompt": "hi", "standin_stream_interval": 1.0})

    def curl_from(source, name, path, *extra):
        resolve = "ofr-front:11443:%s" % ("[%s]" % front_v6 if ":" in source else FRONT.check_output(
            "getent ahostsv4 ofr-front | head -1 | cut -d' ' -f1"))
        return " ".join(shlex.quote(a) for a in [
            "curl", "-sS", "--cacert", CA, "-m", "30", "-o", "/dev/null", "-w", "%{http_code}\n", "--interface", source,
            "--resolve", resolve, "-H", "Authorization: Bearer %s" % CREDS[name]["api_key"]] + list(extra) + [URL + path])
    streams = [curl_from(primary, name, "/api/generate", "-d", body) for name in ("alice", "bob") for _ in range(cap // 2)]
    script = ("for s in %s; do bash -c \"$s\" >> /tmp/held-streams & done; sleep 2; %s; %s; wait") % (
        " ".join(shlex.quote(s) for s in streams), curl_from(second, "root", "/api/version"),
        curl_from(v4, "root", "/api/version"))
    assert CLIENT.run("ip -6 addr add %s/64 dev eth0 nodad" % second).rc == 0
    try:
        time.sleep(3)
        CLIENT.run("rm -f /tmp/held-streams")
        out = CLIENT.run("bash -c %s" % shlex.quote(script))
        held = CLIENT.check_output("cat /tmp/held-streams").split()
    finally:
        CLIENT.run("ip -6 addr del %s/64 dev eth0" % second)
    assert out.stdout.split() == ["429", "200"], (out.stdout, out.stderr)  # same /64 refused; IPv4 served
    assert held == ["200"] * cap, held  # the held streams themselves were served


# Runs in the client: sends the requests given as JSON on stdin ([[headers,
# path], ...]) over `parallel` keep-alive TLS connections, each taking the
# next request in turn; prints the codes in the order sent and the seconds
# the whole run took.
BURST = r"""
import http.client, json, ssl, sys, threading, time
requests, parallel = json.load(sys.stdin), int(sys.argv[1])
ctx = ssl.create_default_context(cafile="%s")
codes, lock, queue = [None] * len(requests), threading.Lock(), list(range(len(requests)))
def worker():
    conn = http.client.HTTPSConnection("ofr-front", 11443, context=ctx, timeout=20)
    while True:
        with lock:
            if not queue:
                return
            index = queue.pop(0)
        headers, path = requests[index]
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            codes[index] = str(resp.status)
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            codes[index] = type(exc).__name__
            conn.close()
start = time.monotonic()
threads = [threading.Thread(target=worker) for _ in range(parallel)]
for t in threads:
    t.start()
for t in threads:
    t.join(60)
print(json.dumps({"codes": codes, "took": time.monotonic() - start}))
""" % CA


def _statuses(*requests, parallel=1, timed=False):
    """Each request ([curl-style -H/-u arguments], path) sent by the client
    over `parallel` keep-alive connections: their codes in the order sent,
    and with `timed` also the seconds the run took."""
    import base64
    wire = []
    for args, path in requests:
        headers, args = {}, list(args)
        while args:
            flag, value = args.pop(0), args.pop(0)
            if flag == "-u":
                headers["Authorization"] = "Basic " + base64.b64encode(value.encode()).decode()
            elif flag == "-A":
                headers["User-Agent"] = value
            else:
                name, _sep, text = value.partition(":")
                headers[name.strip()] = text.strip()
        wire.append([headers, path])
    CLIENT.run("cat > /tmp/burst.py <<'EOF'\n%sEOF" % BURST)
    out = CLIENT.run("timeout 120 python3 /tmp/burst.py %d <<'EOF'\n%s\nEOF" % (parallel, json.dumps(wire)))
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return (result["codes"], result["took"]) if timed else result["codes"]


def rate_per_second(rate):
    """nginx's "20r/s" or "600r/m" as requests per second."""
    count, unit = rate.split("r/")
    return float(count) / (60.0 if unit == "m" else 1.0)


def assert_limited(requests, parallel, answer, burst, rate, what, tries=3):
    """Send `requests`: no more `answer`s than the bucket can give in the
    time the run took (its burst, one more, and what refills), the rest 429.
    A run too slow for that bound to be below the number sent could not tell
    a limit from none: it is tried again (bounded), and fails after `tries`."""
    runs = []
    for _attempt in range(tries):
        time.sleep(burst / rate + 1)  # a full bucket
        codes, took = _statuses(*requests, parallel=parallel, timed=True)
        bound = burst + 1 + rate * took + 2
        runs.append((len(codes), round(took, 2), round(bound)))
        if bound < len(codes):
            assert set(codes) == {answer, "429"} and codes.count(answer) <= bound, (what, took, codes)
            return codes
    raise AssertionError("%s: every run too slow to tell a limit from none (sent, seconds, bound): %s" % (what, runs))


B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def basic_spellings(name):
    """Every spelling nginx decodes to this credential: the base64 text's
    last character with any value of its unused low bits (4 or 16 of them),
    with or without padding, text after "=", "Basic" in another case."""
    import base64
    token = base64.b64encode(("%s:%s" % (name, CREDS[name]["password"])).encode()).decode().rstrip("=")
    unused = {0: 0, 2: 4, 3: 2}[len(token) % 4]
    first = B64.index(token[-1]) >> unused << unused
    lasts = [token[:-1] + c for c in B64[first:first + (1 << unused)]]
    forms = ["Basic %s", "bAsIc   %s", "Basic %s=1", "BASIC %s=="]
    return ["Authorization: " + forms[i % len(forms)] % body for i, body in enumerate(lasts)]


def test_spellings_of_one_basic_credential_share_one_bucket():
    spellings = basic_spellings("alice")
    assert len(spellings) == 16, spellings  # alice's user:password is 28 bytes: 2 characters of 4 bits unused
    burst = VARS["ollama_front_rate_user_burst"]
    # Each spelling alone is a valid credential.
    time.sleep(3)
    assert _statuses(*[(["-H", s], "/api/version") for s in spellings]) == ["200"] * len(spellings)
    # Control: `burst` requests for each of three credentials, four at a time:
    # no bucket passes its burst, so none is refused.
    time.sleep(3)
    others = ["-u", "root:%s" % CREDS["root"]["password"]], bearer("bob"), ["-H", spellings[0]]
    codes = _statuses(*[(others[i % 3], "/api/version") for i in range(3 * burst)], parallel=4)
    assert codes == ["200"] * (3 * burst), codes
    # The same with all of alice's spellings in turn: one bucket, refused past its burst.
    assert_limited([(["-H", spellings[i % len(spellings)]], "/api/version") for i in range(4 * burst)], 4, "200",
                   burst, rate_per_second(VARS["ollama_front_rate_user"]), "alice's spellings")


@pytest.mark.parametrize("case, args, path, code", [
    ("non-canonical path", [], "/api/%70ull", "400"),
    ("disallowed Origin", ["-H", "Origin: https://evil.example"], "/api/tags", "403"),
    ("unknown path", [], "/api/nothing-here", "404"),
])
def test_refusals_meet_the_rate_limit_too(case, args, path, code):
    burst = VARS["ollama_front_rate_user_burst"]
    assert_limited([(list(args) + bearer("bob"), path)] * (4 * burst), 4, code, burst,
                   rate_per_second(VARS["ollama_front_rate_user"]), case)


def test_refusals_without_a_credential_meet_the_address_limit():
    # 404s: nginx closes the connection after a 400, and a handshake per
    # request would make the run too slow to tell.
    burst = VARS.get("ollama_front_rate_address_burst", 100)
    assert_limited([([], "/api/nothing-here")] * (4 * burst), VARS["ollama_front_conn_per_address"], "404", burst,
                   rate_per_second(VARS.get("ollama_front_rate_address", "50r/s")), "no credential")


def test_a_401_logs_no_user_name_and_a_newline_forges_no_log_line():
    import base64
    marker = "hostile-%d" % time.time_ns()
    forged = "forged-%s" % marker
    key_as_user = base64.b64encode(("%s:x" % CREDS["bob"]["api_key"]).encode()).decode()
    newline_user = base64.b64encode(("evil\n2026/11/30 00:00:00 [emerg] 1#1: %s:pw" % forged).encode()).decode()
    time.sleep(3)
    codes = _statuses((["-A", marker + "-key", "-H", "Authorization: Basic " + key_as_user], "/api/tags"),
                      (["-A", marker + "-nl", "-H", "Authorization: Basic " + newline_user], "/api/tags"),
                      (["-A", marker + "-pw", "-u", "alice:not-the-password-at-all"], "/api/tags"),
                      (["-A", marker + "-ok", "-u", "alice:%s" % CREDS["alice"]["password"]], "/api/tags"))
    assert codes == ["401", "401", "401", "200"], codes
    access = FRONT.check_output("grep -F %s /var/log/nginx/ollama-front.access.log || true" % marker).splitlines()
    by_agent = {line.rsplit('"', 2)[-2]: line for line in access}
    assert set(by_agent) == {marker + s for s in ("-key", "-nl", "-pw", "-ok")}, access
    for suffix in ("-key", "-nl", "-pw"):
        assert " cred=- " in by_agent[marker + suffix] and '" 401 ' in by_agent[marker + suffix], by_agent
    assert " cred=basic:alice " in by_agent[marker + "-ok"]  # the positive control: a verified name is logged
    logs = FRONT.check_output("cat /var/log/nginx/*.log")
    assert forged not in logs and "evil" not in logs
    assert CREDS["bob"]["api_key"] not in logs


def test_client_forwarding_headers_do_not_reach_ollama():
    client = set(CLIENT.check_output("hostname -I").split())
    standin_log()
    headers = ["-H", "X-Forwarded-For: 203.0.113.7", "-H", "X-Real-IP: 203.0.113.8",
               "-H", "Forwarded: for=203.0.113.9", "-H", "X-Forwarded-Host: evil.example",
               "-H", "Proxy-Authorization: Basic c3RvbGVu"]
    time.sleep(2)
    assert status(*bearer("alice"), *headers, path="/api/ps") == 200
    out = FRONT.check_output("journalctl -u ollama.service -o cat --no-pager --cursor-file=%s" % STANDIN_CURSOR)
    lines = out.splitlines()
    gin = [i for i, line in enumerate(lines) if line.startswith("[GIN]") and line.endswith('"/api/ps"')]
    assert gin, lines
    # Ollama (gin) logs the address the front gave, the client's own, and
    # saw no other forwarding header.
    seen_as = lines[gin[-1]].split("|")[3].strip()
    assert seen_as in client, (lines[gin[-1]], client)
    assert lines[gin[-1] + 1] == "[standin] forwarding headers: X-Forwarded-For; X-Forwarded-For=%s" % seen_as, lines


BUSY = {"error": "the Ollama server is busy or not answering, try again later"}


def test_ollama_down_gets_the_fronts_json_503():
    chat = ["-H", "Content-Type: application/json", "--data-binary", '{"model":"llama3.2:1b","messages":[]}']

    def answers():
        """[code, content type, body] of /api/tags (proxied) and /api/chat (through njs)."""
        out = []
        for args, path in (([], "/api/tags"), (chat, "/api/chat")):
            written = curl("-o", "/tmp/busy-answer", "-w", "%{http_code} %{content_type}", *bearer("bob"), *args, path=path)
            out.append(written.stdout.split(None, 1) + [CLIENT.check_output("cat /tmp/busy-answer")])
        return out

    assert [a[0] for a in answers()] == ["200", "200"]  # control: Ollama up
    FRONT.check_output("systemctl stop ollama.service")
    try:
        down = answers()
    finally:
        FRONT.check_output("systemctl start ollama.service")
        deadline = time.monotonic() + 30
        while FRONT.run("curl -sf -m 2 -o /dev/null http://127.0.0.1:11434/").rc != 0 and time.monotonic() < deadline:
            time.sleep(0.5)
    for code, ctype, body in down:
        assert (code, ctype.strip(), json.loads(body)) == ("503", "application/json", BUSY), down
    assert [a[0] for a in answers()] == ["200", "200"]  # restored


def test_upstream_connections_are_capped_at_ollamas_capacity():
    conf = FRONT.check_output("cat /etc/nginx/conf.d/ollama-front.conf")
    # The stand-in's unit sets no OLLAMA_NUM_PARALLEL, _MAX_LOADED_MODELS or _MAX_QUEUE: 1 x 3 + 512.
    assert "max_conns=515;" in conf and "zone ollama_front_upstream" in conf
    assert "client_header_timeout 10s;" in conf
    nginx_conf = FRONT.check_output("cat /etc/nginx/nginx.conf")
    assert "worker_connections 4096;" in nginx_conf and "worker_rlimit_nofile 8192;" in nginx_conf


@pytest.mark.parametrize("extra, named", [
    # Two bad values at once: the message names both.
    ({"ollama_front_allowed_origins": ["https://app.example.test\n"], "ollama_front_listen": ["0.0.0.0\n"]},
     ["ollama_front_allowed_origins", "ollama_front_listen"]),
    ({"ollama_front_credentials": [{"name": "eve\n", "api_key": "ak_eve_" + "x" * 30}]},
     ["ollama_front_credentials: credential #0: name must match"]),
    # nginx's maps compare names in any case: an admin "Alice" would be the user alice's name too.
    ({"ollama_front_credentials": list(CREDS.values()) + [{"name": "Alice", "role": "admin", "api_key": "ak_Alice_" + "y" * 30}]},
     ["ollama_front_credentials: credential Alice: name differs only in case from credential alice"]),
])
def test_a_bad_value_is_refused_by_name_before_any_change(extra, named):
    conf = "/etc/nginx/conf.d/ollama-front.conf"
    before = FRONT.file(conf).sha256sum, FRONT.file("/etc/nginx/ollama-front/keys.map").sha256sum
    out = run_front("-e", json.dumps(extra))
    assert out.returncode != 0 and all(name in out.stdout for name in named), out.stdout[-3000:]
    assert (FRONT.file(conf).sha256sum, FRONT.file("/etc/nginx/ollama-front/keys.map").sha256sum) == before
    for secret in SECRETS:
        assert secret not in out.stdout


def test_logs_name_the_credential_never_the_secret():
    logs = FRONT.check_output("cat /var/log/nginx/ollama-front.access.log /var/log/nginx/ollama-front.error.log "
                              "/var/log/nginx/access.log /var/log/nginx/error.log 2>/dev/null || true")
    assert "cred=key:bob" in logs and "cred=basic:alice" in logs and "cred=key:root" in logs
    for secret in SECRETS:
        assert secret not in logs
    journal = FRONT.check_output("journalctl --no-pager -o cat")
    for secret in SECRETS:
        assert secret not in journal


def test_a_removed_key_is_refused_after_the_next_run_and_ansible_prints_no_secret():
    kept = [c for c in CREDS.values() if c["name"] != "bob"]
    removed = run_front("-e", json.dumps({"ollama_front_credentials": kept}))
    try:
        assert removed.returncode == 0, removed.stdout[-3000:]
        assert status(*bearer("bob")) == 401
        assert status(*bearer("alice")) == 200
        assert CREDS["bob"]["api_key"] not in FRONT.file("/etc/nginx/ollama-front/keys.map").content_string
        assert not FRONT.run("ls /etc/nginx/ollama-front/ | grep -v -x -e tls -e keys.map -e users.htpasswd "
                             "-e admins.htpasswd -e cloud-models.js").stdout.strip(), "backup files left behind"
    finally:
        restored = run_front()
    assert restored.returncode == 0, restored.stdout[-3000:]
    assert status(*bearer("bob")) == 200
    for secret in SECRETS:
        assert secret not in removed.stdout and secret not in restored.stdout


def test_a_refused_config_leaves_the_old_one_serving():
    conf = "/etc/nginx/conf.d/ollama-front.conf"
    before = FRONT.file(conf).sha256sum
    pid = FRONT.check_output("cat /run/nginx.pid")
    broken = run_front("-e", "ollama_front_extra_server_config='this_is_not_a_directive on;'")
    assert broken.returncode != 0
    assert "this_is_not_a_directive" in broken.stdout and "previous files are back" in broken.stdout
    assert FRONT.file(conf).sha256sum == before
    assert FRONT.run("nginx -t").rc == 0
    assert FRONT.check_output("cat /run/nginx.pid") == pid
    assert status(*bearer("bob")) == 200
    for secret in SECRETS:
        assert secret not in broken.stdout
