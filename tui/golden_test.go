package tui

import (
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
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

func golden(t *testing.T, w, h int, keys ...string) {
	t.Helper()
	m := New(Options{RunsDir: "runs", Runs: fixDiskRuns(), Now: fixNow, Controller: &fakeCtrl{active: 2, cancelOK: true}, Frame: -1})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	tm.Send(eventsMsg(fixEvents()))
	for _, k := range keys {
		tm.Send(keyMsg(k))
	}
	tm.Send(tea.QuitMsg{}) // after every message above, in order
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second))
	teatest.RequireEqualOutput(t, []byte(fm.View()))
}
