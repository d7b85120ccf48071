#!/usr/bin/env bash
# Build ollama-lab:bookworm-fw (tests/lab/images/fw.Dockerfile) on top of
# ollama-lab:bookworm, which build.sh builds first. Cached: an image whose
# label matches the hash of the Dockerfile and of its base is reused.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"${here}/build.sh" bookworm
base="$(docker image inspect -f '{{ .Id }}' ollama-lab:bookworm)"
recipe="$( (cat "${here}/fw.Dockerfile"; echo "${base}") | sha256sum | cut -c1-16)"
tag=ollama-lab:bookworm-fw
current="$(docker image inspect -f '{{ index .Config.Labels "ollama-lab.recipe" }}' "${tag}" 2>/dev/null || true)"
if [[ "${current}" == "${recipe}" ]]; then
  echo "lab image ${tag}: up to date"
  exit 0
fi
echo "lab image ${tag}: installing nftables, iptables, ufw, firewalld, sshd (about a minute)"
docker build -q --label "ollama-lab.recipe=${recipe}" -t "${tag}" -f "${here}/fw.Dockerfile" "${here}" >/dev/null
echo "lab image ${tag}: built"
