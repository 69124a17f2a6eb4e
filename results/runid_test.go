package results

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Run IDs are claimed: callers racing for the same model and second (as two
// fmnist processes started together do) all get different IDs, and an ID
// in taken or on disk is never handed out again.
func TestNewRunIDClaimsItsDirectory(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 29, 19, 17, 47, 0, time.UTC)
	if err := os.Mkdir(filepath.Join(dir, "CNN2-20261129-191747"), 0o755); err != nil {
		t.Fatal(err)
	}
	taken := map[string]bool{"CNN2-20261129-191747-2": true}
	const n = 16
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = NewRunID(dir, "CNN2", now, taken)
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || id == "CNN2-20261129-191747" || id == "CNN2-20261129-191747-2" {
			t.Fatalf("ID %s handed out twice or already taken: %v", id, ids)
		}
		seen[id] = true
		if fi, err := os.Stat(filepath.Join(dir, id)); err != nil || !fi.IsDir() {
			t.Errorf("%s: run directory not created: %v", id, err)
		}
	}
	// A directory without run.json is not a run.
	if runs, _, err := LoadRuns(dir); err != nil || len(runs) != 0 {
		t.Errorf("claimed directories listed as %d runs (%v)", len(runs), err)
	}
}
