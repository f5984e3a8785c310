#!/usr/bin/env bash
# swift-pretrain on PBS Pro / OpenPBS / Torque: one `pretrain launch` over the job's machines.
#
#   qsub -v CONFIG=run.yaml cluster/pbs.sh
#   qsub -v CONFIG=run.yaml,LAUNCH_ARGS="--set training.steps=5000" -l select=4:ncpus=32:mpiprocs=8 cluster/pbs.sh
#
# Debian's OpenMPI has no PBS (tm) support, so the script turns $PBS_NODEFILE (one line per rank) into a
# hostfile of `host slots=N` lines and passes it, the machine count and the rank count to `pretrain launch`
# as --set overrides. Environment: CONFIG (required), LAUNCH_ARGS (more `pretrain launch` arguments),
# PRETRAIN (the binary; default .build/release/pretrain in the submit directory).
# PBS sends SIGTERM before it kills a job (qdel, walltime), to every process of the job: the ranks save,
# mpirun aborts with status 1 on its own copy, and `pretrain launch` still ends with 75 on finding rank 0's
# <run_dir>/preempted; the copy this script forwards is the same stop, not a second one. The script exits
# with the launch's status; it does not requeue (resubmit with LAUNCH_ARGS="--resume auto").
#
#PBS -N pretrain
#PBS -l select=1:ncpus=2:mpiprocs=2
#PBS -l walltime=24:00:00
#PBS -j oe
set -uo pipefail

cd "${PBS_O_WORKDIR:-.}" || exit 2
config=${CONFIG:?set CONFIG, e.g. qsub -v CONFIG=run.yaml cluster/pbs.sh}
pretrain=${PRETRAIN:-.build/release/pretrain}
nodefile=${PBS_NODEFILE:?not inside a PBS job (no PBS_NODEFILE)}

hostfile=$(mktemp "${TMPDIR:-/tmp}/pretrain-hosts.XXXXXX")
trap 'rm -f "$hostfile"' EXIT
# Count each host's lines, keeping the order in which hosts first appear (the first one gets rank 0).
awk 'NF { if (!($1 in n)) order[++k] = $1; n[$1]++ } END { for (i = 1; i <= k; i++) print order[i] " slots=" n[order[i]] }' \
  "$nodefile" > "$hostfile"
machines=$(wc -l < "$hostfile")
ranks=$(awk 'NF' "$nodefile" | wc -l)
echo "pbs job ${PBS_JOBID:-?}: $machines machine(s), $ranks rank(s)"

# shellcheck disable=SC2086  # LAUNCH_ARGS is a list of words on purpose
"$pretrain" launch --config "$config" --set "mpirun_config.mpirun_hostfile=$hostfile" \
  --set "num_machines=$machines" --set "num_processes=$ranks" ${LAUNCH_ARGS:-} &
launcher=$!
trap 'kill -TERM "$launcher" 2>/dev/null' TERM
trap 'kill -INT "$launcher" 2>/dev/null' INT
trap 'kill -USR1 "$launcher" 2>/dev/null' USR1
while :; do
  wait "$launcher"
  status=$?
  kill -0 "$launcher" 2>/dev/null || break
done
if [ "$status" -gt 128 ]; then wait "$launcher"; status=$?; fi
exit "$status"
