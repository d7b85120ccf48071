# -*- coding: utf-8 -*-
"""The front's cloud-model and web-search check (roles/ollama_front/templates/
cloud-models.js.j2), run by node: the same file nginx's njs runs.

Every body is given as the raw text a client sends (escapes, duplicate keys
and odd whitespace included). Expected verdicts follow upstream's
internal/modelref and handlers (ollama/ollama fb30760): 403 refused, 400 not
one JSON value, None passed on to Ollama."""

import json
import os
import shutil
import subprocess

import jinja2
import pytest

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TEMPLATE = os.path.join(REPO, "roles", "ollama_front", "templates", "cloud-models.js.j2")
NODE = shutil.which("node") or shutil.which("nodejs")

# Calls check(r), the njs entry point, with a stand-in for nginx's request
# object, for each [text, path, allowed] read on stdin; prints one verdict
# each: null (sent on to @ollama_front_proxy) or {code, message}.
DRIVER = r"""
import front from %s;
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
    const out = JSON.parse(input).map(([text, path, allowed]) => {
        let verdict;
        const r = {
            uri: path, requestText: text, headersOut: {},
            variables: {ollama_front_cloud_allowed: allowed ? '1' : '0'},
            return(code, body) {
                verdict = {code: code, message: JSON.parse(body).error, type: r.headersOut['Content-Type']};
            },
            internalRedirect(to) { verdict = to === '@ollama_front_proxy' ? null : {code: 0, message: to}; },
        };
        front.check(r);
        return verdict === undefined ? {code: -1, message: 'no answer'} : verdict;
    });
    process.stdout.write(JSON.stringify(out));
});
"""

CLOUD = "gpt-oss:120b-cloud"
CHAT = "/api/chat"

# (raw body, path, expected code or None)
REFUSED = [
    # The issue's bodies: JSON.parse keeps the null, Go the first value.
    ('{"model":"gpt-oss:120b-cloud","model":null}', CHAT, 403),
    ('{"model":null,"model":"gpt-oss:120b-cloud"}', CHAT, 403),
    ('{"model":"llama3.2:1b","model":"gpt-oss:120b-cloud"}', CHAT, 403),
    # modelref trims the text after the last ":" with Go's TrimSpace.
    ('{"model":"glm-4.6: cloud"}', CHAT, 403),
    ('{"model":"glm-4.6:\\tcloud"}', CHAT, 403),
    ('{"model":"glm-4.6:\\u00a0cloud"}', CHAT, 403),
    ('{"model":"glm-4.6:\u00a0cloud"}', CHAT, 403),  # the raw character
    ('{"model":"glm-4.6:cloud\\u3000"}', CHAT, 403),
    ('{"model":"glm-4.6:\\u2028cloud\\u2009"}', CHAT, 403),
    ('{"model":"glm-4.6:\\u000bcloud"}', CHAT, 403),
    # U+0085: Go's TrimSpace removes it, JavaScript's trim() does not.
    ('{"model":"gpt-oss:120b-cloud\\u0085"}', CHAT, 403),
    ('{"model":"gpt-oss:120b-cloud\u0085"}', CHAT, 403),
    ('{"model":"\\u0085 gpt-oss:120b-cloud \\n"}', CHAT, 403),
    # Field names in any case, escaped spellings, Go's folding, duplicates.
    ('{"MODEL":"gpt-oss:120b-cloud"}', CHAT, 403),
    ('{"mOdEl":"glm-4.6:cloud"}', CHAT, 403),
    ('{"model":"llama3.2:1b","mod\\u0065l":"gpt-oss:120b-cloud"}', CHAT, 403),
    ('{"mod\\u0065l":"llama3.2:1b","MODEL":"llama3.2:1b"}', CHAT, 403),
    ('{"\\u006d\\u006f\\u0064\\u0065\\u006c":"gpt-oss:120b-cloud"}', CHAT, 403),
    ('{"name":"glm-4.6:cloud"}', "/api/show", 403),
    ('{"model":"llama3.2:1b","NAME":"glm-4.6:cloud"}', "/api/show", 403),
    ('{"name":"llama3.2:1b","Name":"llama3.2:1b"}', "/api/show", 403),
    # Present and not a string.
    ('{"model":null}', CHAT, 403),
    ('{"model":["gpt-oss:120b-cloud"]}', CHAT, 403),
    ('{"model":{"x":1}}', CHAT, 403),
    ('{"model":7}', CHAT, 403),
    ('{"model":true}', CHAT, 403),
    # Upstream's cloud names, in any case and on every JSON route.
    ('{"model":"gpt-oss:120b-cloud"}', "/api/generate", 403),
    ('{"model":"GPT-OSS:120B-CLOUD"}', "/v1/chat/completions", 403),
    ('{"model":"gpt-oss:20b:cloud"}', "/v1/completions", 403),
    ('{"model":"glm-4.6:Cloud"}', "/api/embed", 403),
    ('{"model":"registry.ollama.ai/library/gpt-oss:120b-cloud"}', "/v1/embeddings", 403),
    ('{"model":"qwen3-coder:480b-cloud","stream":true}', "/v1/messages", 403),
    ('{"model":"glm-4.6:cloud","input":"hi"}', "/v1/responses", 403),
    # Upstream errors on two sources (no cloud call); the front refuses when one is cloud.
    ('{"model":"gpt-oss:20b:local:cloud"}', CHAT, 403),
    ('{"model":"gpt-oss:20b:cloud:local"}', CHAT, 403),
    # Kept from the front's earlier rule: a cloud name with ":latest".
    ('{"model":"kimi-k2:1t-cloud:latest"}', CHAT, 403),
    # Web search tools on the routes where the server runs the search itself.
    ('{"model":"llama3.2:1b","tools":[{"type":"web_search_20250305","name":"web_search"}]}', "/v1/messages", 403),
    ('{"model":"llama3.2:1b","tools":[{"type":"web_search"}],"input":"hi"}', "/v1/responses", 403),
    ('{"model":"llama3.2:1b","tools":[{"type":" web_search\\u0085"}]}', "/v1/responses", 403),
    ('{"model":"llama3.2:1b","tools":[{"type":"web\\u005fsearch"}]}', "/v1/responses", 403),
    ('{"model":"llama3.2:1b","tools":[{"TYPE":"web_search"}]}', "/v1/responses", 403),
    ('{"model":"llama3.2:1b","tools":[{"type":"web_search","type":"function"}]}', "/v1/responses", 403),
    ('{"model":"llama3.2:1b","tools":[{"type":"function","type":null}]}', "/v1/responses", 403),
    ('{"model":"llama3.2:1b","tools":[{"type":"custom","name":"a"},{"type":"web_search_20250305"}]}',
     "/v1/messages", 403),
    ('{"model":"llama3.2:1b","tools":[],"Tools":[{"type":"web_search"}]}', "/v1/responses", 403),
    ('{"model":"llama3.2:1b","tools":[{"type":"web_search"}],"tools":null}', "/v1/messages", 403),
    # Go folds U+017F (long s) to "S": "toolſ" is "tools" to encoding/json.
    ('{"model":"llama3.2:1b","tool\u017f":[{"type":"web_search"}]}', "/v1/responses", 403),
    ('{"model":"llama3.2:1b","tool\\u017f":[{"type":"web_search"}]}', "/v1/messages", 403),
    # Not one JSON value: Go reads the first and ignores the rest.
    ('{"model":"llama3.2:1b"} {"model":"gpt-oss:120b-cloud"}', CHAT, 400),
    ('{"model":"glm-4.6:\tcloud"}', CHAT, 400),  # a raw tab in a string is not JSON (Go agrees)
    ('{"model":"llama3.2:1b"', CHAT, 400),
]

