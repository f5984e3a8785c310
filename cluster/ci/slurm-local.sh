#!/usr/bin/env bash
# Runs a command against a private one-node Slurm cluster on this machine, then takes it down.
#
#   cluster/ci/slurm-local.sh COMMAND [ARGS...]
#   e.g. cluster/ci/slurm-local.sh sbatch --wait cluster/slurm.sbatch configs/tiny.yaml
#
# Starts munged, slurmctld and slurmd (as root) from a slurm.conf generated in a fresh temporary
# directory: its own munge key and socket, ports derived from this script's pid, state, spool, logs and
# pid files all inside that directory, so it touches no system configuration and two copies can run
# side by side. COMMAND runs with SLURM_CONF set once the node is idle. On exit, on failure and on
# SIGINT/SIGTERM the daemons are stopped by their pid files and the directory removed (keep it with
# SLURM_LOCAL_KEEP=1). The exit status is COMMAND's. Needs Debian's slurm-wlm and munge packages.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"  # ip, munged, slurmd live there; non-root PATHs often lack them

if [ $# -eq 0 ]; then echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; fi
for tool in munged slurmctld slurmd sbatch sinfo; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found; install Slurm with 'apt-get install slurm-wlm munge' (make test does)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "error: the local Slurm cluster needs root (slurmd runs jobs as their users); run as root" >&2; exit 2; }

dir=$(mktemp -d /tmp/pretrain-slurm.XXXXXX)
stop_daemon() {  # name: SIGTERM by pid file, then SIGKILL after 5 s
  local file="$dir/$1.pid" pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_daemon slurmd; stop_daemon slurmctld; stop_daemon munged
  if [ $status -ne 0 ] && [ -f "$dir/slurmctld.log" ]; then
    echo "--- slurm logs ($dir) ---" >&2
    tail -n 15 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 2>/dev/null || true
  fi
  if [ "${SLURM_LOCAL_KEEP:-0}" = 1 ]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$dir/state" "$dir/spool"
head -c 1024 /dev/urandom > "$dir/munge.key"
chmod 400 "$dir/munge.key"
munged --force --key-file="$dir/munge.key" --socket="$dir/munge.socket" --pid-file="$dir/munged.pid" \
  --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" 2>"$dir/munged.err"

host=$(hostname -s)
node=$(slurmd -C | head -n 1 | sed -e "s/^NodeName=[^ ]*/NodeName=$host NodeAddr=127.0.0.1/")
port=$((20000 + ($$ % 2000) * 4))
cat > "$dir/slurm.conf" <<CONF
ClusterName=pretrain-ci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
MpiDefault=none
ReturnToService=2
$node State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 150); do
  state=$(sinfo -h -o %t 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.2
done
[ "$state" = idle ] || { echo "error: the local Slurm node did not become idle (state '${state:-none}') within 30 s" >&2; exit 3; }

set +e
"$@"
status=$?
set -e
exit $status
