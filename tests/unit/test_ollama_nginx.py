# -*- coding: utf-8 -*-
"""module_utils/ollama_nginx.py: nginx's configuration as the doors read
needs it (issue 26) - server blocks, listen, proxy_pass, auth - on the files
an operator's Debian host really has (tests/unit/data/nginx-debian12)."""

import fnmatch
import os

from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_nginx import (
    parse_config, parse_listen, parse_upstream_url, proxies, tokenize)

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "nginx-debian12")


def debian(**extra):
    """A Debian 12 /etc/nginx: its nginx.conf, sites-enabled/default and mime.types, plus ``extra`` files."""
    with open(os.path.join(DATA, "nginx.conf")) as handle:
        main = handle.read()
    with open(os.path.join(DATA, "default")) as handle:
        default = handle.read()
    files = {"/etc/nginx/nginx.conf": main, "/etc/nginx/sites-enabled/default": default,
             "/etc/nginx/mime.types": "types {\n    text/html html htm;\n}\n",
             "/etc/nginx/modules-enabled/50-mod-http-js.conf": "load_module modules/ngx_http_js_module.so;\n"}
    files.update(extra)
    return files


def read(files):
    tree, read_files, problems = parse_config("/etc/nginx/nginx.conf", files.get,
                                              lambda pattern: [p for p in files if fnmatch.fnmatch(p, pattern)])
    return proxies(tree), read_files, problems


OPEN_SITE = """# nginx in front of Ollama for remote use
server {
    listen 80;
    listen [::]:80;
    server_name ollama.example.com;

    location / {
        proxy_pass http://127.0.0.1:11434;
        proxy_set_header Host localhost:11434;
    }
}
"""


def test_debian_s_default_site_passes_nothing_on():
    found, read_files, problems = read(debian())
    assert found == [] and problems == []
    assert "/etc/nginx/sites-enabled/default" in read_files


def test_a_site_proxying_to_ollama_without_auth_is_found_with_its_line():
    files = debian(**{"/etc/nginx/sites-enabled/ollama": OPEN_SITE})
    [proxy], _files, problems = read(files)
    assert problems == []
    assert proxy["upstream"] == [{"host": "127.0.0.1", "port": 11434}]
    assert proxy["auth"] is False
    assert (proxy["file"], proxy["line"]) == ("/etc/nginx/sites-enabled/ollama", 8)
    assert [(s["address"], s["port"], s["family"]) for s in proxy["listen"]] == [
        ("0.0.0.0", 80, "ipv4"), ("::", 80, "ipv6")]


def test_auth_at_server_level_holds_except_where_a_location_switches_it_off():
    site = """
upstream ollama {
    server 127.0.0.1:11434 max_fails=3;   # the local Ollama
}
server {
    listen 443 ssl default_server;
    ssl_certificate /etc/ssl/ollama.pem;
    auth_basic "Ollama";
    auth_basic_user_file /etc/nginx/ollama.htpasswd;

    location / {
        proxy_pass http://ollama;
    }
    location = /api/version {
        auth_basic off;
        proxy_pass http://ollama;
    }
    location /api/ {
        location /api/tags {
            proxy_pass http://ollama;   # nested: inherits the server's auth
        }
    }
}
"""
    found, _files, _problems = read(debian(**{"/etc/nginx/conf.d/ollama.conf": site}))
    by_path = dict((p["path"], p) for p in found)
    assert sorted(by_path) == ["/", "/api/tags", "= /api/version"]
    assert by_path["/"]["auth"] is True and by_path["/api/tags"]["auth"] is True
    assert by_path["= /api/version"]["auth"] is False
    assert by_path["/"]["upstream"] == [{"host": "127.0.0.1", "port": 11434}]
    assert by_path["/"]["listen"] == [{"address": "0.0.0.0", "port": 443, "family": "ipv4"}]


def test_auth_request_mtls_and_http_level_auth_count():
    site = """
server { listen 8081; location / { auth_request /auth; proxy_pass http://localhost:11434/; } }
server { listen 8082 ssl; ssl_verify_client on; location / { proxy_pass http://[::1]:11434; } }
server { listen 8083 ssl; ssl_verify_client optional; location / { proxy_pass http://127.0.0.1:11434; } }
"""
    main = open(os.path.join(DATA, "nginx.conf")).read().replace("http {", "http {\n\tauth_basic \"all\";", 1)
    found, _files, _problems = read(debian(**{"/etc/nginx/sites-enabled/x": site}))
    assert [(p["listen"][0]["port"], p["auth"]) for p in found] == [(8081, True), (8082, True), (8083, False)]
    assert found[1]["upstream"] == [{"host": "::1", "port": 11434}]
    found, _files, _problems = read(debian(**{"/etc/nginx/nginx.conf": main, "/etc/nginx/sites-enabled/x": site}))
    assert [p["auth"] for p in found] == [True, True, True]


def test_include_globs_comments_and_quotes():
    site = """server {
    listen 127.0.0.1:8080; # loopback only
    # location /old { proxy_pass http://127.0.0.1:9999; }
    location "/with space" {
        add_header X-Note "a } brace; and a # hash";
        proxy_pass 'http://127.0.0.1:11434';
    }
}
"""
    found, read_files, problems = read(debian(**{"/etc/nginx/sites-enabled/b": site,
                                                 "/etc/nginx/conf.d/a.conf": "# empty\n"}))
    assert problems == []
    assert "/etc/nginx/conf.d/a.conf" in read_files and "/etc/nginx/sites-enabled/b" in read_files
    [proxy] = found
    assert proxy["path"] == "/with space" and proxy["line"] == 6
    assert proxy["listen"] == [{"address": "127.0.0.1", "port": 8080, "family": "ipv4"}]


