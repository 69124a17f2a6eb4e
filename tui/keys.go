package tui

import "github.com/charmbracelet/bubbles/key"

// keyMap is every key binding of the dashboard. It implements help.KeyMap.
type keyMap struct {
	NextView, PrevView    key.Binding
	Up, Down, Left, Right key.Binding
	PageUp, PageDown      key.Binding
	Top, Bottom           key.Binding
	Focus, Back           key.Binding
	New, Cancel, Export   key.Binding
	Sort, SortColumn      key.Binding
	Help, Quit            key.Binding
	Yes, No               key.Binding
	// readOnly hides n, x and e from the help: a read-only server refuses them
	// (with a status line, should they be pressed anyway).
	readOnly bool
}

func newKeyMap() *keyMap {
	b := key.NewBinding
	k, h := key.WithKeys, key.WithHelp
	return &keyMap{
		NextView:   b(k("tab"), h("tab", "next view")),
		PrevView:   b(k("shift+tab"), h("shift+tab", "previous view")),
		Up:         b(k("up", "k"), h("↑/k", "up")),
		Down:       b(k("down", "j"), h("↓/j", "down")),
		Left:       b(k("left", "h"), h("←/h", "left")),
		Right:      b(k("right", "l"), h("→/l", "right")),
		PageUp:     b(k("pgup", "ctrl+u"), h("pgup", "page up")),
		PageDown:   b(k("pgdown", "ctrl+d", " "), h("pgdn", "page down")),
		Top:        b(k("home", "g"), h("g/home", "first")),
		Bottom:     b(k("end", "G"), h("G/end", "last")),
		Focus:      b(k("enter"), h("enter", "focus run")),
		Back:       b(k("esc"), h("esc", "back")),
		New:        b(k("n"), h("n", "new run")),
		Cancel:     b(k("x"), h("x", "cancel run")),
		Export:     b(k("e"), h("e", "export table")),
		Sort:       b(k("s"), h("s", "sort by column")),
		SortColumn: b(k("1", "2", "3", "4", "5", "6", "7", "8", "9", "0"), h("1-9,0", "sort by Nth column")),
		Help:       b(k("?"), h("?", "help")),
		Quit:       b(k("q", "ctrl+c"), h("q", "quit")),
		Yes:        b(k("y", "Y", "enter"), h("y/enter", "yes")),
		No:         b(k("n", "N", "esc"), h("n/esc", "no")),
	}
}

// ShortHelp is the footer's help for the Runs view.
func (k *keyMap) ShortHelp() []key.Binding {
	return k.shortFor(viewRuns)
}

// shortFor is the footer's help in view v: the main keys, tersely.
func (k *keyMap) shortFor(v view) []key.Binding {
	b := func(keys, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys), key.WithHelp(keys, desc))
	}
	tab, quit, help := b("tab", "view"), b("q", "quit"), b("?", "help")
	newRun, cancel, export := b("n", "new"), b("x", "cancel"), b("e", "export")
	if k.readOnly {
		for _, kb := range []*key.Binding{&newRun, &cancel, &export} {
			kb.SetEnabled(false) // the help view leaves disabled keys out
		}
	}
	switch v {
	case viewTable:
		return []key.Binding{tab, b("←→", "column"), b("s", "sort"), b("enter", "focus"), newRun, export, help, quit}
	case viewFocus:
		return []key.Binding{tab, b("←→", "runs"), b("↑↓", "scroll"), b("esc", "back"), cancel, help, quit}
	}
	return []key.Binding{tab, b("←↑↓→", "move"), b("enter", "focus"), newRun, cancel, help, quit}
}

// FullHelp is the help screen: one column per group.
func (k *keyMap) FullHelp() [][]key.Binding {
	runs := []key.Binding{k.New, k.Cancel, k.Export, k.Sort, k.SortColumn}
	if k.readOnly {
		runs = []key.Binding{k.Sort, k.SortColumn}
	}
	return [][]key.Binding{
		{k.NextView, k.PrevView, k.Focus, k.Back, k.Help, k.Quit},
		{k.Up, k.Down, k.Left, k.Right, k.PageUp, k.PageDown, k.Top, k.Bottom},
		runs,
	}
}
