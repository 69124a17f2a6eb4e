package tui

import (
	"fmnist/archs"
	"math"
	"regexp"
	"strings"
	"testing"

	"fmnist/trainer"
)

func tableModel(t *testing.T, w int) *Model {
	m := newTestModel(t, nil, w, 30)
	press(m, "tab")
	return m
}

// TestSortByEveryColumn: sorting by each column orders the rows by it,
// best-first for accuracies and ascending otherwise, missing values last in
// both directions; sorting again reverses.
func TestSortByEveryColumn(t *testing.T) {
	m := tableModel(t, 200)
	v := m.table
	for _, col := range columns {
		for pass := 0; pass < 2; pass++ {
			v.sortBy(col.id)
			if pass == 0 && v.desc != col.desc {
				t.Errorf("%s: first sort desc=%v, want %v", col.id, v.desc, col.desc)
			}
			rows := v.rows()
			if len(rows) != 5 {
				t.Fatalf("%d rows", len(rows))
			}
			seenMissing := false
			for i, r := range rows {
				n, s, ok := col.key(r)
				if !ok {
					seenMissing = true
					continue
				}
				if seenMissing {
					t.Errorf("%s desc=%v: value after a missing one at row %d", col.id, v.desc, i)
				}
				if i == 0 {
					continue
				}
				pn, ps, pok := col.key(rows[i-1])
				if !pok {
					continue
				}
				bad := (!v.desc && (ps > s || (ps == s && pn > n))) || (v.desc && (ps < s || (ps == s && pn < n)))
				if bad {
					t.Errorf("%s desc=%v: rows %d,%d out of order (%v %q, %v %q)", col.id, v.desc, i-1, i, pn, ps, n, s)
				}
			}
		}
	}
}

func TestSortKeys(t *testing.T) {
	m := tableModel(t, 200)
	first := func() string { return m.table.rows()[0].row.ID }
	// Wide layout: column 8 is Best acc (Model, Run, Status, Params,
	// Epochs, s/epoch, Total, Best acc).
	press(m, "8")
	if m.table.sortCol != "best" || !m.table.desc || first() != "CNN2_dropout-20260301-090000" {
		t.Fatalf("8: sorted by %s desc=%v, first %s", m.table.sortCol, m.table.desc, first())
	}
	press(m, "8")
	if m.table.desc {
		t.Fatal("8 again did not reverse")
	}
	if got := m.table.rows(); got[len(got)-1].row.ID != "reduced_all_cnn-20260301-120000" {
		t.Errorf("ascending: the run without epochs is not last: %s", got[len(got)-1].row.ID)
	}
	// Cursor and s: from Best acc two left is s/epoch.
	press(m, "left", "left", "s")
	if m.table.sortCol != "sec" || m.table.desc || first() != "CNN2-20260301-120000" {
		t.Fatalf("left left s: sorted by %s desc=%v, first %s", m.table.sortCol, m.table.desc, first())
	}
	if !strings.Contains(m.View(), "sorted by s/epoch, ascending") {
		t.Errorf("sort not described:\n%s", m.View())
	}
	press(m, "1")
	if m.table.sortCol != "model" || first() != "all_cnn-20260301-100000" {
		t.Fatalf("1: sorted by %s, first %s", m.table.sortCol, first())
	}
	press(m, "0") // column 10: Study s/epoch
	if m.table.sortCol != "seedsec" {
		t.Fatalf("0: sorted by %s", m.table.sortCol)
	}
	// Cursor stops at the ends.
	for i := 0; i < 20; i++ {
		press(m, "right")
	}
	if m.table.cursor != "seed" { // the last column in the roomiest layout
		t.Errorf("cursor ran to %s", m.table.cursor)
	}
	// The roomiest layout adds each run's recipe and seed after the
	// numbered columns.
	if v := m.View(); !strings.Contains(v, "Best on  Recipe  Seed") || !strings.Contains(v, "test     seed       1") {
		t.Errorf("no Recipe and Seed columns at 200 columns:\n%s", v)
	}
	// Up and down move the selection through the sorted rows; enter focuses it.
	press(m, "1", "home")
	if m.Selected() != "all_cnn-20260301-100000" {
		t.Fatalf("home: %s", m.Selected())
	}
	press(m, "down", "enter")
	if m.view != viewFocus || m.Selected() != "CNN2-20260301-120000" {
		t.Fatalf("down enter: view %d selected %s", m.view, m.Selected())
	}
}

func TestTableLayoutsFit(t *testing.T) {
	for _, w := range []int{80, 90, 120, 160, 200} {
		m := tableModel(t, w)
		l := m.table.layout(m.table.rows())
		if l.total() > w {
			t.Errorf("width %d: layout %d wide", w, l.total())
		}
		v := m.table.view()
		for _, want := range []string{"Model", "Params", "s/ep", "Total", "Best", "Final", "92.04", "28."} {
			if !strings.Contains(v, want) {
				t.Errorf("width %d: table lacks %q", w, want)
			}
		}
		if w >= 160 != strings.Contains(v, "Run ") {
			t.Errorf("width %d: Run column shown=%v", w, strings.Contains(v, "Run "))
		}
	}
	// The compact layout at 80 has a group line and no % signs in cells.
	m := tableModel(t, 80)
	v := m.table.view()
	if !strings.Contains(v, "test acc %") || !strings.Contains(v, "seed study") || strings.Contains(v, "89.24%") {
		t.Errorf("compact layout:\n%s", v)
	}
}

