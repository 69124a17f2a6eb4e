package tui

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

func TestYRange(t *testing.T) {
	cases := []struct {
		kind   chartKind
		vals   []float64
		lo, hi float64
	}{
		{chartAcc, nil, 0, 100},
		{chartAcc, []float64{70, 80, 90}, 68, 92},
		{chartAcc, []float64{99.5, 99.9}, 98, 100},
		{chartAcc, []float64{8.7}, 7, 10},
		{chartLoss, nil, 0, 1},
		{chartLoss, []float64{0.3, 0.9}, 0.24, 0.96},
		{chartLoss, []float64{0.001}, 0, 0.02},
	}
	for _, c := range cases {
		lo, hi := yRange(c.kind, c.vals)
		if lo != c.lo || hi != c.hi {
			t.Errorf("yRange(%v, %v) = %v..%v, want %v..%v", c.kind, c.vals, lo, hi, c.lo, c.hi)
		}
		for _, v := range c.vals {
			if v < lo || v > hi {
				t.Errorf("yRange(%v, %v) leaves %v out", c.kind, c.vals, v)
			}
		}
	}
}

func TestLabelStep(t *testing.T) {
	for _, c := range []struct {
		digits int
		cols   float64
		want   int
	}{{1, 5, 1}, {1, 1.5, 2}, {2, 1, 5}, {2, 0.5, 10}, {3, 0.05, 100}} {
		if got := labelStep(c.digits, c.cols); got != c.want {
			t.Errorf("labelStep(%d, %v) = %d, want %d", c.digits, c.cols, got, c.want)
		}
	}
}

func xLabels(chart string) string {
	lines := strings.Split(chart, "\n")
	return strings.Join(strings.Fields(lines[len(lines)-1]), " ")
}

func TestChartAxesAndLabels(t *testing.T) {
	st := NewStyles(nil)
	train := []float64{60, 70, 75, 78, 80}
	test := []float64{62, 69, 74, 76, 79}
	out := renderChart(st, chartAcc, train, test, 40, 10)
	lines := strings.Split(out, "\n")
	if len(lines) != 10 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, l := range lines {
		if w := cellWidth(l); w != 40 {
			t.Errorf("line %d is %d wide", i, w)
		}
	}
	if got := xLabels(out); got != "1 2 3 4 5" {
		t.Errorf("X labels %q, want whole epochs 1-5", got)
	}
	// Y labels: the range, as whole percents.
	if !strings.HasPrefix(strings.TrimSpace(lines[0]), "82") || !strings.HasPrefix(strings.TrimSpace(lines[8]), "58") {
		t.Errorf("Y labels:\n%s", out)
	}
	if !regexp.MustCompile("[⠁-⣿]").MatchString(out) {
		t.Error("no braille curve")
	}
	// Many epochs: labels thin out and never touch.
	many := make([]float64, 35)
	for i := range many {
		many[i] = float64(50 + i)
	}
	got := xLabels(renderChart(st, chartAcc, many, many, 40, 10))
	if got != "1 5 10 15 20 25 30 35" {
		t.Errorf("35 epochs in 40 columns: labels %q", got)
	}
	// More epochs than columns: a column spans more than one epoch, and
	// the labelled one may be the second in it.
	more := make([]float64, 40)
	for i := range more {
		more[i] = float64(50 + i)
	}
	for _, w := range []int{36, 33, 30} {
		got := xLabels(renderChart(st, chartAcc, more, more, w, 10))
		if got != "1 5 10 15 20 25 30 35 40" {
			t.Errorf("40 epochs in %d columns: labels %q", w, got)
		}
	}
	// No data: axes and a note.
	empty := renderChart(st, chartLoss, nil, nil, 40, 8)
	if !strings.Contains(empty, "no epoch yet") || !strings.Contains(empty, "└") {
		t.Errorf("empty chart:\n%s", empty)
	}
}

