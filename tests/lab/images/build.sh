#!/usr/bin/env bash
# Build the lab's systemd test images from Debian's packages (no registry is
# needed): debootstrap a minimal root, then `docker import` it.
#
#   tests/lab/images/build.sh [bullseye|bookworm|trixie ...]   (default: bookworm)
#
# Images are tagged ollama-lab:<release> and labelled with a hash of this
# script; an image whose label matches is reused, so a second call is cheap.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
recipe_hash="$(sha256sum "${here}/build.sh" | cut -c1-16)"
mirror="${OLLAMA_LAB_MIRROR:-http://deb.debian.org/debian}"
packages="systemd,systemd-sysv,dbus,python3,iproute2,procps,curl,ca-certificates"

build_one() {
  local release="$1" tag="ollama-lab:$1" current root
  current="$(docker image inspect -f '{{ index .Config.Labels "ollama-lab.recipe" }}' "${tag}" 2>/dev/null || true)"
  if [[ "${current}" == "${recipe_hash}" ]]; then
    echo "lab image ${tag}: up to date"
    return 0
  fi
  root="$(mktemp -d "/var/tmp/ollama-lab-${release}.XXXXXX")"
  trap 'rm -rf "${root}"' RETURN
  echo "lab image ${tag}: debootstrap ${release} (about a minute)"
  debootstrap --variant=minbase --include="${packages}" "${release}" "${root}" "${mirror}" \
    >"${root}.log" 2>&1 || { tail -n 30 "${root}.log"; return 1; }
  rm -f "${root}.log"
  # A container has no consoles and no udev: keep systemd from waiting on them.
  for unit in getty@tty1.service serial-getty@console.service systemd-udevd.service \
    systemd-udev-trigger.service systemd-remount-fs.service systemd-firstboot.service; do
    ln -sf /dev/null "${root}/etc/systemd/system/${unit}"
  done
  echo "ollama-lab-${release}" >"${root}/etc/hostname"
  : >"${root}/etc/machine-id"
  rm -rf "${root}/var/cache/apt/archives/"*.deb "${root}/var/lib/apt/lists/"*
  tar -C "${root}" -c . | docker import \
    -c 'CMD ["/lib/systemd/systemd"]' \
    -c 'ENV container=docker' \
    -c "LABEL ollama-lab.recipe=${recipe_hash}" \
    - "${tag}" >/dev/null
  echo "lab image ${tag}: built"
}

releases=("$@")
[[ ${#releases[@]} -gt 0 ]] || releases=(bookworm)
for release in "${releases[@]}"; do
  case "${release}" in
    bullseye | bookworm | trixie) build_one "${release}" ;;
    *) echo "unknown release '${release}' (expected bullseye, bookworm or trixie)" >&2; exit 2 ;;
  esac
done
