#!/usr/bin/env bash
# The sequence-task benchmarks of results/rc-benchmarks.md: each reservoir model on NARMA-10, Mackey-Glass (one
# step and closed loop), Lorenz-63 and the linear memory capacity, its hyper-parameters selected on the validation
# segment over the grids below (3 reservoirs per configuration), then 5 fresh reservoirs on test.
#
# Usage: results/rc-benchmarks/run.sh [path/to/mf]   (default: target/release/mf; build it with
# `cargo build --release --bin mf`). Writes one JSON report per run beside this script, then table.py renders
# results/rc-benchmarks.md from them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mf="${1:-$here/../../target/release/mf}"
seed=2025
# Searched for every model: input and spectral scalings; each model's own step on top.
common=(--grid omega=0.05,0.2,1 --grid rho=0.8,0.95 --set lambda=1e-8)
esn=(--grid alpha=0.3,1)
mf_esn=(--grid dt=0.01,0.1 --grid gamma=0.9,1)
deep=(--grid dt=0.01,0.1 --grid layers=2,3)
for task in narma10 mackey-glass lorenz memory-capacity; do
  "$mf" run -m esn -d "$task" "${common[@]}" "${esn[@]}" --draws 3 --trials 5 --seed $seed --json \
    > "$here/esn-$task.json"
  "$mf" run -m mf-esn -d "$task" "${common[@]}" "${mf_esn[@]}" --draws 3 --trials 5 --seed $seed --json \
    > "$here/mf-esn-$task.json"
  "$mf" run -m deep-mf-esn -d "$task" "${common[@]}" "${deep[@]}" --draws 3 --trials 5 --seed $seed --json \
    > "$here/deep-mf-esn-$task.json"
done
# Closed loop with the configurations selected on the one-step Mackey-Glass task: Jaeger's NRMSE84 over 100 starts.
for model in esn mf-esn deep-mf-esn; do
  sets=$(python3 -c "import json,sys; r=json.load(open('$here/$model-mackey-glass.json')); \
print(' '.join(f'--set {k}={v}' for k,v in r['selection']['selected'].items()))")
  # shellcheck disable=SC2086
  "$mf" forecast -m $model -d mackey-glass $sets --set lambda=1e-8 --horizon 84 --starts 100 --seed $seed \
    --out "$here/$model-mackey-glass-forecast.csv" --plot "$here/$model-mackey-glass-forecast.png" --json \
    > "$here/$model-mackey-glass-forecast.json"
done
# Memory capacity against the ADC's resolution (adc_bits; 0 = exact states), each model at its selected
# configuration (the deep MF-ESN models no ADC).
for model in esn mf-esn; do
  sets=$(python3 -c "import json,sys; r=json.load(open('$here/$model-memory-capacity.json')); \
print(' '.join(f'--set {k}={v}' for k,v in r['selection']['selected'].items()))")
  for bits in 2 3 4 6 8 0; do
    # shellcheck disable=SC2086
    "$mf" run -m $model -d memory-capacity $sets --set lambda=1e-8 --set adc_bits=$bits --trials 5 --seed $seed \
      --json > "$here/$model-memory-capacity-adc$bits.json"
  done
done
# The same as a robustness figure per model: `mf robustness` on the sequence task.
for model in esn mf-esn; do
  sets=$(python3 -c "import json,sys; r=json.load(open('$here/$model-memory-capacity.json')); \
print(' '.join(f'--set {k}={v}' for k,v in r['selection']['selected'].items()))")
  # shellcheck disable=SC2086
  "$mf" robustness -m $model -d memory-capacity $sets --set lambda=1e-8 --param adc_bits --values 0,2,3,4,6,8 \
    --draws 5 --seed $seed --out "$here/robustness-adc-$model" > /dev/null
done
# The trained models (RNN, MF-RNN) on the same tasks; it renders the table at its end.
"$here/run-trained.sh" "$mf"
