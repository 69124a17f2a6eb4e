#!/usr/bin/env bash
# The detector's benchmark: precision, recall, mean IoU and frames/s on the
# test-split synthetic videos (seed 3, 200 frames, 320x240 and 640x480) and
# detections per frame on OpenCV's sample tree.avi (no fashion items), for a
# detection model (default: the best in --runs) with its defaults, and the
# seed's pipeline and the ten-class defaults with a ten-class model, if given.
#
#   ./scripts/detect_bench.sh [--runs DIR] [--model DET_MODEL] [--ten-class MODEL] [--frames 200]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh >/dev/null
runs=runs model=best ten="" frames=200
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --ten-class) ten=$2; shift 2 ;;
    --frames) frames=$2; shift 2 ;;
    *) echo "detect_bench.sh: unknown flag $1" >&2; exit 2 ;;
  esac
done
go build -o fmnist .
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tree=/usr/share/doc/opencv-doc/examples/data/tree.avi
row() { # name video truth args...
  local name=$1 video=$2 truth=$3; shift 3
  local t=()
  [[ -n $truth ]] && t=(--truth "$truth")
  ./fmnist detect --in "$video" --out "$tmp/out.avi" --runs "$runs" --json "$tmp/r.json" --headless "${t[@]}" "$@" >/dev/null || true
  python3 - "$name" "$tmp/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
s = r["summary"]
m = s.get("metrics", {}).get("overall")
per = s["detections"] / max(1, s["frames"])
if m:
    print(f"| {sys.argv[1]} | {m['precision']:.3f} | {m['recall']:.3f} | {m['mean_iou']:.3f} | {s['frames_per_second']:.1f} |")
else:
    print(f"| {sys.argv[1]} | {s['detections']} detections in {s['frames']} frames ({per:.2f} a frame) | | | {s['frames_per_second']:.1f} |")
PY
}
echo "| video, pipeline | precision | recall | mean IoU | frames/s |"
echo "|---|---:|---:|---:|---:|"
for size in 320x240 640x480; do
  ./fmnist synth-video --out "$tmp/v$size.avi" --truth "$tmp/v$size.json" --frames "$frames" --size "$size" --seed 3 >/dev/null
  row "$size, detection model" "$tmp/v$size.avi" "$tmp/v$size.json" --model "$model"
  if [[ -n $ten ]]; then
    row "$size, ten-class model, seed pipeline" "$tmp/v$size.avi" "$tmp/v$size.json" --model "$ten" --seed-pipeline
    row "$size, ten-class model, old defaults" "$tmp/v$size.avi" "$tmp/v$size.json" --model "$ten"
  fi
done
row "tree.avi, detection model" "$tree" "" --model "$model"
[[ -n $ten ]] && row "tree.avi, ten-class model, seed pipeline" "$tree" "" --model "$ten" --seed-pipeline
exit 0
