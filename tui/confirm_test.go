package tui

import (
	"strings"
	"testing"
)

func TestConfirmDialog(t *testing.T) {
	c := &common{width: 80, height: 24, styles: NewStyles(nil), keys: newKeyMap()}
	for _, c2 := range []struct {
		kind      confirmKind
		key       string
		done, yes bool
	}{
		{confirmQuit, "y", true, true}, {confirmQuit, "enter", true, true}, {confirmQuit, "ctrl+c", true, true},
		{confirmQuit, "n", true, false}, {confirmQuit, "esc", true, false}, {confirmQuit, "z", false, false},
		{confirmCancel, "Y", true, true}, {confirmCancel, "ctrl+c", false, false}, {confirmCancel, "q", true, false},
	} {
		d := &confirmDialog{c: c, kind: c2.kind, text: "Sure?"}
		done, yes := d.update(keyMsg(c2.key))
		if done != c2.done || yes != c2.yes {
			t.Errorf("kind %d key %s: done %v yes %v", c2.kind, c2.key, done, yes)
		}
	}
	d := &confirmDialog{c: c, text: strings.Repeat("word ", 30)}
	v := d.view()
	if !strings.Contains(v, "y/enter yes · n/esc no") || strings.Count(v, "\n") < 5 {
		t.Errorf("view:\n%s", v)
	}
	for _, l := range strings.Split(v, "\n") {
		if cellWidth(l) > 80 {
			t.Errorf("line wider than the screen: %q", l)
		}
	}
}
