#!/usr/bin/env bash
# ESN and MF-ESN with the paper's selected hyper-parameters (Tables V and VII) on every paper data set present:
# 5 fresh reservoirs each, fitted on the whole training split and scored on the test split, seed 2025. Each report
# is the `--json` output of one `mf run`; the README's presets table is generated from these files (tested).
#
#   MF_DATA_DIR=/path/to/datasets results/presets/run.sh [path/to/mf]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mf=${1:-$here/../../target/release/mf}
for ds in JapaneseVowels SyntheticControl ECG5000 GunPoint Epilepsy Coffee FloodModeling1 FloodModeling2 FloodModeling3; do
    for model in esn mf-esn; do
        "$mf" run --model "$model" --dataset "$ds" --preset paper --trials 5 --seed 2025 --json \
            >"$here/${model}_${ds}.json"
        echo "$model $ds: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["mean"], d["std"])' "$here/${model}_${ds}.json")"
    done
done
