package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// keyMap is the key table: every key that the dashboard, its dialogs and the
// detector view answer to, each a bubbles key.Binding with its help text. It
// is the one place where keys are named. Every view dispatches by matching
// key messages against these bindings (key.Matches), and everything that
// tells the user about keys is built from them, per view or context:
//
//	shortFor       the dashboard's footer in each view
//	FullHelp       the dashboard's help screen (help.go)
//	confirmHints   a question's hint line (confirm.go)
//	newRunHints    the new-run form's hint line (newrun.go)
//	detectShort    the detector view's footer (detectview.go)
//	detectHelp     the detector view's help screen
//
// Rebinding a key here changes both what triggers the action and what the
// screens say. (The idea is W&B's terminal viewer LEET, whose per-view
// binding tables drive its dispatch and its help screen.)
type keyMap struct {
	// The dashboard's views, all on its help screen.
	NextView, PrevView    key.Binding
	Up, Down, Left, Right key.Binding
	PageUp, PageDown      key.Binding
	Top, Bottom           key.Binding
	Focus, Back           key.Binding
	New, Cancel, Export   key.Binding
	Sort, SortColumn      key.Binding
	Group                 key.Binding
	Mark, TrainCurves     key.Binding // mark a run to compare; Compare's train curves
	Correct               key.Binding // Focus: the best model's correct examples instead of its mistakes
	Help, Quit            key.Binding

	// A question (confirmDialog): yes or no, plus a key of one question each:
	// ctrl+c in "quit?" quits (ctrl+c twice quits), q in "cancel the run?"
	// is no.
	Yes, No   key.Binding
	QuitAgain key.Binding
	Dismiss   key.Binding

	// The new-run form (newRunDialog); Up and Down choose the model. Digit
	// and Erase edit the epochs field.
	Digit, Erase key.Binding
	Start, Close key.Binding

	// readOnly hides n, x and e from the footer and help: a read-only server
	// refuses them (with a status line, should they be pressed anyway).
	readOnly bool
}