PASSED = [
    ('{"model":"llama3.2:1b","messages":[{"role":"user","content":"hi"}]}', CHAT),
    ('{"model":"llama3.2"}', "/api/generate"),
    ('{"model":"my-cloud-model"}', CHAT),  # modelref: a bare name is not explicit cloud
    ('{"model":"cloud"}', CHAT),
    ('{"model":"cloud:7b"}', CHAT),
    ('{"model":"cloudy-llama:7b-q4"}', CHAT),
    ('{"model":"x:cloud-7b"}', CHAT),
    ('{"model":"gpt-oss:120b-cloud-q4"}', CHAT),
    ('{"model":"x:7b-cloudy"}', CHAT),
    ('{"model":"foo:bar-cloud/baz"}', CHAT),  # a "/" in the suffix blocks the legacy form
    ('{"model":"registry.example.com:5000/cloud"}', CHAT),
    ('{"model":"qwen3:8b:local"}', CHAT),
    ('{"model":"my-cloud:latest"}', CHAT),
    ('{"model":"llama3.2:1b","name":"llama3.2:1b"}', "/api/show"),
    ('{"model":" llama3.2:1b "}', CHAT),
    # Cloud names anywhere but a top-level model/name are not read by Ollama.
    ('{"model":"llama3.2:1b","messages":[{"role":"user","content":"x","model":"gpt-oss:120b-cloud"}]}', CHAT),
    ('{"model":"llama3.2:1b","options":{"model":null,"name":"glm-4.6:cloud"}}', CHAT),
    ('{"prompt":"say \\"model\\": \\"glm-4.6:cloud\\" \\\\","model":"llama3.2:1b"}', "/api/generate"),
    ('{"prompt":"ends in a backslash \\\\","model":"llama3.2:1b","x":[1,2,{"a":"}"}]}', "/api/generate"),
    ('  {"model" : "llama3.2:1b" , "stream" : false }  ', CHAT),
    ('{}', CHAT),
    ('[]', CHAT),
    ('"text"', CHAT),
    # Tools the server does not run itself.
    ('{"model":"llama3.2:1b","tools":[{"type":"custom","name":"lookup","input_schema":{}}]}', "/v1/messages"),
    ('{"model":"llama3.2:1b","tools":[{"type":"function","name":"web_search","parameters":{}}]}', "/v1/responses"),
    ('{"model":"llama3.2:1b","tools":[{"name":"a","input_schema":{"properties":{"type":{"type":"string"}}}}]}',
     "/v1/messages"),
    ('{"model":"llama3.2:1b","tools":null}', "/v1/responses"),
    # /api/chat and /v1/chat/completions run no search: a web_search call goes back to the client.
    ('{"model":"llama3.2:1b","tools":[{"type":"web_search"}]}', CHAT),
    ('{"model":"llama3.2:1b","tools":[{"type":"function","function":{"name":"web_search"}}]}', "/v1/chat/completions"),
]


