package tui

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"fmnist/results"
)

// exportTable writes the table (write, in a format) as Markdown and as CSV
// into dir, named after the time: table-YYYYMMDD-HHMMSS.md and .csv. Each
// file is written atomically.
func exportTable(dir string, write func(w io.Writer, format string) error, now time.Time) (md, csv string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("export: %v", err)
	}
	base := filepath.Join(dir, "table-"+now.Format("20060102-150405"))
	for _, f := range []struct {
		format string
		path   *string
	}{{"md", &md}, {"csv", &csv}} {
		var buf bytes.Buffer
		if err := write(&buf, f.format); err != nil {
			return "", "", err
		}
		p := base + "." + f.format
		if err := results.WriteFileAtomic(p, buf.Bytes(), 0o644); err != nil {
			return "", "", err
		}
		*f.path = p
	}
	return md, csv, nil
}

// exportCmd exports off the event loop.
func exportCmd(dir string, write func(w io.Writer, format string) error, now time.Time) tea.Cmd {
	return func() tea.Msg {
		md, csv, err := exportTable(dir, write, now)
		return exportedMsg{md: md, csv: csv, err: err}
	}
}
