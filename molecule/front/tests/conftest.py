"""What the front scenario's tests share (test_front.py, test_backends.py,
test_openai_client.py): the lab's hosts and credentials (inventory.yml), the
client's trust in the front's certificate, curl from the client container
and a run of playbooks/front.yml with extra variables.

The test files import these names (``from conftest import ...``): pytest
puts this directory on sys.path (rootdir-relative, prepend import mode)."""

import os
import shlex
import subprocess

import pytest
import testinfra
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.join(HERE, "..", "..", ".."))
INVENTORY = os.path.join(HERE, "..", "inventory.yml")
FRONT = testinfra.get_host("ansible://front", ansible_inventory=INVENTORY)
CLIENT = testinfra.get_host("ansible://client", ansible_inventory=INVENTORY)
# The front's certificate, in the client container (ca_on_client).
CA = "/tmp/front-ca.pem"
CERT = "/etc/nginx/ollama-front/tls/front.crt"

with open(INVENTORY) as _handle:
    VARS = yaml.safe_load(_handle)["all"]["children"]["ollama_lab"]["hosts"]["front"]
CREDS = {c["name"]: c for c in VARS["ollama_front_credentials"]}
SECRETS = [c[k] for c in CREDS.values() for k in ("password", "api_key") if c.get(k)]


def bearer(name):
    return ["-H", "Authorization: Bearer %s" % CREDS[name]["api_key"]]


def basic(name):
    return ["-u", "%s:%s" % (name, CREDS[name]["password"])]


def client_curl(url, *args, timeout=20):
    """curl ``url`` from the client container (trusting the front's certificate only)."""
    cmd = ["curl", "-sS", "--cacert", CA, "-m", str(timeout)] + list(args) + [url]
    return CLIENT.run(" ".join(shlex.quote(a) for a in cmd))


def client_status(url, *args):
    """The HTTP status of one curl from the client container (0: no answer)."""
    out = client_curl(url, "-o", "/dev/null", "-w", "%{http_code}", *args)
    return int(out.stdout.strip() or 0)


def run_front(*extra):
    """playbooks/front.yml on the scenario's lab, with ``extra`` arguments (-e ...)."""
    cmd = ["ansible-playbook", "-v", "-i", INVENTORY, os.path.join(PROJECT, "playbooks", "front.yml"),
           "-e", "target=ollama_lab"] + list(extra)
    return subprocess.run(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)


def front_certificate():
    """The front's certificate (PEM), as the front host has it."""
    return FRONT.file(CERT).content_string


@pytest.fixture(scope="session", autouse=True)
def ca_on_client():
    """The client trusts the front's self-signed certificate, nothing else."""
    CLIENT.run("cat > %s <<'EOF'\n%sEOF" % (CA, front_certificate()))
    yield
