# -*- coding: utf-8 -*-
"""Tests for the lab's Ollama stand-in (tests/lab/standin/ollama).

Every test starts the stand-in as a subprocess, learns its port from the
``Listening on`` line on stderr, and talks to it over 127.0.0.1 or ::1 only.
"""

import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from standin_process import HTTP_TIMEOUT, IPV6, PYTHON, SCRIPT, START_TIMEOUT, Standin, _env  # noqa: F401

@pytest.fixture(scope="module")
def loopback():
    server = Standin(OLLAMA_HOST="127.0.0.1:0").wait_ready()
    yield server
    server.stop()


def request(port, method, path, body=None, headers=None, host="127.0.0.1"):
    """One HTTP request; returns (status, headers, body bytes)."""
    conn = http.client.HTTPConnection(host, port, timeout=HTTP_TIMEOUT)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def run_cli(*args, **env):
    return subprocess.run([PYTHON, SCRIPT] + list(args), env=_env(**env), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=START_TIMEOUT,
                          universal_newlines=True)


# ---------------------------------------------------------------- CLI
@pytest.mark.parametrize("flag", ["--version", "-v"])
def test_version_flag(flag):
    result = run_cli(flag)
    assert result.returncode == 0
    assert result.stdout == "ollama version is 0.20.0\n"


def test_version_from_env():
    assert run_cli("--version", OLLAMA_STANDIN_VERSION="0.1.33").stdout == "ollama version is 0.1.33\n"


def _package(tmp_path, version):
    """A copy of the stand-in laid out like upstream's release tarball:
    bin/ollama and lib/ollama/ (with the parser and the packaged VERSION)."""
    import shutil
    (tmp_path / "bin").mkdir()
    lib = tmp_path / "lib" / "ollama"
    lib.mkdir(parents=True)
    shutil.copy(SCRIPT, str(tmp_path / "bin" / "ollama"))
    shutil.copy(os.path.join(os.path.dirname(SCRIPT), "..", "..", "..", "collections", "ansible_collections",
                             "ollama_toolkit", "exposure", "plugins", "module_utils", "ollama_host.py"), str(lib))
    if version is not None:
        (lib / "VERSION").write_text(version + "\n")
    return str(tmp_path / "bin" / "ollama")


def test_packaged_copy_reports_the_packaged_version(tmp_path):
    binary = _package(tmp_path, "0.21.3")
    cli = subprocess.run([PYTHON, binary, "--version"], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=START_TIMEOUT, universal_newlines=True)
    assert (cli.returncode, cli.stdout) == (0, "ollama version is 0.21.3\n"), cli.stderr
    # The environment still wins, as in the lab.
    cli = subprocess.run([PYTHON, binary, "--version"], env=_env(OLLAMA_STANDIN_VERSION="0.1.33"),
                         stdout=subprocess.PIPE, universal_newlines=True, timeout=START_TIMEOUT)
    assert cli.stdout == "ollama version is 0.1.33\n"
    # The server reports it on /api/version too.
    proc = subprocess.Popen([PYTHON, binary, "serve"], env=_env(OLLAMA_HOST="127.0.0.1:0"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            universal_newlines=True)
    try:
        port = None
        deadline = time.time() + START_TIMEOUT
        while port is None and time.time() < deadline:
            line = proc.stderr.readline()
            match = re.search(r"Listening on 127\.0\.0\.1:(\d+) \(version ([^)]+)\)", line)
            if match:
                port = int(match.group(1))
                assert match.group(2) == "0.21.3"
        assert port, "the packaged stand-in did not start"
        status, _headers, body = request(port, "GET", "/api/version")
        assert (status, json.loads(body)) == (200, {"version": "0.21.3"})
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=START_TIMEOUT)


