"""The front through the official clients, as users call it: the `openai`
package (OpenAI's Python SDK) against the vLLM stand-in behind the front
(ollama_front_backends, port 18000), and the `ollama` package against
Ollama's routes (port 11443). Both are pinned in requirements.txt and run
on the controller, which reaches the scenario's containers on the network
the scenario created (ollama-front) over IPv4 and IPv6; each client trusts
the front's certificate only (its SANs hold the host's addresses)."""

import ssl

import httpx2
import ollama
import openai
import pytest

from conftest import CREDS, FRONT, SECRETS, VARS, front_certificate

(BACKEND,) = VARS["ollama_front_backends"]
MODEL = "standin/vllm-model"   # what the stand-in serves (prepare.yml)
OLLAMA_MODEL = "llama3.2:1b"   # one of the Ollama stand-in's models
TIMEOUT = 20


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """An SSL context that trusts the front's certificate and nothing else."""
    path = tmp_path_factory.mktemp("front-ca") / "front.crt"
    path.write_text(front_certificate())
    return ssl.create_default_context(cafile=str(path))


def addresses():
    """The front host's IPv4 and IPv6 address on the scenario's network."""
    found = FRONT.check_output("hostname -I").split()
    v4 = next(a for a in found if ":" not in a)
    v6 = next(a for a in found if ":" in a and not a.startswith("fe80:"))
    return {"ipv4": v4, "ipv6": "[%s]" % v6}


def backend_client(tls, family="ipv4", **kwargs):
    """openai.OpenAI against the backend's front (max_retries=0: one request each)."""
    kwargs.setdefault("max_retries", 0)
    return openai.OpenAI(base_url="https://%s:%d/v1" % (addresses()[family], BACKEND["port"]),
                         http_client=httpx2.Client(verify=tls, timeout=TIMEOUT), **kwargs)


def ollama_client(tls, family="ipv4", key=None):
    headers = {"Authorization": "Bearer %s" % key} if key else {}
    return ollama.Client(host="https://%s:11443" % addresses()[family], headers=headers, verify=tls,
                         timeout=TIMEOUT)


# -- openai, against vLLM behind the front --

@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_openai_with_a_users_key_lists_the_models_and_chats(tls, family):
    client = backend_client(tls, family, api_key=CREDS["bob"]["api_key"])
    models = client.models.list()
    assert [(m.id, m.owned_by) for m in models.data] == [(MODEL, "vllm")]
    answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert answer.object == "chat.completion" and answer.model == MODEL
    assert answer.choices[0].message.content and answer.choices[0].finish_reason == "stop"
    assert answer.usage.total_tokens > 0


def test_openai_with_a_wrong_key_raises_authentication_error(tls):
    for key in (CREDS["bob"]["api_key"] + "X", "sk-not-a-key-of-this-front-000000"):
        client = backend_client(tls, api_key=key)
        with pytest.raises(openai.AuthenticationError) as err:
            client.models.list()
        assert err.value.status_code == 401
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])


def test_openai_without_a_key(tls, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    # The client itself will not go without one ...
    with pytest.raises(openai.OpenAIError, match="Missing credentials"):
        backend_client(tls)
    # ... and a request with its Authorization header left out (the client's
    # own way, extra_headers with Omit) gets the front's 401.
    sent = []
    client = openai.OpenAI(base_url="https://%s:%d/v1" % (addresses()["ipv4"], BACKEND["port"]), api_key="unused",
                           max_retries=0, http_client=httpx2.Client(
                               verify=tls, timeout=TIMEOUT, event_hooks={"request": [sent.append]}))
    with pytest.raises(openai.AuthenticationError) as err:
        client.models.list(extra_headers={"Authorization": openai.Omit()})
    assert err.value.status_code == 401
    assert len(sent) == 1 and "authorization" not in sent[0].headers, sent


def test_openai_a_users_key_may_not_load_an_adapter_an_admins_may(tls):
    body = {"lora_name": "sql-lora", "lora_path": "/models/sql-lora"}
    user = backend_client(tls, api_key=CREDS["bob"]["api_key"])
    with pytest.raises(openai.PermissionDeniedError):
        user.post("/load_lora_adapter", body=body, cast_to=httpx2.Response)
    admin = backend_client(tls, api_key=CREDS["root"]["api_key"])
    answer = admin.post("/load_lora_adapter", body=body, cast_to=httpx2.Response)
    assert answer.text == "Success: LoRA adapter 'sql-lora' added successfully."


# -- ollama, against Ollama's routes on the front --

@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_ollama_with_a_users_key_lists_chats_and_streams(tls, family):
    client = ollama_client(tls, family, CREDS["alice"]["api_key"])
    assert OLLAMA_MODEL in [m.model for m in client.list().models]
    answer = client.chat(model=OLLAMA_MODEL, messages=[{"role": "user", "content": "hi"}])
    assert answer.message.role == "assistant" and answer.message.content and answer.done
    parts = list(client.generate(model=OLLAMA_MODEL, prompt="hi", stream=True))
    assert len(parts) > 1 and parts[-1].done and not parts[0].done


@pytest.mark.parametrize("key", [None, "ak_not_a_key_at_all_000000000", CREDS["bob"]["api_key"].upper()])
def test_ollama_without_or_with_a_wrong_key_gets_401(tls, key, monkeypatch):
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    client = ollama_client(tls, key=key)
    for call in (client.list, lambda: client.chat(model=OLLAMA_MODEL, messages=[{"role": "user", "content": "x"}])):
        with pytest.raises(ollama.ResponseError) as err:
            call()
        assert err.value.status_code == 401


def test_ollama_a_users_key_may_not_pull_an_admins_may(tls):
    with pytest.raises(ollama.ResponseError) as err:
        ollama_client(tls, key=CREDS["bob"]["api_key"]).pull("tinyllama")
    assert err.value.status_code == 403
    assert ollama_client(tls, key=CREDS["root"]["api_key"]).pull("tinyllama").status == "success"


def test_no_secret_in_the_clients_errors(tls):
    """What a client shows of a refusal names no credential of the lab."""
    client = backend_client(tls, api_key=CREDS["bob"]["api_key"] + "X")
    with pytest.raises(openai.AuthenticationError) as err:
        client.models.list()
    shown = "%s %r %s" % (err.value, err.value.body, err.value.response.text)
    for secret in SECRETS + [CREDS["bob"]["api_key"] + "X"]:
        assert secret not in shown
