package tui

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fmnist/results"
)

func TestExportWritesMarkdownAndCSV(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs") // created if missing
	m := New(Options{RunsDir: dir, Runs: fixDiskRuns(), Now: fixNow})
	m.Update(teaSize(80, 24))
	m.Update(eventsMsg(fixEvents()))
	press(m, "tab", "8") // the export follows the table's order
	cmd := press(m, "e")
	if cmd == nil {
		t.Fatal("e: no command")
	}
	msg := cmd()
	m.Update(msg)
	em := msg.(exportedMsg)
	if em.err != nil {
		t.Fatal(em.err)
	}
	stamp := fixNow().Format("20060102-150405")
	if em.md != filepath.Join(dir, "table-"+stamp+".md") || em.csv != filepath.Join(dir, "table-"+stamp+".csv") {
		t.Errorf("paths %s %s", em.md, em.csv)
	}
	if v := m.View(); !strings.Contains(v, "exported ") {
		t.Errorf("status line:\n%s", v)
	}
	rows := m.table.resultRows()
	for _, f := range []struct{ path, format string }{{em.md, "md"}, {em.csv, "csv"}} {
		got, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		results.WriteTable(&want, rows, f.format)
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s:\n%s\nwant\n%s", f.format, got, want.Bytes())
		}
	}
	md, _ := os.ReadFile(em.md)
	lines := strings.Split(string(md), "\n")
	if !strings.Contains(lines[2], "CNN2_dropout") || !strings.Contains(lines[6], "reduced_all_cnn") {
		t.Errorf("Markdown rows not in the table's order (best first):\n%s", md)
	}
}

func TestExportErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o644)
	_, _, err := exportTable(filepath.Join(file, "runs"), nil, time.Now())
	if err == nil {
		t.Fatal("no error exporting below a regular file")
	}
	m := New(Options{RunsDir: filepath.Join(file, "runs"), Runs: fixDiskRuns(), Now: fixNow})
	m.Update(teaSize(80, 24))
	m.Update(press(m, "e")())
	if !strings.Contains(m.View(), "export failed") {
		t.Errorf("no error shown:\n%s", m.View())
	}
	empty := New(Options{RunsDir: t.TempDir(), Now: fixNow})
	empty.Update(teaSize(80, 24))
	press(empty, "e")
	if !strings.Contains(empty.View(), "no runs to export") {
		t.Error("exporting nothing")
	}
}

// m groups the table: one row per model and recipe with the mean ± sd over
// its seeds, and e then exports the grouped table.
func TestTableGroupsSeeds(t *testing.T) {
	dir := t.TempDir()
	runs := fixSeedRuns()
	m := New(Options{RunsDir: dir, Runs: runs, Now: fixNow})
	m.Update(teaSize(120, 30))
	press(m, "tab", "m")
	gs := results.Groups([]*results.Run{runs[0], runs[2], runs[3]})
	if len(gs) != 1 || gs[0].N() != 3 {
		t.Fatalf("groups %+v", gs)
	}
	v := m.View()
	if want := results.PlusMinus(gs[0].Best, 100); !strings.Contains(v, want) || !strings.Contains(v, "mean ± sd over seeds") {
		t.Fatalf("grouped table lacks %q:\n%s", want, v)
	}
	if strings.Count(v, "CNN2_dropout") != 1 {
		t.Errorf("CNN2_dropout's three runs are not one row:\n%s", v)
	}
	msg := press(m, "e")().(exportedMsg)
	if msg.err != nil {
		t.Fatal(msg.err)
	}
	got, _ := os.ReadFile(msg.md)
	if !strings.Contains(string(got), "| n |") || !strings.Contains(string(got), results.PlusMinus(gs[0].Best, 100)) {
		t.Errorf("export is not the grouped table:\n%s", got)
	}
	press(m, "m")
	if v := m.View(); strings.Count(v, "CNN2_dropout") != 3 {
		t.Errorf("m again: not one row per run:\n%s", v)
	}
}

// In the focus view, m shows the run's group: the mean test accuracy and
// loss of its seeds, with ± one standard deviation.
func TestFocusShowsSeedsMean(t *testing.T) {
	runs := fixSeedRuns()
	base := runs[0]
	m := New(Options{RunsDir: t.TempDir(), Runs: runs, Now: fixNow})
	m.Update(teaSize(120, 40))
	m.c.selected = base.ID
	press(m, "tab", "tab")
	if v := m.View(); strings.Contains(v, "mean of") {
		t.Fatalf("the group's mean before m:\n%s", v)
	}
	press(m, "m")
	var accs []float64
	for _, r := range []*results.Run{runs[0], runs[2], runs[3]} {
		accs = append(accs, r.Epochs[7].TestAcc*100)
	}
	st := results.NewStat(accs)
	v := m.View()
	if want := fmt.Sprintf("mean of 3 seeds %.2f%%", st.Mean); !strings.Contains(v, want) || !strings.Contains(v, fmt.Sprintf("± sd %.2f%%", st.SD)) {
		t.Fatalf("focus view lacks %q ± %.2f:\n%s", want, st.SD, v)
	}
	// At 80 columns the legend keeps the spread, in fewer words.
	m.Update(teaSize(80, 24))
	if v := m.View(); !strings.Contains(v, fmt.Sprintf("mean %.2f%%", st.Mean)) || !strings.Contains(v, fmt.Sprintf("± %.2f%% n=3", st.SD)) {
		t.Errorf("80 columns: focus legend lacks mean %.2f ± %.2f n=3:\n%s", st.Mean, st.SD, v)
	}
	m.Update(teaSize(120, 40))
	// A run with no other seed keeps its own curves.
	m.c.selected = runs[1].ID
	if v := m.View(); strings.Contains(v, "mean of") {
		t.Errorf("a run without seeds shows a group:\n%s", v)
	}
}

// At 80 columns the grouped table keeps every mean's ± sd (and leaves out
// the parameters and the study's figures instead), and its note, wrapped
// over the empty lines under the rows, is whole.
func TestTableGroupsSeedsNarrow(t *testing.T) {
	runs := fixSeedRuns()
	m := New(Options{RunsDir: t.TempDir(), Runs: runs, Now: fixNow})
	m.Update(teaSize(80, 24))
	press(m, "tab", "m")
	gs := results.Groups([]*results.Run{runs[0], runs[2], runs[3]})
	v := m.View()
	for _, want := range []string{results.PlusMinus(gs[0].Best, 100), results.PlusMinus(gs[0].Final, 100), "mean ± sd over seeds, n runs"} {
		if !strings.Contains(strings.ReplaceAll(v, "\n", " "), want) {
			t.Errorf("80 columns: grouped table lacks %q:\n%s", want, v)
		}
	}
	checkWidth(t, v, 80)
	if n := strings.Count(v, "\n") + 1; n != 24 {
		t.Errorf("%d lines, want 24", n)
	}
}
