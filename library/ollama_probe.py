#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ollama_probe
short_description: Check from outside whether Ollama answers without credentials
version_added: "1.0.0"
description:
  - Run on the controller (or a named scanner host), it connects to each
    given address and port and classifies what answers, as outside scanners
    (nuclei's C(ollama-api-unauth-exposure), Shodan) do.
  - C(exposed) - the Ollama API answered without credentials (C(GET /api/tags)
    returned 200 with JSON, or C(GET /) returned C(Ollama is running)).
  - C(auth_required) - something answered 401 or 403 (for example the
    authenticating front), over plain HTTP or TLS.
  - C(open_other) - the port is open but does not answer like Ollama.
  - C(closed) - the connection was refused.
  - C(filtered) - no answer before the timeout (a firewall drops it), or the
    network is unreachable.
  - It contacts only the targets it is given; the audit role builds them
    from inventory hosts and their own interface addresses, never from a
    range.
author:
  - Ollama exposure toolkit contributors
options:
  targets:
    description: What to probe.
    type: list
    elements: dict
    required: true
    suboptions:
      host:
        description: Inventory name of the host the addresses belong to.
        type: str
        required: true
      addresses:
        description: IP addresses (or names) of that host.
        type: list
        elements: str
        required: true
      ports:
        description: TCP ports to check on each address.
        type: list
        elements: int
        required: true
  timeout:
    description: Seconds for the connection and for the answer, per target.
    type: float
    default: 1.5
  workers:
    description: How many targets are probed at the same time.
    type: int
    default: 32
  scanner:
    description: Name of where the probe runs, written into the evidence.
    type: str
    default: controller
  catalog:
    description:
      - The control catalog; when given, C(OLLAMA-NET-001) findings are
        returned for each exposed target.
    type: dict
notes:
  - Supports check mode; it only reads.
  - At most one connection per target and port, each bounded by I(timeout).
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
seealso:
  - module: ollama_info
"""

EXAMPLES = r"""
- name: Probe two hosts from the controller
  ollama_probe:
    targets:
      - {host: web1, addresses: [192.0.2.10], ports: [11434]}
      - {host: web2, addresses: [192.0.2.11], ports: [11434, 8080]}
  delegate_to: localhost
  run_once: true
  register: probe
"""

RETURN = r"""
hosts:
  description: Per inventory host, its probe results and findings.
  returned: always
  type: dict
  sample:
    web1:
      state: exposed
      results:
        - {address: 192.0.2.10, port: 11434, state: exposed, status_code: 200, tls: false,
           version: "0.1.33", evidence: "GET /api/tags -> 200 application/json (1 model) without credentials"}
      findings: []
results:
  description: Every probe, flat (host, address, port, state, evidence, status_code, version, tls).
  returned: always
  type: list
  elements: dict
"""

import json
import socket
import ssl
import threading

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.ollama_findings import probe_findings

STATE_ORDER = ("exposed", "auth_required", "open_other", "filtered", "closed", "error")
MAX_BYTES = 65536


def _request(address, port, path, timeout, use_tls):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect((address, port))
    if use_tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock, server_hostname=None)
    host = "[%s]" % address if ":" in address else address
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: ollama-probe\r\nAccept: */*\r\n"
                  "Connection: close\r\n\r\n" % (path, host, port)).encode("ascii"))
    data = b""
    while len(data) < MAX_BYTES:
        try:
            chunk = sock.recv(8192)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    sock.close()
    return parse_response(data)


def parse_response(data):
    """(status code or None, headers dict, body text) of a raw HTTP answer."""
    text = data.decode("utf-8", "replace")
    head, _sep, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1]) if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit() else None
    headers = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep:
            headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = dechunk(body)
    return status, headers, body


def dechunk(body):
    out, rest = [], body
    while rest:
        size_line, sep, rest = rest.partition("\r\n")
        try:
            size = int(size_line.split(";")[0], 16)
        except ValueError:
            break
        if size == 0 or not sep:
            break
        out.append(rest[:size])
        rest = rest[size + 2:]
    return "".join(out)


def classify(status, headers, body, path):
    """State and evidence for one HTTP answer."""
    ctype = headers.get("content-type", "")
    if status == 200 and path == "/api/tags":
        try:
            models = json.loads(body).get("models")
        except (ValueError, AttributeError):
            models = None
        if isinstance(models, list):
            return "exposed", "GET /api/tags -> 200 %s (%d model%s) without credentials" % (
                ctype or "json", len(models), "" if len(models) == 1 else "s")
    if status == 200 and "Ollama is running" in body:
        return "exposed", "GET %s -> 200 'Ollama is running' without credentials" % path
    if status in (401, 403):
        realm = headers.get("www-authenticate", "")
        return "auth_required", "GET %s -> %d%s" % (path, status, (" (WWW-Authenticate: %s)" % realm) if realm else "")
    return None, "GET %s -> %s" % (path, status)


def probe_one(address, port, timeout):
    result = {"address": address, "port": port, "state": "error", "evidence": "", "status_code": None,
              "version": None, "tls": False}
    try:
        status, headers, body = _request(address, port, "/api/tags", timeout, False)
    except ConnectionRefusedError:
        result.update(state="closed", evidence="connection refused")
        return result
    except socket.timeout:
        result.update(state="filtered", evidence="no answer within %.1fs" % timeout)
        return result
    except (OSError, socket.error) as exc:
        result.update(state="filtered", evidence="unreachable: %s" % exc)
        return result
    plain_http_refused = status == 400 and "HTTPS" in body
    if status is None or plain_http_refused:
        try:
            status, headers, body = _request(address, port, "/api/tags", timeout, True)
            result["tls"] = True
        except (OSError, socket.error, ssl.SSLError):
            result.update(state="open_other", evidence="open, no HTTP answer" if status is None else
                          "open, plain HTTP refused and TLS failed")
            return result
    result["status_code"] = status
    state, evidence = classify(status, headers, body, "/api/tags")
    if state is None:
        try:
            status2, headers2, body2 = _request(address, port, "/", timeout, result["tls"])
            state, evidence2 = classify(status2, headers2, body2, "/")
            evidence = "%s; %s" % (evidence, evidence2)
        except (OSError, socket.error, ssl.SSLError):
            pass
    if state == "exposed":
        try:
            vstatus, _h, vbody = _request(address, port, "/api/version", timeout, result["tls"])
            if vstatus == 200:
                result["version"] = json.loads(vbody).get("version")
        except (OSError, socket.error, ssl.SSLError, ValueError, AttributeError):
            pass
    if result["tls"]:
        evidence = "TLS: " + evidence
    result.update(state=state or "open_other", evidence=evidence)
    return result


def run_probes(targets, timeout, workers):
    jobs = []
    for target in targets:
        for address in target["addresses"]:
            for port in sorted(set(target["ports"])):
                jobs.append((target["host"], address, port))
    results = [None] * len(jobs)
    lock = threading.Lock()
    cursor = [0]

    def worker():
        while True:
            with lock:
                index = cursor[0]
                cursor[0] += 1
            if index >= len(jobs):
                return
            host, address, port = jobs[index]
            item = probe_one(address, port, timeout)
            item["host"] = host
            results[index] = item

    threads = [threading.Thread(target=worker) for _ in range(max(1, min(workers, len(jobs))))]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join()
    return results


def summarize(targets, results, catalog, scanner):
    hosts = {}
    for target in targets:
        hosts[target["host"]] = {"state": "none", "results": [], "findings": []}
    for item in results:
        hosts[item["host"]]["results"].append(item)
    for name, entry in hosts.items():
        states = [r["state"] for r in entry["results"]]
        for state in STATE_ORDER:
            if state in states:
                entry["state"] = state
                break
        if catalog:
            entry["findings"] = probe_findings({"results": entry["results"], "scanner": scanner}, catalog, name)
    return hosts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            targets=dict(type="list", elements="dict", required=True, options=dict(
                host=dict(type="str", required=True),
                addresses=dict(type="list", elements="str", required=True),
                ports=dict(type="list", elements="int", required=True),
            )),
            timeout=dict(type="float", default=1.5),
            workers=dict(type="int", default=32),
            scanner=dict(type="str", default="controller"),
            catalog=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    for target in module.params["targets"]:
        bad = [p for p in target["ports"] if not 0 < p < 65536]
        if bad:
            module.fail_json(msg="targets[%s].ports: %s out of range 1-65535" % (target["host"], bad))
    results = run_probes(module.params["targets"], module.params["timeout"], module.params["workers"])
    hosts = summarize(module.params["targets"], results, module.params["catalog"], module.params["scanner"])
    module.exit_json(changed=False, hosts=hosts, results=results)


if __name__ == "__main__":
    main()
