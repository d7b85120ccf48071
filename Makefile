# Ollama exposure toolkit. Two commands do everything on a fresh Debian box:
#   make demo   - build the lab, audit -> harden -> audit it, print the before/after summary
#   make test   - lint, unit tests, every Molecule scenario, the ansible-runner test
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
RELEASES ?= bullseye bookworm trixie
INVENTORY := inventories/lab/hosts.yml
RUNNER_TEST := $(BIN)/python -m pytest -q -p no:cacheprovider tests/runner
DISCOVER_TEST := $(BIN)/python -m pytest -q -p no:cacheprovider tests/discover

.PHONY: help venv host images front-image lab lab-destroy demo audit lint docs unit runner molecule molecule-lab molecule-walls discover-lab test bench bench-discover bench-front bench-report bench-scale bench-scale-lab controls clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/ansible-playbook: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

venv: $(BIN)/ansible-playbook ## Python virtualenv with the pinned requirements

host: ## Docker engine and debootstrap on this machine
	scripts/ensure-host.sh

images: host ## Lab images for every Debian release (cached by recipe)
	tests/lab/images/build.sh $(RELEASES) bookworm-docker

front-image: host ## Lab image with nginx preinstalled for the front scenario (cached)
	tests/lab/images/build.sh bookworm
	tests/lab/images/build-front.sh

lab: venv host ## Create and provision the lab (bookworm)
	tests/lab/images/build.sh bookworm bookworm-docker
	$(BIN)/ansible-playbook -i $(INVENTORY) tests/lab/create.yml
	$(BIN)/ansible-playbook -i $(INVENTORY) tests/lab/provision.yml

lab-destroy: venv host ## Remove the lab containers
	$(BIN)/ansible-playbook -i $(INVENTORY) tests/lab/destroy.yml

audit: venv ## Audit the inventory (INVENTORY=..., reports in reports/)
	$(BIN)/ansible-playbook -i $(INVENTORY) playbooks/audit.yml

demo: lab-destroy lab ## Build a fresh lab, audit -> harden (a canary, then halves) -> audit, print before/after and the HTML report's path
	rm -rf reports/before reports/after
	$(BIN)/ansible-playbook -i $(INVENTORY) playbooks/harden.yml -e ollama_bind_adopt=true \
	  -e '{"harden_serial": [1, "50%"]}' \
	  || echo "(hosts that cannot be hardened fail on purpose, each with its reason: see the table below)"
	@echo; $(BIN)/python scripts/summary.py reports/before reports/after

lint: venv ## yamllint, ansible-lint (production profile), ansible-doc of every module, filter and lookup
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production
	for m in library/*.py; do $(BIN)/ansible-doc -M library -t module "$$(basename $$m .py)" >/dev/null || exit 1; done
	for t in filter lookup inventory; do for p in collections/ansible_collections/ollama_toolkit/exposure/plugins/$$t/*.py; do \
	  $(BIN)/ansible-doc -t $$t "ollama_toolkit.exposure.$$(basename $$p .py)" >/dev/null || exit 1; done; done

docs: venv ## Render docs/controls.md from the control catalog, docs/doors.md's tables from module_utils/ollama_servers.py, roles/*/README.md from their argument specs, the benchmark figures (README.md, docs/benchmarks.md, docs/front.md, docs/scale.md) from tests/bench/*.json
	$(BIN)/python scripts/render-controls.py
	$(BIN)/python scripts/render-doors.py
	$(BIN)/python scripts/render_role_docs.py
	$(BIN)/python scripts/render-benchmarks.py

controls: venv ## Every control harden.yml can enforce, with its title (pick one: --tags OLLAMA-FW-003)
	@$(BIN)/python scripts/controls.py

unit: venv host ## Unit and property tests of the parsers and modules
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

runner: venv front-image ## The audit and harden jobs through ansible-runner (AWX's engine) on a 2-host lab of its own (orun-*): rc, reports under the artifacts, no secret in the job events
	$(RUNNER_TEST)

molecule: venv images front-image ## Molecule: both chains below at once (their containers and networks are apart: olab-*/ocl-*, ofw-*/ofr-*/oup-*/odr-*/orun-*); each one's output when it ends
	tests/lab/images/build-fw.sh
	tests/lab/images/build-doors.sh
	$(MAKE) --no-print-directory -j2 --output-sync=target molecule-lab molecule-walls

