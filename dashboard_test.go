package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fmnist/results"
	"fmnist/trainer"
	"fmnist/trainer/trainertest"
	"fmnist/tui"
)

func TestIsDashboardArgs(t *testing.T) {
	for args, want := range map[string]bool{"": true, "--runs x": true, "-runs=x": true, "--help": false, "-h": false,
		"train": false, "table --runs x": false, "bench": false} {
		if got := isDashboardArgs(strings.Fields(args)); got != want {
			t.Errorf("isDashboardArgs(%q) = %v", args, got)
		}
	}
}

func TestDashboardWithoutTerminal(t *testing.T) {
	out, _, code := fmnist(t)
	if code != 0 || !strings.Contains(out, "Usage:") {
		t.Errorf("no args, no terminal: exit %d\n%s", code, out)
	}
	_, stderr, code := fmnist(t, "--runs", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "needs a terminal") {
		t.Errorf("--runs without a terminal: exit %d %q", code, stderr)
	}
	_, stderr, code = fmnist(t, "--parallel", "0")
	if code != 2 || !strings.Contains(stderr, "--parallel must be a positive number") {
		t.Errorf("--parallel 0: exit %d %q", code, stderr)
	}
}

// TestDashboardWiring drives the dashboard's training side without a
// terminal: the manager is created on the first Start, events are recorded
// on disk before they reach the feed, runs are cancelled one by one, and a
// consumer takes the events from the feed concurrently. Run it with -race.
func TestDashboardWiring(t *testing.T) {
	trainertest.NeedData(t)
	runs := t.TempDir()
	d := newDashboard(context.Background(), dashSettings{runsDir: runs, limitTrain: 512, limitTest: 100, seed: 3, parallel: 1})
	if d.Active() != 0 || d.Cancel("nope") {
		t.Fatal("a dashboard without runs has active runs")
	}
	if ms := d.Models(); len(ms) != 6 || ms[0].Name != "CNN2" || ms[0].Params != 211950 || ms[0].Epochs != 35 || len(ms[0].Layers) == 0 {
		t.Fatalf("models %+v", ms[0])
	}

	// The consumer: what the dashboard would see, checked against the disk
	// at the moment each event arrives.
	var mu sync.Mutex
	var seen []string
	stop := make(chan struct{})
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for last := false; ; {
			select {
			case <-stop:
				last = true // one more Drain takes what came before stop
			default:
			}
			for _, ev := range d.feed.Drain() {
				line := fmt.Sprintf("%T %s", ev, ev.Run())
				if e, ok := ev.(trainer.EpochEnd); ok {
					r, err := results.LoadRun(filepath.Join(runs, e.ID))
					if err != nil || len(r.Epochs) < e.Stats.Epoch {
						line += " NOT-ON-DISK"
					}
				}
				mu.Lock()
				seen = append(seen, line)
				mu.Unlock()
			}
			if last {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()

	id1, err := d.Start("cnn2", 1) // any case, as --models
	if err != nil {
		t.Fatal(err)
	}
	id2, err := d.Start("CNN2", 35) // the recipe's own epochs: job epochs 0
	if err != nil {
		t.Fatal(err)
	}
	if id1 == id2 || !strings.HasPrefix(id1, "CNN2-") {
		t.Fatalf("ids %q %q", id1, id2)
	}
	if _, err := d.Start("CNN9", 1); err == nil {
		t.Fatal("unknown model started")
	}
	if n := d.Active(); n != 2 {
		t.Fatalf("Active %d, want 2", n)
	}
	if !d.Cancel(id2) {
		t.Fatal("queued run not cancelled")
	}
	cancelled := d.finish(false) // waits for run 1 to finish
	close(stop)
	<-consumed
	if cancelled {
		t.Error("finish(false) reports cancelling")
	}
	mu.Lock()
	defer mu.Unlock()
	joined := strings.Join(seen, "\n")
	for _, want := range []string{"RunQueued " + id1, "RunStarted " + id1, "EpochEnd " + id1, "RunFinished " + id1, "RunFinished " + id2} {
		if !strings.Contains(joined, "trainer."+want) {
			t.Errorf("feed lacks %s:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "NOT-ON-DISK") {
		t.Errorf("an epoch reached the dashboard before its record:\n%s", joined)
	}
	r, err := results.LoadRun(filepath.Join(runs, id1))
	if err != nil || r.Status != "done" || len(r.Epochs) != 1 || r.Seed != 3 || r.TrainSize != 512 {
		t.Fatalf("record %+v, %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(runs, id2)); err == nil {
		t.Error("the run cancelled while queued has a record")
	}
	if got := d.runs(); len(got) != 1 || got[0].ID != id1 {
		t.Errorf("session runs %v", got)
	}
	if _, err := d.Start("CNN2", 1); err == nil {
		t.Error("Start after finish")
	}
	// A push or notice after finish is dropped, not blocked.
	d.feed.Push(trainer.RunQueued{ID: "late"})
	d.feed.Notify(tui.Notice{Text: "late"})
}

func TestDashboardLazyLoadError(t *testing.T) {
	d := newDashboard(context.Background(), dashSettings{runsDir: t.TempDir(), dataDir: "/nonexistent/data", parallel: 1})
	_, err := d.Start("CNN2", 1)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/data") {
		t.Fatalf("start without data: %v", err)
	}
	if d.finish(true) {
		t.Error("cancelled runs that never existed")
	}
}

// tmuxSession runs the real binary in a detached tmux session of its own
// server and returns a function that captures the screen.
func tmuxSession(t *testing.T, w, h int, command string) (capture func() string, keys func(...string)) {
	t.Helper()
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed")
	}
	// A server of our own, its socket in a directory removed after the test.
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	// The server's environment is the programs' environment. Drop CI (set by
	// CI runners, and read by termenv as "no terminal", which turns colours
	// and line styles off) and NO_COLOR: this test is about a real terminal.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CI=") && !strings.HasPrefix(kv, "NO_COLOR=") {
			env = append(env, kv)
		}
	}
	run := func(args ...string) (string, error) {
		c := exec.Command(tmux, append([]string{"-S", sock, "-f", "/dev/null"}, args...)...)
		c.Env = env
		out, err := c.CombinedOutput()
		return string(out), err
	}
	if out, err := run("new-session", "-d", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), "-s", "dash", "-e", "TERM=xterm-256color", command); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	t.Cleanup(func() { run("kill-server") })
	capture = func() string {
		out, _ := run("capture-pane", "-p", "-t", "dash")
		return out
	}
	keys = func(k ...string) {
		if out, err := run(append([]string{"send-keys", "-t", "dash"}, k...)...); err != nil {
			t.Fatalf("send-keys: %v %s", err, out)
		}
	}
	return capture, keys
}

