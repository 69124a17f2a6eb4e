#!/usr/bin/env bash
# Sets up the machine, builds fmnist and runs it. With no arguments it runs the
# main job: the seed's five models trained with their full recipes, recorded in
# ./runs, then the comparison table. Any arguments are passed to fmnist instead.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
go build -o fmnist .
if (($# == 0)); then
  set -- train
fi
exec ./fmnist "$@"
