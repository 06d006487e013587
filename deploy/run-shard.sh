#!/usr/bin/env bash
# Runs this task's shard of a sweep and leaves its results database in a shared folder.
#
#   run-shard.sh RESULTS_DIR SCENARIO [sweep flags, without --db and --shard]...
#
# The shard comes from the environment, as `stampede sweep` reads it: a Slurm job array
# (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN) or a Kubernetes Indexed
# Job (JOB_COMPLETION_INDEX, and STAMPEDE_SHARD_COUNT set to the Job's completions).
#
# The database is written on local scratch (STAMPEDE_SCRATCH, else TMPDIR, else /tmp): SQLite's
# WAL mode needs shared memory that network file systems (NFS, Lustre) do not give reliably.
# When the sweep ends it is copied to RESULTS_DIR/shard-K.db under a temporary name and renamed,
# so the folder never holds half a shard. A task that is retried starts from that copy if there
# is one (the sweep then skips what it holds), else from the beginning: every run is
# deterministic, so a rerun stores the same results.
set -euo pipefail

results=${1:?usage: run-shard.sh RESULTS_DIR SCENARIO [sweep flags]...}
shift
if [[ -n ${SLURM_ARRAY_TASK_ID:-} ]]; then
  shard=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0} + 1))
elif [[ -n ${JOB_COMPLETION_INDEX:-} ]]; then
  shard=$((JOB_COMPLETION_INDEX + 1))
else
  echo "run-shard.sh: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set" >&2
  exit 2
fi
scratch=${STAMPEDE_SCRATCH:-${TMPDIR:-/tmp}}
db=$scratch/stampede-shard-$shard.db
mkdir -p "$results" "$scratch"
if [[ -f $results/shard-$shard.db && ! -f $db ]]; then
  cp "$results/shard-$shard.db" "$db"
fi

rc=0
stampede sweep "$@" --db "$db" || rc=$?
# 1 means some runs failed an expectation: that is a result, not a failed task.
if ((rc > 1)); then
  echo "run-shard.sh: stampede sweep exited $rc" >&2
  exit "$rc"
fi
cp "$db" "$results/.shard-$shard.db.tmp"
mv "$results/.shard-$shard.db.tmp" "$results/shard-$shard.db"
echo "run-shard.sh: shard $shard stored in $results/shard-$shard.db"
