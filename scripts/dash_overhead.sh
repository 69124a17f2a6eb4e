#!/usr/bin/env bash
# The dashboard's training overhead: the same CNN2 run trained headless and
# under the dashboard, alternately, N pairs, both started in the same kind of
# tmux session (120x40): a process that tmux starts runs in a session (and
# scheduler group) of its own, and that alone changed training speed by 5%
# here against one started from a shell, dashboard or not.
# Prints each run's training seconds per epoch and the mean ratio.
#
#   ./scripts/dash_overhead.sh [--pairs 3] [--limit-train 30000] [--epochs 2]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh >/dev/null
pairs=3 limit=30000 epochs=2
while (($#)); do
  case $1 in
    --pairs) pairs=$2; shift 2 ;;
    --limit-train) limit=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    *) echo "dash_overhead.sh: unknown flag $1" >&2; exit 2 ;;
  esac
done
go build -o fmnist .
tmp=$(mktemp -d)
trap 'tmux kill-session -t fmnist-overhead 2>/dev/null || true; rm -rf "$tmp"' EXIT
args=(train --models CNN2 --epochs "$epochs" --limit-train "$limit" --limit-test 2000 --seed 1)
secs() { # mean training seconds per epoch of the one run in $1
  python3 -c 'import json,glob,sys; r=json.load(open(glob.glob(sys.argv[1]+"/*/run.json")[0])); e=r["epochs"]; print(sum(x["train_seconds"] for x in e)/len(e))' "$1"
}
ratios=()
intmux() { # runs dir, extra flags: train in a tmux session until the run is done
  tmux new-session -d -s fmnist-overhead -x 120 -y 40 "./fmnist ${args[*]} --runs $1 $2; sleep 600"
  until python3 -c 'import json,glob,sys; fs=glob.glob(sys.argv[1]+"/*/run.json"); sys.exit(0 if fs and json.load(open(fs[0]))["status"]=="done" else 1)' "$1" 2>/dev/null; do sleep 1; done
  tmux kill-session -t fmnist-overhead
}
for ((i = 0; i < pairs; i++)); do
  intmux "$tmp/h$i" --headless
  h=$(secs "$tmp/h$i")
  intmux "$tmp/d$i" ""
  d=$(secs "$tmp/d$i")
  r=$(python3 -c "print($d/$h)")
  ratios+=("$r")
  printf 'pair %d: headless %.2f s/epoch, dashboard %.2f s/epoch, ratio %.3f\n' "$i" "$h" "$d" "$r"
done
python3 -c "import sys; r=[float(x) for x in sys.argv[1:]]; print(f'mean ratio {sum(r)/len(r):.3f} over {len(r)} pairs')" "${ratios[@]}"
