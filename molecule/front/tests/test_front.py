"""Verify the authenticating front from a second container (ofr-client):
credentials, endpoint policy against crafted paths and methods (the Ollama
stand-in must never see them), streaming, CORS, TLS versions, rate limits,
logs without secrets, key removal on the next run, and a refused config
that leaves the running front serving."""

import json
import os
import shlex
import subprocess
import time

import pytest
import testinfra
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.join(HERE, "..", "..", ".."))
INVENTORY = os.path.join(HERE, "..", "inventory.yml")
FRONT = testinfra.get_host("ansible://front", ansible_inventory=INVENTORY)
CLIENT = testinfra.get_host("ansible://client", ansible_inventory=INVENTORY)
URL = "https://ofr-front:11443"
CA = "/tmp/front-ca.pem"

with open(INVENTORY) as _handle:
    _VARS = yaml.safe_load(_handle)["all"]["children"]["ollama_lab"]["hosts"]["front"]
CREDS = {c["name"]: c for c in _VARS["ollama_front_credentials"]}
SECRETS = [c[k] for c in CREDS.values() for k in ("password", "api_key") if c.get(k)]


def bearer(name):
    return ["-H", "Authorization: Bearer %s" % CREDS[name]["api_key"]]


def basic(name):
    return ["-u", "%s:%s" % (name, CREDS[name]["password"])]


def curl(*args, path="/api/tags", timeout=20):
    """Run curl in the client container; returns the testinfra result."""
    cmd = ["curl", "-sS", "--cacert", CA, "-m", str(timeout)] + list(args) + [URL + path]
    return CLIENT.run(" ".join(shlex.quote(a) for a in cmd))


def status(*args, path="/api/tags"):
    out = curl("-o", "/dev/null", "-w", "%{http_code}", *args, path=path)
    return int(out.stdout.strip() or 0)


def standin_requests():
    """Number of requests the Ollama stand-in has logged so far."""
    time.sleep(0.5)  # let journald catch up
    out = FRONT.check_output("journalctl -u ollama.service -o cat --no-pager | grep -c '\\[GIN\\]' || true")
    return int(out.strip() or 0)


def run_front(*extra):
    cmd = ["ansible-playbook", "-v", "-i", INVENTORY, os.path.join(PROJECT, "playbooks", "front.yml"),
           "-e", "target=ollama_lab"] + list(extra)
    return subprocess.run(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)


@pytest.fixture(scope="module", autouse=True)
def ca_on_client():
    """The client trusts the front's self-signed certificate, nothing else."""
    cert = FRONT.file("/etc/nginx/ollama-front/tls/front.crt").content_string
    CLIENT.run("cat > %s <<'EOF'\n%sEOF" % (CA, cert))
    yield


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


def test_certificate_names_the_host_and_tls_is_1_2_or_1_3_only():
    sans = FRONT.check_output("openssl x509 -in /etc/nginx/ollama-front/tls/front.crt -noout -ext subjectAltName")
    assert "DNS:front" in sans and "DNS:ofr-front" in sans and "IP Address:127.0.0.1" in sans
    for version in ("--tlsv1.2 --tls-max 1.2", "--tlsv1.3"):
        assert status(*version.split(), *bearer("bob")) == 200
    for flag in ("-tls1", "-tls1_1"):
        out = CLIENT.run("openssl s_client -connect ofr-front:11443 %s -cipher 'DEFAULT:@SECLEVEL=0' "
                         "-CAfile %s </dev/null" % (flag, CA))
        assert out.rc != 0 and "BEGIN CERTIFICATE" not in out.stdout
    assert curl("--tls-max", "1.1", *bearer("bob")).rc != 0


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


def test_streamed_generate_and_sse_arrive_in_pieces():
    body = json.dumps({"model": "llama3.2:1b", "prompt": "hello"})
    script = ("curl -sS -N --cacert %s -H %s -d %s %s/api/generate | while IFS= read -r line; do "
              "echo \"$(date +%%s.%%N) ${#line}\"; done") % (CA, shlex.quote("Authorization: Bearer %s" % CREDS["bob"]["api_key"]),
                                                              shlex.quote(body), URL)
    stamps = [float(line.split()[0]) for line in CLIENT.check_output(script).splitlines()]
    assert len(stamps) >= 5, stamps
    assert stamps[-1] - stamps[0] > 0.05, "all lines arrived at once: buffered"
    sse = curl("-N", "-H", "Content-Type: application/json", *bearer("bob"), "-d",
               json.dumps({"model": "llama3.2:1b", "stream": True, "messages": [{"role": "user", "content": "hi"}]}),
               path="/v1/chat/completions")
    assert sse.stdout.count("data: ") >= 3, sse.stdout


def test_model_management_is_for_admins_only():
    body = json.dumps({"model": "tinyllama"})
    assert status(*bearer("bob"), "-d", body, path="/api/pull") == 403
    assert status(*bearer("alice"), "-d", body, path="/api/pull") == 403
    assert status(*basic("alice"), "-d", body, path="/api/pull") == 401  # not in the admins' file
    assert status(*bearer("root"), "-d", body, path="/api/pull") == 200
    assert status(*basic("root"), "-d", body, path="/api/pull") == 200
    assert status(*bearer("bob"), "-X", "POST", "-d", "{}", path="/api/me") == 403
    assert status(*bearer("root"), "-X", "POST", "-d", "{}", path="/api/me") == 200


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
    before = standin_requests()
    results = {}
    for args, path in VARIANTS:
        body = [] if "-I" in args else ["-d", "{}"]
        results[(" ".join(args), path)] = status("--path-as-is", *bearer("bob"), *body, *args, path=path)
    # non-canonical paths are refused for admins too
    for path in ("/api/%70ull", "/api//pull", "/api/x/../pull", "/api/./pull", "/api\\pull"):
        results[("admin", path)] = status("--path-as-is", *bearer("root"), "-d", "{}", path=path)
    assert standin_requests() == before, "the stand-in saw a refused request"
    bad = {k: v for k, v in results.items() if v not in (400, 401, 403, 404, 405)}
    assert not bad, bad
    assert all(v == 400 for k, v in results.items() if k[0] == "admin"), results


def test_cors_answered_by_the_front_and_origin_not_forwarded():
    origin = _VARS["ollama_front_allowed_origins"][0]
    pre = curl("-D", "-", "-o", "/dev/null", "-X", "OPTIONS", "-H", "Origin: " + origin,
               "-H", "Access-Control-Request-Method: POST", path="/api/chat").stdout
    assert " 204" in pre.splitlines()[0] and "Access-Control-Allow-Origin: %s" % origin in pre
    # The stand-in (no OLLAMA_ORIGINS) would answer 403 to this Origin: 200 proves the front dropped it.
    got = curl("-D", "-", "-o", "/dev/null", "-H", "Origin: " + origin, *bearer("bob")).stdout
    assert " 200" in got.splitlines()[0] and "Access-Control-Allow-Origin: %s" % origin in got
    assert status("-H", "Origin: https://evil.example", *bearer("bob")) == 403


def test_long_requests_and_keepalive_to_ollama_are_configured():
    conf = FRONT.check_output("nginx -T 2>/dev/null")
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
                             "-e admins.htpasswd").stdout.strip(), "backup files left behind"
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
