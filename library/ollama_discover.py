#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ollama_discover
short_description: Find the model servers answering in the address ranges you own
version_added: "1.1.0"
description:
  - Sweeps the ranges given (IPv4 and IPv6 CIDRs or single addresses, minus
    I(exclude)) on I(ports) with one TCP connection per address and port, then
    fingerprints each port that accepted with the audit's own outside probe
    (the C(ollama_probe) module's fingerprints - Ollama, llama-server, vLLM,
    TGI, LocalAI, ComfyUI, LM Studio, Open WebUI; plain HTTP and TLS).
  - Safe by construction - every option is checked and the ranges are
    expanded before anything is sent; bad input fails naming the option
    (a malformed CIDR, host bits set, a name, a port out of range, an empty
    range, a rate or concurrency of 0). More than 1024 addresses (a /22 of
    IPv4, a /118 of IPv6) needs I(allow_large); more than 65536 (a /16) is
    always refused.
  - At most I(rate) connections a second over the whole sweep and
    I(concurrency) at a time, each bounded by I(connect_timeout); no new
    connection after I(max_time). Only ports that accepted are fingerprinted,
    by at most five GETs to the probe's fingerprint paths and one TLS retry,
    never another method, never a route that loads or runs a model (no pull,
    push, generate).
  - Run it on the controller (C(delegate_to) localhost, C(run_once)), or on a
    scanner host inside the network to sweep.
author:
  - Ollama exposure toolkit contributors
options:
  ranges:
    description: The networks to sweep (CIDRs or single addresses; IPv4 and IPv6). Names are not resolved.
    type: list
    elements: str
    required: true
  exclude:
    description: Networks or addresses never contacted (CIDRs or single addresses).
    type: list
    elements: str
    default: []
  ports:
    description: TCP ports asked on every address (at most 64).
    type: list
    elements: int
    default: [11434, 8000, 8080, 3000, 1234, 8188, 5000, 80, 443]
  rate:
    description: Connections a second at most, over the whole sweep (more than 0, at most 10000).
    type: float
    default: 200
  concurrency:
    description: Connections open at the same time at most (1 to 1024).
    type: int
    default: 64
  connect_timeout:
    description: Seconds a TCP connect may take (more than 0, at most 10).
    type: float
    default: 1.0
  timeout:
    description: Seconds for each step of a fingerprint GET (the probe's I(timeout); more than 0, at most 10).
    type: float
    default: 1.5
  max_time:
    description: Seconds after which no new connection is opened (the result says C(truncated)).
    type: float
    default: 900
  allow_large:
    description: Sweep more than 1024 addresses (up to 65536).
    type: bool
    default: false
  managed:
    description:
      - The addresses of the hosts you manage (each inventory host's
        C(ansible_host)); each host found says whether it is one of them
        (C(managed)). IP literals only - names are not resolved, and are returned in
        C(managed_ignored).
    type: list
    elements: str
    default: []
notes:
  - Supports check mode - it only reads, and sweeps in check mode as well.
  - The rate counts the sweep's connects; a port that accepted costs at most
    six more connections for its fingerprint, within I(concurrency).
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
seealso:
  - module: ollama_probe
"""

EXAMPLES = r"""
- name: Find the model servers on two lab networks, naming the managed ones
  ollama_discover:
    ranges: [192.0.2.0/24, "2001:db8:0:1::/120"]
    exclude: [192.0.2.1]
    managed: "{{ groups['ollama'] | map('extract', hostvars, 'ansible_host') | list }}"
  delegate_to: localhost
  run_once: true
  register: discovered
"""

RETURN = r"""
hosts:
  description: Each address where at least one port accepted a connection, by address.
  returned: always
  type: list
  elements: dict
  sample:
    - address: 192.0.2.10
      managed: false
      ports:
        - {address: 192.0.2.10, port: 11434, scheme: http, kind: ollama, state: exposed, open: true,
           auth: false, version: "0.20.0", models: 2, fingerprint: "ollama:192.0.2.10:11434",
           evidence: "GET /api/tags -> 200 application/json (2 models) without credentials"}
        - {address: 192.0.2.10, port: 80, scheme: http, kind: ollama, state: auth_required, open: false,
           auth: true, version: null, models: null, fingerprint: "ollama:192.0.2.10:80",
           evidence: "GET /api/tags -> 401 (WWW-Authenticate: Basic realm=\"Ollama\")"}
  contains:
    address:
      description: The address.
      type: str
    managed:
      description: Whether the address is in I(managed).
      type: bool
    ports:
      description:
        - One record per port that accepted - C(address), C(port), C(scheme) (http or https),
          C(kind) (C(ollama), a kind of module_utils/ollama_servers.py such as C(vllm) or
          C(open-webui), C(http) for another web server, null when nothing spoke HTTP),
          C(state) (the probe's - exposed, model_open, auth_required, open_other, ...), C(open)
          (a model list or inference answered without credentials), C(auth) (credentials asked,
          401/403), C(version), C(models) (how many listed), C(fingerprint) (C(kind:address:port),
          C(none) for a null kind), C(evidence) (what the probe asked and got).
        - A 401/403 to C(GET /api/tags) whose challenge names Ollama (the toolkit's front asks with
          C(Basic realm="Ollama")) is kind C(ollama).
      type: list
      elements: dict
scanned:
  description:
    - What the sweep did - C(addresses) (how many), C(ports), C(connects) (TCP connections it
      opened, fingerprints aside), C(open) (how many accepted), C(fingerprinted), C(truncated)
      (I(max_time) came first), C(max_gets) (GETs a port at most).
  returned: always
  type: dict
  sample: {addresses: 253, ports: [80, 443, 1234, 3000, 5000, 8000, 8080, 8188, 11434], connects: 2277,
           open: 6, fingerprinted: 6, truncated: false, max_gets: 5}
excluded:
  description: The networks of I(exclude), normalised.
  returned: always
  type: list
  elements: str
  sample: [192.0.2.1/32]
managed_ignored:
  description: The entries of I(managed) that are not IP addresses (not resolved, so never matched).
  returned: always
  type: list
  elements: str
elapsed:
  description: Seconds the sweep took.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_discover import (
    DEFAULT_PORTS, canonical_addresses, sweep, validate)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ranges=dict(type="list", elements="str", required=True),
            exclude=dict(type="list", elements="str", default=[]),
            ports=dict(type="list", elements="int", default=list(DEFAULT_PORTS)),
            rate=dict(type="float", default=200.0),
            concurrency=dict(type="int", default=64),
            connect_timeout=dict(type="float", default=1.0),
            timeout=dict(type="float", default=1.5),
            max_time=dict(type="float", default=900.0),
            allow_large=dict(type="bool", default=False),
            managed=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems, plan = validate(dict((k, params[k]) for k in (
        "ranges", "exclude", "ports", "rate", "concurrency", "connect_timeout", "timeout", "max_time",
        "allow_large")))
    if problems:
        module.fail_json(msg="; ".join(problems), problems=problems)
    result = sweep(plan, managed=params["managed"])
    result["managed_ignored"] = [m for m in params["managed"] if not canonical_addresses([m])]
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
