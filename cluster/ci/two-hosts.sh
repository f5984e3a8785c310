#!/usr/bin/env bash
# Runs a command on "host A" of two hosts simulated on this machine with network namespaces.
#
#   cluster/ci/two-hosts.sh --check            exit 0 if namespaces can be made here, 77 (with a reason) if not
#   cluster/ci/two-hosts.sh COMMAND [ARGS...]  run COMMAND inside host A, then take everything down
#
# Two namespaces joined by a veth pair get an address each on a private /24 (derived from this
# script's pid, so copies can run side by side). COMMAND runs inside namespace A with:
#   TWO_HOSTS_HOSTFILE          a hostfile listing both addresses with slots=1
#   TWO_HOSTS_A, TWO_HOSTS_B    the two addresses
#   OMPI_MCA_plm_rsh_agent      a script that "logs in" to an address by entering its namespace
#                               (ip netns exec) instead of using ssh
#   OMPI_MCA_btl=tcp,self and btl/oob_tcp_if_include=SUBNET, so ranks talk over the veth link only
# The namespaces and files are removed on exit, on failure and on SIGINT/SIGTERM. The exit status is
# COMMAND's. Needs root and iproute2.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"  # ip, munged, slurmd live there; non-root PATHs often lack them

tag="pt$$"
a="${tag}a" b="${tag}b"
octet=$((($$ % 200) + 20))
subnet="10.254.$octet.0/24"
addr_a="10.254.$octet.1" addr_b="10.254.$octet.2"
dir=""

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  ip netns pids "$a" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns pids "$b" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  [ -n "$dir" ] && rm -rf "$dir"
  exit $status
}

if [ "${1:-}" = "--check" ]; then
  command -v ip >/dev/null || { echo "cannot simulate two hosts: no 'ip' command (install iproute2)"; exit 77; }
  [ "$(id -u)" = 0 ] || { echo "cannot simulate two hosts: network namespaces need root"; exit 77; }
  trap cleanup EXIT
  if ! out=$(ip netns add "$a" 2>&1); then echo "cannot simulate two hosts: ip netns add failed: $out"; exit 77; fi
  if ! out=$(ip link add "${tag}x" type veth peer name "${tag}y" netns "$a" 2>&1); then
    echo "cannot simulate two hosts: creating a veth pair failed: $out"; exit 77
  fi
  ip link del "${tag}x" 2>/dev/null || true
  exit 0
fi
if [ $# -eq 0 ]; then echo "usage: $0 --check | COMMAND [ARGS...]" >&2; exit 2; fi

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
dir=$(mktemp -d /tmp/pretrain-two-hosts.XXXXXX)
ip netns add "$a"
ip netns add "$b"
ip link add "${tag}a0" type veth peer name "${tag}b0"
ip link set "${tag}a0" netns "$a"
ip link set "${tag}b0" netns "$b"
ip -n "$a" addr add "$addr_a/24" dev "${tag}a0"
ip -n "$b" addr add "$addr_b/24" dev "${tag}b0"
for ns in "$a" "$b"; do
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "${tag}${ns: -1}0" up
done

printf '%s slots=1\n%s slots=1\n' "$addr_a" "$addr_b" > "$dir/hostfile"
cat > "$dir/rsh-agent" <<AGENT
#!/usr/bin/env bash
# Called by mpirun as: rsh-agent [options] HOST COMMAND...; enters HOST's namespace instead of ssh.
while [ \$# -gt 0 ] && [ "\${1#-}" != "\$1" ]; do shift; done
case "\$1" in
  $addr_a) ns=$a ;;
  $addr_b) ns=$b ;;
  *) echo "rsh-agent: unknown host \$1" >&2; exit 255 ;;
esac
shift
exec ip netns exec "\$ns" bash -c "\$*"
AGENT
chmod +x "$dir/rsh-agent"

set +e
ip netns exec "$a" env \
  TWO_HOSTS_HOSTFILE="$dir/hostfile" TWO_HOSTS_A="$addr_a" TWO_HOSTS_B="$addr_b" \
  OMPI_MCA_plm_rsh_agent="$dir/rsh-agent" OMPI_MCA_btl=tcp,self \
  OMPI_MCA_btl_tcp_if_include="$subnet" OMPI_MCA_oob_tcp_if_include="$subnet" \
  "$@"
status=$?
set -e
exit $status
