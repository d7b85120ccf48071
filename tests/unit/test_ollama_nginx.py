# -*- coding: utf-8 -*-
"""module_utils/ollama_nginx.py: nginx's configuration as the doors read
needs it (issue 26) - server blocks, listen, proxy_pass, auth - on the files
an operator's Debian host really has (tests/unit/data/nginx-debian12)."""

import fnmatch
import os

import pytest

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


# -- Cases nginx -t accepts (or refuses) that the read must get right --------------------
# Semantics from nginx's documentation and source (nginx.org/en/docs/http/
# ngx_http_core_module.html#listen, #satisfy; ngx_http_auth_basic_module.html;
# ngx_http_access_module.html; src/core/ngx_conf_file.c), each checked by
# hand with Debian 12's nginx 1.22.1 (the front image's): `nginx -t` refuses
# a listen twice in one server ("a duplicate listen 0.0.0.0:80") and two
# default_server ("a duplicate default server"), accepts the rest; running,
# `auth_basic Off` answers 401, `satisfy any; allow all` (server or location)
# passes without credentials, a location's `auth_basic off` passes, and on
# one port the default_server answers 401 by address while the other server
# answers 200 for its server_name.

TWO_ON_80 = """server {
    listen 80 default_server;
    listen [::]:80 default_server;
    server_name _;
    auth_basic "Ollama";
    auth_basic_user_file /etc/nginx/ollama.htpasswd;
    location / { proxy_pass http://127.0.0.1:11434; }
}
server {
    listen 80;
    listen 80;
    server_name ollama.example.com;
    location / { proxy_pass http://127.0.0.1:11434; }
}
"""


def test_one_port_in_two_servers_names_the_default_and_the_host_name_way_in():
    """Two servers on :80 are one socket; the default_server answers a request
    by address (a scanner's), the other one a request for its server_name:
    both are reported, each with where it answers. A listen twice in one
    server (nginx -t: "a duplicate listen 0.0.0.0:80") is read once. The
    Debian default site's default_server is not in this lab (sites-enabled
    holds only this site)."""
    files = debian(**{"/etc/nginx/sites-enabled/ollama": TWO_ON_80})
    del files["/etc/nginx/sites-enabled/default"]
    found, _files, problems = read(files)
    assert problems == []
    assert [(p["auth"], p["server_names"], p["default_ports"], [(s["address"], s["port"]) for s in p["listen"]])
            for p in found] == [
        (True, ["_"], [80], [("0.0.0.0", 80), ("::", 80)]),
        (False, ["ollama.example.com"], [], [("0.0.0.0", 80)])]


def test_without_default_server_the_first_server_on_a_port_is_the_default():
    site = TWO_ON_80.replace(" default_server", "")
    files = debian(**{"/etc/nginx/sites-enabled/ollama": site})
    del files["/etc/nginx/sites-enabled/default"]
    found = read(files)[0]
    assert [p["default_ports"] for p in found] == [[80], []]
    # With Debian's default site first (its listen 80 default_server), neither is.
    found = read(debian(**{"/etc/nginx/sites-enabled/ollama": site}))[0]
    assert [p["default_ports"] for p in found] == [[], []]


