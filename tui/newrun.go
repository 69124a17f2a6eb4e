package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
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
	// field holds the epochs typed, digits only; "" means the recipe's
	// default. Its keys come from the key table (Digit, Erase); it is drawn
	// by view, with a static cursor mark: a blinking cursor would wake the
	// dashboard twice a second while runs train (see DefaultFrame).
	field textinput.Model
	err   string
}

// epochsDigits is the most digits the epochs field takes (maxEpochs has 4).
const epochsDigits = 4

func newNewRunDialog(c *common, models []ModelInfo, current string) *newRunDialog {
	d := &newRunDialog{c: c, models: models}
	for i, m := range models {
		if m.Name == current {
			d.cursor = i
		}
	}
	f := textinput.New()
	f.Prompt = ""
	f.CharLimit = epochsDigits
	// Only the table's keys edit the field: typing goes through typeDigits,
	// and of the field's own editing keys only Erase is bound (the cursor
	// stays at the end, as the field is drawn).
	f.KeyMap = textinput.KeyMap{DeleteCharacterBackward: c.keys.Erase}
	f.Cursor.SetMode(cursor.CursorStatic)
	f.Focus()
	d.field = f
	return d
}

// epochs is the text of the epochs field.
func (d *newRunDialog) epochs() string { return d.field.Value() }

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
	case key.Matches(msg, k.Close):
		return true, nil
	case key.Matches(msg, k.Start):
		if len(d.models) == 0 {
			return true, nil
		}
		m := d.models[d.cursor]
		n := m.Epochs
		if e := d.epochs(); e != "" {
			v, err := strconv.Atoi(e)
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
	case key.Matches(msg, k.Erase):
		d.field, _ = d.field.Update(msg)
	default:
		d.typeDigits(msg)
	}
	return false, nil
}

// typeDigits types the Digit keys of msg (one key, or several pasted) into
// the epochs field, but no leading zero; anything else is ignored.
func (d *newRunDialog) typeDigits(msg tea.KeyMsg) {
	empty := d.epochs() == ""
	var typed []rune
	for _, r := range msg.Runes {
		if !key.Matches(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}}, d.c.keys.Digit) || r == '0' && empty {
			continue
		}
		typed = append(typed, r)
		empty = false
	}
	if len(typed) > 0 {
		// The field keeps at most epochsDigits of them.
		d.field, _ = d.field.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: typed})
	}
}

func (d *newRunDialog) view() string {
	st := d.c.styles
	w := min(d.c.width-8, 64) // inside the dialog's border and padding
	var b []string
	b = append(b, st.Bold.Render("New run"), "")
	if len(d.models) == 0 {
		b = append(b, "No models to train.", "", st.Dim.Render(hintLine([]key.Binding{keyHint("close", d.c.keys.Close)})))
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
	field := d.epochs()
	hint := ""
	if field == "" {
		field = strconv.Itoa(m.Epochs)
		hint = st.Dim.Render("  (the recipe's; type to change)")
	}
	b = append(b, "epochs "+st.Accent.Render(field+"▏")+hint)
	if d.err != "" {
		b = append(b, st.Bad.Render(d.err))
	}
	b = append(b, "", st.Dim.Render(hintLine(d.c.keys.newRunHints())))
	return st.Dialog.Render(fit(strings.Join(b, "\n"), w, len(b)))
}
