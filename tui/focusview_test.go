package tui

import (
	"strings"
	"testing"
)

func TestFocusContent(t *testing.T) {
	m := newTestModel(t, &fakeCtrl{}, 160, 48)
	press(m, "tab", "tab") // model5, running
	v := m.View()
	for _, want := range []string{
		"model5  model5-20260301-120000 · Model 5", "[running]", "epoch 3/6 · 192,218 params · 60,000 train / 10,000 test images · seed 1",
		"recipe 2 ep, batch 256, Adam lr 0.01; then 4 ep, batch 1024, Adam lr 0.001", "51%", "ETA 2m34s",
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
	if m.focus.scroll != 0 {
		t.Error("g did not scroll to the top")
	}
	press(m, "pgdown")
	if m.focus.scroll == 0 {
		t.Error("pgdown did not scroll")
	}
	press(m, "pgup")
	if m.focus.scroll != 0 {
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
