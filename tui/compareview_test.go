package tui

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"fmnist/trainer"
)

// legendEntry matches an entry of the Compare view's legend: label, line
// sample, model and run ID (without the model).
var legendEntry = regexp.MustCompile(`([1-9a-z]) (━━|╍╍|┄┄) (\S+)\s+(\S+)\s+(?:best|no epoch)`)

// legendRuns are the runs the Compare view's legend lists, as full IDs.
func legendRuns(t *testing.T, screen string) []string {
	t.Helper()
	var ids []string
	for _, m := range legendEntry.FindAllStringSubmatch(screen, -1) {
		ids = append(ids, m[3]+"-"+m[4])
	}
	return ids
}

// TestMarkRunsAndCompare: space marks and unmarks the selected run in the
// Runs and the Table view, which show the mark; the Compare view's legend
// lists exactly the marked runs, in the order marked, and with none marked
// the best run of each model that has an epoch, the best first.
func TestMarkRunsAndCompare(t *testing.T) {
	m := newTestModel(t, nil, 80, 24)
	compare := func() []string {
		t.Helper()
		v := m.view
		m.view = viewCompare
		defer func() { m.view = v }()
		return legendRuns(t, m.View())
	}
	best := []string{"CNN2_dropout-20260301-090000", "CNN2-20260301-120000", "model5-20260301-120000", "all_cnn-20260301-100000"}
	if got := compare(); !slices.Equal(got, best) {
		t.Fatalf("nothing marked: legend %v, want the best run of each model %v", got, best)
	}
	if v := (&compareView{c: m.c}).view(); !strings.Contains(v, "best run of each model (mark runs with space)") {
		t.Errorf("title without marks:\n%s", v)
	}

	// Runs view: model5 is selected.
	press(m, "space")
	if !slices.Equal(m.c.marks, []string{"model5-20260301-120000"}) || !strings.Contains(m.View(), "● model5") {
		t.Fatalf("space in Runs: marks %v\n%s", m.c.marks, m.View())
	}
	press(m, "space")
	if len(m.c.marks) != 0 || strings.Contains(m.View(), "●") {
		t.Fatalf("space again: marks %v", m.c.marks)
	}
	press(m, "space", "left", "space") // model5, then CNN2
	// Table view: the selection stays on CNN2; mark CNN2_dropout too.
	press(m, "tab", "home", "space")
	want := []string{"model5-20260301-120000", "CNN2-20260301-120000", "CNN2_dropout-20260301-090000"}
	if !slices.Equal(m.c.marks, want) {
		t.Fatalf("marks %v, want %v", m.c.marks, want)
	}
	v := m.View()
	for _, line := range []string{">●CNN2_dropout", " ●CNN2 ", " ●model5", "  all_cnn"} {
		if !strings.Contains(v, line) {
			t.Errorf("table lacks %q:\n%s", line, v)
		}
	}
	if !strings.Contains(v, "● 3 marked to compare") {
		t.Errorf("table note does not count the marks:\n%s", v)
	}
	if got := compare(); !slices.Equal(got, want) {
		t.Errorf("legend %v, want the marked runs %v", got, want)
	}
	press(m, "down", "down", "space") // unmark CNN2, two rows below
	want = []string{"model5-20260301-120000", "CNN2_dropout-20260301-090000"}
	if got := compare(); !slices.Equal(m.c.marks, want) || !slices.Equal(got, want) {
		t.Errorf("after unmarking CNN2: marks %v, legend %v", m.c.marks, got)
	}
	press(m, "tab", "tab")
	if v := m.View(); !strings.Contains(v, "2 marked runs") {
		t.Errorf("Compare title:\n%s", v)
	}
	// Space marks nothing in Focus and Compare; the grouped table refuses.
	press(m, "space", "shift+tab", "space")
	press(m, "shift+tab", "m", "space")
	if !slices.Equal(m.c.marks, want) || !strings.Contains(m.View(), "marks are per run") {
		t.Errorf("marks %v after space in Compare, Focus and the grouped table:\n%s", m.c.marks, m.View())
	}

	// Marks survive runs being added, and the runs' new epochs show.
	m.Update(eventsMsg{
		trainer.RunQueued{ID: "CNN2-20260301-130000", Model: "CNN2", Index: 3},
		trainer.EpochEnd{ID: "model5-20260301-120000", Epochs: 6, Stats: fixEpoch(3, 0.6, 40)},
	})
	m.Update(diskRunsMsg{runs: fixDiskRuns()})
	if got := compare(); !slices.Equal(m.c.marks, want) || !slices.Equal(got, want) {
		t.Errorf("after new runs: marks %v, legend %v", m.c.marks, got)
	}
	m.view = viewCompare
	if v := m.View(); !strings.Contains(v, "best 85.81% (epoch 3)") {
		t.Errorf("model5's third epoch not shown:\n%s", v)
	}
}

