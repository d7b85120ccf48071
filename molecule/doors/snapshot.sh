# A doors host as test_doors_harden.py compares it (docker exec, bash): every
# file and link where the toolkit's roles write (content, mode, owner), the
# live rules, the units with their states and the listening sockets. The
# check run must leave it as it was, and so must rollback.yml after the real
# runs. Directories are not listed: the roles' rollbacks remove what they
# wrote and leave the (empty) directories they made.
set -o pipefail
for top in /etc /usr/local /var/lib/ollama-exposure-toolkit /var/backups; do
    [ -d "$top" ] || continue
    find "$top" -xdev \( -type f -o -type l \) ! -path /etc/machine-id -printf '%y %m %u:%g %p\n' 2>/dev/null
done | sort
{ find /etc /usr/local /var/lib/ollama-exposure-toolkit /var/backups -xdev -type f ! -path /etc/machine-id \
    -print0 2>/dev/null || true; } | sort -z | xargs -0 -r sha256sum
echo '## nft'; { nft -s list ruleset 2>/dev/null || true; }
echo '## iptables'; { iptables -S 2>/dev/null || true; }
echo '## ip6tables'; { ip6tables -S 2>/dev/null || true; }
echo '## units'
units=''
services=''
for _try in 1 2 3; do
    units=$(systemctl list-unit-files --no-legend 2>/dev/null) \
        && services=$(systemctl list-units --type=service --all --no-legend --plain 2>/dev/null) && break
    units=''; services=''; sleep 5
done
printf '%s\n' "$units" | sort
echo '## services'
printf '%s\n' "$services" | awk '{print $1, $2, $3, $4}' | sort
echo '## listening'
ss -Htln 2>/dev/null | awk '{print $4}' | sort -u
