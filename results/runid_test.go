//go:build unix

package results

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"fmnist/trainer"
)

var claimTime = time.Date(2026, 11, 29, 19, 48, 30, 0, time.UTC)

// Two processes started in the same second get distinct run IDs: the second
// skips the ID the first has claimed but not yet made a directory for.
func TestNewRunIDSkipsAnotherProcesssClaim(t *testing.T) {
	if dir := os.Getenv("FMNIST_CLAIM_HELPER"); dir != "" {
		// The other process: claim, say which, hold it until stdin closes.
		os.Stdout.WriteString(NewRunID(dir, "model5", claimTime, map[string]bool{}) + "\n")
		bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNewRunIDSkipsAnotherProcesssClaim$")
	cmd.Env = append(os.Environ(), "FMNIST_CLAIM_HELPER="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("helper process: %v", err)
	}
	theirs := line[:len(line)-1]
	if theirs != "model5-20261129-194830" {
		t.Fatalf("the other process got %q", theirs)
	}
	ours := NewRunID(dir, "model5", claimTime, map[string]bool{})
	defer ReleaseRunID(dir, ours)
	if ours != "model5-20261129-194830-2" {
		t.Errorf("while another process holds %s, got %q, want the -2 ID", theirs, ours)
	}
	// When that process ends, its claim goes with it, though (killed or
	// not) its file may stay: the ID is free again.
	stdin.Close()
	cmd.Wait()
	if got := NewRunID(dir, "model5", claimTime, map[string]bool{}); got != theirs {
		t.Errorf("after the other process ended, got %q, want %q", got, theirs)
	} else {
		ReleaseRunID(dir, got)
	}
}

func TestNewRunIDClaimsAndReleases(t *testing.T) {
	dir := t.TempDir()
	a := NewRunID(dir, "CNN2", claimTime, map[string]bool{})
	b := NewRunID(dir, "CNN2", claimTime, map[string]bool{}) // another manager, same process
	if a != "CNN2-20261129-194830" || b != "CNN2-20261129-194830-2" {
		t.Fatalf("got %q and %q", a, b)
	}
	if _, err := os.Stat(claimPath(dir, a)); err != nil {
		t.Errorf("claim of %s: %v", a, err)
	}
	ReleaseRunID(dir, a)
	if _, err := os.Stat(claimPath(dir, a)); !os.IsNotExist(err) {
		t.Errorf("claim file of %s left after release: %v", a, err)
	}
	if c := NewRunID(dir, "CNN2", claimTime, map[string]bool{}); c != a {
		t.Errorf("after release got %q, want %q again", c, a)
	}
	// A run directory or an ID taken here skips the ID, as before.
	os.Mkdir(filepath.Join(dir, "model5-20261129-194830"), 0o755)
	if got := NewRunID(dir, "model5", claimTime, map[string]bool{"model5-20261129-194830-2": true}); got != "model5-20261129-194830-3" {
		t.Errorf("got %q, want the -3 ID", got)
	}
	ReleaseRunIDs()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("after ReleaseRunIDs the runs directory holds %d entries, want only the run directory", len(ents))
	}
}

// The recorder gives up a claim once the run's directory is made and locked,
// and when a run ends without starting (cancelled while queued).
func TestRecorderReleasesClaims(t *testing.T) {
	dir := t.TempDir()
	started := NewRunID(dir, "CNN2", claimTime, map[string]bool{})
	queued := NewRunID(dir, "CNN2", claimTime, map[string]bool{})
	rec := NewRecorder(dir)
	if err := rec.Handle(trainer.RunStarted{ID: started, Model: "CNN2", Epochs: 1, Time: claimTime}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(claimPath(dir, started)); !os.IsNotExist(err) {
		t.Errorf("claim of a started run kept: %v", err)
	}
	if _, err := os.Stat(claimPath(dir, queued)); err != nil {
		t.Errorf("claim of a queued run dropped: %v", err)
	}
	rec.Handle(trainer.RunFinished{ID: queued, Status: "cancelled", Time: claimTime})
	rec.Handle(trainer.RunFinished{ID: started, Status: "cancelled", Time: claimTime})
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != started {
		t.Errorf("runs directory holds %v, want only %s", ents, started)
	}
}

// Claim files no live process holds (left by a killed one) are removed the
// first time a process claims an ID in that runs directory. (A held one
// stays: TestNewRunIDSkipsAnotherProcesssClaim's second claim sweeps first.)
func TestStaleClaimsAreSwept(t *testing.T) {
	dir := t.TempDir()
	stale := claimPath(dir, "CNN2-20261128-120501")
	os.WriteFile(stale, nil, 0o644)
	id := NewRunID(dir, "model5", claimTime, map[string]bool{})
	defer ReleaseRunID(dir, id)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale claim file kept: %v", err)
	}
	if _, err := os.Stat(claimPath(dir, id)); err != nil {
		t.Errorf("this process's own claim removed: %v", err)
	}
}
