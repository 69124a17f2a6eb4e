package tui

import (
	"bytes"
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