def test_a_missing_include_is_a_problem_not_a_failure():
    main = open(os.path.join(DATA, "nginx.conf")).read().replace(
        "include /etc/nginx/sites-enabled/*;", "include /etc/nginx/sites-enabled/*;\n\tinclude /etc/nginx/gone.conf;")
    found, _files, problems = read(debian(**{"/etc/nginx/nginx.conf": main,
                                             "/etc/nginx/sites-enabled/ollama": OPEN_SITE}))
    assert problems == ["cannot read /etc/nginx/gone.conf"]
    assert len(found) == 1
    assert read({})[2] == ["cannot read /etc/nginx/nginx.conf"]


def test_a_stream_server_forwards_tcp():
    main = open(os.path.join(DATA, "nginx.conf")).read() + \
        "\nstream {\n    server {\n        listen 9000;\n        proxy_pass 127.0.0.1:11434;\n    }\n}\n"
    [proxy] = read(debian(**{"/etc/nginx/nginx.conf": main}))[0]
    assert proxy["stream"] and proxy["upstream"] == [{"host": "127.0.0.1", "port": 11434}]
    assert proxy["auth"] is False and proxy["listen"][0]["port"] == 9000


def test_a_server_without_listen_listens_on_80():
    [proxy] = read(debian(**{"/etc/nginx/sites-enabled/c": "server { location / { proxy_pass http://127.0.0.1:11434; } }"}))[0]
    assert proxy["listen"] == [{"address": "0.0.0.0", "port": 80, "family": "ipv4"}]


def test_listen_and_upstream_forms():
    assert parse_listen("80") == {"address": "0.0.0.0", "port": 80, "family": "ipv4"}
    assert parse_listen("[::]:8443") == {"address": "::", "port": 8443, "family": "ipv6"}
    assert parse_listen("*:8080")["address"] == "0.0.0.0"
    assert parse_listen("localhost:81") == {"address": "127.0.0.1", "port": 81, "family": "ipv4"}
    assert parse_listen("10.0.0.5") == {"address": "10.0.0.5", "port": 80, "family": "ipv4"}
    assert parse_listen("unix:/run/x.sock") is None
    assert parse_upstream_url("https://10.0.0.9/v1/", {}) == [{"host": "10.0.0.9", "port": 443}]
    assert parse_upstream_url("http://$backend", {}) == []
    assert parse_upstream_url("http://up/api", {"up": [{"host": "127.0.0.1", "port": 8000}]}) == [
        {"host": "127.0.0.1", "port": 8000}]


def test_unbalanced_braces_are_reported():
    files = debian(**{"/etc/nginx/sites-enabled/bad": "server { listen 80; location / { proxy_pass http://127.0.0.1:11434;"})
    _found, _files, problems = read(files)
    assert any("not closed" in p for p in problems)
    assert tokenize('a "b;c" d;')[1] == ("b;c", 1, True)
    assert [t for t, _line, _q in tokenize("proxy_pass http://${backend}:11434/;")] == [
        "proxy_pass", "http://${backend}:11434/", ";"]


# The toolkit's own front (roles/ollama_front/templates/ollama-front.conf.j2,
# as rendered on a Debian host): a map with braces in its quoted regexes,
# auth_basic from a variable at server level, limit_except, and auth_basic
# off only in its internal refusal locations.
FRONT = r"""
map $ollama_front_bearer_name $ollama_front_realm {
    ""      "Ollama";
    default off;
}
map "$ollama_front_rate_exempt:$ollama_front_bearer_name:$http_authorization" $ollama_front_cred_key {
    "~^1:"                                                      "";
    "~^0::[Bb][Aa][Ss][Ii][Cc] +(?<b>(?:[A-Za-z0-9+/]{4}){1,256})(?:=|\z)" "basic:$b";
    default                                                     "other";
}
upstream ollama_front_upstream {
    zone ollama_front_upstream 64k;
    server 127.0.0.1:11434 max_conns=8;
    keepalive 16;
}
server {
    listen 0.0.0.0:11443 ssl;
    listen [::]:11443 ssl;
    auth_basic $ollama_front_realm;
    auth_basic_user_file /etc/ollama-front/users.htpasswd;
    location = /api/generate {
        limit_except POST {
            deny all;
        }
        proxy_pass http://ollama_front_upstream;
    }
    location = /api/pull {
        limit_except POST {
            deny all;
        }
        auth_basic_user_file /etc/ollama-front/admins.htpasswd;
        proxy_pass http://ollama_front_upstream;
    }
    location = /.ollama-front/401 {
        internal;
        auth_basic off;
        deny all;
        error_page 403 = @ollama_front_401;
    }
}
"""


def test_the_toolkit_s_front_asks_for_credentials_on_every_proxy():
    found, _files, problems = read(debian(**{"/etc/nginx/conf.d/ollama-front.conf": FRONT}))
    assert problems == []
    assert [(p["path"], p["auth"], p["upstream"]) for p in found] == [
        ("= /api/generate", True, [{"host": "127.0.0.1", "port": 11434}]),
        ("= /api/pull", True, [{"host": "127.0.0.1", "port": 11434}])]
    assert [s["port"] for s in found[0]["listen"]] == [11443, 11443]
