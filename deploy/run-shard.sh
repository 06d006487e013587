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
# so the folder never holds half a shard. A task that is retried starts from its scratch database
# if it is still there (a requeued Slurm task on the same node), else from that copy if there is
# one (the sweep then skips what it holds), else from the beginning: every run is deterministic,
# so a rerun stores the same results.
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
# Named after the Slurm array job as well: a requeued task finds its own runs again, while two
# sweeps sharing a node's scratch (or one after the other) never resume from each other's. A
# Kubernetes pod has a scratch folder of its own (emptyDir).
db=$scratch/stampede-${SLURM_ARRAY_JOB_ID:+$SLURM_ARRAY_JOB_ID-}shard-$shard.db
mkdir -p "$results" "$scratch"
if [[ -f $results/shard-$shard.db && ! -f $db ]]; then
  cp "$results/shard-$shard.db" "$db"
fi

# A sweep killed by a signal other than a stop's SIGTERM or SIGINT (the OOM killer's SIGKILL, a
# crash) is run again, up to STAMPEDE_SHARD_RETRIES times (default 2): its database holds whole
# runs only, and the sweep skips them. A task that fails anyway is rerun with its own index and
# the array's count (`scontrol requeue JOB_TASK` on Slurm, a new pod on Kubernetes).
retries=${STAMPEDE_SHARD_RETRIES:-2}
for ((attempt = 0; ; ++attempt)); do
  rc=0
  stampede sweep "$@" --db "$db" || rc=$?
  # 1 means some runs failed an expectation: that is a result, not a failed task.
  ((rc <= 1)) && break
  if ((rc > 128 && rc != 130 && rc != 143 && attempt < retries)); then
    echo "run-shard.sh: stampede sweep died (exit $rc); resuming, $((attempt + 1)) of $retries" >&2
    continue
  fi
  echo "run-shard.sh: stampede sweep exited $rc" >&2
  exit "$rc"
done
# Copied through SQLite (stampede merge), not cp: runs committed in WAL mode may still be in the
# -wal file beside the database (a sweep resumed after a kill, a reader open at the sweep's end
# keep it from being folded back), and a copy of the main file alone would lose them.
rm -f "$results/.shard-$shard.db.tmp"
stampede merge "$db" --into "$results/.shard-$shard.db.tmp" >/dev/null
mv "$results/.shard-$shard.db.tmp" "$results/shard-$shard.db"
echo "run-shard.sh: shard $shard stored in $results/shard-$shard.db"
