package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"fmnist/results"
)

// maxEpochs caps the epochs field of the new-run dialog.
const maxEpochs = 1000

// newRunDialog asks which model to train and for how many epochs.
type newRunDialog struct {
	c      *common
	models []ModelInfo
	cursor int
	epochs string // digits typed; "" means the recipe's default
	err    string
}

func newNewRunDialog(c *common, models []ModelInfo, current string) *newRunDialog {
	d := &newRunDialog{c: c, models: models}
	for i, m := range models {
		if m.Name == current {
			d.cursor = i
		}
	}
	return d
}

// startRequest is what the dialog asks the controller to start.
type startRequest struct {
	model  string
	epochs int
}

// update handles a key; it returns done when the dialog should close, with
// a request if a run should start.
func (d *newRunDialog) update(msg tea.KeyMsg) (done bool, req *startRequest) {
	k := d.c.keys
	d.err = ""
	switch {
	case msg.Type == tea.KeyEsc:
		return true, nil
	case msg.Type == tea.KeyEnter:
		if len(d.models) == 0 {
			return true, nil
		}
		m := d.models[d.cursor]
		n := m.Epochs
		if d.epochs != "" {
			v, err := strconv.Atoi(d.epochs)
			if err != nil || v < 1 || v > maxEpochs {
				d.err = fmt.Sprintf("epochs must be 1 to %d", maxEpochs)
				return false, nil
			}
			n = v
		}
		return true, &startRequest{model: m.Name, epochs: n}
	case key.Matches(msg, k.Up):
		d.cursor = max(0, d.cursor-1)
	case key.Matches(msg, k.Down):
		d.cursor = min(len(d.models)-1, d.cursor+1)
	case msg.Type == tea.KeyBackspace:
		if d.epochs != "" {
			d.epochs = d.epochs[:len(d.epochs)-1]
		}
	case msg.Type == tea.KeyRunes:
		for _, r := range msg.Runes {
			if r >= '0' && r <= '9' && len(d.epochs) < 4 {
				if r == '0' && d.epochs == "" {
					continue
				}
				d.epochs += string(r)
			}
		}
	}
	return false, nil
}

func (d *newRunDialog) view() string {
	st := d.c.styles
	w := min(d.c.width-8, 64) // inside the dialog's border and padding
	var b []string
	b = append(b, st.Bold.Render("New run"), "")
	if len(d.models) == 0 {
		b = append(b, "No models to train.", "", st.Dim.Render("esc close"))
		return st.Dialog.Render(fit(strings.Join(b, "\n"), w, len(b)))
	}
	nw := 5
	for _, m := range d.models {
		nw = max(nw, len(m.Name))
	}
	b = append(b, st.Header.Render(fmt.Sprintf("  %-*s  %9s  %6s", nw, "Model", "Params", "Epochs")))
	for i, m := range d.models {
		line := fmt.Sprintf("%-*s  %9s  %6d", nw, m.Name, results.Thousands(m.Params), m.Epochs)
		if i == d.cursor {
			b = append(b, st.Selected.Render("> "+line))
		} else {
			b = append(b, "  "+line)
		}
	}
	m := d.models[d.cursor]
	b = append(b, "")
	if m.Title != "" {
		b = append(b, truncate(m.Title, w))
	}
	b = append(b, wrap(st.Dim.Render("recipe ")+m.Recipe, w)...)
	b = append(b, "")
	field := d.epochs
	hint := ""
	if field == "" {
		field = strconv.Itoa(m.Epochs)
		hint = st.Dim.Render("  (the recipe's; type to change)")
	}
	b = append(b, "epochs "+st.Accent.Render(field+"▏")+hint)
	if d.err != "" {
		b = append(b, st.Bad.Render(d.err))
	}
	b = append(b, "", st.Dim.Render("↑↓ model · 0-9 epochs · enter start · esc cancel"))
	return st.Dialog.Render(fit(strings.Join(b, "\n"), w, len(b)))
}

// wrap breaks s at spaces into lines of at most w cells.
func wrap(s string, w int) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case cellWidth(line)+1+cellWidth(word) <= w:
			line += " " + word
		default:
			out = append(out, line)
			line = word
		}
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}
