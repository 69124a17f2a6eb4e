package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// bench prints a table (header, one row per model) and, with --json, the
// FLOP count, the rate it is done at and the floor ratio against the SGEMM
// rate it measured.
func TestBenchReportsTheFloor(t *testing.T) {
	out, stderr, code := fmnist(t, "bench", "--models", "CNN2", "--limit-train", "512", "--limit-test", "200")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "SGEMM ") || !strings.Contains(lines[2], "floor") || !strings.HasPrefix(lines[3], "CNN2 ") {
		t.Fatalf("want the BLAS line, the SGEMM rate, a header and a CNN2 row:\n%s", out)
	}
	// model batch img/s s/epoch CPU-s MFLOP GFLOP/s SGEMM% floor eval RSS "MB" allocs
	if f := strings.Fields(lines[3]); len(f) != 13 || f[5] != "13.4" || !strings.HasSuffix(f[7], "%") || !strings.HasSuffix(f[8], "x") {
		t.Errorf("row %q does not fit header %q (MFLOP/img 13.4, floor as Nx)", lines[3], lines[2])
	}
	out, stderr, code = fmnist(t, "bench", "--models", "CNN2", "--limit-train", "512", "--limit-test", "200", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		FLOPs  float64 `json:"train_flops_per_image"`
		GFLOPS float64 `json:"train_gflops"`
		SGEMM  float64 `json:"sgemm_gflops"`
		Floor  float64 `json:"floor_ratio"`
		Eval   float64 `json:"eval_seconds"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.FLOPs != 13404672 || r.GFLOPS <= 0 || r.SGEMM <= 0 || r.Eval <= 0 {
		t.Fatalf("JSON %s: want CNN2's 13,404,672 FLOPs per image and positive rates", out)
	}
	if d := r.Floor - r.SGEMM/r.GFLOPS; d > 1e-9 || d < -1e-9 {
		t.Errorf("floor ratio %v, want SGEMM rate / achieved rate = %v", r.Floor, r.SGEMM/r.GFLOPS)
	}
}
