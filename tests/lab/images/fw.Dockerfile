# Lab image for the firewall scenario: the bookworm lab image plus every
# firewall the role drives, and sshd. Every service stays disabled: the
# scenario's prepare enables the one each host uses. Built by build-fw.sh.
FROM ollama-lab:bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      nftables iptables ufw firewalld openssh-server python3-firewall \
 && for unit in nftables ufw firewalld ssh; do systemctl disable "${unit}.service" 2>/dev/null || true; done \
 && systemctl mask ssh.socket 2>/dev/null || true \
 && rm -f /etc/ssh/ssh_host_* \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
