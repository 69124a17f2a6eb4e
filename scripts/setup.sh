#!/usr/bin/env bash
# Idempotent set-up of a Debian machine for fmnist: the Debian packages it needs
# (installed only when missing) and the Go modules. Sourced by run.sh and test.sh.
set -euo pipefail

export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"

FMNIST_PACKAGES=(
  gcc libc6-dev pkg-config      # cgo
  libopenblas-dev               # matrix multiply
  dataset-fashion-mnist         # the real data set, in /usr/share/datasets/fashion-mnist
  tmux                          # terminal tests of the dashboard
  libopencv-dev                 # the detector: gocv (OpenCV 4.6) and ximgproc's selective search; large (~1 GB)
  opencv-doc                    # OpenCV's sample photos (backgrounds of detection training scenes) and tree.avi (detector benchmark)
)

missing=()
for p in "${FMNIST_PACKAGES[@]}"; do
  [[ $p == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
  echo "setup: Go 1.26 is needed (expected in /usr/local/go/bin)" >&2
  exit 1
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."
go mod download