func newKeyMap() *keyMap {
	b := key.NewBinding
	k, h := key.WithKeys, key.WithHelp
	return &keyMap{
		NextView:    b(k("tab"), h("tab", "next view")),
		PrevView:    b(k("shift+tab"), h("shift+tab", "previous view")),
		Up:          b(k("up", "k"), h("↑/k", "up")),
		Down:        b(k("down", "j"), h("↓/j", "down")),
		Left:        b(k("left", "h"), h("←/h", "left")),
		Right:       b(k("right", "l"), h("→/l", "right")),
		PageUp:      b(k("pgup", "ctrl+u"), h("pgup/^u", "page up")),
		PageDown:    b(k("pgdown", "ctrl+d"), h("pgdn/^d", "page down")),
		Top:         b(k("home", "g"), h("g/home", "first")),
		Bottom:      b(k("end", "G"), h("G/end", "last")),
		Focus:       b(k("enter"), h("enter", "focus run")),
		Back:        b(k("esc"), h("esc", "back")),
		New:         b(k("n"), h("n", "new run")),
		Cancel:      b(k("x"), h("x", "cancel run")),
		Export:      b(k("e"), h("e", "export table")),
		Sort:        b(k("s"), h("s", "sort by column")),
		SortColumn:  b(k("1", "2", "3", "4", "5", "6", "7", "8", "9", "0"), h("1-9,0", "sort by Nth column")),
		Group:       b(k("m"), h("m", "seeds: mean ± sd")),
		Mark:        b(k(" "), h("space", "mark run to compare")),
		TrainCurves: b(k("t"), h("t", "train curves")),
		Correct:     b(k("c"), h("c", "correct examples")),
		Help:        b(k("?"), h("?", "help")),
		Quit:        b(k("q", "ctrl+c"), h("q", "quit")),

		Yes:       b(k("y", "Y", "enter"), h("y/enter", "yes")),
		No:        b(k("n", "N", "esc"), h("n/esc", "no")),
		QuitAgain: b(k("ctrl+c"), h("ctrl+c", "quit")),
		Dismiss:   b(k("q"), h("q", "no")),

		Digit: b(k("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), h("0-9", "type the epochs")),
		Erase: b(k("backspace"), h("backspace", "erase a digit")),
		Start: b(k("enter"), h("enter", "start the run")),
		Close: b(k("esc"), h("esc", "close the form")),
	}
}

// arrowGlyphs are the arrow keys as hints show them.
var arrowGlyphs = map[string]string{"up": "↑", "down": "↓", "left": "←", "right": "→"}

// hintLabel is the key label of a hint standing for bindings bs: arrows run
// together as glyphs (←→ for Left and Right), other keys are their help
// labels joined with "/" (n/esc/q).
func hintLabel(bs ...key.Binding) string {
	glyphs, labels := "", make([]string, 0, len(bs))
	arrows := true
	for _, b := range bs {
		l := b.Help().Key
		if l == "" && len(b.Keys()) > 0 {
			l = b.Keys()[0]
		}
		labels = append(labels, l)
		g, ok := "", false
		if len(b.Keys()) > 0 {
			g, ok = arrowGlyphs[b.Keys()[0]]
		}
		arrows = arrows && ok
		glyphs += g
	}
	if arrows && len(bs) > 0 {
		return glyphs
	}
	return strings.Join(labels, "/")
}

// keyHint is one entry of a footer or hint line: bindings bs of the table
// under the short description desc. It matches what they match, and is
// disabled (left out) when they all are.
func keyHint(desc string, bs ...key.Binding) key.Binding {
	var keys []string
	enabled := false
	for _, b := range bs {
		keys = append(keys, b.Keys()...)
		enabled = enabled || b.Enabled()
	}
	h := key.NewBinding(key.WithKeys(keys...), key.WithHelp(hintLabel(bs...), desc))
	h.SetEnabled(enabled)
	return h
}

// hintLine is hints as a dialog's hint line: "y/enter yes · n/esc no".
func hintLine(hints []key.Binding) string {
	var parts []string
	for _, h := range hints {
		if h.Enabled() {
			parts = append(parts, h.Help().Key+" "+h.Help().Desc)
		}
	}
	return strings.Join(parts, " · ")
}

// ShortHelp is the footer's help for the Runs view.
func (k *keyMap) ShortHelp() []key.Binding {
	return k.shortFor(viewRuns, 0)
}

// footerSep is what separates the footer's hints.
const footerSep = "  "

// shortFor is the footer's help in view v, w cells wide (0: any width): the
// main keys, tersely. When they do not all fit, the hints that matter least
// there (moving with the arrows in Runs, a new run in Table, the seeds' mean
// and then going back in Focus) are left out (disabled) first.
func (k *keyMap) shortFor(v view, w int) []key.Binding {
	h := keyHint
	tab, help, quit := h("view", k.NextView), h("help", k.Help), h("quit", k.Quit)
	newRun, cancel, export := h("new", k.New), h("cancel", k.Cancel), h("export", k.Export)
	mark := h("mark", k.Mark)
	if k.readOnly {
		for _, kb := range []*key.Binding{&newRun, &cancel, &export} {
			kb.SetEnabled(false) // the help view leaves disabled keys out
		}
	}
	var hints []key.Binding
	var spare []int // positions in hints, the first to go first
	switch v {
	case viewTable:
		hints = []key.Binding{tab, h("column", k.Left, k.Right), h("sort", k.Sort), h("group", k.Group), mark, newRun, export, help, quit}
		spare = []int{5}
	case viewFocus:
		hints = []key.Binding{tab, h("runs", k.Left, k.Right), h("scroll", k.Up, k.Down), h("seeds", k.Group), h("correct", k.Correct),
			h("back", k.Back), help, quit}
		spare = []int{3, 4, 5} // seeds, then correct examples, then back

	case viewCompare:
		hints = []key.Binding{tab, h("train/test", k.TrainCurves), newRun, help, quit}
	default:
		hints = []key.Binding{tab, h("move", k.Left, k.Up, k.Down, k.Right), h("focus", k.Focus), mark, newRun, cancel, help, quit}
		spare = []int{1}
	}
	for _, i := range spare {
		if w <= 0 || hintsWidth(hints) <= w {
			break
		}
		hints[i].SetEnabled(false)
	}
	return hints
}

// hintsWidth is the width of the enabled hints as a footer.
func hintsWidth(hints []key.Binding) int {
	w, n := 0, 0
	for _, b := range hints {
		if b.Enabled() {
			w += cellWidth(b.Help().Key) + 1 + cellWidth(b.Help().Desc)
			n++
		}
	}
	return w + max(0, n-1)*len(footerSep)
}

// FullHelp is the help screen: one column per group.
func (k *keyMap) FullHelp() [][]key.Binding {
	runs := []key.Binding{k.New, k.Cancel, k.Export, k.Sort, k.SortColumn, k.Group, k.Mark, k.TrainCurves}
	if k.readOnly {
		runs = []key.Binding{k.Sort, k.SortColumn, k.Group, k.Mark, k.TrainCurves}
	}
	return [][]key.Binding{
		{k.NextView, k.PrevView, k.Focus, k.Back, k.Correct, k.Help, k.Quit},
		{k.Up, k.Down, k.Left, k.Right, k.PageUp, k.PageDown, k.Top, k.Bottom},
		runs,
	}
}

// confirmHints is the hint line of a question of kind kind.
func (k *keyMap) confirmHints(kind confirmKind) []key.Binding {
	if kind == confirmQuit {
		return []key.Binding{keyHint("yes", k.Yes), keyHint("no", k.No), keyHint("quit", k.QuitAgain)}
	}
	return []key.Binding{keyHint("yes", k.Yes), keyHint("no", k.No, k.Dismiss)}
}

// newRunHints is the new-run form's hint line.
func (k *keyMap) newRunHints() []key.Binding {
	return []key.Binding{keyHint("model", k.Up, k.Down), keyHint("epochs", k.Digit, k.Erase),
		keyHint("start", k.Start), keyHint("cancel", k.Close)}
}

// detectShort is the detector view's footer; before the end, quitting
// cancels the detection.
func (k *keyMap) detectShort(finished bool) []key.Binding {
	quit := keyHint("cancel and quit", k.Quit)
	if finished {
		quit = keyHint("quit", k.Quit)
	}
	return []key.Binding{quit, keyHint("help", k.Help)}
}

// detectHelp is the key list of the detector view's help screen: every key
// of each binding, spelt out.
func (k *keyMap) detectHelp() []key.Binding {
	all := func(b key.Binding, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(b.Keys()...), key.WithHelp(strings.Join(b.Keys(), ", "), desc))
	}
	return []key.Binding{
		all(k.Quit, "quit; before the end it cancels the detection\n(the output and JSON written so far are kept)"),
		all(k.Help, "this help"),
	}
}

// closeHelp is the last line of a help screen: "? or esc closes this help".
func (k *keyMap) closeHelp() string {
	return hintLabel(k.Help) + " or " + hintLabel(k.Back) + " closes this help"
}

// keyIndex is the position of msg's key among b's keys, or -1: which of
// several keys of one binding was pressed (1-9 and 0 for SortColumn).
func keyIndex(msg tea.KeyMsg, b key.Binding) int {
	s := msg.String()
	for i, k := range b.Keys() {
		if k == s {
			return i
		}
	}
	return -1
}
