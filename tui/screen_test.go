package tui

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"fmnist/trainer"
)

var cursorAt = regexp.MustCompile(`\x1b\[(\d+);1H`)

// rows lists the rows (1-based) a draw wrote.
func rows(out string) []string {
	var r []string
	for _, m := range cursorAt.FindAllStringSubmatch(out, -1) {
		r = append(r, m[1])
	}
	return r
}

func TestScreenDrawsOnlyChangedLines(t *testing.T) {
	var out bytes.Buffer
	m := New(Options{RunsDir: "runs", Runs: fixDiskRuns(), Now: fixNow, Frame: -1})
	s := NewScreen(m, &out)
	if s.View() != "" || s.Model() != m {
		t.Fatal("screen view or model")
	}
	s.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	first := out.String()
	if !strings.HasPrefix(first, seqClearScreen) || len(rows(first)) != 24 {
		t.Fatalf("first draw: clear %v, %d rows", strings.HasPrefix(first, seqClearScreen), len(rows(first)))
	}
	// What is on the terminal is exactly the view.
	if got := strings.Count(first, seqEraseLine); got != 0 {
		t.Errorf("%d full-width lines erased to the right (that would erase their last cell)", got)
	}

	// An update that changes nothing writes nothing.
	out.Reset()
	s.Update(clearStatusMsg{seq: -1})
	if out.Len() != 0 {
		t.Fatalf("unchanged view written again: %q", out.String())
	}

	// One progress report of a run shown: only its panel's changed lines.
	s.Update(eventsMsg(fixEvents()))
	out.Reset()
	s.Update(eventsMsg{trainer.BatchProgress{ID: "model5-20260301-120000", Epoch: 3, Epochs: 6, Batch: 45, Batches: 59, ImagesPerSec: 1500}})
	changed := rows(out.String())
	if len(changed) == 0 || len(changed) > 3 {
		t.Fatalf("progress rewrote rows %v, want the bar and activity lines only", changed)
	}
	if !strings.Contains(out.String(), "1,500 img/s") {
		t.Errorf("new figures not written: %q", out.String())
	}

	// Too small: one line, the rest of the screen erased.
	out.Reset()
	s.Update(tea.WindowSizeMsg{Width: 60, Height: 20})
	if o := out.String(); !strings.Contains(o, "terminal too small (need 80x24, have 60x20)") || !strings.HasPrefix(o, seqClearScreen) {
		t.Fatalf("too small: %q", o)
	}
	out.Reset()
	s.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	s.Update(tea.WindowSizeMsg{Width: 60, Height: 20})
	s.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	out.Reset()
	s.Update(keyMsg("?"))
	s.Update(keyMsg("esc"))
	s.Update(keyMsg("q")) // two runs of this process active, no controller: asks
	if !strings.Contains(out.String(), "Quit and cancel them?") {
		t.Errorf("dialog not drawn: %q", out.String())
	}
}

func TestScreenShorterViewErasesBelow(t *testing.T) {
	var out bytes.Buffer
	m := New(Options{Now: fixNow})
	s := NewScreen(m, &out)
	s.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	out.Reset()
	s.Update(keyMsg("q")) // no run active: quits, the view empties
	if o := out.String(); !strings.Contains(o, "\x1b[2;1H"+seqEraseBelow) {
		t.Errorf("leftover lines not erased: %q", o)
	}
}
