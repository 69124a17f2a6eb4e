package tui

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

func TestKeyMapBindings(t *testing.T) {
	k := newKeyMap()
	cases := []struct {
		key string
		b   key.Binding
	}{
		{"tab", k.NextView}, {"shift+tab", k.PrevView}, {"up", k.Up}, {"k", k.Up}, {"j", k.Down}, {"h", k.Left},
		{"l", k.Right}, {"enter", k.Focus}, {"esc", k.Back}, {"n", k.New}, {"x", k.Cancel}, {"e", k.Export},
		{"s", k.Sort}, {"7", k.SortColumn}, {"0", k.SortColumn}, {"?", k.Help}, {"q", k.Quit}, {"ctrl+c", k.Quit},
		{"G", k.Bottom}, {"g", k.Top},
	}
	for _, c := range cases {
		if !key.Matches(keyMsg(c.key), c.b) {
			t.Errorf("%q does not match %v", c.key, c.b.Keys())
		}
	}
	// Every binding of the full help has help text.
	for _, col := range k.FullHelp() {
		for _, b := range col {
			if b.Help().Key == "" || b.Help().Desc == "" {
				t.Errorf("binding %v has no help", b.Keys())
			}
		}
	}
	if len(k.ShortHelp()) == 0 {
		t.Error("no short help")
	}
}

// A read-only dashboard leaves n, x and e out of its footer and help screen,
// and still answers them with a status line.
func TestReadOnlyHidesRunKeys(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		m := New(Options{RunsDir: "runs", Runs: fixDiskRuns(), Now: fixNow, Frame: -1, ReadOnly: readOnly})
		m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
		m.Update(eventsMsg(fixEvents()))
		var screens []string
		for _, keys := range [][]string{{}, {"tab"}, {"tab"}, {"tab", "?"}} {
			press(m, keys...)
			screens = append(screens, m.View())
		}
		all := strings.Join(screens, "\n")
		for _, want := range []string{"new run", "cancel run", "export table", "n new", "x cancel", "e export"} {
			if got := strings.Contains(all, want); got == readOnly {
				t.Errorf("read-only %v: %q shown: %v", readOnly, want, got)
			}
		}
		if readOnly {
			press(m, "?", "n")
			if v := m.View(); !strings.Contains(v, "read-only: starting runs is disabled") {
				t.Errorf("read-only: n gives no status line:\n%s", v)
			}
		}
	}
}

