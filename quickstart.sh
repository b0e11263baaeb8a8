#!/usr/bin/env bash
# From a fresh clone with Python 3.11: create a virtual environment, install the package with every extra,
# and reproduce the NB201 paper's search baselines offline on the default benchmark (nb201-public: NB201's
# own figures, bundled with the package): random search, regularized evolution and REINFORCE 500 runs each,
# PPO 20 runs, all under the NB201 protocol (CIFAR-10 validation after 12 epochs, 12,000 simulated seconds).
# Prints the table with the paper's figures beside ours and writes
# results/quickstart/{table.md,table.csv,anytime_nb201.png,anytime_nb201.svg}.
set -euo pipefail
cd "$(dirname "$0")"

python3 -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet torch==2.13.0  # the CPU wheel first: an unpinned torch would pull a CUDA build
python -m pip install --quiet -e ".[all]"

python -m benchmarks.harness.run --agents random rea reinforce --protocols nb201 --runs 500 \
    --out results/quickstart.jsonl
python -m benchmarks.harness.run --agents ppo --protocols nb201 --runs 20 \
    --out results/quickstart.jsonl --report results/quickstart