@pytest.mark.parametrize("http, server, location, asks", [
    # server on, location off: that location is open (a lower level replaces the upper one)
    ("", 'auth_basic "Ollama";', "auth_basic off;", False),
    # http on, server off: every location of that server is open
    ('auth_basic "all";', "auth_basic off;", "", False),
    # http off, server on
    ("auth_basic off;", 'auth_basic "Ollama";', "", True),
    # a realm named "Off" asks: nginx compares with "off" exactly (ngx_strncmp)
    ("", 'auth_basic "Off";', "", True),
    ("", "auth_basic Off;", "", True),
    # a quoted "off" is off (the directive's value, after quoting)
    ("", 'auth_basic "off";', "", False),
    # auth_request: only "off" switches it off, too
    ("", "auth_request /auth;", "auth_request off;", False),
    ("", "auth_request /auth;", "", True),
    # satisfy any with allow all: the access module lets everyone in without credentials
    ("", 'auth_basic "Ollama"; satisfy any; allow all;', "", False),
    ("satisfy any;", 'auth_basic "Ollama";', "allow all;", False),
    # ... unless a deny all comes first, or satisfy is all (the default)
    ("", 'auth_basic "Ollama"; satisfy any; deny all; allow all;', "", True),
    ("", 'auth_basic "Ollama"; allow all;', "", True),
    # satisfy any, allow for one network only: everyone else must still log in
    ("", 'auth_basic "Ollama"; satisfy any; allow 10.0.0.0/8; deny all;', "", True),
    # a location's own rules replace the server's (allow all there, satisfy any from the server)
    ("", 'auth_basic "Ollama"; satisfy any; allow 10.0.0.0/8;', "allow all;", False),
    # ssl_verify_client is an enum, matched in any case
    ("", "ssl_verify_client ON;", "", True),
    ("", "ssl_verify_client OPTIONAL;", "", False),
])
def test_auth_at_two_levels(http, server, location, asks):
    main = open(os.path.join(DATA, "nginx.conf")).read().replace("http {", "http {\n\t%s" % http, 1)
    site = "server {\n    listen 8080;\n    %s\n    location / {\n        %s\n        proxy_pass http://127.0.0.1:11434;\n    }\n}\n" % (
        server, location)
    [proxy] = read(debian(**{"/etc/nginx/nginx.conf": main, "/etc/nginx/sites-enabled/o": site}))[0]
    assert proxy["auth"] is asks


def test_a_port_another_process_owns_is_not_nginx_s_door():
    """nginx's configuration names :8080 but the socket there is socat's
    (nginx was not reloaded, or another process took the port): given the
    sockets nginx owns, only its own ports are its doors."""
    site = OPEN_SITE + "server {\n    listen 8080;\n    location / { proxy_pass http://127.0.0.1:11434; }\n}\n"
    files = debian(**{"/etc/nginx/sites-enabled/ollama": site})
    tree = parse_config("/etc/nginx/nginx.conf", files.get, lambda p: [f for f in files if fnmatch.fnmatch(f, p)])[0]
    assert sorted(p["listen"][0]["port"] for p in proxies(tree)) == [80, 8080]  # not told: every server
    nginx_sockets = [{"address": "0.0.0.0", "port": 80}, {"address": "::", "port": 80}]
    [proxy] = proxies(tree, nginx_sockets)
    assert [s["port"] for s in proxy["listen"]] == [80, 80] and proxy["server_names"] == ["ollama.example.com"]
    assert proxies(tree, []) == []


def test_the_host_read_names_socat_not_nginx_for_the_port_socat_owns(monkeypatch):
    from library import ollama_info
    from ansible_collections.ollama_toolkit.exposure.plugins.module_utils import ollama_nginx
    site = ("http {\n  server {\n    listen 80;\n    location / { proxy_pass http://127.0.0.1:11434; }\n  }\n"
            "  server {\n    listen 8080;\n    location / { proxy_pass http://127.0.0.1:11434; }\n  }\n}\n")
    monkeypatch.setattr(ollama_info, "read_text", lambda path, binary=False: site if path == ollama_nginx.MAIN
                        else None)
    auditor = ollama_info.Auditor.__new__(ollama_info.Auditor)
    auditor.warnings = []
    wide = {"address": "0.0.0.0", "family": "ipv4", "scope": "wildcard"}
    auditor.others = [dict(wide, port=80, pid=10, kind="nginx"), dict(wide, port=8080, pid=30, kind="socat")]
    owners = {10: {"comm": "nginx", "argv": ["nginx: master process /usr/sbin/nginx"], "unit": "nginx.service",
                   "kind": "nginx"},
              30: {"comm": "socat", "unit": None, "kind": "socat",
                   "argv": ["socat", "TCP-LISTEN:8080,fork", "TCP:127.0.0.1:11434"]}}
    monkeypatch.setattr(auditor, "unit_exec", lambda unit: (None, None), raising=False)
    found = auditor.forwarders(owners, [], [], [], [])
    assert sorted((f["kind"], [s["port"] for s in f["listen"]]) for f in found) == [
        ("nginx", [80]), ("socat", [8080])]


