#!/usr/bin/env bash
# Sets up the machine, then vets and tests everything (about 7 minutes on 2 cores).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n $unformatted ]]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 -timeout 20m "$@" ./...
# The race detector on what passes events between goroutines: the trainer's
# manager, the hub and its subscribers, the dashboard's feed and wiring, the
# SSH server, and the detector's frames proposed ahead.
go test -race -count=1 -timeout 20m -run 'Manager|EventOrder|Cancel' ./trainer
go test -race -count=1 -timeout 20m ./hub ./tui
go test -race -count=1 -timeout 20m -run 'ProposeAhead|JobEvents' ./detector
go test -race -short -count=1 -timeout 20m ./cluster
go test -race -count=1 -timeout 20m -run 'Dashboard|Serve' .