func TestTableHighlightsBestAndFastest(t *testing.T) {
	m := tableModel(t, 160)
	v := m.table.view()
	if !strings.Contains(v, "89.24%*") { // CNN2_dropout: best accuracy
		t.Errorf("best accuracy not marked:\n%s", v)
	}
	if !strings.Contains(v, "18.62*") { // CNN2: fastest
		t.Errorf("fastest s/epoch not marked:\n%s", v)
	}
	if strings.Count(v, "*") != 3 { // two marks and the note
		t.Errorf("%d marks", strings.Count(v, "*"))
	}
	best, fastest, ok := extremes(m.table.rows())
	if !ok || best != m.c.store.get("CNN2_dropout-20260301-090000").BestTestAcc || math.Abs(fastest-18.62) > 0.01 {
		t.Errorf("extremes %v %v %v", best, fastest, ok)
	}
}

func TestTableScrollsToSelection(t *testing.T) {
	m := newTestModel(t, nil, 80, 24)
	for i := 0; i < 30; i++ {
		m.Update(eventsMsg{trainer.RunQueued{ID: "extra-" + string(rune('a'+i)), Model: "CNN2", Index: 10 + i}})
	}
	press(m, "tab", "end")
	v := m.View()
	if !strings.Contains(v, "> CNN2") || !strings.Contains(v, "rows ") {
		t.Fatalf("selection at the end not in view:\n%s", v)
	}
	press(m, "home")
	if !strings.Contains(m.View(), "> CNN2_dropout") {
		t.Fatal("home: first row not in view")
	}
	press(m, "pgdown")
	m.View()
	if m.table.offset == 0 {
		t.Error("pgdown did not scroll")
	}
}

// Runs of more than one recipe show a Recipe column at 80 columns and
// wider (at 80 in place of the seed study's); runs of one recipe keep it
// for the roomiest.
func TestTableShowsRecipeWhenMixed(t *testing.T) {
	for _, w := range []int{80, 90, 120} {
		m := tableModel(t, w)
		if v := m.table.view(); strings.Contains(v, "Recipe") {
			t.Errorf("width %d: Recipe column with one recipe:\n%s", w, v)
		}
		spec, _ := archs.Lookup("CNN2")
		r, _ := spec.RecipeNamed(archs.RecipeImproved)
		m.c.store.get("CNN2-20260301-120000").Recipe = r.WithEpochs(8)
		v := m.table.view()
		if !strings.Contains(v, "Recipe") || !strings.Contains(v, "improved") || !strings.Contains(v, "seed") {
			t.Errorf("width %d: no Recipe column for mixed recipes:\n%s", w, v)
		}
		if l := m.table.layout(m.table.rows()); l.total() > w {
			t.Errorf("width %d: layout %d wide", w, l.total())
		}
		if w >= 90 && !strings.Contains(v, "seed study") && !strings.Contains(v, "Study acc") {
			t.Errorf("width %d: the seed study's columns left out:\n%s", w, v)
		}
	}
}

// A recipe label too long for an 80-column table is cut, not left out:
// the runs and the groups stay told apart, and every line fits.
func TestTableCutsLongRecipeLabels(t *testing.T) {
	m := tableModel(t, 80)
	spec, _ := archs.Lookup("CNN2")
	r, err := spec.RecipeFor(archs.RecipeImproved, []string{"lr=0.002", "ls=0.3", "wd=0.01", "warmup=3", "erase=0.25"})
	if err != nil {
		t.Fatal(err)
	}
	m.c.store.get("CNN2-20260301-120000").Recipe = r.WithEpochs(8)
	label := r.Label()
	if len(label) < 40 {
		t.Fatalf("label %q is not long", label)
	}
	for _, grouped := range []bool{false, true} {
		m.table.grouped = grouped
		v := m.table.view()
		cut := regexp.MustCompile(regexp.QuoteMeta(label[:minRecipeWidth-1]) + `[^ ]*…`)
		if !strings.Contains(v, "Recipe") || !cut.MatchString(v) || !strings.Contains(v, "seed ") {
			t.Errorf("grouped %v: the recipes are not told apart:\n%s", grouped, v)
		}
		checkWidth(t, v, 80)
	}
}

// Where the table has no room for "Best on", its note says what Best is
// when a run chose its epoch on validation (Best may then be below Final).
func TestTableSaysWhatBestIs(t *testing.T) {
	const note = "Best: test acc at the epoch best on validation"
	m := tableModel(t, 80)
	if v := m.table.view(); strings.Contains(v, note) {
		t.Errorf("note without a run chosen on validation:\n%s", v)
	}
	r := m.c.store.get("CNN2-20260301-120000")
	r.ValSize = 5000
	for i := range r.Epochs {
		r.Epochs[i].ValAcc = 0.8
	}
	for w, wide := range map[int]bool{80: false, 200: true} {
		m.c.width = w
		v := m.table.view()
		if strings.Contains(v, "Best on") != wide || strings.Contains(v, note) == wide {
			t.Errorf("width %d: want the Best on column %v and the note %v:\n%s", w, wide, !wide, v)
		}
	}
}

// A run whose epochs shared the cores with other runs gets ‖ after its
// s/epoch, never the fastest's star, and the note says why.
func TestTableMarksSharedRuns(t *testing.T) {
	m := tableModel(t, 120)
	r := m.c.store.get("CNN2-20260301-120000")
	for i := range r.Epochs {
		r.Epochs[i].TrainSeconds = 0.01 // by far the fastest
		r.Epochs[i].Concurrent = 2
	}
	v := m.table.view()
	line := ""
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, "CNN2 ") && !strings.Contains(l, "CNN2_") {
			line = l
		}
	}
	if !strings.Contains(line, "0.01‖") || strings.Contains(line, "0.01*") {
		t.Errorf("shared run's row %q: want 0.01‖ and no star", line)
	}
	if !strings.Contains(v, "‖ trained beside other runs") || strings.Count(v, "*") < 2 {
		t.Errorf("no note, or the star went nowhere:\n%s", v)
	}
}
