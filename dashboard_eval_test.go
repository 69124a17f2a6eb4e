package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"fmnist/hub"
	"fmnist/results"
	"fmnist/trainer"
	"fmnist/trainer/trainertest"
	"fmnist/tui"
)

// evalTaker is a hub subscriber that keeps the evaluations of best models.
type evalTaker struct{ evals chan *results.BestEval }

func newEvalTaker() evalTaker                      { return evalTaker{make(chan *results.BestEval, 100)} }
func (evalTaker) Push(trainer.Event)               {}
func (evalTaker) Notify(hub.Notice)                {}
func (e evalTaker) Evaluated(be *results.BestEval) { e.evals <- be }

// wait waits for the evaluation of run id's best model of epoch epoch.
func (e evalTaker) wait(t *testing.T, id string, epoch int) *results.BestEval {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case be := <-e.evals:
			if be.Run == id && be.Epoch == epoch {
				return be
			}
		case <-deadline:
			t.Fatalf("no evaluation of %s epoch %d", id, epoch)
			return nil
		}
	}
}

// TestDashboardBestEval: a real run (CNN2, 1 epoch on 512 images, 200 test
// images) trained by a dashboard's hub. The evaluation of its best model
// that the hub hands on after the epoch, the one a dashboard started later
// makes on request from the saved model, and `fmnist eval --json` of that
// model all have the same confusion matrix; and the Focus view, without
// colour, shows exactly tui.Heatmap of it, whose numbers are that matrix.
func TestDashboardBestEval(t *testing.T) {
	trainertest.NeedData(t)
	runs := t.TempDir()
	set := dashSettings{runsDir: runs, limitTrain: 512, limitTest: 200, seed: 5, parallel: 1}
	d := newDashboard(context.Background(), set)
	live := newEvalTaker()
	d.hub.Subscribe(live)
	id, err := d.Start("CNN2", 1)
	if err != nil {
		t.Fatal(err)
	}
	fromEpoch := live.wait(t, id, 1)
	d.finish(false)

	// Asked of a dashboard that trained nothing: from the saved model.
	d2 := newController(context.Background(), set)
	later := newEvalTaker()
	d2.hub.Subscribe(later)
	d2.BestEval(id, 1)
	fromDisk := later.wait(t, id, 1)
	d2.finish(false)

	out, stderr, code := fmnist(t, "eval", "--model", id, "--runs", runs, "--json")
	if code != 0 {
		t.Fatalf("fmnist eval: exit %d: %s", code, stderr)
	}
	var ej struct {
		TestImages int         `json:"test_images"`
		Correct    int         `json:"correct"`
		Confusion  [10][10]int `json:"confusion"`
	}
	if err := json.Unmarshal([]byte(out), &ej); err != nil {
		t.Fatal(err)
	}
	for name, be := range map[string]*results.BestEval{"after the epoch": fromEpoch, "from disk": fromDisk} {
		if be.Err != "" || be.N != 200 || be.N != ej.TestImages || be.Correct != ej.Correct || be.Confusion != ej.Confusion {
			t.Errorf("evaluation %s: %d of %d, %v (%q); fmnist eval --json: %d of %d, %v", name, be.Correct, be.N, be.Confusion, be.Err,
				ej.Correct, ej.TestImages, ej.Confusion)
		}
	}

	// The Focus view of the run, tall enough to show the whole page.
	rec, err := results.LoadRun(filepath.Join(runs, id))
	if err != nil {
		t.Fatal(err)
	}
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	m := tui.New(tui.Options{RunsDir: runs, Runs: []*results.Run{rec}, Evals: []*results.BestEval{fromDisk}, Renderer: r, View: "focus",
		System: func() tui.SysSample { return tui.SysSample{} }, SysEvery: -1})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 200})
	view := m.View()
	if !strings.Contains(view, fmt.Sprintf("best model (epoch 1): %s on 200 test images", results.Percent(float64(ej.Correct)/200))) {
		t.Errorf("no heading in\n%s", view)
	}
	heat := tui.Heatmap(ej.Confusion, trainer.ClassNames[:], termenv.Ascii, 80)
	lines := strings.Split(view, "\n")
	at := -1
	for i, l := range lines {
		if strings.TrimRight(l, " ") == heat[0] {
			at = i
		}
	}
	if at < 0 {
		t.Fatalf("the heatmap's header %q is not in\n%s", heat[0], view)
	}
	for r := range 10 {
		l := strings.TrimRight(lines[at+1+r], " ")
		if l != heat[1+r] {
			t.Errorf("heatmap line %d: %q, tui.Heatmap has %q", r, l, heat[1+r])
		}
		f := strings.Fields(strings.NewReplacer("░", " ", "▒", " ", "▓", " ", "█", " ").Replace(l))
		if got, want := strings.Join(f[len(f)-10:], " "), strings.Trim(fmt.Sprint(ej.Confusion[r]), "[]"); got != want {
			t.Errorf("the view's heatmap row %d shows %s, fmnist eval --json %s", r, got, want)
		}
	}
	if !strings.Contains(view, "most confident mistakes (") {
		t.Errorf("no mistakes in\n%s", view)
	}
}
