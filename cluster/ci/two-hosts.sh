#!/usr/bin/env bash
# Runs a command on "host A" of two hosts simulated on this machine.
#
#   cluster/ci/two-hosts.sh --check            exit 0 if namespaces can be made here, 77 (with a reason) if not
#   cluster/ci/two-hosts.sh COMMAND [ARGS...]  run COMMAND on host A, then take everything down
#
# Where network namespaces can be made (root, iproute2, veth): two namespaces joined by a veth pair get
# an address each on a private /24 (derived from this script's pid, so copies can run side by side).
# Elsewhere (no root, a container without CAP_NET_ADMIN) the two hosts are two loopback addresses
# (127.N.M.1 and .2, on `lo`) and the "login" runs the command on this machine: mpirun still starts an
# orted for the second host through the rsh agent, each rank is alone on its host (local rank 0 of 1)
# and they talk over TCP only; only the network isolation is missing. The reason is said on stderr.
# Neither loopback address is one of this machine's own, so mpirun starts both orteds at once on one
# machine; OpenMPI 4.1's rtc/hwloc then sometimes segfaults an orted while it maps the topology into
# shared memory at a guessed address hole (about 1 start in 3 under gVisor), so that sharing is off
# there (OMPI_MCA_rtc_hwloc_vmhole=none; each process reads the topology itself), and each orted
# gets its own session directory (both creating /tmp/ompi.HOST.UID/jf.N/0/ at once failed in mkdir
# with "File exists" once in a CI run).
# COMMAND runs on host A with:
#   TWO_HOSTS_HOSTFILE          a hostfile listing both addresses with slots=1
#   TWO_HOSTS_A, TWO_HOSTS_B    the two addresses
#   TWO_HOSTS_MODE              namespaces or loopback
#   OMPI_MCA_plm_rsh_agent      a script that "logs in" to an address (ip netns exec, or locally)
#                               instead of using ssh
#   OMPI_MCA_btl=tcp,self and btl/oob_tcp_if_include=SUBNET (lo for loopback), so ranks talk over TCP only
# The namespaces and files are removed on exit, on failure and on SIGINT/SIGTERM. The exit status is
# COMMAND's. TWO_HOSTS_FORCE_LOOPBACK=1 takes the loopback way even where namespaces work (tests).
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

# Prints why namespaces cannot be made here and returns 1, or returns 0 (and removes what it made).
namespaces_work() {
  [ -z "${TWO_HOSTS_FORCE_LOOPBACK:-}" ] || { echo "TWO_HOSTS_FORCE_LOOPBACK is set"; return 1; }
  command -v ip >/dev/null || { echo "no 'ip' command (install iproute2)"; return 1; }
  [ "$(id -u)" = 0 ] || { echo "network namespaces need root"; return 1; }
  local out
  if ! out=$(ip netns add "$a" 2>&1); then echo "ip netns add failed: $out"; return 1; fi
  if ! out=$(ip link add "${tag}x" type veth peer name "${tag}y" netns "$a" 2>&1); then
    ip netns del "$a" 2>/dev/null || true
    echo "creating a veth pair failed: $out"; return 1
  fi
  ip link del "${tag}x" 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true
  return 0
}

if [ "${1:-}" = "--check" ]; then
  trap cleanup EXIT
  if ! why=$(namespaces_work); then echo "cannot simulate two hosts with namespaces: $why"; exit 77; fi
  exit 0
fi
if [ $# -eq 0 ]; then echo "usage: $0 --check | COMMAND [ARGS...]" >&2; exit 2; fi

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
dir=$(mktemp -d /tmp/pretrain-two-hosts.XXXXXX)

if ! why=$(namespaces_work); then
  echo "two-hosts: no network namespaces here ($why); the two hosts are loopback addresses instead" >&2
  addr_a="127.$(($$ % 250 + 2)).$octet.1" addr_b="127.$(($$ % 250 + 2)).$octet.2"
  printf '%s slots=1\n%s slots=1\n' "$addr_a" "$addr_b" > "$dir/hostfile"
  cat > "$dir/rsh-agent" <<AGENT
#!/usr/bin/env bash
# Called by mpirun as: rsh-agent [options] HOST COMMAND...; runs COMMAND here (HOST is a loopback address).
while [ \$# -gt 0 ] && [ "\${1#-}" != "\$1" ]; do shift; done
case "\$1" in
  $addr_a|$addr_b) ;;
  *) echo "rsh-agent: unknown host \$1" >&2; exit 255 ;;
esac
# Each "host" gets its own session directory: two orteds creating one tree at once race in mkdir.
mkdir -p "$dir/session-\$1"
export OMPI_MCA_orte_tmpdir_base="$dir/session-\$1"
shift
exec bash -c "\$*"
AGENT
  chmod +x "$dir/rsh-agent"
  set +e
  env TWO_HOSTS_HOSTFILE="$dir/hostfile" TWO_HOSTS_A="$addr_a" TWO_HOSTS_B="$addr_b" TWO_HOSTS_MODE=loopback \
    OMPI_MCA_plm_rsh_agent="$dir/rsh-agent" OMPI_MCA_btl=tcp,self \
    OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_rtc_hwloc_vmhole=none \
    "$@"
  status=$?
  set -e
  exit $status
fi
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
  TWO_HOSTS_HOSTFILE="$dir/hostfile" TWO_HOSTS_A="$addr_a" TWO_HOSTS_B="$addr_b" TWO_HOSTS_MODE=namespaces \
  OMPI_MCA_plm_rsh_agent="$dir/rsh-agent" OMPI_MCA_btl=tcp,self \
  OMPI_MCA_btl_tcp_if_include="$subnet" OMPI_MCA_oob_tcp_if_include="$subnet" \
  "$@"
status=$?
set -e
exit $status
