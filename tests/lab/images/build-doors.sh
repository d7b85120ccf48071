#!/usr/bin/env bash
# Test image for the doors scenario (molecule/doors): ollama-lab:bookworm with
# Debian's nginx (proxy_pass and auth_basic in front of Ollama), socat (a
# plain TCP forwarder) and apache2-utils (htpasswd) preinstalled, so that
# Molecule runs do not wait for apt. The model-server stand-ins are copied
# in by the scenario's prepare (tests/lab/standin/), not baked in.
# Cached by a hash label of this script and the base image.
#
#   tests/lab/images/build-doors.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tag="ollama-lab:bookworm-doors"
base="ollama-lab:bookworm"
base_id="$(docker image inspect -f '{{ .Id }}' "${base}")"
standin="$(cd "${here}/../standin" && pwd)"
bins="vllm text-generation-launcher local-ai llama-server rpc-server lms open-webui"
recipe_hash="$( (sha256sum "${here}/build-doors.sh"; cd "${standin}" && sha256sum odr_standin.py comfyui-main.py ${bins};
  echo "${base_id}") | sha256sum | cut -c1-16)"
current="$(docker image inspect -f '{{ index .Config.Labels "ollama-lab.doors-recipe" }}' "${tag}" 2>/dev/null || true)"
if [[ "${current}" == "${recipe_hash}" ]]; then
  echo "lab image ${tag}: up to date"
  exit 0
fi
echo "lab image ${tag}: building from ${base}"
docker build -q -t "${tag}" --label "ollama-lab.doors-recipe=${recipe_hash}" -f - "${standin}" <<DOCKERFILE >/dev/null
FROM ${base}
# nginx stays disabled: only the hosts whose case puts it in front of Ollama
# enable it (elsewhere its default site would be a door of its own).
RUN set -e; apt-get update -qq; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      nginx socat apache2-utils >/dev/null; \
    systemctl disable nginx.service >/dev/null 2>&1; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY odr_standin.py /usr/local/lib/odr-standin/
COPY ${bins} /usr/local/bin/
COPY comfyui-main.py /opt/ComfyUI/main.py
DOCKERFILE
echo "lab image ${tag}: built"
