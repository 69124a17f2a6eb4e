package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"fmnist/results"
	"fmnist/trainer"
	"fmnist/trainer/trainertest"
)

// TestCompareInTmux opens the dashboard on three finished runs in a 100x30
// tmux pane, marks the first and the third row of the Table with space,
// switches to the Compare view and reads its legend: exactly the two marked
// runs, in the order marked, with their IDs shortened as the view shortens
// them (without the model's name).
func TestCompareInTmux(t *testing.T) {
	trainertest.NeedData(t)
	runs := t.TempDir()
	small := []string{"--epochs", "1", "--limit-train", "512", "--limit-test", "100", "--headless", "--runs", runs}
	for _, args := range [][]string{{"--models", "CNN2", "--seeds", "1-2"}, {"--models", "CNN2_dropout"}} {
		if _, stderr, code := fmnist(t, append(append([]string{"train"}, args...), small...)...); code != 0 {
			t.Fatalf("train %v: exit %d: %s", args, code, stderr)
		}
	}
	// The Table lists records read from disk by start time, then ID.
	files, _ := filepath.Glob(filepath.Join(runs, "*", "run.json"))
	var recs []*results.Run
	for _, f := range files {
		r, err := results.LoadRun(filepath.Dir(f))
		if err != nil || r.Status != trainer.StatusDone {
			t.Fatalf("%s: %v (status %q)", f, err, r.Status)
		}
		recs = append(recs, r)
	}
	if len(recs) != 3 {
		t.Fatalf("%d runs, want 3", len(recs))
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if !recs[i].StartedAt.Equal(recs[j].StartedAt) {
			return recs[i].StartedAt.Before(recs[j].StartedAt)
		}
		return recs[i].ID < recs[j].ID
	})
	marked := []*results.Run{recs[0], recs[2]}
	short := func(r *results.Run) string { return strings.TrimPrefix(r.ID, r.Model+"-") }

	exitFile := filepath.Join(t.TempDir(), "exit")
	capture, keys := tmuxSession(t, 100, 30, fmt.Sprintf("%s --runs %s; echo $? > %s; sleep 60", bin, runs, exitFile))
	waitScreen(t, capture, "the dashboard", 20*time.Second, func(s string) bool {
		return strings.Contains(s, "Compare") && strings.Contains(s, "CNN2_dropout")
	})
	keys("Tab")
	waitScreen(t, capture, "the table", 10*time.Second, func(s string) bool { return strings.Contains(s, "Params") })
	keys("Home", "Space", "Down", "Down", "Space")
	table := waitSettled(t, capture, "two marked runs", 10*time.Second, func(s string) bool { return strings.Contains(s, "● 2 marked") })
	var rows []string
	for _, l := range strings.Split(table, "\n") {
		if f := strings.Fields(strings.NewReplacer(">", " ", "●", " ● ").Replace(l)); len(f) > 1 && f[0] == "●" {
			rows = append(rows, f[1])
		}
	}
	if len(rows) != 2 || rows[0] != marked[0].Model || rows[1] != marked[1].Model {
		t.Errorf("marked rows %v, want %s and %s:\n%s", rows, marked[0].Model, marked[1].Model, table)
	}

	// Table, then Focus, then Compare.
	keys("Tab", "Tab")
	screen := waitSettled(t, capture, "the Compare view", 30*time.Second, func(s string) bool {
		return strings.Contains(s, "test curves") && strings.Contains(s, "best ")
	})
	lines := strings.Split(screen, "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "2 marked runs") {
		t.Errorf("title is not \"2 marked runs\":\n%s", screen)
	}
	legend := regexp.MustCompile(`(?m)([1-9a-z]) (?:━━|╍╍|┄┄) (\S+)\s+(\S+)\s+best `).FindAllStringSubmatch(screen, -1)
	if len(legend) != 2 {
		t.Fatalf("legend has %d entries, want 2:\n%s", len(legend), screen)
	}
	for i, e := range legend {
		r := marked[i]
		if e[1] != fmt.Sprint(i+1) || e[2] != r.Model || e[3] != short(r) {
			t.Errorf("legend entry %d is %q %s %s, want %d %s %s", i, e[1], e[2], e[3], i+1, r.Model, short(r))
		}
	}

	keys("q")
	expectExit(t, exitFile, 10*time.Second, "0")
}