// TestCompareUpdatesLive: a compared run's new epoch redraws the charts.
func TestCompareUpdatesLive(t *testing.T) {
	m := newTestModel(t, nil, 80, 24)
	press(m, "shift+tab")
	before := m.View()
	m.Update(eventsMsg{trainer.EpochEnd{ID: "model5-20260301-120000", Epochs: 6, Stats: fixEpoch(3, 0.6, 40)}})
	after := m.View()
	if before == after {
		t.Fatal("Compare did not change with a new epoch")
	}
	if m.compare.chartsKey == "" || !strings.Contains(m.compare.chartsKey, "model5-20260301-120000@") {
		t.Errorf("charts key %q", m.compare.chartsKey)
	}
	// t: the train curves.
	press(m, "t")
	if v := m.View(); !strings.Contains(v, "train accuracy") || !strings.Contains(v, "train curves") || v == after {
		t.Errorf("t does not show the train curves:\n%s", v)
	}
	press(m, "t")
	if v := m.View(); !strings.Contains(v, "test accuracy") || v != after {
		t.Errorf("t again does not show the test curves again:\n%s", v)
	}
}

// compareCommon is the fixture runs at w x h with styles st.
func compareCommon(st *Styles, w, h int) *common {
	return &common{width: w, height: h, styles: st, keys: newKeyMap(), store: fixStore(), now: fixNow}
}

// Without colour the Compare view has no escape codes, and its runs still
// differ: each its label and line pattern in the legend, each label drawn
// on the charts, the line patterns different in the charts.
func TestCompareNoColor(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	st := NewStyles(r)
	if !st.NoColor {
		t.Fatal("Ascii profile: styles with colour")
	}
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		for _, marks := range [][]string{nil, {"model5-20260301-120000", "CNN2-20260301-120000", "CNN2_dropout-20260301-090000"}} {
			c := compareCommon(st, size[0], size[1])
			c.marks = marks
			v := (&compareView{c: c}).view()
			name := fmt.Sprintf("%dx%d marks %v", size[0], size[1], marks)
			if strings.Contains(v, "\x1b") {
				t.Fatalf("%s: escape codes without colour", name)
			}
			entries := legendEntry.FindAllStringSubmatch(v, -1)
			if len(entries) < 3 {
				t.Fatalf("%s: legend of %d entries:\n%s", name, len(entries), v)
			}
			seen := map[string]bool{}
			patterns := map[string]bool{}
			for _, e := range entries {
				if seen[e[1]] {
					t.Errorf("%s: label %s twice", name, e[1])
				}
				seen[e[1]] = true
				patterns[e[2]] = true
			}
			if len(patterns) != 3 {
				t.Errorf("%s: line patterns %v, want solid, dashed and dotted", name, patterns)
			}
			// Every label is on both charts: the graph areas, right of an
			// axis ("│"), hold each label twice.
			var graph strings.Builder
			for _, l := range strings.Split(v, "\n")[2 : size[1]-2-len(entries)] {
				for _, part := range strings.Split(l, "│")[1:] {
					graph.WriteString(regexp.MustCompile(`\s+[0-9.]+$`).ReplaceAllString(part, ""))
				}
			}
			for label := range seen {
				if n := strings.Count(graph.String(), label); n < 2 {
					t.Errorf("%s: label %s %d times on the charts:\n%s", name, label, n, v)
				}
			}
		}
	}
	// The patterns themselves: a dashed and a dotted line are not solid.
	plain := func(p linePattern) string {
		c := epochChart(st, chartAcc, 8, 0, 100, 40, 12)
		c.Clear()
		c.DrawXYAxisAndLabel()
		drawLine(c, []float64{10, 20, 30, 40, 50, 60, 70, 80}, st.Train, p)
		return c.View()
	}
	if s, d, o := plain(solid), plain(dashed), plain(dotted); s == d || s == o || d == o {
		t.Error("solid, dashed and dotted lines not all different")
	}
}

// With colour, each run has a colour of the palette, the same on its chart
// curves and its legend sample, all lines solid.
func TestCompareColours(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	r.SetHasDarkBackground(true)
	st := NewStyles(r)
	c := compareCommon(st, 120, 40)
	v := (&compareView{c: c}).view()
	for i, style := range st.Runs[:4] { // the four best runs, one per model
		sgr, _, _ := strings.Cut(style.Render("x"), "x")
		if n := strings.Count(v, sgr); sgr == "" || n < 3 {
			t.Errorf("run %d: colour %q used %d times", i+1, sgr, n)
		}
	}
	if strings.Contains(v, "╍") || strings.Contains(v, "┄") {
		t.Error("patterned lines with colour")
	}
	seen := map[string]bool{}
	for _, col := range colRuns {
		if seen[col.Dark] || seen[col.Light] {
			t.Errorf("colour %v twice in the palette", col)
		}
		seen[col.Dark], seen[col.Light] = true, true
	}
}