// Without colour the train curve is dotted; with colour both are solid and
// coloured differently.
func TestChartColourAndNoColour(t *testing.T) {
	train := []float64{60, 70, 75, 78, 80, 81, 82, 83}
	test := []float64{50, 55, 58, 60, 61, 61.5, 62, 62.5}
	plain := NewStyles(nil)
	dotted := renderChart(plain, chartAcc, train, test, 40, 12)
	solid := renderChart(plain, chartAcc, nil, test, 40, 12)
	if strings.Contains(dotted, "\x1b[") {
		t.Fatal("colour codes without colour")
	}
	if dotted == solid {
		t.Fatal("train curve not drawn")
	}
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	r.SetHasDarkBackground(true)
	col := renderChart(NewStyles(r), chartAcc, train, test, 40, 12)
	// The two series' colours (dark background variants).
	for _, rgb := range []string{"96;165;250", "251;146;60"} {
		if !strings.Contains(col, rgb) {
			t.Errorf("coloured chart lacks colour %s", rgb)
		}
	}
}

func TestLegend(t *testing.T) {
	st := NewStyles(nil)
	s := newStore()
	for _, ev := range fixEvents() {
		s.apply(ev)
	}
	r := s.get("CNN2-20260301-120000")
	if got := legend(st, chartAcc, r, 60); got != "accuracy ┄ train 90.29%  ━ test 88.22%" {
		t.Errorf("wide legend %q", got)
	}
	if got := legend(st, chartAcc, r, 36); got != "acc ┄ train 90.29%  ━ test 88.22%" {
		t.Errorf("narrow legend %q", got)
	}
	if got := legend(st, chartLoss, r, 36); got != "loss ┄ train 0.3739  ━ test 0.3757" {
		t.Errorf("loss legend %q", got)
	}
	if got := legend(st, chartLoss, s.get("reduced_all_cnn-20260301-120000"), 36); got != "loss ┄ train —  ━ test —" {
		t.Errorf("legend without epochs %q", got)
	}
}

// A first epoch far off the rest is left out of the scale (the rest would
// be flattened to a line) and drawn on the chart's edge.
func TestScaleRangeIgnoresAFirstEpochOutlier(t *testing.T) {
	acc := []float64{7, 92, 92.5, 93, 93.5, 94, 94.5}
	if lo, hi := scaleRange(chartAcc, acc); lo != 91 || hi != 96 {
		t.Errorf("accuracy with a 7%% first epoch: %v..%v, want 91..96 (epochs 2-7)", lo, hi)
	}
	loss := []float64{3.7, 0.4, 0.3, 0.25, 0.2}
	if lo, hi := scaleRange(chartLoss, loss); hi > 0.5 {
		t.Errorf("loss with a first epoch of 3.7: %v..%v, want the rest's range", lo, hi)
	}
	// A first epoch that does not make the range four times as tall stays
	// in it, and so does every value of short curves.
	for _, vs := range [][]float64{{80, 88, 90, 91, 92}, {7, 88, 90}} {
		lo, hi := scaleRange(chartAcc, vs)
		if wl, wh := yRange(chartAcc, vs); lo != wl || hi != wh {
			t.Errorf("%v: %v..%v, want the whole range %v..%v", vs, lo, hi, wl, wh)
		}
	}
	// The 7% is drawn: the bottom row of the graph (91-92%, below every
	// other epoch) has a dot in its first columns.
	st := NewStyles(nil)
	for _, out := range []string{renderChart(st, chartAcc, acc, acc, 40, 10), renderMulti(st, chartAcc, []curve{{vals: acc, style: st.Test}}, 40, 10)} {
		lines := strings.Split(out, "\n")
		bottom := lines[len(lines)-3] // above the axis and its labels
		if !regexp.MustCompile("│ {0,3}[⠁-⣿]").MatchString(bottom) {
			t.Errorf("the first epoch is not drawn on the bottom edge:\n%s", out)
		}
	}
}
