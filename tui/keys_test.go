package tui

import (
	"testing"

	"github.com/charmbracelet/bubbles/key"
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
