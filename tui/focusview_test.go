package tui

import (
	"fmt"
	"strings"
	"testing"

	"fmnist/archs"
	"fmnist/trainer"
)

func TestFocusContent(t *testing.T) {
	m := newTestModel(t, &fakeCtrl{}, 160, 48)
	press(m, "tab", "tab") // model5, running
	v := m.View()
	for _, want := range []string{
		"model5  model5-20260301-120000 · Model 5", "[running]", "epoch 3/6 · 192,218 params · 60,000 train / 10,000 test images · seed 1",
		"recipe seed: 2 ep, batch 256, Adam lr 0.01; then 4 ep, batch 1024, Adam lr 0.001", "51%", "ETA 2m34s",
		"accuracy ┄ train 83.06%", "loss     ┄ train 0.5711",
		"Epoch  Train loss", "    3      0.4100     85.20%", "batch 30/59", "Layers", "not known for this run",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("Focus lacks %q", want)
		}
	}
	// History and layers side by side at 160 columns, stacked at 80.
	press(m, "left") // CNN2: has layers
	v = m.View()
	if !strings.Contains(v, "Epoch  Train loss  Train acc  Test loss   Test acc  Train s  Eval s    Layers") {
		t.Errorf("history and layers not side by side:\n%s", v)
	}
	if !strings.Contains(v, "88.22%*") || !strings.Contains(v, "* best test accuracy") {
		t.Error("best epoch not marked")
	}
	m.Update(teaSize(80, 24))
	press(m, "G")
	v = m.View()
	if !strings.Contains(v, "dense_2") || !strings.Contains(v, "lines 1") && !strings.Contains(v, "/") {
		t.Errorf("80x24 scrolled to the end:\n%s", v)
	}
	press(m, "g")
	if m.focus.scroll() != 0 {
		t.Error("g did not scroll to the top")
	}
	press(m, "pgdown")
	if m.focus.scroll() == 0 {
		t.Error("pgdown did not scroll")
	}
	press(m, "pgup")
	if m.focus.scroll() != 0 {
		t.Error("pgup did not scroll back")
	}
}

func TestFocusQueuedRunUsesModelInfo(t *testing.T) {
	m := newTestModel(t, &fakeCtrl{}, 80, 24)
	press(m, "end", "enter")
	v := m.View()
	for _, want := range []string{"reduced_all_cnn-20260301-120000", "[queued]", "139,634 params", "recipe 40 ep, batch 64, SGD", "no epoch yet"} {
		if !strings.Contains(v, want) {
			t.Errorf("queued run's Focus lacks %q\n%s", want, v)
		}
	}
}

func TestFocusNoRun(t *testing.T) {
	m := New(Options{Now: fixNow, View: "focus"})
	m.Update(teaSize(80, 24))
	if !strings.Contains(m.View(), "No run selected") {
		t.Fatal(m.View())
	}
}

// TestFocusScrolling: the page scrolls (a bubbles viewport) on the same keys
// as before: a line with up/down and k/j, a page less a line with
// pgup/pgdown, ctrl+u/ctrl+d and space, to the ends with g/home and G/end;
// the footer tells which lines show, and the position stays within the page
// when the terminal grows.
func TestFocusScrolling(t *testing.T) {
	m := newTestModel(t, &fakeCtrl{}, 80, 24)
	// CNN2 (layers) with 40 more epochs: a page over two screens long.
	var more []trainer.Event
	for e := 6; e <= 45; e++ {
		more = append(more, trainer.EpochEnd{ID: "CNN2-20260301-120000", Stats: fixEpoch(e, 0.9, 10)})
	}
	m.Update(eventsMsg(more))
	press(m, "left", "enter")
	if m.Selected() != "CNN2-20260301-120000" {
		t.Fatalf("selected %s", m.Selected())
	}
	m.View()
	h := m.c.bodyHeight()
	n := m.focus.vp.TotalLineCount()
	if n <= h+h-1 {
		t.Fatalf("page of %d lines: too short to test paging", n)
	}
	want := func(keys string, scroll int) {
		t.Helper()
		if got := m.focus.scroll(); got != scroll {
			t.Fatalf("after %s: scroll %d, want %d", keys, got, scroll)
		}
		v := m.View()
		pos := fmt.Sprintf("lines %d-%d/%d", scroll+1, min(n, scroll+h), n)
		if !strings.HasSuffix(strings.TrimRight(v, " "), pos) {
			t.Fatalf("after %s: footer lacks %q:\n%s", keys, pos, v)
		}
		lines := m.focus.content(m.c.selectedRun())
		body := strings.Split(v, "\n")[1]
		if strings.TrimRight(body, " ") != strings.TrimRight(lines[scroll], " ") {
			t.Fatalf("after %s: first line %q, want %q", keys, body, lines[scroll])
		}
	}
	want("nothing", 0)
	press(m, "down", "j")
	want("down j", 2)
	press(m, "up")
	want("up", 1)
	press(m, "k", "k", "up")
	want("k k up (stops at the top)", 0)
	press(m, "pgdown")
	want("pgdown", h-1)
	press(m, "pgup")
	want("pgup", 0)
	press(m, "ctrl+d")
	want("ctrl+d", h-1)
	press(m, "ctrl+u")
	want("ctrl+u", 0)
	press(m, " ") // space marks runs (in Runs and Table); it pages no more
	want("space", 0)
	press(m, "G")
	want("G", n-h)
	press(m, "down", "pgdown")
	want("down pgdown (stops at the bottom)", n-h)
	press(m, "g")
	want("g", 0)
	press(m, "end")
	want("end", n-h)
	press(m, "home")
	want("home", 0)
	// Scrolled to the end, then a taller terminal: the position is clamped.
	press(m, "G")
	m.Update(teaSize(160, 48))
	v := m.View()
	if n2 := m.focus.vp.TotalLineCount(); m.focus.scroll() != max(0, n2-m.c.bodyHeight()) {
		t.Errorf("after growing: scroll %d of %d lines in %d", m.focus.scroll(), n2, m.c.bodyHeight())
	}
	if strings.Count(v, "\n") != 47 {
		t.Errorf("view is %d lines, want 48", strings.Count(v, "\n")+1)
	}
}

// The improved recipe's line does not fit 80 columns: it takes two lines,
// and its last extra (flips) is shown, not cut.
func TestFocusWrapsLongRecipe(t *testing.T) {
	m := newTestModel(t, nil, 80, 24)
	spec, _ := archs.Lookup("CNN3_dropout")
	r, _ := spec.RecipeNamed(archs.RecipeImproved)
	m.c.store.get("CNN2-20260301-120000").Recipe = r
	m.c.selected = "CNN2-20260301-120000"
	press(m, "tab", "tab")
	v := m.View()
	if !strings.Contains(v, "recipe improved") || !strings.Contains(v, "weight decay 0.05, flips") {
		t.Errorf("recipe cut at 80 columns:\n%s", v)
	}
	checkWidth(t, v, 80)
}
