# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Ollama exposure toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: discover
short_description: The model servers answering in the address ranges you own, as an inventory
version_added: "1.1.0"
description:
  - Sweeps the ranges of a YAML configuration file whose name ends in C(discover.yml) or
    C(discover.yaml) (as C(community.general.nmap) does, without nmap) - one TCP connect per
    address and port, then the audit's own unauthenticated fingerprints on each port that
    accepted (module_utils/ollama_discover.py, module_utils/ollama_probe.py).
  - Safe by construction - the options are checked and the ranges expanded before anything is
    sent, bad input fails naming the option; more than 1024 addresses (a /22 of IPv4, a /118 of
    IPv6) needs O(allow_large), more than 65536 is refused; a global O(rate) and a
    O(concurrency) cap; only GETs to fingerprint paths.
  - "Groups - C(discovered) (every host found), C(discovered_<kind>) (C(ollama), C(vllm),
    C(open_webui), C(llama_server), C(http) another web server, C(unknown) nothing that spoke
    HTTP), C(discovered_<kind>_open) (a model list or inference answered without credentials),
    C(discovered_<kind>_auth) (credentials asked, 401/403), C(discovered_managed) and
    C(discovered_unmanaged)."
  - "Host variables - C(ansible_host) (the address), C(ollama_discover_port) (the port that says
    the most, in the probe's state order), C(ollama_discover_ports), C(ollama_discover) (the
    records - address, port, scheme, kind, state, open, auth, version, models, fingerprint,
    evidence), C(ollama_discover_fingerprints), C(ollama_discover_managed)."
  - A host found whose address is the C(ansible_host) (or the name, when it is an address) of a
    host of O(managed_inventory), or of a host already in the same inventory run (a source given
    before this one), or one of its C(ollama_discover_addresses) (a list of its other addresses, for example
    its IPv6 one), is C(managed) and keeps that host's name, its records of every address together;
    any other is named by its address. IP literals only, names are not resolved.
  - With O(cache) on, the sweep's result is kept by the cache plugin and the next parse reads it
    without sending anything (C(--flush-cache) or O(cache_timeout) sweeps again; so does a change
    of O(ranges), O(exclude), O(ports) or another option of the sweep, part of the cache key);
    the managed naming is made at every parse.
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: Token that ensures this is a source file for this plugin.
    type: string
    required: true
    choices: [ollama_toolkit.exposure.discover]
  ranges:
    description: The networks to sweep (CIDRs or single addresses; IPv4 and IPv6).
    type: list
    elements: string
    required: true
  exclude:
    description: Networks or addresses never contacted.
    type: list
    elements: string
    default: []
  ports:
    description: TCP ports asked on every address (at most 64).
    type: list
    elements: integer
    default: [11434, 8000, 8080, 3000, 1234, 8188, 5000, 80, 443]
  rate:
    description: Connections a second at most over the whole sweep (more than 0, at most 10000).
    type: float
    default: 200
  concurrency:
    description: Connections open at the same time at most (1 to 1024).
    type: integer
    default: 64
  connect_timeout:
    description: Seconds a TCP connect may take.
    type: float
    default: 1.0
  timeout:
    description: Seconds for each step of a fingerprint GET.
    type: float
    default: 1.5
  max_time:
    description: Seconds after which no new connection is opened.
    type: float
    default: 900
  allow_large:
    description: Sweep more than 1024 addresses (up to 65536).
    type: boolean
    default: false
  managed_inventory:
    description:
      - Inventory sources (files or directories) of the hosts you manage; their hosts'
        C(ansible_host) name the hosts found C(managed). A discover source here is refused (it would sweep).
    type: list
    elements: path
    default: []
"""

EXAMPLES = r"""
# ours.discover.yml: ansible-inventory -i ours.discover.yml --graph
plugin: ollama_toolkit.exposure.discover
ranges: [192.0.2.0/24, "2001:db8:0:1::/120"]
exclude: [192.0.2.1]
managed_inventory: [inventories/prod/hosts.yml]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ollama-discover
cache_timeout: 3600
# Audit the unmanaged open Ollama servers: ansible-playbook -i ours.discover.yml -l discovered_ollama_open ...
"""

import hashlib
import ipaddress
import json
import os
import re

from ansible.errors import AnsibleParserError
from ansible.inventory.manager import InventoryManager
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible_collections.ollama_toolkit.exposure.plugins.module_utils.ollama_discover import (
    best_record, canonical_addresses, sweep, validate)

OPTIONS = ("ranges", "exclude", "ports", "rate", "concurrency", "connect_timeout", "timeout", "max_time",
           "allow_large")


def group_word(kind):
    """A kind as a group name's word: open-webui -> open_webui, None -> unknown."""
    return re.sub(r"[^A-Za-z0-9_]", "_", kind) if kind else "unknown"


