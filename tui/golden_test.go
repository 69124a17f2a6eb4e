package tui

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"fmnist/results"
)

// TestGolden runs the dashboard as a Bubble Tea program (teatest), feeds it
// the scripted events, types keys, and compares its final screen with
// testdata/TestGolden/*.golden (`go test ./tui -update` rewrites them).
// Only the final View is compared: the byte stream depends on frame timing.
func TestGolden(t *testing.T) {
	cases := []struct {
		name string
		keys []string
	}{
		{"runs", nil},
		{"runs-scrolled", []string{"home", "down"}},
		{"table", []string{"tab"}},
		{"table-sort-key8", []string{"tab", "8"}},
		{"table-grouped", []string{"tab", "m"}},
		{"focus", []string{"tab", "tab"}},
		{"focus-scrolled", []string{"home", "enter", "G"}},
		{"help", []string{"?"}},
		{"newrun", []string{"n", "down", "5"}},
		{"quit-confirm", []string{"q"}},
		{"cancel-confirm", []string{"x"}},
		{"runs-marked", []string{"space", "left", "space"}},
		{"table-marked", []string{"tab", "space", "home", "space"}},
		{"compare", []string{"shift+tab"}},
		{"compare-train", []string{"shift+tab", "t"}},
		{"compare-marked", []string{"space", "left", "space", "shift+tab"}},
	}
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s-%dx%d", c.name, size[0], size[1]), func(t *testing.T) {
				golden(t, size[0], size[1], c.keys...)
			})
		}
	}
	for _, size := range [][2]int{{79, 24}, {80, 23}, {40, 10}} {
		t.Run(fmt.Sprintf("too-small-%dx%d", size[0], size[1]), func(t *testing.T) {
			golden(t, size[0], size[1])
		})
	}
}

// TestGoldenCompareColour: the Compare view in 256 colours, where the runs'
// curves and legend entries are told apart by colour (the goldens above are
// without colour, where line patterns do it).
func TestGoldenCompareColour(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		for _, c := range []struct {
			name string
			keys []string
		}{
			{"compare", []string{"shift+tab"}},
			{"compare-marked", []string{"space", "left", "space", "shift+tab"}},
		} {
			t.Run(fmt.Sprintf("%s-ansi256-%dx%d", c.name, size[0], size[1]), func(t *testing.T) {
				r := lipgloss.NewRenderer(io.Discard)
				r.SetColorProfile(termenv.ANSI256)
				goldenWith(t, Options{Renderer: r}, size[0], size[1], c.keys...)
			})
		}
	}
}

func golden(t *testing.T, w, h int, keys ...string) {
	t.Helper()
	goldenWith(t, Options{}, w, h, keys...)
}

// goldenWith is golden with opts (a renderer, evaluations) added to the
// fixture's. The system line is fixed: fixSys, and a training speed sampled
// while CNN2 trains (3,200 img/s, twice) and then while model5 does
// (1,450, twice).
func goldenWith(t *testing.T, opts Options, w, h int, keys ...string) {
	t.Helper()
	opts.RunsDir, opts.Runs, opts.Now, opts.Frame = "runs", fixDiskRuns(), fixNow, -1
	opts.Controller = &fakeCtrl{active: 2, cancelOK: true}
	opts.System, opts.SysEvery = fixSys, -1
	m := New(opts)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	evs := fixEvents()
	for _, part := range [][2]int{{0, 5}, {5, 9}, {9, len(evs)}} {
		tm.Send(eventsMsg(evs[part[0]:part[1]]))
		tm.Send(sysTickMsg{})
	}
	tm.Send(sysTickMsg{})
	for _, k := range keys {
		tm.Send(keyMsg(k))
	}
	tm.Send(tea.QuitMsg{}) // after every message above, in order
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second))
	teatest.RequireEqualOutput(t, []byte(fm.View()))
}

// TestGoldenFocusEval: the Focus view's section on the best model, with a
// fixed evaluation (fixEval) of model5's best epoch, scrolled to the
// section's top and to its images, the mistakes and (c) the correct
// examples, without colour and in 256 colours (testdata/TestGoldenFocusEval).
func TestGoldenFocusEval(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		for _, prof := range []termenv.Profile{termenv.Ascii, termenv.ANSI256} {
			for _, c := range []struct {
				name, find string
				keys       []string
			}{
				{"section", "best model (epoch", nil},
				{"mistakes", "most confident mistakes", nil},
				{"correct", "correct examples", []string{"c"}},
			} {
				if c.name == "mistakes" && size[1] >= 48 {
					continue // the page ends before the mistakes reach the top: the section's screen again
				}
				colour := map[termenv.Profile]string{termenv.Ascii: "nocolor", termenv.ANSI256: "ansi256"}[prof]
				t.Run(fmt.Sprintf("%s-%s-%dx%d", c.name, colour, size[0], size[1]), func(t *testing.T) {
					r := lipgloss.NewRenderer(io.Discard)
					r.SetColorProfile(prof)
					opts := Options{Renderer: r, Evals: []*results.BestEval{fixEval("model5-20260301-120000", 2)}}
					keys := append([]string{"tab", "tab"}, c.keys...)
					for range linesBefore(t, size[0], size[1], c.find, keys...) {
						keys = append(keys, "down")
					}
					goldenWith(t, opts, size[0], size[1], keys...)
				})
			}
		}
	}
}

// linesBefore is how many lines of the Focus page come before the first
// that holds find, once keys are pressed on the fixture at w x h.
func linesBefore(t *testing.T, w, h int, find string, keys ...string) int {
	t.Helper()
	m := New(Options{Runs: fixDiskRuns(), Now: fixNow, Frame: -1, Controller: &fakeCtrl{}, System: fixSys, SysEvery: -1,
		Evals: []*results.BestEval{fixEval("model5-20260301-120000", 2)}})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(eventsMsg(fixEvents()))
	press(m, keys...)
	for i, l := range m.focus.content(m.c.selectedRun()) {
		if strings.Contains(l, find) {
			return i
		}
	}
	t.Fatalf("%q is not on the Focus page", find)
	return 0
}
