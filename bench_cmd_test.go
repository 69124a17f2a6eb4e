package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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

// bench --cpuprofile writes the profile in place of a file already there
// only when every model has run; cancelled (exit 130), it leaves that file
// as it was and nothing beside it.
func TestBenchProfileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.out")
	os.WriteFile(prof, []byte("an earlier profile"), 0o644)
	files := func() int { e, _ := os.ReadDir(dir); return len(e) }

	cmd := exec.Command(bin, "bench", "--models", "all_cnn", "--limit-train", "12800", "--limit-test", "200", "--cpuprofile", prof)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Cancel once the header is out: the SGEMM rate is measured, all_cnn is training.
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.Contains(sc.Text(), "floor") {
	}
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	io.Copy(io.Discard, stdout)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitCancelled {
		t.Errorf("cancelled bench: exit %d, want %d", code, exitCancelled)
	}
	if b, _ := os.ReadFile(prof); string(b) != "an earlier profile" || files() != 1 {
		t.Errorf("a cancelled bench left %q and %d files", b, files())
	}

	if _, stderr, code := fmnist(t, "bench", "--models", "CNN2", "--limit-train", "256", "--limit-test", "100", "--cpuprofile", prof); code != 0 {
		t.Fatalf("bench: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(prof); len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b || files() != 1 {
		t.Errorf("after bench: %d bytes (want a gzipped profile), %d files", len(b), files())
	}
	if fi, err := os.Stat(prof); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("the profile's mode is %v (%v), want -rw-r--r--", fi.Mode().Perm(), err)
	}
}