molecule-lab: venv ## audit on a lab mixing Debian 11, 12, 13; harden + rollback; the whole lab with every wall on (Debian 12); then cloud features on a lab of their own (ocl-*)
	OLLAMA_LAB_RELEASE=mixed $(BIN)/molecule test -s audit
	OLLAMA_LAB_RELEASE=bookworm $(BIN)/molecule test -s harden
	$(BIN)/molecule test -s fleet
	$(BIN)/molecule test -s cloud

molecule-walls: venv ## the firewall (every backend), the front (nginx, TLS, credentials) and the upgrade on Debian 12; every way in (doors: forwarders, Open WebUI, other model servers); then `make runner`'s test and `make discover-lab`'s
	$(BIN)/molecule test -s firewall
	$(BIN)/molecule test -s front
	$(BIN)/molecule test -s upgrade
	$(BIN)/molecule test -s doors
	$(RUNNER_TEST)
	$(DISCOVER_TEST)

discover-lab: venv front-image ## Discovery (issue 29) on a lab of its own (odc-*, network ollama-discover): the inventory plugin's groups, variables and managed naming, the ollama_discover module, exactly (~70 s)
	$(DISCOVER_TEST)

test: lint unit molecule ## Everything CI runs

bench: venv lab ## audit.yml and a second harden.yml against `ansible -m ping` on the lab
	$(BIN)/python tests/bench/bench.py

bench-front: venv front-image ## The front's added latency (p50, p99) and throughput over a static answer on loopback, keys and limits on, and under a slowloris (wrk on the front host's loopback; tests/bench/front_results.json)
	$(BIN)/molecule converge -s front
	status=0; $(BIN)/python tests/bench/front_bench.py || status=$$?; \
	  $(BIN)/molecule destroy -s front; exit $$status

bench-discover: venv front-image ## The discovery sweep of the lab's /24 (253 addresses, the default ports, with fingerprints) against nmap -sT on the same addresses, ports, rate and concurrency, side by side (tests/bench/discover_results.json)
	command -v nmap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nmap >/dev/null; }
	$(BIN)/python tests/bench/discover_bench.py

bench-report: venv ## The report for 100,000 simulated hosts: build, life cycle, every file, read back and checked, report.html's pages opened in headless Chromium (time, peak memory, sizes; fails over 60 s, 2 GiB, a page over 3 s or a wrong file; tests/bench/report_results.json)
	command -v chromium >/dev/null 2>&1 || scripts/ensure-host.sh
	$(BIN)/python tests/bench/report_scale.py

SCALE_SIZES ?= 10 50 100
# ssh (as fleets are reached: user deploy, sudo with the vaulted password;
# tests/bench/scale_results_ssh.json) or docker (docker exec as root;
# tests/bench/scale_results.json)
SCALE_CONNECTION ?= ssh
bench-scale: bench-report bench-scale-lab ## Fleet scale: bench-report, then the scale lab (SCALE_SIZES="10 50 100"); not part of `make test`

bench-scale-lab: venv ## A lab of max(SCALE_SIZES) hosts reached over SCALE_CONNECTION (ssh): ping, audit, converged harden (every wall on) and the probe at each size; always torn down
	tests/lab/images/build.sh bookworm
	tests/lab/images/build-front.sh
	status=0; SCALE_SIZES="$(SCALE_SIZES)" SCALE_CONNECTION="$(SCALE_CONNECTION)" $(BIN)/python tests/bench/scale.py \
	  || status=$$?; $(BIN)/python tests/bench/scale.py destroy; exit $$status

clean: lab-destroy
	rm -rf reports .venv