def test_an_include_loop_is_read_once_and_reported():
    """a.conf includes b.conf, which includes a.conf again: nginx has no
    loop check (nginx -t of 1.22.1 recurses until it dies of SIGSEGV); the
    read takes each file once on the include path, says so, and does not
    count a server twice."""
    files = debian(**{"/etc/nginx/conf.d/a.conf": "include /etc/nginx/loop/b.conf;\n" + OPEN_SITE,
                      "/etc/nginx/loop/b.conf": "include /etc/nginx/conf.d/a.conf;\n"})
    found, read_files, problems = read(files)
    assert len(found) == 1
    assert read_files.count("/etc/nginx/conf.d/a.conf") == 1
    assert problems == ["/etc/nginx/conf.d/a.conf: include loop (/etc/nginx/nginx.conf -> /etc/nginx/conf.d/a.conf"
                        " -> /etc/nginx/loop/b.conf -> /etc/nginx/conf.d/a.conf), not read again"]
    # A file included twice, not in a loop, is read twice, as nginx does (its servers count twice).
    files = debian(**{"/etc/nginx/conf.d/a.conf": "include /etc/nginx/snip.conf;\ninclude /etc/nginx/snip.conf;\n",
                      "/etc/nginx/snip.conf": "# nothing\n"})
    assert read(files)[1].count("/etc/nginx/snip.conf") == 2 and read(files)[2] == []


def test_include_globs_are_read_in_sorted_order_and_relative_to_the_main_file():
    """glob(3) sorts its matches (nginx's ngx_read_glob walks them in that
    order); a relative pattern is under nginx.conf's directory; a glob that
    matches nothing is no problem."""
    main = open(os.path.join(DATA, "nginx.conf")).read().replace(
        "include /etc/nginx/sites-enabled/*;", "include sites-enabled/*;\n\tinclude extra/*.conf;")
    files = debian(**{"/etc/nginx/nginx.conf": main,
                      "/etc/nginx/sites-enabled/b": OPEN_SITE.replace("listen 80;", "listen 8082;"),
                      "/etc/nginx/sites-enabled/a": OPEN_SITE.replace("listen 80;", "listen 8081;")})
    found, read_files, problems = read(files)
    assert problems == []
    assert read_files.index("/etc/nginx/sites-enabled/a") < read_files.index("/etc/nginx/sites-enabled/b")
    assert [p["listen"][0]["port"] for p in found] == [8081, 8082]


def test_comments_and_quoted_strings_hold_semicolons_and_braces():
    site = r"""server { # a comment with ; and { and }
    listen 8080; # listen 9090;
    set $x "a;b{c}";
    add_header X-B "a \" ; { quote";
    location ~ "^/api/(tags|chat){1}$" {   # a regex with braces, quoted
        proxy_pass http://127.0.0.1:11434;   # } not the end
    }
    location /x#y { proxy_pass http://127.0.0.1:11435; }
}
"""
    found, _files, problems = read(debian(**{"/etc/nginx/sites-enabled/q": site}))
    assert problems == []
    assert [(p["path"], p["line"], p["upstream"][0]["port"]) for p in found] == [
        ('~ ^/api/(tags|chat){1}$', 6, 11434), ("/x#y", 8, 11435)]
    assert [s["port"] for s in found[0]["listen"]] == [8080]
    assert tokenize(r'add_header X "a \" ; {";')[2] == ('a " ; {', 1, True)