// TestEveryBindingShown: every binding of the key table is shown to the
// user, with its keys as the table names them: the dashboard's on its help
// screen (FullHelp), the dialogs' in their hint lines. A binding added to
// the table and shown nowhere fails here.
func TestEveryBindingShown(t *testing.T) {
	k := newKeyMap()
	c := &common{width: 80, height: 24, styles: NewStyles(nil), keys: k, store: newStore()}
	var full []key.Binding
	for _, col := range k.FullHelp() {
		full = append(full, col...)
	}
	type place struct {
		hints    []key.Binding
		rendered string
		joined   bool // key and description next to each other ("n/esc no")
	}
	places := map[string]place{
		"help screen":     {full, (&helpView{c: c}).view(), false},
		"quit question":   {k.confirmHints(confirmQuit), (&confirmDialog{c: c, kind: confirmQuit, text: "Quit?"}).view(), true},
		"cancel question": {k.confirmHints(confirmCancel), (&confirmDialog{c: c, kind: confirmCancel, text: "Cancel?"}).view(), true},
		"new-run form":    {k.newRunHints(), newNewRunDialog(c, (&fakeCtrl{}).Models(), "").view(), true},
	}
	// Where each binding belongs; any other binding: the help screen.
	where := map[string]string{
		"Yes": "quit question", "No": "quit question", "QuitAgain": "quit question", "Dismiss": "cancel question",
		"Digit": "new-run form", "Erase": "new-run form", "Start": "new-run form", "Close": "new-run form",
	}
	v := reflect.ValueOf(k).Elem()
	n := 0
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if f.Type != reflect.TypeOf(key.Binding{}) {
			continue
		}
		n++
		b := v.Field(i).Interface().(key.Binding)
		if len(b.Keys()) == 0 || b.Help().Key == "" || b.Help().Desc == "" {
			t.Errorf("%s: no keys or no help", f.Name)
		}
		name := where[f.Name]
		if name == "" {
			name = "help screen"
		}
		p := places[name]
		shown := false
		for _, h := range p.hints {
			if !h.Enabled() || !containsAll(h.Keys(), b.Keys()) {
				continue
			}
			label, desc := h.Help().Key, h.Help().Desc
			if p.joined && strings.Contains(p.rendered, label+" "+desc) ||
				!p.joined && strings.Contains(p.rendered, label) && strings.Contains(p.rendered, desc) {
				shown = true
			}
		}
		if !shown {
			t.Errorf("%s (%v) is not shown on the %s:\n%s", f.Name, b.Keys(), name, p.rendered)
		}
	}
	if n < 20 {
		t.Fatalf("only %d bindings found in the table", n)
	}
	// The detector view's keys are the table's too.
	dv := newFixDetectView()
	dv.Update(teaSize(80, 24))
	dv.Update(keyMsg("?"))
	screen := dv.View()
	for _, b := range []key.Binding{k.Quit, k.Help, k.Back} {
		for _, key := range b.Keys() {
			if !strings.Contains(screen, key) {
				t.Errorf("detector help lacks %q:\n%s", key, screen)
			}
		}
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// TestKeysComeFromTable: rebinding a key in the table changes what
// triggers the action and what the footers, hints and help say, in every
// view and dialog.
func TestKeysComeFromTable(t *testing.T) {
	rebind := func(b *key.Binding, keys ...string) {
		*b = key.NewBinding(key.WithKeys(keys...), key.WithHelp(strings.Join(keys, "/"), b.Help().Desc))
	}
	footer := func(m *Model) string {
		lines := strings.Split(m.View(), "\n")
		return lines[len(lines)-1]
	}

	// Dashboard: quit, views, help, focus scrolling.
	m := newTestModel(t, &fakeCtrl{}, 80, 24)
	k := m.c.keys
	rebind(&k.Quit, "Q")
	rebind(&k.NextView, "w")
	rebind(&k.Help, "H")
	if f := footer(m); !strings.Contains(f, "w view") || !strings.Contains(f, "H help") || !strings.Contains(f, "Q quit") ||
		strings.Contains(f, "q quit") || strings.Contains(f, "tab") {
		t.Errorf("footer does not follow the table: %q", f)
	}
	press(m, "tab")
	if m.view != viewRuns {
		t.Error("tab still switches views")
	}
	press(m, "w", "w")
	if m.view != viewFocus {
		t.Fatalf("w w: view %d", m.view)
	}
	rebind(&k.Down, "J")
	press(m, "j")
	if m.focus.scroll() != 0 {
		t.Error("j still scrolls")
	}
	press(m, "J")
	if m.focus.scroll() != 1 {
		t.Errorf("J: scroll %d", m.focus.scroll())
	}
	// Down has no arrow any more: the hint gives both bindings' labels.
	if f := footer(m); !strings.Contains(f, "↑/k/J scroll") {
		t.Errorf("focus footer does not follow the table: %q", f)
	}
	press(m, "?")
	if m.showHelp {
		t.Error("? still opens the help")
	}
	press(m, "H")
	if v := m.View(); !m.showHelp || !strings.Contains(v, "H or esc closes this help") || !strings.Contains(v, "Q asks first") {
		t.Errorf("help screen does not follow the table:\n%s", v)
	}
	press(m, "H")
	if isQuit(press(m, "q")) {
		t.Error("q still quits")
	}
	if !isQuit(press(m, "Q")) {
		t.Error("Q does not quit")
	}

	// Table: the Nth key of SortColumn sorts by the Nth column.
	m = tableModel(t, 200)
	rebind(&m.c.keys.SortColumn, "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10")
	press(m, "8")
	if m.table.sortCol != "" {
		t.Errorf("8 still sorts: %s", m.table.sortCol)
	}
	press(m, "f8")
	if m.table.sortCol != "best" {
		t.Errorf("f8: sorted by %q", m.table.sortCol)
	}
	press(m, "f10")
	if m.table.sortCol != "seedsec" {
		t.Errorf("f10: sorted by %q", m.table.sortCol)
	}

	// Questions.
	c := &common{width: 80, height: 24, styles: NewStyles(nil), keys: newKeyMap()}
	rebind(&c.keys.Yes, "o")
	rebind(&c.keys.Dismiss, "b")
	d := &confirmDialog{c: c, kind: confirmCancel, text: "Sure?"}
	if done, _ := d.update(keyMsg("y")); done {
		t.Error("y still answers")
	}
	if done, yes := d.update(keyMsg("o")); !done || !yes {
		t.Error("o does not answer yes")
	}
	if done, yes := d.update(keyMsg("b")); !done || yes {
		t.Error("b does not answer no")
	}
	if v := d.view(); !strings.Contains(v, "o yes · n/esc/b no") {
		t.Errorf("hint does not follow the table:\n%s", v)
	}

	// New-run form.
	rebind(&c.keys.Erase, "delete")
	rebind(&c.keys.Start, "s")
	f := newNewRunDialog(c, (&fakeCtrl{}).Models(), "")
	for _, k := range []string{"4", "2", "backspace"} {
		f.update(keyMsg(k))
	}
	if f.epochs() != "42" {
		t.Errorf("backspace still erases: %q", f.epochs())
	}
	f.update(keyMsg("delete"))
	if f.epochs() != "4" {
		t.Errorf("delete does not erase: %q", f.epochs())
	}
	if done, _ := f.update(keyMsg("enter")); done {
		t.Error("enter still starts")
	}
	if done, req := f.update(keyMsg("s")); !done || req == nil || req.epochs != 4 {
		t.Errorf("s does not start: %v %+v", done, req)
	}
	if v := f.view(); !strings.Contains(v, "0-9/delete epochs · s start") {
		t.Errorf("hint does not follow the table:\n%s", v)
	}

	// Detector view.
	dv := newFixDetectView()
	dv.Update(teaSize(80, 24))
	rebind(&dv.keys.Help, "H")
	rebind(&dv.keys.Quit, "Q")
	dv.Update(keyMsg("?"))
	if dv.help {
		t.Error("? still opens the detector's help")
	}
	dv.Update(keyMsg("H"))
	v := dv.View()
	if !dv.help || !strings.Contains(v, "H or esc closes this help") || !strings.Contains(v, "Q  ") {
		t.Errorf("detector help does not follow the table:\n%s", v)
	}
	if lines := strings.Split(v, "\n"); lines[len(lines)-1] != "Q cancel and quit  H help" {
		t.Errorf("detector footer: %q", lines[len(lines)-1])
	}
	if _, cmd := dv.Update(keyMsg("q")); cmd != nil {
		t.Error("q still quits the detector view")
	}
	if _, cmd := dv.Update(keyMsg("Q")); !isQuit(cmd) {
		t.Error("Q does not quit the detector view")
	}
}

// TestNoRawKeyStrings: no key is matched by its name outside the table
// (the way to match one is key.Matches on a binding of keyMap).
func TestNoRawKeyStrings(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	raw := regexp.MustCompile(`\.String\(\)\s*(==|!=|\[)|switch\s+[\w.]+\.String\(\)|\.Type\s*[!=]=\s*tea\.Key|case\s+tea\.Key(Runes|Enter|Esc|Escape|Backspace|Tab|Space|Up|Down|Left|Right|Ctrl)`)
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if raw.MatchString(line) {
				t.Errorf("%s:%d: a key matched by name: %s", name, i+1, strings.TrimSpace(line))
			}
		}
	}
}
