#!/usr/bin/env bash
# Make this (Debian) machine ready for the lab: Docker engine running,
# debootstrap, chromium, node and the ssh client present. Idempotent; needs root. Used by `make demo/test`.
set -euo pipefail

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
# The HTML report is checked in a real headless browser (audit scenario).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# The front's njs check (cloud-models.js) is unit-tested under node.
command -v node >/dev/null 2>&1 || need+=(nodejs)
# The fleet scenario reaches the lab over SSH, as fleets are (issue 28).
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
if [[ ${#need[@]} -gt 0 ]]; then
  echo "installing ${need[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "starting dockerd"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi
echo "docker engine $(docker version -f '{{.Server.Version}}') is up"

# Every lab host runs systemd, which takes inotify instances from root's
# machine-wide budget (128 by default): a whole lab (about twenty hosts) or
# two labs at once exhaust it and systemd hangs at boot ("Failed to create
# inotify object: Too many open files"). Raise it for this boot.
if [[ "$(cat /proc/sys/fs/inotify/max_user_instances)" -lt 1024 ]]; then
  echo 1024 >/proc/sys/fs/inotify/max_user_instances
  echo "fs.inotify.max_user_instances raised to 1024 for the lab's systemd hosts"
fi
