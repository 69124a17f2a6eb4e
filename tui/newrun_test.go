package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

func TestNewRunDialogKeys(t *testing.T) {
	c := &common{width: 80, height: 24, styles: NewStyles(nil), keys: newKeyMap()}
	d := newNewRunDialog(c, (&fakeCtrl{}).Models(), "reduced_all_cnn")
	if d.cursor != 2 {
		t.Fatalf("preselected %d", d.cursor)
	}
	key := func(k string) (bool, *startRequest) { return d.update(keyMsg(k)) }
	key("down")
	key("down") // stays on the last
	key("j")
	if d.cursor != 3 {
		t.Fatalf("cursor %d", d.cursor)
	}
	key("k")
	key("up")
	key("0") // a leading zero is ignored
	key("1")
	key("2")
	key("x") // not a digit
	if d.epochs() != "12" || d.cursor != 1 {
		t.Fatalf("epochs %q cursor %d", d.epochs(), d.cursor)
	}
	key("backspace")
	if d.epochs() != "1" {
		t.Fatalf("backspace: %q", d.epochs())
	}
	key("5")
	v := d.view()
	if !strings.Contains(v, "> CNN2_dropout") || !strings.Contains(v, "epochs 15") {
		t.Errorf("view:\n%s", v)
	}
	done, req := key("enter")
	if !done || req == nil || req.model != "CNN2_dropout" || req.epochs != 15 {
		t.Fatalf("enter: %v %+v", done, req)
	}
	// Empty field: the recipe's epochs.
	d = newNewRunDialog(c, (&fakeCtrl{}).Models(), "")
	if !strings.Contains(d.view(), "(the recipe's; type to change)") {
		t.Error("default epochs not explained")
	}
	if done, req := d.update(keyMsg("enter")); !done || req.model != "CNN2" || req.epochs != 35 {
		t.Fatalf("default: %+v", req)
	}
	// Out of range: refused with a message, dialog stays.
	d = newNewRunDialog(c, (&fakeCtrl{}).Models(), "")
	for _, k := range []string{"5", "0", "0", "0"} {
		d.update(keyMsg(k))
	}
	if done, _ := d.update(keyMsg("enter")); done || !strings.Contains(d.view(), "epochs must be 1 to 1000") {
		t.Fatalf("5000 epochs accepted:\n%s", d.view())
	}
	if done, req := d.update(keyMsg("esc")); !done || req != nil {
		t.Fatal("esc")
	}
	// No models.
	d = newNewRunDialog(c, nil, "")
	if !strings.Contains(d.view(), "No models") {
		t.Error("no models")
	}
	if done, req := d.update(keyMsg("enter")); !done || req != nil {
		t.Error("enter with no models")
	}
}

func TestWrap(t *testing.T) {
	got := wrap("10 ep, batch 256, Adam lr 0.01; then 30 ep, batch 1024, Adam lr 0.001", 30)
	want := []string{"10 ep, batch 256, Adam lr", "0.01; then 30 ep, batch 1024,", "Adam lr 0.001"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("wrap: %q", got)
	}
}

// TestNewRunEpochsField: the epochs field takes digits typed one by one or
// pasted, no leading zero and at most 4, loses the last with backspace, and
// shows the recipe's epochs again once empty; other keys do not type.
func TestNewRunEpochsField(t *testing.T) {
	c := &common{width: 80, height: 24, styles: NewStyles(nil), keys: newKeyMap()}
	d := newNewRunDialog(c, (&fakeCtrl{}).Models(), "")
	typeKeys := func(keys ...string) {
		for _, k := range keys {
			d.update(keyMsg(k))
		}
	}
	typeKeys("0", "0", "7", "a", "q", "tab", " ", "left", "h", "l", "0")
	if d.epochs() != "70" || d.cursor != 0 {
		t.Fatalf("typed %q, cursor %d", d.epochs(), d.cursor)
	}
	typeKeys("1", "2", "3")
	if d.epochs() != "7012" {
		t.Fatalf("more than 4 digits: %q", d.epochs())
	}
	if !strings.Contains(d.view(), "epochs 7012▏") || strings.Contains(d.view(), "type to change") {
		t.Errorf("field:\n%s", d.view())
	}
	typeKeys("backspace", "backspace", "backspace")
	if d.epochs() != "7" {
		t.Fatalf("backspace: %q", d.epochs())
	}
	typeKeys("backspace", "backspace")
	if d.epochs() != "" || !strings.Contains(d.view(), "epochs 35▏  (the recipe's; type to change)") {
		t.Fatalf("emptied: %q\n%s", d.epochs(), d.view())
	}
	// A paste: its digits, no leading zero, up to 4.
	d.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("0 4x2 007"), Paste: true})
	if d.epochs() != "4200" {
		t.Fatalf("paste: %q", d.epochs())
	}
	if done, req := d.update(keyMsg("enter")); done || req != nil || !strings.Contains(d.view(), "epochs must be 1 to 1000") {
		t.Fatalf("4200 accepted: %v %+v", done, req)
	}
	typeKeys("backspace")
	if done, req := d.update(keyMsg("enter")); !done || req == nil || req.epochs != 420 || req.model != "CNN2" {
		t.Fatalf("enter: %v %+v", done, req)
	}
}