def test_packaged_copy_without_version_file_keeps_the_default(tmp_path):
    binary = _package(tmp_path, None)
    cli = subprocess.run([PYTHON, binary, "--version"], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=START_TIMEOUT, universal_newlines=True)
    expected = "0.20.0"
    if os.path.exists("/usr/local/lib/ollama-standin/VERSION"):  # a lab host: its own file
        with open("/usr/local/lib/ollama-standin/VERSION") as handle:
            expected = handle.read().strip() or expected
    assert cli.stdout == "ollama version is %s\n" % expected, cli.stderr


def test_unknown_subcommand_fails():
    result = run_cli("frobnicate")
    assert result.returncode == 1
    assert 'unknown command "frobnicate"' in result.stderr


def test_runs_under_shebang_and_through_a_symlink(tmp_path):
    if not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("no /usr/bin/python3")
    assert os.access(SCRIPT, os.X_OK), "the stand-in must be executable"
    link = tmp_path / "ollama"
    link.symlink_to(SCRIPT)  # the parser is found next to the script's realpath
    result = subprocess.run([str(link), "--version"], env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=START_TIMEOUT, universal_newlines=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ollama version is ")


# ---------------------------------------------------------------- logs and binding
def test_log_lines(loopback):
    assert loopback.address.startswith("127.0.0.1:") and loopback.port > 0
    assert loopback.version == "0.20.0"
    config = [line for line in loopback.lines if 'msg="server config"' in line]
    assert config, loopback.stderr
    assert "OLLAMA_HOST:http://127.0.0.1:0 " in config[0]
    assert "OLLAMA_ORIGINS:[http://localhost https://localhost http://localhost:*" in config[0]
    assert "vscode-file://*]" in config[0]


def _tcp_listeners(table, port):
    try:
        with open(table) as handle:
            rows = handle.read().splitlines()[1:]
    except OSError:
        return []
    found = []
    for row in rows:
        fields = row.split()
        addr, _sep, port_hex = fields[1].partition(":")
        if int(port_hex, 16) == port and fields[3] == "0A":
            found.append(addr)
    return found


def test_wildcard_bind_is_one_dual_stack_socket(standin):
    server = standin(OLLAMA_HOST=":0")
    config = [line for line in server.lines if 'msg="server config"' in line][0]
    assert "OLLAMA_HOST:http://:0 " in config
    if IPV6:
        assert server.address.startswith("[::]:"), server.address
        assert _tcp_listeners("/proc/net/tcp6", server.port) == ["0" * 32]
        assert _tcp_listeners("/proc/net/tcp", server.port) == []
        assert request(server.port, "GET", "/", host="::1")[0] == 200
    else:
        assert server.address.startswith("0.0.0.0:"), server.address
    status, _headers, body = request(server.port, "GET", "/", host="127.0.0.1")
    assert (status, body) == (200, b"Ollama is running")


@pytest.mark.parametrize("value", ["0.0.0.0:0", "[::]:0"])
def test_other_wildcards_bind_dual_stack_too(standin, value):
    server = standin(OLLAMA_HOST=value)
    assert server.address.startswith("[::]:" if IPV6 else "0.0.0.0:"), server.address
    assert request(server.port, "GET", "/api/version")[0] == 200


def test_ipv6_loopback_literal(standin):
    if not IPV6:
        pytest.skip("IPv6 is unavailable")
    server = standin(OLLAMA_HOST="[::1]:0")
    assert server.address.startswith("[::1]:"), server.address
    assert _tcp_listeners("/proc/net/tcp6", server.port) == ["0" * 24 + "01000000"]
    assert request(server.port, "GET", "/", host="::1")[0] == 200


@pytest.mark.parametrize("value", ['"127.0.0.1:0"', "http://127.0.0.1:0", "localhost:0", " '127.0.0.1:0' "])
def test_ollama_host_goes_through_the_shared_parser(standin, value):
    server = standin(OLLAMA_HOST=value)
    assert server.address.startswith("127.0.0.1:"), server.address
    assert request(server.port, "GET", "/")[0] == 200


def test_bind_failure_exits_1():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run([PYTHON, SCRIPT, "serve"], env=_env(OLLAMA_HOST="127.0.0.1:%d" % port),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                timeout=START_TIMEOUT, universal_newlines=True)
    assert result.returncode == 1
    assert "Error: listen tcp 127.0.0.1:%d: bind: address already in use" % port in result.stderr


def test_unresolvable_hostname_exits_1():
    result = subprocess.run([PYTHON, SCRIPT, "serve"], env=_env(OLLAMA_HOST="no-such-host.invalid:0"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=START_TIMEOUT * 3, universal_newlines=True)
    assert result.returncode == 1
    assert "Error: listen tcp: lookup no-such-host.invalid" in result.stderr


def test_bad_origin_panics_like_upstream():
    result = subprocess.run([PYTHON, SCRIPT, "serve"],
                            env=_env(OLLAMA_HOST="127.0.0.1:0", OLLAMA_ORIGINS="example.com"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=START_TIMEOUT, universal_newlines=True)
    assert result.returncode == 2
    assert "panic: bad origin" in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_exit_cleanly(standin, sig):
    server = standin()
    assert request(server.port, "GET", "/")[0] == 200
    assert server.stop(sig) == 0


# ---------------------------------------------------------------- HTTP API
def test_banner(loopback):
    status, headers, body = request(loopback.port, "GET", "/")
    assert (status, body) == (200, b"Ollama is running")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "Server" not in headers
    status, headers, body = request(loopback.port, "HEAD", "/")
    assert (status, body, headers["Content-Length"]) == (200, b"", "17")


def test_version_endpoint(loopback):
    status, headers, body = request(loopback.port, "GET", "/api/version")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"version": "0.20.0"}


def test_version_endpoint_follows_env(standin):
    server = standin(OLLAMA_STANDIN_VERSION="0.1.33")
    assert server.version == "0.1.33"
    assert json.loads(request(server.port, "GET", "/api/version")[2]) == {"version": "0.1.33"}


@pytest.mark.parametrize("method,path", [("POST", "/api/version"), ("GET", "/api/generate"), ("GET", "/api/pull"),
                                         ("DELETE", "/api/tags"), ("POST", "/api/delete"), ("HEAD", "/api/ps"),
                                         ("GET", "/api/me"), ("POST", "/v1/models")])
def test_wrong_method_is_405(loopback, method, path):
    status, _headers, body = request(loopback.port, method, path)
    assert status == 405
    assert body in (b"405 method not allowed", b"")  # HEAD has no body


@pytest.mark.parametrize("path", ["/nope", "/api", "/api/tags/x", "/v1/chat"])
def test_unknown_path_is_404(loopback, path):
    status, _headers, body = request(loopback.port, "GET", path)
    assert (status, body) == (404, b"404 page not found")


def test_read_only_endpoints(loopback):
    tags = json.loads(request(loopback.port, "GET", "/api/tags")[2])
    assert [m["name"] for m in tags["models"]] == ["llama3.2:1b"]
    assert request(loopback.port, "HEAD", "/api/tags")[0] == 200
    assert "models" in json.loads(request(loopback.port, "GET", "/api/ps")[2])
    assert "cloud" in json.loads(request(loopback.port, "GET", "/api/status")[2])
    show = request(loopback.port, "POST", "/api/show", {"model": "llama3.2:1b"})
    assert show[0] == 200 and json.loads(show[2])["details"]["format"] == "gguf"
    assert request(loopback.port, "POST", "/api/show", {"model": "missing"})[0] == 404
    models = json.loads(request(loopback.port, "GET", "/v1/models")[2])
    assert models["object"] == "list" and models["data"][0]["id"] == "llama3.2:1b"
    assert json.loads(request(loopback.port, "GET", "/v1/models/llama3.2:1b")[2])["id"] == "llama3.2:1b"
    assert request(loopback.port, "GET", "/v1/models/missing")[0] == 404


@pytest.mark.parametrize("path,body", [
    ("/api/generate", {"model": "llama3.2:1b", "prompt": "hi"}),
    ("/api/chat", {"model": "llama3.2:1b", "messages": [{"role": "user", "content": "hi"}]}),
    ("/api/pull", {"model": "tinyllama"}),
])
def test_ndjson_streams(loopback, path, body):
    status, headers, raw = request(loopback.port, "POST", path, body)
    assert status == 200
    assert headers["Content-Type"] == "application/x-ndjson"
    assert headers["Transfer-Encoding"] == "chunked"
    lines = [json.loads(line) for line in raw.decode("utf-8").splitlines()]
    assert len(lines) >= 3
    if path == "/api/pull":
        assert lines[-1] == {"status": "success"}
    else:
        assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]


def test_stream_false_gives_one_json(loopback):
    body = {"model": "llama3.2:1b", "messages": [{"role": "user", "content": "hi"}], "stream": False}
    status, headers, raw = request(loopback.port, "POST", "/api/chat", body)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    answer = json.loads(raw)
    assert answer["done"] is True and answer["message"]["content"]


def test_unknown_model_is_404(loopback):
    status, _headers, raw = request(loopback.port, "POST", "/api/generate", {"model": "nope", "prompt": "x"})
    assert status == 404 and "not found" in json.loads(raw)["error"]


def test_missing_body_is_400(loopback):
    assert request(loopback.port, "POST", "/api/generate", "")[0] == 400


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
def test_openai_sse(loopback, path):
    body = {"model": "llama3.2:1b", "stream": True, "prompt": "x", "messages": [{"role": "user", "content": "x"}]}
    status, headers, raw = request(loopback.port, "POST", path, body)
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    events = [line for line in raw.decode("utf-8").split("\n") if line]
    assert all(line.startswith("data: ") for line in events)
    assert events[-1] == "data: [DONE]"
    assert len(events) >= 3
    json.loads(events[0][len("data: "):])
    body["stream"] = False
    status, headers, raw = request(loopback.port, "POST", path, body)
    assert status == 200 and json.loads(raw)["choices"]


def test_embeddings(loopback):
    embed = json.loads(request(loopback.port, "POST", "/api/embed", {"model": "llama3.2:1b", "input": ["a", "b"]})[2])
    assert len(embed["embeddings"]) == 2 and all(isinstance(x, float) for x in embed["embeddings"][0])
    legacy = json.loads(request(loopback.port, "POST", "/api/embeddings", {"model": "llama3.2:1b", "prompt": "a"})[2])
    assert legacy["embedding"] == embed["embeddings"][0]


def test_model_management_is_in_memory(standin):
    server = standin()
    port = server.port

    def names():
        return sorted(m["name"] for m in json.loads(request(port, "GET", "/api/tags")[2])["models"])

    assert request(port, "POST", "/api/pull", {"model": "qwen2", "stream": False})[0] == 200
    assert names() == ["llama3.2:1b", "qwen2:latest"]
    assert request(port, "POST", "/api/copy", {"source": "qwen2", "destination": "mine"})[0] == 200
    assert request(port, "POST", "/api/create", {"model": "made", "from": "qwen2", "stream": False})[0] == 200
    assert names() == ["llama3.2:1b", "made:latest", "mine:latest", "qwen2:latest"]
    assert request(port, "POST", "/api/push", {"model": "mine", "stream": False})[0] == 200
    for name in ("qwen2", "mine", "made:latest"):
        assert request(port, "DELETE", "/api/delete", {"model": name})[0] == 200
    assert request(port, "DELETE", "/api/delete", {"model": "qwen2"})[0] == 404
    assert names() == ["llama3.2:1b"]


def test_blobs(loopback):
    data = b"standin blob"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert request(loopback.port, "HEAD", "/api/blobs/" + digest)[0] == 404
    assert request(loopback.port, "POST", "/api/blobs/" + digest, b"other")[0] == 400
    assert request(loopback.port, "POST", "/api/blobs/" + digest, data)[0] == 201
    assert request(loopback.port, "HEAD", "/api/blobs/" + digest)[0] == 200
    assert request(loopback.port, "HEAD", "/api/blobs/../../etc/passwd")[0] in (301, 404)
    assert request(loopback.port, "POST", "/api/blobs/sha256:bad")[0] == 400


def test_account_endpoints(loopback):
    status, _headers, raw = request(loopback.port, "POST", "/api/me")
    assert status == 200 and "@" in json.loads(raw)["email"]
    assert request(loopback.port, "POST", "/api/signout")[0] == 200


def test_request_size_is_bounded(loopback):
    conn = http.client.HTTPConnection("127.0.0.1", loopback.port, timeout=HTTP_TIMEOUT)
    try:
        conn.putrequest("POST", "/api/generate")
        conn.putheader("Content-Length", str(1 << 40))
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()


def test_keep_alive_with_bodies(loopback):
    conn = http.client.HTTPConnection("127.0.0.1", loopback.port, timeout=HTTP_TIMEOUT)
    try:
        for _ in range(3):
            conn.request("POST", "/api/show", body=json.dumps({"model": "llama3.2:1b"}))
            resp = conn.getresponse()
            assert resp.status == 200 and json.loads(resp.read())
    finally:
        conn.close()


def test_paths_are_cleaned_and_decoded_like_go(loopback):
    status, headers, _body = request(loopback.port, "GET", "/api/../api/tags?x=1")
    assert (status, headers["Location"]) == (301, "/api/tags?x=1")
    status, headers, _body = request(loopback.port, "POST", "/api/pull/")
    assert (status, headers["Location"]) == (307, "/api/pull")
    assert request(loopback.port, "GET", "/api/%74ags")[0] == 200
    assert request(loopback.port, "GET", "/api/%zz")[0] == 400


# ---------------------------------------------------------------- Host and Origin checks
@pytest.mark.parametrize("host,expected", [
    ("evil.example.com", 403), ("evil.example.com:11434", 403), ("8.8.8.8", 403),
    ("localhost:{port}", 200), ("LOCALHOST", 200), ("127.0.0.1:{port}", 200), ("[::1]:{port}", 200),
    ("app.localhost", 200), ("printer.local", 200), ("svc.internal:80", 200),
    ("192.168.1.10", 200), ("10.1.2.3:{port}", 200), ("0.0.0.0", 200), ("{hostname}", 200),
])
def test_host_check_on_loopback(loopback, host, expected):
    host = host.format(port=loopback.port, hostname=socket.gethostname())
    assert request(loopback.port, "GET", "/api/version", headers={"Host": host})[0] == expected


def test_no_host_check_on_wildcard(standin):
    server = standin(OLLAMA_HOST=":0")
    assert request(server.port, "GET", "/", headers={"Host": "evil.example.com"})[0] == 200


@pytest.mark.parametrize("origin,expected", [
    ("https://evil.example.com", 403), ("http://localhost.evil.com", 403), ("null", 403),
    ("http://localhost", 200), ("http://localhost:3000", 200), ("https://127.0.0.1:8443", 200),
    ("app://obsidian.md", 200), ("vscode-webview://abc", 200), ("tauri://localhost", 200),
])
def test_cors_default_origins(loopback, origin, expected):
    status, headers, _body = request(loopback.port, "GET", "/api/tags", headers={"Origin": origin})
    assert status == expected
    if expected == 200:
        assert headers["Access-Control-Allow-Origin"] == origin


def test_cors_same_origin_is_not_cors(loopback):
    headers = {"Origin": "http://evil.example.com:%d" % loopback.port, "Host": "evil.example.com:%d" % loopback.port}
    assert request(loopback.port, "GET", "/", headers=headers)[0] == 403  # Host check still applies


def test_cors_preflight(loopback):
    status, headers, body = request(loopback.port, "OPTIONS", "/api/chat", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
    assert (status, body) == (204, b"")
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in headers["Access-Control-Allow-Headers"]


def test_cors_star_allows_everyone(standin):
    server = standin(OLLAMA_ORIGINS="*")
    status, headers, _body = request(server.port, "GET", "/", headers={"Origin": "https://evil.example.com"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"


def test_cors_extra_origins(standin):
    server = standin(OLLAMA_ORIGINS="https://chat.example.com,https://*.corp.example")
    for origin, expected in (("https://chat.example.com", 200), ("https://a.corp.example", 200),
                             ("https://evil.example.com", 403), ("http://localhost:8080", 200)):
        assert request(server.port, "GET", "/", headers={"Origin": origin})[0] == expected, origin


def test_cors_applies_on_wildcard_too(standin):
    server = standin(OLLAMA_HOST=":0")
    assert request(server.port, "GET", "/", headers={"Origin": "https://evil.example.com"})[0] == 403


def test_stream_survives_client_going_away(loopback):
    with socket.create_connection(("127.0.0.1", loopback.port), timeout=HTTP_TIMEOUT) as sock:
        body = json.dumps({"model": "llama3.2:1b", "prompt": "hi"}).encode()
        sock.sendall(b"POST /api/generate HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
        sock.recv(16)
    time.sleep(0.3)
    assert request(loopback.port, "GET", "/")[0] == 200


def _raw_exchange(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT) as sock:
        sock.sendall(data)
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def test_absolute_form_target_sets_the_host(loopback):
    # Go takes r.Host from an absolute request target, whatever the Host header says.
    evil = b"GET http://evil.example.com/api/version HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    assert _raw_exchange(loopback.port, evil) == 403
    good = b"GET http://localhost/api/version HTTP/1.1\r\nHost: evil.example.com\r\nConnection: close\r\n\r\n"
    assert _raw_exchange(loopback.port, good) == 200


def test_missing_host_header(loopback):
    assert _raw_exchange(loopback.port, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n") == 400
    assert _raw_exchange(loopback.port, b"GET / HTTP/1.0\r\n\r\n") == 200


def test_first_byte_delay(standin):
    server = standin(OLLAMA_STANDIN_DELAY="0.5")
    started = time.time()
    body = {"model": "llama3.2:1b", "prompt": "hi", "stream": False}
    assert request(server.port, "POST", "/api/generate", body)[0] == 200
    assert time.time() - started >= 0.5


# ---------------------------------------------------------------- client address (gin's ClientIP)
def _gin_and_forwarding_lines(server, path, timeout=5.0):
    """The [GIN] line of the last request to `path` and the stand-in's
    test-only forwarding line just after it, or "" when the next line is
    another request's (bounded wait for the output; each test request is
    followed by a /api/tags that closes the record)."""
    assert request(server.port, "GET", "/api/tags")[0] == 200
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = list(server.lines)
        gins = [i for i, line in enumerate(lines) if line.startswith("[GIN]") and line.endswith('"%s"' % path)]
        closed = gins and any(line.endswith('"/api/tags"') for line in lines[gins[-1] + 1:])
        if closed:
            after = lines[gins[-1] + 1]
            return lines[gins[-1]], after if after.startswith("[standin]") else ""
        time.sleep(0.05)
    raise AssertionError("no [GIN] line for %s: %s" % (path, server.lines[-5:]))


@pytest.mark.parametrize("headers, client", [
    ({}, "127.0.0.1"),
    ({"X-Forwarded-For": "203.0.113.7"}, "203.0.113.7"),  # gin trusts every peer upstream
    ({"X-Forwarded-For": "203.0.113.7, 198.51.100.2"}, "203.0.113.7"),
    ({"X-Forwarded-For": "203.0.113.7, junk", "X-Real-IP": "198.51.100.9"}, "198.51.100.9"),
    ({"X-Real-IP": "2001:db8::5"}, "2001:db8::5"),
])
def test_gin_logs_the_client_address_gin_believes(loopback, headers, client):
    path = "/api/version?case=%d" % len(loopback.lines)
    assert request(loopback.port, "GET", path, headers=headers)[0] == 200
    gin, forwarding = _gin_and_forwarding_lines(loopback, path)
    assert "| %15s |" % client in gin, gin
    if headers:
        assert forwarding.startswith("[standin] forwarding headers: %s;" % ",".join(
            name for name in ("X-Forwarded-For", "X-Real-IP") if name in headers)), forwarding
    else:
        assert forwarding == "", forwarding


def test_forwarding_record_names_proxy_headers_without_their_values(loopback):
    path = "/api/version?case=proxy"
    headers = {"Forwarded": "for=203.0.113.7", "Proxy-Authorization": "Basic c2VjcmV0LXZhbHVl"}
    assert request(loopback.port, "GET", path, headers=headers)[0] == 200
    gin, forwarding = _gin_and_forwarding_lines(loopback, path)
    assert "| %15s |" % "127.0.0.1" in gin and forwarding == (
        "[standin] forwarding headers: Forwarded,Proxy-Authorization; X-Forwarded-For=-"), forwarding
    assert "c2VjcmV0LXZhbHVl" not in "\n".join(loopback.lines)


# ---------------------------------------------------------------- cloud (issue 14)
def _cloud_standin(tmp_path, server_json=None, **env):
    """A stand-in whose $HOME is tmp_path (with ~/.ollama/server.json when given)."""
    if server_json is not None:
        (tmp_path / ".ollama").mkdir(exist_ok=True)
        (tmp_path / ".ollama" / "server.json").write_text(server_json)
    return Standin(OLLAMA_HOST="127.0.0.1:0", HOME=str(tmp_path), **env).wait_ready()


@pytest.mark.parametrize("server_json, env, expected", [
    (None, {}, {"disabled": False, "source": "none"}),
    (None, {"OLLAMA_NO_CLOUD": "1"}, {"disabled": True, "source": "env"}),
    (None, {"OLLAMA_NO_CLOUD": "'yes'"}, {"disabled": True, "source": "env"}),  # unparsable: true
    (None, {"OLLAMA_NO_CLOUD": "false"}, {"disabled": False, "source": "none"}),
    ('{"disable_ollama_cloud": true}', {}, {"disabled": True, "source": "config"}),
    ('{"disable_ollama_cloud": true}', {"OLLAMA_NO_CLOUD": "0"}, {"disabled": True, "source": "config"}),
    ('{"disable_ollama_cloud": true}', {"OLLAMA_NO_CLOUD": "1"}, {"disabled": True, "source": "both"}),
    ('{"disable_ollama_cloud": "true"}', {}, {"disabled": False, "source": "none"}),
    ("not json", {}, {"disabled": False, "source": "none"}),
])
def test_status_follows_env_and_server_json(tmp_path, server_json, env, expected):
    server = _cloud_standin(tmp_path, server_json, **env)
    try:
        status, headers, raw = request(server.port, "GET", "/api/status")
        assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
        assert json.loads(raw) == {"cloud": expected}
    finally:
        server.stop()


def test_cloud_disabled_refuses_cloud_routes_but_not_the_account_routes(tmp_path):
    server = _cloud_standin(tmp_path, OLLAMA_NO_CLOUD="1")
    try:
        for path, operation in (("/api/experimental/web_search", "web search is unavailable"),
                                ("/api/experimental/web_fetch", "web fetch is unavailable")):
            status, _h, raw = request(server.port, "POST", path, {"query": "x", "url": "https://example.test/"})
            assert (status, json.loads(raw)) == (403, {"error": "ollama cloud is disabled: " + operation})
        status, _h, raw = request(server.port, "POST", "/api/chat", {
            "model": "gpt-oss:20b-cloud", "messages": [{"role": "user", "content": "hi"}], "stream": False})
        assert (status, json.loads(raw)) == (403, {"error": "ollama cloud is disabled: remote model is unavailable"})
        # Upstream's /api/me and signout do not check the setting.
        assert request(server.port, "POST", "/api/me")[0] == 200
        assert request(server.port, "POST", "/api/signout")[0] == 200
        # Local models still answer.
        assert request(server.port, "POST", "/api/chat", {
            "model": "llama3.2:1b", "messages": [{"role": "user", "content": "hi"}], "stream": False})[0] == 200
    finally:
        server.stop()


def test_cloud_on_serves_cloud_routes(tmp_path):
    server = _cloud_standin(tmp_path)
    try:
        assert request(server.port, "POST", "/api/experimental/web_search", {"query": "x"})[0] == 200
        status, _h, raw = request(server.port, "POST", "/api/chat", {
            "model": "gpt-oss:20b-cloud", "messages": [{"role": "user", "content": "hi"}], "stream": False})
        assert status == 200 and json.loads(raw)["model"] == "gpt-oss:20b-cloud"
    finally:
        server.stop()


@pytest.mark.parametrize("version, present", [
    ("0.11.10", set()),
    ("0.12.0", {"/api/me"}),
    ("0.16.1", {"/api/me", "/api/signout"}),
    ("0.16.2", {"/api/me", "/api/signout", "/api/status"}),
    ("0.18.0", {"/api/me", "/api/signout", "/api/status", "/api/experimental/web_search"}),
])
def test_cloud_routes_follow_the_version(tmp_path, version, present):
    # Before 0.16.2 nothing turns cloud off: OLLAMA_NO_CLOUD is ignored.
    server = _cloud_standin(tmp_path, OLLAMA_STANDIN_VERSION=version, OLLAMA_NO_CLOUD="1")
    try:
        found = set()
        for method, path in (("POST", "/api/me"), ("POST", "/api/signout"), ("GET", "/api/status"),
                             ("POST", "/api/experimental/web_search")):
            status = request(server.port, method, path, {"query": "x"} if method == "POST" else None)[0]
            assert status in (200, 403, 404), (path, status)
            if status != 404:
                found.add(path)
        assert found == present
        chat = request(server.port, "POST", "/api/chat", {
            "model": "gpt-oss:20b-cloud", "messages": [{"role": "user", "content": "hi"}], "stream": False})[0]
        assert chat == {"0.11.10": 404, "0.12.0": 200, "0.16.1": 200}.get(version, 403)
    finally:
        server.stop()


def test_the_output_names_no_credential_it_was_sent(standin):
    """Bearer keys, a Basic password and a body holding both, on open and
    unknown routes: the stand-in's whole output (log and [GIN] lines) names
    none of them, and it did log the requests."""
    import base64
    key, password = "sk-ollama-standin-secret-4Tq9Wm2Zr7", "pw-ollama-standin-secret-8Lx3Hd6Ks1"
    basic = base64.b64encode(("u:" + password).encode()).decode()
    server = standin(OLLAMA_API_KEY=key)
    for headers in ({"Authorization": "Bearer " + key}, {"Authorization": "Basic " + basic}, {"X-Api-Key": key}):
        request(server.port, "GET", "/api/tags", headers=headers)
        request(server.port, "POST", "/api/show", {"model": "llama3.2:1b", "api_key": key, "password": password},
                headers)
        request(server.port, "GET", "/no/such/route", headers=headers)
    server.stop()
    for secret in (key, password, basic):
        assert secret not in server.stderr
    assert '"/api/tags"' in server.stderr and '"/api/show"' in server.stderr, server.stderr
