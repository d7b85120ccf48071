#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ollama_probe
short_description: Check from outside whether any port hands out a model without credentials
version_added: "1.0.0"
description:
  - Run on the controller (or a named scanner host), it connects to each
    given address and port and fingerprints what answers, as outside scanners
    (nuclei's C(ollama-api-unauth-exposure), Shodan) do - Ollama's API
    (whatever the port, e.g. nginx C(proxy_pass) in front of it), llama.cpp's
    llama-server, vLLM, Hugging Face TGI, LocalAI, ComfyUI, LM Studio, Open WebUI.
  - At most five GETs a port (and one TLS retry of the first), never another
    method, never a route that loads or runs a model - C(/api/tags) first, then
    C(/) and C(/v1/models), then one route of the kind that answered (C(/props),
    C(/info), C(/.well-known/localai.json), C(/api/system_stats), C(/api/config)).
  - Each result says what answered (C(kind) - C(ollama), a kind of
    C(module_utils/ollama_servers.py), C(http) for another web server, or none
    when nothing spoke HTTP), whether it handed out a model without credentials
    (C(open)) and what it told (C(details) - C(models), C(version), C(config);
    for Open WebUI the fields of its unauthenticated C(GET /api/config) - C(auth),
    C(enable_signup), C(onboarding) (no account yet), C(default_role) (not
    given there, always null)).
  - C(exposed) - the Ollama API answered without credentials (C(GET /api/tags)
    returned 200 with JSON, or C(GET /) returned C(Ollama is running)), on
    whatever port.
  - C(model_open) - another kind handed out a model without credentials (its
    model list or the route its key guards answered), or Open WebUI lets anyone
    in (no login, or no account yet - the first to sign up becomes admin).
  - C(auth_required) - something answered 401 or 403 on a model route (for
    example the authenticating front), over plain HTTP or TLS.
  - C(open_other) - the port is open but hands out no model without
    credentials that the probe can prove (a web page, sshd, llama.cpp's
    rpc-server and any other TCP that speaks no HTTP, Open WebUI with login).
  - C(closed) - the connection was refused (TCP reset).
  - C(filtered) - no answer before the timeout (a firewall drops it).
  - C(no_route) - the address could not be reached from where the probe runs
    (ENETUNREACH, ENETDOWN, EHOSTUNREACH, EHOSTDOWN, EACCES, EPERM,
    EADDRNOTAVAIL, EAFNOSUPPORT, a name that does not resolve); it says
    nothing of the host and is never proof that a port is closed.
    EHOSTUNREACH is here although a host firewall rejecting with ICMP
    host-prohibited also causes it - a router or a missing neighbour gives
    the same errno (docs/firewall.md).
  - C(error) - any other failure (a request reset after the connection opened is C(open_other) -
    something listens that speaks no HTTP).
  - It contacts only the targets it is given; the audit role builds them
    from inventory hosts and their own interface addresses, never from a
    range.
author:
  - Ollama exposure toolkit contributors
options:
  targets:
    description:
      - What to probe. Give either I(targets) or I(results).
    type: list
    elements: dict
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
  results:
    description:
      - The registered C(ollama_info) results of the hosts, by inventory name;
        targets are then each host's own addresses and the ports it reported,
        plus I(ports).
    type: dict
  ports:
    description: With I(results), ports probed on every host besides those it reported.
    type: list
    elements: int
    default: [11434]
  max_ports:
    description:
      - With I(results), the most ports probed on one host. Ollama's own ports
        (those it reported, and I(ports)) are always probed; every other port
        the host listens on beyond loopback (its model servers' and
        forwarders' first) fills up to this many. The others are returned in
        the host's C(skipped_ports), with C(skipped_reason).
    type: int
    default: 64
  addresses:
    description: With I(results), addresses to probe instead of a host's own, by inventory name.
    type: dict
    default: {}
  timeout:
    description: Seconds for the connection and for the answer, per target.
    type: float
    default: 1.5
  workers:
    description: How many targets (address and port) are probed at the same time.
    type: int
    default: 64
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
  - At most six connections per address and port, one request each, each
    bounded by I(timeout) per operation and twice I(timeout) for its answer.
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
           version: "0.1.33", evidence: "GET /api/tags -> 200 application/json (1 model) without credentials",
           kind: ollama, open: true, details: {models: 1, version: "0.1.33", config: {}}}
        - {address: 192.0.2.10, port: 8000, state: model_open, status_code: 404, tls: false, version: null,
           evidence: "vllm answers without credentials (GET /api/tags -> 404; GET / -> 404; GET /v1/models -> 200)",
           kind: vllm, open: true, details: {models: 1, version: null, config: {}}}
      findings: []
    web2:
      state: open_other
      results: []
      findings: []
      skipped_ports: [40001, 40002]
      skipped_reason: "not probed: over max_ports=64 per host (...)"
results:
  description:
    - Every probe, flat (host, address, port, state, evidence, status_code, tls, kind, open, details;
      version - Ollama's, when its API answered).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_probe import (
    build_targets, run_probes, summarize, validate_targets)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            targets=dict(type="list", elements="dict", options=dict(
                host=dict(type="str", required=True),
                addresses=dict(type="list", elements="str", required=True),
                ports=dict(type="list", elements="int", required=True),
            )),
            timeout=dict(type="float", default=1.5),
            workers=dict(type="int", default=64),
            scanner=dict(type="str", default="controller"),
            catalog=dict(type="dict"),
            results=dict(type="dict"),
            ports=dict(type="list", elements="int", default=[11434]),
            max_ports=dict(type="int", default=64),
            addresses=dict(type="dict", default={}),
        ),
        required_one_of=[("targets", "results")],
        mutually_exclusive=[("targets", "results")],
        supports_check_mode=True,
    )
    targets = module.params["targets"]
    problems = validate_targets([], module.params["max_ports"])
    if problems:
        module.fail_json(msg="; ".join(problems))
    if targets is None:
        targets = build_targets(module.params["results"], module.params["ports"], module.params["addresses"],
                                module.params["max_ports"])
    problems = validate_targets(targets)
    if problems:
        module.fail_json(msg="; ".join(problems))
    results = run_probes(targets, module.params["timeout"], module.params["workers"])
    hosts = summarize(targets, results, module.params["catalog"], module.params["scanner"])
    module.exit_json(changed=False, hosts=hosts, results=results)


if __name__ == "__main__":
    main()
