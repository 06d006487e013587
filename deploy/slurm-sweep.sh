#!/usr/bin/env bash
# A sweep over a Slurm job array: one task per shard, each writing its own results database to
# a shared folder; merge them with deploy/slurm-merge.sh once every task is done:
#
#   jid=$(sbatch --parsable deploy/slurm-sweep.sh)
#   sbatch --dependency=afterok:$jid deploy/slurm-merge.sh
#
# The array range is the number of shards (any range works: the shard is
# SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN + 1 of SLURM_ARRAY_TASK_COUNT). Edit the sweep below;
# RESULTS (default ./results under the submit folder) must be on a file system every node sees.
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
# Node-local scratch for the live database (see run-shard.sh).
export STAMPEDE_SCRATCH=${SLURM_TMPDIR:-${TMPDIR:-/tmp}}

exec "$shard_script" "$results" agent-partition --seeds 1..10000 \
  --set cluster.agents=2,3,4 --set cluster.network.drop=0,0.01,0.02 \
  --jobs "${SLURM_CPUS_PER_TASK:-2}"
