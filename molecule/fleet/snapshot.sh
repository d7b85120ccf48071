set -o pipefail
# Every file (added ones included) where the toolkit's roles write, and the
# live rules: the check-mode proof compares this listing whole.
{ find /etc /usr/local /usr/share/ollama /var/lib/ollama-exposure-toolkit /var/backups -xdev -type f \
    ! -path '/etc/machine-id' -print0 2>/dev/null || true; } | sort -z | xargs -0 -r sha256sum
echo '## nft'; { nft -s list ruleset 2>/dev/null || true; }
echo '## iptables'; { iptables -S 2>/dev/null || true; }
echo '## ip6tables'; { ip6tables -S 2>/dev/null || true; }
# systemd may time out answering on a loaded machine (an empty listing would
# read as every unit gone): asked again, three times at most.
echo '## units'
units=''
if [ -d /run/systemd/system ]; then
    for _try in 1 2 3; do units=$(systemctl list-unit-files --no-legend 2>/dev/null) && break; units=''; sleep 5; done
fi
printf '%s\n' "$units" | sort
