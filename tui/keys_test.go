package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

func TestKeyMapBindings(t *testing.T) {
	k := newKeyMap()
	cases := []struct {
		key string
		b   key.Binding
	}{
		{"tab", k.NextView}, {"shift+tab", k.PrevView}, {"up", k.Up}, {"k", k.Up}, {"j", k.Down}, {"h", k.Left},
		{"l", k.Right}, {"enter", k.Focus}, {"esc", k.Back}, {"n", k.New}, {"x", k.Cancel}, {"e", k.Export},
		{"s", k.Sort}, {"7", k.SortColumn}, {"0", k.SortColumn}, {"?", k.Help}, {"q", k.Quit}, {"ctrl+c", k.Quit},
		{"G", k.Bottom}, {"g", k.Top},
	}
	for _, c := range cases {
		if !key.Matches(keyMsg(c.key), c.b) {
			t.Errorf("%q does not match %v", c.key, c.b.Keys())
		}
	}
	// Every binding of the full help has help text.
	for _, col := range k.FullHelp() {
		for _, b := range col {
			if b.Help().Key == "" || b.Help().Desc == "" {
				t.Errorf("binding %v has no help", b.Keys())
			}
		}
	}
	if len(k.ShortHelp()) == 0 {
		t.Error("no short help")
	}
}

// A read-only dashboard leaves n, x and e out of its footer and help screen,
// and still answers them with a status line.
func TestReadOnlyHidesRunKeys(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		m := New(Options{RunsDir: "runs", Runs: fixDiskRuns(), Now: fixNow, Frame: -1, ReadOnly: readOnly})
		m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
		m.Update(eventsMsg(fixEvents()))
		var screens []string
		for _, keys := range [][]string{{}, {"tab"}, {"tab"}, {"tab", "?"}} {
			press(m, keys...)
			screens = append(screens, m.View())
		}
		all := strings.Join(screens, "\n")
		for _, want := range []string{"new run", "cancel run", "export table", "n new", "x cancel", "e export"} {
			if got := strings.Contains(all, want); got == readOnly {
				t.Errorf("read-only %v: %q shown: %v", readOnly, want, got)
			}
		}
		if readOnly {
			press(m, "?", "n")
			if v := m.View(); !strings.Contains(v, "read-only: starting runs is disabled") {
				t.Errorf("read-only: n gives no status line:\n%s", v)
			}
		}
	}
}
