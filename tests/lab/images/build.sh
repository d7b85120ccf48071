#!/usr/bin/env bash
# Build the lab's systemd test images from Debian's packages (no registry is
# needed): debootstrap a minimal root, then `docker import` it.
#
#   tests/lab/images/build.sh [RELEASE[-docker] ...]   (default: bookworm)
#
# RELEASE is bullseye, bookworm or trixie. The -docker variant also carries
# Debian's docker.io, for a lab host whose Ollama runs in a container.
#
# Images are tagged ollama-lab:<release> and labelled with a hash of this
# script; an image whose label matches is reused, so a second call is cheap.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
recipe_hash="$(sha256sum "${here}/build.sh" | cut -c1-16)"
mirror="${OLLAMA_LAB_MIRROR:-http://deb.debian.org/debian}"
# nftables: a standard Debian install has it (its service disabled until enabled).
# openssh-server and sudo: fleets are reached over SSH as a user with sudo
# (issue 28); sshd stays off until a scenario turns it on (tests/lab/ssh/).
packages="systemd,systemd-sysv,dbus,python3,iproute2,procps,curl,ca-certificates,nftables,openssh-server,sudo"

build_one() {
  local release="${1%-docker}" tag="ollama-lab:$1" include="${packages}" current root
  [[ "$1" == *-docker ]] && include="${packages},docker.io"
  current="$(docker image inspect -f '{{ index .Config.Labels "ollama-lab.recipe" }}' "${tag}" 2>/dev/null || true)"
  if [[ "${current}" == "${recipe_hash}" ]]; then
    echo "lab image ${tag}: up to date"
    return 0
  fi
  root="$(mktemp -d "/var/tmp/ollama-lab-${release}.XXXXXX")"
  trap 'rm -rf "${root}"' RETURN
  echo "lab image ${tag}: debootstrap ${release} (about a minute)"
  debootstrap --variant=minbase --include="${include}" "${release}" "${root}" "${mirror}" \
    >"${root}.log" 2>&1 || { tail -n 30 "${root}.log"; return 1; }
  rm -f "${root}.log"
  # A container has no consoles and no udev: keep systemd from waiting on them.
  for unit in getty@tty1.service serial-getty@console.service systemd-udevd.service \
    systemd-udev-trigger.service systemd-remount-fs.service systemd-firstboot.service; do
    ln -sf /dev/null "${root}/etc/systemd/system/${unit}"
  done
  echo "ollama-lab-${release}" >"${root}/etc/hostname"
  # sshd off and no host keys in the image: every container makes its own
  # when a scenario turns SSH on (tests/lab/ssh/enable.yml).
  systemctl --root="${root}" disable ssh.service >/dev/null 2>&1 || true
  ln -sf /dev/null "${root}/etc/systemd/system/ssh.socket"
  rm -f "${root}"/etc/ssh/ssh_host_*
  # The Ollama image of the -docker variant: no files of its own; it runs the
  # host's python3 and stand-in through read-only bind mounts of /usr.
  if [[ "$1" == *-docker ]]; then
    mkdir -p "${root}/usr/local/share/ollama-lab/scratch"/{etc,tmp,proc,sys,dev}
    for dir in bin sbin lib lib64; do ln -s "usr/${dir}" "${root}/usr/local/share/ollama-lab/scratch/${dir}"; done
  fi
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
    bullseye | bookworm | trixie | bullseye-docker | bookworm-docker | trixie-docker) build_one "${release}" ;;
    *) echo "unknown release '${release}' (expected bullseye, bookworm or trixie, optionally -docker)" >&2; exit 2 ;;
  esac
done
