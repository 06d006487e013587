#!/usr/bin/env bash
# A sweep over a Slurm job array: one task per shard, each writing its own results database to
# a shared folder; merge them with deploy/slurm-merge.sh once every task is done:
#
#   jid=$(sbatch --parsable deploy/slurm-sweep.sh)
#   sbatch --dependency=afterok:$jid deploy/slurm-merge.sh
#
# The array range is the number of shards (any range works: the shard is
# SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN + 1 of SLURM_ARRAY_TASK_COUNT). Edit the sweep below,
# or give it after the script's name (sbatch passes it on), with the array on the command line:
#
#   sbatch --parsable --array=0-3 deploy/slurm-sweep.sh agent-partition --seeds 1..100 --jobs 2
#
# RESULTS (default ./results under the submit folder) must be on a file system every node sees,
# and hold one sweep only: the merge takes every shard-*.db in it. Submit from the checkout's
# root (or put the image's stampede-shard on PATH): the script is found as deploy/run-shard.sh.
#
# A task that is requeued (`scontrol requeue JOB_TASK`, or by Slurm when its node fails) resumes
# from the runs it had stored on that node's scratch. A task that failed (killed, out of memory)
# is rerun the same way, with `scontrol requeue JOB_TASK`; a new sbatch of that index alone would
# be an array of one task, hence a different sharding. deploy/slurm-merge.sh, held by afterok,
# starts once every task has succeeded.
#SBATCH --job-name=stampede-sweep
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=04:00:00
#SBATCH --output=stampede-sweep-%A_%a.out
set -euo pipefail

cd "${SLURM_SUBMIT_DIR:-.}"
results=${RESULTS:-$PWD/results}
# stampede-shard in the image; deploy/run-shard.sh from a checkout (stampede on PATH).
shard_script=$(command -v stampede-shard || echo deploy/run-shard.sh)
# Node-local scratch for the live database (see run-shard.sh), unless the submitter chose one.
export STAMPEDE_SCRATCH=${STAMPEDE_SCRATCH:-${SLURM_TMPDIR:-${TMPDIR:-/tmp}}}

if (($# > 0)); then
  sweep=("$@")
else
  sweep=(agent-partition --seeds 1..10000
    --set cluster.agents=2,3,4 --set cluster.network.drop=0,0.01,0.02
    --jobs "${SLURM_CPUS_PER_TASK:-2}")
fi
exec "$shard_script" "$results" "${sweep[@]}"
