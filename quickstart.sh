#!/usr/bin/env bash
# From a fresh clone with Python 3.11: create a virtual environment, install the package with every extra,
# and compare random search, regularized evolution, REINFORCE and PPO under the NB201 protocol (12,000
# simulated seconds, 20 runs each) on the benchmark bundled with the package. Prints the table and writes
# results/quickstart/{table.md,table.csv,anytime_nb201.png,anytime_nb201.svg}.
set -euo pipefail
cd "$(dirname "$0")"

python3 -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet torch==2.13.0  # the CPU wheel first: an unpinned torch would pull a CUDA build
python -m pip install --quiet -e ".[all]"

bundled=$(python -c "from nb201_env.locate import bundled_store_path; print(bundled_store_path())")
python -m benchmarks.harness.run --agents random rea reinforce ppo --protocols nb201 --runs 20 \
    --store "$bundled" --out results/quickstart.jsonl --report results/quickstart
