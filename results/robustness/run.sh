#!/bin/bash
# Reruns every curve of this directory (see README.md). From the repository root:
#   cargo build --release --bin mf && MF_DATA_DIR=/path/to/datasets results/robustness/run.sh
set -euo pipefail
cd "$(dirname "$0")"
MF=../../target/release/mf
run() { # data set, hyper-parameter, values, output directory
  $MF robustness -m mf-esn -m esn -d "$1" --preset paper --param "$2" --values "$3" --draws 5 --seed 2025 \
    --out "$4" > /dev/null
}
run ECG5000 w_noise 0,0.02,0.05,0.1,0.2,0.5 ecg5000-w_noise
run ECG5000 adc_bits 0,2,3,4,6,8,12 ecg5000-adc_bits
run Epilepsy w_noise 0,0.02,0.05,0.1,0.2,0.5 epilepsy-w_noise
run Epilepsy adc_bits 0,2,3,4,6,8,12 epilepsy-adc_bits
run ECG5000 w_bits 0,2,3,4,6,8 ecg5000-w_bits
run ECG5000 stuck_zero 0,0.01,0.05,0.1,0.2 ecg5000-stuck_zero
