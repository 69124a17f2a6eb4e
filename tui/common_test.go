package tui

import (
	"math"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func TestWidthHelpers(t *testing.T) {
	if got := truncate("abcdef", 4); got != "abc…" {
		t.Errorf("truncate %q", got)
	}
	if got := truncate("abc", 4); got != "abc" {
		t.Errorf("truncate short %q", got)
	}
	if got := padRight("ab", 4); got != "ab  " {
		t.Errorf("padRight %q", got)
	}
	if got := padLeft("ab", 4); got != "  ab" {
		t.Errorf("padLeft %q", got)
	}
	if got := spread("left", "right", 12); got != "left   right" {
		t.Errorf("spread %q", got)
	}
	if got := spread("left", "right", 5); got != "right" {
		t.Errorf("spread narrow %q", got)
	}
	if got := fit("a\nbb\nccc", 2, 4); got != "a \nbb\nc…\n  " {
		t.Errorf("fit %q", got)
	}
	if got := centerText("ab", 6); got != "  ab  " {
		t.Errorf("centerText %q", got)
	}
	bg := fit("", 10, 5)
	got := overlay(bg, "XX\nYY", 10)
	want := "          \n    XX    \n    YY    \n          \n          "
	if got != want {
		t.Errorf("overlay\n%q\nwant\n%q", got, want)
	}
	c := center("a\nbbb", 7, 3)
	if c != "  a    \n  bbb  \n       " {
		t.Errorf("center %q", c)
	}
}

func TestFormatting(t *testing.T) {
	for sec, want := range map[float64]string{0: "0s", 44.6: "45s", 60: "1m00s", 994: "16m34s", 22500: "6h15m", -1: "—", math.NaN(): "—"} {
		if got := duration(sec); got != want {
			t.Errorf("duration(%v) = %q, want %q", sec, got, want)
		}
	}
	for f, want := range map[float64]string{0: "0", 999.6: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(f); got != want {
			t.Errorf("thousands(%v) = %q, want %q", f, got, want)
		}
	}
	if got := pct(0.92041); got != "92.04" {
		t.Errorf("pct %q", got)
	}
}

func TestSelectIndexClamps(t *testing.T) {
	c := &common{store: fixStore()}
	c.selectIndex(-3)
	if c.selectedIndex() != 0 {
		t.Error("below 0")
	}
	c.selectIndex(99)
	if c.selectedIndex() != c.store.len()-1 {
		t.Error("past the end")
	}
	if !strings.HasPrefix(c.selectedRun().ID, "reduced_all_cnn") {
		t.Error(c.selectedRun().ID)
	}
	c.store = newStore()
	c.selectIndex(0)
	if c.selected != "" || c.selectedRun() != nil {
		t.Error("selection in an empty store")
	}
}

// cellWidth's fast path agrees with ansi.StringWidth on everything the
// dashboard draws.
func TestCellWidthFastPath(t *testing.T) {
	var all []rune
	for r := rune(0x20); r < 0x7f; r++ {
		all = append(all, r)
	}
	for r := rune(0x2500); r <= 0x25ff; r++ {
		all = append(all, r)
	}
	for r := rune(0x2800); r <= 0x28ff; r++ {
		all = append(all, r)
	}
	all = append(all, '←', '↑', '→', '↓', '·', '—', '…', '–')
	for _, r := range all {
		if got, want := cellWidth(string(r)), ansi.StringWidth(string(r)); got != want {
			t.Errorf("cellWidth(%q) = %d, ansi.StringWidth = %d", r, got, want)
		}
	}
	for _, s := range []string{"\x1b[1;38;5;75mabc\x1b[0m", "日本", "e\u0301", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "a\tb", "⣿⣿ ━━ ╭╮ 92.04%"} {
		if got, want := cellWidth(s), ansi.StringWidth(s); got != want {
			t.Errorf("cellWidth(%q) = %d, ansi.StringWidth = %d", s, got, want)
		}
	}
}
