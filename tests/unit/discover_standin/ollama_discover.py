#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test tree only: a stand-in for the module ollama_discover (library/,
built apart) with its parameters and return shape as agreed for issue 29
(ranges, ports, exclude, managed, rate, concurrency, timeout, allow_large;
{hosts: [{address, managed, ports: [records]}], scanned, excluded, elapsed};
each record {address, port, scheme, kind, state, open, auth, version,
models, fingerprint "kind:address:port"}). It sends nothing: the answers are
read from the JSON file named by OLLAMA_DISCOVER_STANDIN (address -> list of
records), limited to the ranges, ports and exclusions given, and every call's
parameters are appended to OLLAMA_DISCOVER_STANDIN_CALLS. Parameters as
library/ollama_discover.py of the discover branch documents them. Bad input is
refused by name, as the module must, before anything is read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import os

from ansible.module_utils.basic import AnsibleModule

DEFAULT_PORTS = [11434, 8000, 8080, 3000, 1234, 8188, 5000, 80, 443]


def main():
    module = AnsibleModule(argument_spec=dict(
        ranges=dict(type="list", elements="str", required=True),
        ports=dict(type="list", elements="int", default=DEFAULT_PORTS),
        exclude=dict(type="list", elements="str", default=[]),
        managed=dict(type="list", elements="str", default=[]),
        rate=dict(type="float", default=200.0),
        concurrency=dict(type="int", default=64),
        connect_timeout=dict(type="float", default=1.0),
        timeout=dict(type="float", default=1.5),
        max_time=dict(type="float", default=900.0),
        allow_large=dict(type="bool", default=False),
    ), supports_check_mode=True)
    params = module.params
    problems, nets, excluded = [], [], []
    if not params["ranges"]:
        problems.append("ranges: empty, give the CIDRs or addresses you own")
    for item in params["ranges"]:
        try:
            net = ipaddress.ip_network(item, strict=False)
        except ValueError:
            problems.append("ranges: %r is not a CIDR or an address" % item)
            continue
        if net.num_addresses > 65536 and not params["allow_large"]:
            problems.append("ranges: %s is larger than a /16 (allow_large: true to sweep it)" % item)
        nets.append(net)
    for item in params["exclude"]:
        try:
            excluded.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            problems.append("exclude: %r is not a CIDR or an address" % item)
    bad = [p for p in params["ports"] if not 0 < p < 65536]
    if bad:
        problems.append("ports: %s out of range 1-65535" % bad)
    if problems:
        module.fail_json(msg="; ".join(problems))
    calls = os.environ.get("OLLAMA_DISCOVER_STANDIN_CALLS")
    if calls:
        with open(calls, "a") as handle:
            handle.write(json.dumps(params, sort_keys=True) + "\n")
    with open(os.environ["OLLAMA_DISCOVER_STANDIN"]) as handle:
        answers = json.load(handle)
    hosts = []
    for address in sorted(answers):
        ip = ipaddress.ip_address(address)
        if not any(ip.version == n.version and ip in n for n in nets) or \
                any(ip.version == n.version and ip in n for n in excluded):
            continue
        records = [r for r in answers[address] if r["port"] in params["ports"]]
        if records:
            hosts.append({"address": address, "managed": address in params["managed"], "ports": records})
    module.exit_json(changed=False, hosts=hosts, excluded=params["exclude"], elapsed=0.01,
                     scanned={"ranges": params["ranges"], "ports": params["ports"],
                              "addresses": sum(n.num_addresses for n in nets)})


if __name__ == "__main__":
    main()
