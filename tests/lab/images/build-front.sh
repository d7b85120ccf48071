#!/usr/bin/env bash
# Test image for the front scenario: ollama-lab:bookworm with Debian's nginx
# (and its njs module, for ollama_front_refuse_cloud_models),
# openssl, apache2-utils (ab) and wrk preinstalled, so that Molecule runs do
# not wait for apt. The ollama_front role still installs nginx itself (it is a
# no-op here); it works the same on a bare host. Cached by a hash label.
#
#   tests/lab/images/build-front.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tag="ollama-lab:bookworm-front"
base="ollama-lab:bookworm"
base_id="$(docker image inspect -f '{{ .Id }}' "${base}")"
recipe_hash="$( (sha256sum "${here}/build-front.sh"; echo "${base_id}") | sha256sum | cut -c1-16)"
current="$(docker image inspect -f '{{ index .Config.Labels "ollama-lab.front-recipe" }}' "${tag}" 2>/dev/null || true)"
if [[ "${current}" == "${recipe_hash}" ]]; then
  echo "lab image ${tag}: up to date"
  exit 0
fi
echo "lab image ${tag}: building from ${base}"
docker build -q -t "${tag}" --label "ollama-lab.front-recipe=${recipe_hash}" - <<DOCKERFILE >/dev/null
FROM ${base}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      nginx libnginx-mod-http-js openssl apache2-utils wrk python3-cryptography >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
DOCKERFILE
echo "lab image ${tag}: built"
