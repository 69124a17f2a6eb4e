package tui

import (
	"io"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// Without colour (NO_COLOR or the ASCII profile) no view carries a single
// escape code, and statuses still read as text.
func TestNoColorHasNoEscapeCodes(t *testing.T) {
	for _, keys := range [][]string{nil, {"tab"}, {"tab", "tab"}, {"shift+tab"}, {"space", "shift+tab"}, {"?"}, {"n"}, {"q"}} {
		m := newTestModel(t, &fakeCtrl{active: 1}, 160, 48)
		press(m, keys...)
		if v := m.View(); strings.Contains(v, "\x1b") {
			t.Errorf("%v: escape codes without colour", keys)
		}
	}
	st := NewStyles(nil)
	if !st.NoColor || st.Badge("running") != "[running]" {
		t.Error("ASCII profile: badge not bracketed")
	}
}

func TestNoColorEnvironment(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	t.Setenv("TERM", "xterm-256color")
	r := lipgloss.NewRenderer(io.Discard, termenv.WithUnsafe(), termenv.WithTTY(true))
	if p := r.ColorProfile(); p != termenv.Ascii {
		t.Fatalf("NO_COLOR: profile %v", p)
	}
	if st := NewStyles(r); !st.NoColor {
		t.Fatal("NO_COLOR not honoured")
	}
}

// With colour: train and test in two different colours, each with a
// variant for dark and one for light backgrounds.
func TestColoursForDarkAndLight(t *testing.T) {
	for _, dark := range []bool{true, false} {
		r := lipgloss.NewRenderer(io.Discard)
		r.SetColorProfile(termenv.TrueColor)
		r.SetHasDarkBackground(dark)
		st := NewStyles(r)
		tr, te := st.Train.Render("x"), st.Test.Render("x")
		if tr == te || !strings.Contains(tr, "\x1b[") {
			t.Errorf("dark=%v: train %q test %q", dark, tr, te)
		}
		want := map[bool]string{true: "96;165;250", false: "29;78;216"}[dark]
		if !strings.Contains(tr, want) {
			t.Errorf("dark=%v: train colour %q, want %s", dark, tr, want)
		}
		if b := ansi.Strip(st.Badge("done")); b != " done " {
			t.Errorf("colour badge %q", b)
		}
		c := &common{width: 120, height: 40, styles: st, keys: newKeyMap(), store: fixStore(), now: fixNow}
		c.selected = "model5-20260301-120000"
		p := renderPanel(c, c.store.get(c.selected), 40, 22, true)
		if !strings.Contains(p, "\x1b[") {
			t.Error("panel without colour codes under a colour profile")
		}
		if w := lipgloss.Width(strings.Split(p, "\n")[3]); w != 40 {
			t.Errorf("coloured panel line is %d wide", w)
		}
	}
	// The whole dashboard with a colour renderer.
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	r.SetHasDarkBackground(true)
	m := New(Options{Renderer: r, Runs: fixDiskRuns(), Now: fixNow})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if v := m.View(); !strings.Contains(v, "\x1b[") || len(strings.Split(v, "\n")) != 24 {
		t.Error("colour dashboard")
	}
}
