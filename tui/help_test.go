package tui

import (
	"regexp"
	"strings"
	"testing"
)

func TestHelpView(t *testing.T) {
	c := &common{width: 80, height: 24, styles: NewStyles(nil), keys: newKeyMap(), store: newStore()}
	h := &helpView{c: c}
	v := h.view()
	// Each key beside its description, as the help lays them out (a key,
	// spaces, the description): a one-letter key alone is in every line.
	for _, want := range [][2]string{{"tab", "next view"}, {"enter", "focus run"}, {"n", "new run"}, {"x", "cancel run"},
		{"e", "export table"}, {"s", "sort by column"}, {"1-9,0", "sort by Nth column"}, {"q", "quit"}, {"esc", "back"}} {
		if !regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(want[0]) + ` +` + regexp.QuoteMeta(want[1])).MatchString(v) {
			t.Errorf("help lacks %q beside %q:\n%s", want[0], want[1], v)
		}
	}
	for _, want := range []string{"┄ train", "━ test"} {
		if !strings.Contains(v, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if strings.Contains(v, "…") {
		t.Errorf("help cut at 80 columns:\n%s", v)
	}
	if n := strings.Count(v, "\n"); n != 21 {
		t.Errorf("help is %d lines, want the body's 22", n+1)
	}
}

func TestShortHelpFitsFooter(t *testing.T) {
	c := &common{width: 80, height: 24, styles: NewStyles(nil), keys: newKeyMap(), store: newStore()}
	h := &helpView{c: c}
	right := map[view]string{viewRuns: "runs 10-12/99", viewTable: "", viewFocus: "lines 12-33/120"}
	for v := view(0); v < numViews; v++ {
		s := h.short(v, 80-len(right[v])-1)
		if strings.Contains(s, "…") {
			t.Errorf("view %d: short help cut: %q", v, s)
		}
		for _, want := range []string{"tab", "?", "q quit"} {
			if !strings.Contains(s, want) {
				t.Errorf("view %d: short help lacks %q: %q", v, want, s)
			}
		}
	}
}