def host_groups(records, managed):
    """The groups of a host found, from its records."""
    groups = {"discovered", "discovered_managed" if managed else "discovered_unmanaged"}
    for rec in records:
        word = group_word(rec["kind"])
        groups.add("discovered_%s" % word)
        if rec["open"]:
            groups.add("discovered_%s_open" % word)
        elif rec["auth"]:
            groups.add("discovered_%s_auth" % word)
    return groups


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "ollama_toolkit.exposure.discover"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("discover.yml", "discover.yaml"))

    def _managed_names(self):
        """{canonical address: inventory name} of the managed hosts: this run's hosts, then managed_inventory's."""
        names = {}
        sources = [dict((h.name, h.vars) for h in self.inventory.hosts.values())]
        paths = self.get_option("managed_inventory") or []
        if paths:
            other = InventoryManager(loader=self.loader, sources=list(paths))
            sources.append(dict((h.name, h.vars) for h in other.get_hosts()))
        for hosts in sources:
            for name, hostvars in hosts.items():
                extra = hostvars.get("ollama_discover_addresses") or []
                extra = [extra] if isinstance(extra, str) else list(extra)
                for address in canonical_addresses([hostvars.get("ansible_host") or name] + extra):
                    names.setdefault(address, name)
        return names

    def _sweep(self):
        options = dict((key, self.get_option(key)) for key in OPTIONS)
        problems, plan = validate(options)
        if problems:
            raise AnsibleParserError("ollama_toolkit.exposure.discover: %s" % "; ".join(problems))
        return sweep(plan)

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        loops = [os.path.basename(str(p)) for p in self.get_option("managed_inventory") or []
                 if str(p).endswith(("discover.yml", "discover.yaml"))]
        if loops:
            raise AnsibleParserError("ollama_toolkit.exposure.discover: managed_inventory: %s would sweep again "
                                     "(a discover source): give the inventory of the hosts you manage" % loops)
        # The sweep's options are part of the key: other ranges or ports never read an older sweep.
        options = json.dumps(dict((key, self.get_option(key)) for key in OPTIONS), sort_keys=True, default=str)
        cache_key = "%s_%s" % (self.get_cache_key(path), hashlib.sha1(options.encode("utf-8")).hexdigest()[:12])
        user_cache_setting = self.get_option("cache")
        attempt_to_read_cache = user_cache_setting and cache
        cache_needs_update = user_cache_setting and not cache
        result = None
        if attempt_to_read_cache:
            try:
                result = self._cache[cache_key]
            except KeyError:
                cache_needs_update = True
        if result is None:
            result = self._sweep()
        if cache_needs_update:
            self._cache[cache_key] = result
        self._populate(result)

    def _populate(self, result):
        names = self._managed_names()
        found = {}
        for entry in result.get("hosts", []):
            address = str(ipaddress.ip_address(entry["address"]))
            name = names.get(address, address)
            found.setdefault(name, {"managed": address in names, "addresses": [], "records": []})
            found[name]["addresses"].append(address)
            found[name]["records"].extend(entry["ports"])
        strict = self.get_option("strict")
        for name in sorted(found):
            item = found[name]
            known = name in self.inventory.hosts
            self.inventory.add_host(name)
            for group in sorted(host_groups(item["records"], item["managed"])):
                self.inventory.add_group(group)
                self.inventory.add_child(group, name)
            records = item["records"]
            hostvars = {
                "ollama_discover_port": best_record(records)["port"],
                "ollama_discover_ports": sorted(set(r["port"] for r in records)),
                "ollama_discover": records,
                "ollama_discover_fingerprints": [r["fingerprint"] for r in records],
                "ollama_discover_managed": item["managed"],
            }
            if not known:
                hostvars["ansible_host"] = best_record(records)["address"]
            for key, value in hostvars.items():
                self.inventory.set_variable(name, key, value)
            allvars = dict(self.inventory.get_host(name).get_vars(), **hostvars)
            self._set_composite_vars(self.get_option("compose"), allvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), allvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), allvars, name, strict=strict)