// TestCompareFits: at every size the view fills the body exactly, the charts
// keep their room, and a legend too long folds with "+N more".
func TestCompareFits(t *testing.T) {
	var many []trainer.Event
	for i := range 20 {
		id := fmt.Sprintf("extra%02d-20260301-130000", i)
		many = append(many, trainer.RunQueued{ID: id, Model: fmt.Sprintf("extra%02d", i), Index: 3 + i},
			trainer.EpochEnd{ID: id, Epochs: 3, Stats: fixEpoch(1, 0.1*float64(i+1), 20)})
	}
	for _, size := range [][2]int{{80, 24}, {100, 40}, {120, 30}, {160, 48}, {200, 60}} {
		for _, n := range []int{0, 20} {
			m := newTestModel(t, nil, size[0], size[1])
			m.Update(eventsMsg(many[:2*n]))
			press(m, "shift+tab")
			v := m.View()
			lines := strings.Split(v, "\n")
			if len(lines) != size[1] {
				t.Errorf("%dx%d, %d more runs: %d lines", size[0], size[1], n, len(lines))
			}
			for i, l := range lines {
				if cellWidth(l) != size[0] {
					t.Errorf("%dx%d, %d more runs: line %d is %d wide", size[0], size[1], n, i, cellWidth(l))
				}
			}
			shown := len(legendEntry.FindAllString(v, -1))
			more := regexp.MustCompile(`\+(\d+) more`).FindStringSubmatch(v)
			hidden := 0
			if more != nil {
				fmt.Sscan(more[1], &hidden)
			}
			if shown+hidden != 4+n {
				t.Errorf("%dx%d, %d more runs: %d in the legend + %d more, want %d", size[0], size[1], n, shown, hidden, 4+n)
			}
			if size == [2]int{80, 24} && n == 20 && (more == nil || shown != 8) {
				t.Errorf("80x24: %d entries and %v:\n%s", shown, more, v)
			}
			// The charts' X axes: side by side (one line with two) or stacked.
			axes := 0
			for _, l := range lines {
				axes += strings.Count(l, "└")
			}
			if axes != 2 {
				t.Errorf("%dx%d: %d charts", size[0], size[1], axes)
			}
			if stacked := strings.Count(v, "└") == 2 && !regexp.MustCompile(`└.*└`).MatchString(v); stacked != (size == [2]int{100, 40} && n == 0) {
				t.Errorf("%dx%d: stacked %v", size[0], size[1], stacked)
			}
		}
	}
}

// A chart of several curves: each label beside its curve's latest point,
// and nothing drawn for a curve without values.
func TestRenderMulti(t *testing.T) {
	st := NewStyles(nil)
	out := renderMulti(st, chartAcc, []curve{
		{vals: []float64{60, 70, 80}, style: st.Train, pattern: solid, label: "1"},
		{vals: []float64{50, 55}, style: st.Test, pattern: dotted, label: "2"},
		{vals: nil, label: "3"},
	}, 40, 12)
	lines := strings.Split(out, "\n")
	if len(lines) != 12 {
		t.Fatalf("%d lines", len(lines))
	}
	var b strings.Builder
	for _, l := range lines[:len(lines)-2] {
		_, after, _ := strings.Cut(l, "│")
		b.WriteString(after + "\n")
	}
	graph := b.String()
	for _, l := range []string{"1", "2"} {
		if !regexp.MustCompile(`[⠁-⣿]` + l).MatchString(graph) {
			t.Errorf("label %s not right of a curve:\n%s", l, out)
		}
	}
	if strings.Contains(graph, "3") {
		t.Errorf("label of an empty curve drawn:\n%s", out)
	}
	if empty := renderMulti(st, chartLoss, []curve{{label: "1"}}, 40, 8); !strings.Contains(empty, "no epoch yet") {
		t.Errorf("no values:\n%s", empty)
	}
}

// Enter focuses the selected run where the selection shows (Runs, Table);
// in Compare, which shows no selection, it does nothing.
func TestEnterInCompareStays(t *testing.T) {
	m := newTestModel(t, nil, 80, 24)
	m.setView(viewCompare)
	press(m, "enter")
	if m.view != viewCompare {
		t.Errorf("enter in Compare went to view %d", m.view)
	}
	m.setView(viewTable)
	press(m, "enter")
	if m.view != viewFocus {
		t.Errorf("enter in Table went to view %d, want Focus", m.view)
	}
}