// waitScreen polls the screen until ok accepts it.
func waitScreen(t *testing.T, capture func() string, what string, d time.Duration, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := capture()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("screen never showed %s; last screen:\n%s", what, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitSettled is waitScreen for a screen that will be read beyond ok: a
// capture can catch a frame half drawn (a new view's top over the old one's
// bottom), so it returns a screen only once two captures 150 ms apart agree.
func waitSettled(t *testing.T, capture func() string, what string, d time.Duration, ok func(string) bool) string {
	t.Helper()
	return waitScreen(t, capture, what, d, func(s string) bool {
		if !ok(s) {
			return false
		}
		time.Sleep(150 * time.Millisecond)
		return capture() == s
	})
}

// expectExit waits for the shell in a tmux session to write the program's exit
// status to exitFile, and checks it.
func expectExit(t *testing.T, exitFile string, d time.Duration, want string) {
	t.Helper()
	got := waitScreen(t, func() string { b, _ := os.ReadFile(exitFile); return string(b) }, "the exit status", d,
		func(s string) bool { return strings.TrimSpace(s) != "" })
	if strings.TrimSpace(got) != want {
		t.Errorf("exit status %q, want %s", got, want)
	}
}

// TestDashboardInTmux trains for real under the dashboard in a 120x40 tmux
// pane, reads the screen, switches to the table, quits, and checks the run's
// record.
func TestDashboardInTmux(t *testing.T) {
	runs := t.TempDir()
	exitFile := filepath.Join(t.TempDir(), "exit")
	cmd := fmt.Sprintf("%s train --models CNN2 --epochs 2 --limit-train 1024 --limit-test 200 --runs %s; echo $? > %s; sleep 60",
		bin, runs, exitFile)
	capture, keys := tmuxSession(t, 120, 40, cmd)

	// The status line "all runs finished" shows for 10 s after the end: the
	// screen is read while it does, once a whole frame is drawn.
	screen := waitSettled(t, capture, "epoch 2/2, done", 2*time.Minute, func(s string) bool {
		return strings.Contains(s, "epoch 2/2") && strings.Contains(s, " done ") && strings.Contains(s, "all runs finished") && strings.Contains(s, "done in")
	})
	for _, want := range []string{"fmnist", "Runs", "Table", "Focus", "CNN2", "accuracy ━ train", "━ test", "loss     ━ train",
		"done in", "1 run", "all runs finished · q quits"} {
		if !strings.Contains(screen, want) {
			t.Errorf("Runs view lacks %q:\n%s", want, screen)
		}
	}
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	if len(lines) != 40 {
		t.Errorf("screen has %d lines, want 40:\n%s", len(lines), screen)
	}

	keys("Tab")
	table := waitSettled(t, capture, "the table", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "Params") && strings.Contains(s, "211,950")
	})
	for _, want := range []string{"Model", "Status", "Epochs", "s/epoch", "Best acc", "Final acc", "Study s/epoch", "28.07", "92.04%", "2/2"} {
		if !strings.Contains(table, want) {
			t.Errorf("Table view lacks %q:\n%s", want, table)
		}
	}

	keys("q")
	expectExit(t, exitFile, 10*time.Second, "0")
	// After the dashboard, the session's table is printed in the terminal.
	waitScreen(t, capture, "the summary's CNN2 row", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "| Model |") && strings.Contains(s, "| CNN2 | seed | 1 | done |")
	})

	m, _ := filepath.Glob(filepath.Join(runs, "*", "run.json"))
	if len(m) != 1 {
		t.Fatalf("%d run records", len(m))
	}
	b, _ := os.ReadFile(m[0])
	var rec struct {
		Status string           `json:"status"`
		Epochs []map[string]any `json:"epochs"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Status != "done" || len(rec.Epochs) != 2 {
		t.Errorf("run.json: status %q, %d epochs", rec.Status, len(rec.Epochs))
	}
}

// TestResumeInTmux: train --resume on a terminal continues the run under the
// dashboard, which shows its earlier epoch too, and records the whole run.
func TestResumeInTmux(t *testing.T) {
	runs := t.TempDir()
	runDir := killAfterFirstEpoch(t, runs, []string{"train", "--models", "CNN2", "--epochs", "2", "--limit-train", "1024", "--limit-test", "200", "--headless"})
	exitFile := filepath.Join(t.TempDir(), "exit")
	capture, keys := tmuxSession(t, 100, 30, fmt.Sprintf("%s train --resume %s --runs %s; echo $? > %s; sleep 60",
		bin, filepath.Base(runDir), runs, exitFile))
	screen := waitSettled(t, capture, "epoch 2/2, done", 2*time.Minute, func(s string) bool {
		return strings.Contains(s, "epoch 2/2") && strings.Contains(s, " done ") && strings.Contains(s, "all runs finished")
	})
	for _, want := range []string{"Runs", "Table", "Focus", "CNN2", "accuracy ━ train", "1 run", "all runs finished · q quits"} {
		if !strings.Contains(screen, want) {
			t.Errorf("Runs view lacks %q:\n%s", want, screen)
		}
	}
	keys("q")
	expectExit(t, exitFile, 10*time.Second, "0")
	r, err := results.LoadRun(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "done" || len(r.Epochs) != 2 || len(r.ResumedAt) != 1 {
		t.Errorf("run.json: status %q, %d epochs, resumed at %v", r.Status, len(r.Epochs), r.ResumedAt)
	}
}

// TestDashboardQuitCancels: q during training asks, y cancels the run,
// which is recorded as cancelled, and fmnist exits 130.
func TestDashboardQuitCancels(t *testing.T) {
	runs := t.TempDir()
	exitFile := filepath.Join(t.TempDir(), "exit")
	cmd := fmt.Sprintf("%s train --models CNN2 --epochs 50 --limit-train 1024 --limit-test 200 --runs %s; echo $? > %s; sleep 60",
		bin, runs, exitFile)
	capture, keys := tmuxSession(t, 80, 24, cmd)
	waitScreen(t, capture, "a finished epoch", 2*time.Minute, func(s string) bool { return strings.Contains(s, "best ") })
	keys("q")
	waitScreen(t, capture, "the confirmation", 10*time.Second, func(s string) bool { return strings.Contains(s, "Quit and cancel it?") })
	keys("y")
	expectExit(t, exitFile, 30*time.Second, "130")
	m, _ := filepath.Glob(filepath.Join(runs, "*", "run.json"))
	if len(m) != 1 {
		t.Fatalf("%d records", len(m))
	}
	r, err := results.LoadRun(m[0])
	if err != nil || r.Status != "cancelled" || len(r.Epochs) < 1 || len(r.Epochs) >= 50 {
		t.Fatalf("record after quitting: %v %+v", err, r)
	}
}
