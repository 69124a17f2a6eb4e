package tui

import (
	"strings"
	"testing"
)

func TestRunsGrid(t *testing.T) {
	cases := []struct {
		w, h, runs int
		want       grid
	}{
		{80, 24, 5, grid{cols: 2, rows: 1, total: 3}},
		{160, 48, 5, grid{cols: 3, rows: 2, total: 2}}, // rows of 3 and 2, not 4 and 1
		{120, 40, 4, grid{cols: 2, rows: 2, total: 2}}, // two rows of two
		{200, 24, 5, grid{cols: 5, rows: 1, total: 1}},
		{80, 24, 3, grid{cols: 2, rows: 1, total: 2}},  // not all visible: as many across as fit
		{160, 48, 2, grid{cols: 2, rows: 1, total: 1}}, // few runs: wider panels
		{120, 40, 5, grid{cols: 3, rows: 2, total: 2}},
		{80, 24, 0, grid{cols: 2, rows: 1, total: 1}},
	}
	for _, c := range cases {
		s := newStore()
		runs := fixDiskRuns()
		for i := 0; i < c.runs; i++ {
			r := *runs[i%2]
			r.ID = strings.Repeat("x", i+1)
			s.byID[r.ID] = &runState{Run: r}
		}
		s.sort()
		v := &runsView{c: &common{width: c.w, height: c.h, store: s}}
		if got := v.grid(); got != c.want {
			t.Errorf("%dx%d with %d runs: %+v, want %+v", c.w, c.h, c.runs, got, c.want)
		}
	}
}

func TestRunsViewEmpty(t *testing.T) {
	m := New(Options{RunsDir: "/data/runs", Now: fixNow})
	m.Update(teaSize(80, 24))
	v := m.View()
	if !strings.Contains(v, "No runs in /data/runs yet") || !strings.Contains(v, "Press n") {
		t.Fatalf("empty view:\n%s", v)
	}
	if m.runs.position() != "" {
		t.Error("position without runs")
	}
	press(m, "right", "down", "enter") // nothing to move to or focus
	if m.view != viewRuns || m.Selected() != "" {
		t.Errorf("keys on an empty dashboard: view %d selected %q", m.view, m.Selected())
	}
}
