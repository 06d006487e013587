#!/usr/bin/env bash
# Merges the shards of deploy/slurm-sweep.sh into RESULTS/all.db and writes RESULTS/report.
# Submit it with --dependency=afterok:<array job id>.
#SBATCH --job-name=stampede-merge
#SBATCH --cpus-per-task=1
#SBATCH --time=00:30:00
#SBATCH --output=stampede-merge-%j.out
set -euo pipefail

cd "${SLURM_SUBMIT_DIR:-.}"
results=${RESULTS:-$PWD/results}
rm -f "$results/all.db"
stampede merge "$results"/shard-*.db --into "$results/all.db"
stampede report "$results/all.db" --out "$results/report"
