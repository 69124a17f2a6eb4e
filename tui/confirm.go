package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// confirmKind is what a confirmation is about.
type confirmKind int

const (
	confirmQuit confirmKind = iota
	confirmCancel
)

// confirmDialog asks a yes/no question.
type confirmDialog struct {
	c     *common
	kind  confirmKind
	runID string // the run to cancel
	text  string
}

// update returns done when answered, and whether the answer was yes.
func (d *confirmDialog) update(msg tea.KeyMsg) (done, yes bool) {
	k := d.c.keys
	switch {
	case key.Matches(msg, k.Yes):
		return true, true
	case d.kind == confirmQuit && key.Matches(msg, k.QuitAgain):
		return true, true // ctrl+c twice quits
	case key.Matches(msg, k.No), d.kind == confirmCancel && key.Matches(msg, k.Dismiss):
		return true, false
	}
	return false, false
}

func (d *confirmDialog) view() string {
	st := d.c.styles
	w := min(d.c.width-8, 60)
	lines := wrap(d.text, w)
	lines = append(lines, "", st.Dim.Render(hintLine(d.c.keys.confirmHints(d.kind))))
	return st.Dialog.Render(fit(strings.Join(lines, "\n"), w, len(lines)))
}