@pytest.fixture(scope="module")
def module(tmp_path_factory):
    """The template rendered (only ansible_managed in it) as an ES module."""
    assert NODE, "node is missing: scripts/ensure-host.sh installs Debian's nodejs (make host)"
    with open(TEMPLATE) as handle:
        text = jinja2.Template(handle.read(), keep_trailing_newline=True).render(ansible_managed="test")
    path = tmp_path_factory.mktemp("front-js") / "cloud-models.mjs"
    path.write_text(text)
    return path


def inspect(module, bodies, allowed=False):
    """The verdict of check() on each [text, path] for a user (an admin with `allowed`)."""
    driver = DRIVER % json.dumps(module.as_uri())
    out = subprocess.run([NODE, "--input-type=module", "-e", driver], input=json.dumps([b + [allowed] for b in bodies]),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_every_hostile_body_is_refused(module):
    verdicts = inspect(module, [[text, path] for text, path, _code in REFUSED])
    wrong = [(text, path, code, got) for (text, path, code), got in zip(REFUSED, verdicts)
             if not got or got["code"] != code]
    assert not wrong, wrong


def test_legitimate_bodies_pass(module):
    verdicts = inspect(module, [list(case) for case in PASSED])
    wrong = [(case, got) for case, got in zip(PASSED, verdicts) if got is not None]
    assert not wrong, wrong


def test_admins_pass_with_every_body(module):
    verdicts = inspect(module, [[text, path] for text, path, _code in REFUSED], allowed=True)
    assert verdicts == [None] * len(REFUSED)


def test_the_refusals_say_why(module):
    cases = [('{"model":"glm-4.6: cloud"}', CHAT), ('{"model":"a","model":"b"}', CHAT), ('{"name":7}', "/api/show"),
             ('{"model":"a","tools":[{"type":"web_search"}]}', "/v1/responses")]
    verdicts = inspect(module, [list(c) for c in cases])
    assert {v["type"] for v in verdicts} == {"application/json; charset=utf-8"}
    messages = [v["message"] for v in verdicts]
    assert messages == ["cloud models are not allowed through this front: glm-4.6: cloud",
                        'the request body gives "model" more than once',
                        '"name" in the request body must be a string',
                        "web search tools are not allowed through this front"]


def test_a_big_body_is_scanned_to_its_end(module):
    # The scenario's 6 MB prompt goes through the same scanner in njs; a
    # second model key after it is still seen.
    big = json.dumps({"model": "llama3.2:1b", "prompt": "x\\\"" * 500000 + "y" * 5000000,
                      "messages": [{"role": "user", "content": "hi"}] * 20000})
    verdicts = inspect(module, [[big, CHAT], [big[:-1] + ',"MODEL":"glm-4.6:cloud"}', CHAT]])
    assert verdicts[0] is None and verdicts[1]["code"] == 403, verdicts


def test_a_body_too_complex_to_scan_is_refused_not_scanned_forever(module):
    # njs runs in the nginx worker: the scanner stops after 2,000,000 steps (413).
    numbers = '{"model":"llama3.2:1b","input":[' + ",".join(["7"] * 1100000) + "]}"  # 2.2 M characters in a container
    quotes = json.dumps({"model": "llama3.2:1b", "prompt": "\"" * 2100000})      # 2.1 M escaped quotes
    under = '{"model":"llama3.2:1b","input":[' + ",".join(["7"] * 900000) + "]}"   # 1.8 M: scanned, passes
    verdicts = inspect(module, [[numbers, "/v1/embeddings"], [quotes, "/api/generate"], [under, "/v1/embeddings"]])
    assert [v and v["code"] for v in verdicts] == [413, 413, None], verdicts
    assert verdicts[0]["message"] == "request body too complex for the front to inspect"
