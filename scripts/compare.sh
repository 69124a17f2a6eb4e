#!/usr/bin/env bash
# Training speed against the PyTorch reference (bench/pytorch), same machine,
# same slice of data, run alternately: ours, reference, ours, reference...
# Prints seconds per slice for each (the best of the rounds) and the ratio.
#
#   ./scripts/compare.sh [--models CNN2,model5] [--limit-train 12800] [--rounds 2]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh >/dev/null
models="CNN2,CNN2_dropout,CNN3_dropout,reduced_all_cnn,all_cnn,model5"
limit=12800
rounds=2
while (($#)); do
  case $1 in
    --models) models=$2; shift 2 ;;
    --limit-train) limit=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "compare.sh: unknown flag $1" >&2; exit 2 ;;
  esac
done
ref=bench/pytorch/bench.py
[[ -f $ref ]] || { echo "compare.sh: $ref not found" >&2; exit 1; }
missing=()
for p in python3-torch python3-numpy libopenblas0; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
go build -o fmnist .

printf '%-16s %10s %10s %8s   (seconds to train %d images, best of %d alternating rounds)\n' model ours pytorch ratio "$limit" "$rounds"
for m in ${models//,/ }; do
  best_ours="" best_ref=""
  for ((r = 0; r < rounds; r++)); do
    o=$(./fmnist bench --models "$m" --limit-train "$limit" --limit-test 2000 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["train_seconds"])')
    p=$(LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 "$ref" --model "$m" --epochs 1 \
          --limit-train "$limit" --no-eval --threads 2 | tail -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
    best_ours=$(python3 -c "print(min(x for x in [$o, ${best_ours:-1e9}]))")
    best_ref=$(python3 -c "print(min(x for x in [$p, ${best_ref:-1e9}]))")
  done
  printf '%-16s %10.2f %10.2f %8.2f\n' "$m" "$best_ours" "$best_ref" "$(python3 -c "print($best_ours / $best_ref)")"
done
