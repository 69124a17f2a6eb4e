package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"fmnist/archs"
	"fmnist/results"
	"fmnist/trainer"
	"fmnist/trainer/trainertest"
	"fmnist/tui"
)

// TestEvalTerminal: what `fmnist eval` shows on a terminal, for an
// untrained CNN2 on 200 real test images, without colour at 80 columns:
// the heatmap of the evaluation's confusion matrix, a line per class with
// its accuracy, and the most confident mistakes as pictures captioned with
// their true and predicted classes; nothing wider than 80 cells. In colour
// the same fits too.
func TestEvalTerminal(t *testing.T) {
	_, test := trainertest.Load(t, 1, 200)
	ev := untrainedEval(t, test)
	if len(ev.Mistakes) < 2 {
		t.Fatalf("an untrained model made %d mistakes", len(ev.Mistakes))
	}
	classes := trainer.ClassNames[:]

	var b strings.Builder
	writeEvalTerminal(&b, ev, test, classes, termenv.Ascii, 80)
	out := b.String()
	if strings.ContainsRune(out, 0x1b) {
		t.Error("escape codes without colour")
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > 80 {
			t.Errorf("line %d is %d cells wide: %q", i, w, l)
		}
	}

	// The heatmap, and in it the matrix's counts.
	heat := tui.Heatmap(ev.Confusion, classes, termenv.Ascii, 80)
	if !strings.Contains(out, strings.Join(heat, "\n")+"\n") {
		t.Errorf("the heatmap is missing from\n%s", out)
	}
	for r, l := range heat[1:] {
		f := strings.Fields(strings.NewReplacer("░", " ", "▒", " ", "▓", " ", "█", " ").Replace(l))
		got := strings.Join(f[len(f)-10:], " ")
		want := strings.Trim(fmt.Sprint(ev.Confusion[r]), "[]")
		if got != want {
			t.Errorf("heatmap line %d shows %s, want %s", r, got, want)
		}
	}

	// A line per class, with its accuracy.
	found := 0
	for c, name := range classes {
		want := "—"
		if a := ev.ClassAccuracy(c); !math.IsNaN(a) {
			want = results.Percent(a)
		}
		for _, l := range lines {
			if strings.HasPrefix(l, name+" ") && strings.HasSuffix(l, " "+want) {
				found++
				break
			}
		}
	}
	if found != 10 {
		t.Errorf("%d of 10 class lines with their accuracy in\n%s", found, out)
	}

	// The mistakes: as many as fit (2 at 80 columns), pictures then captions.
	if !strings.Contains(out, fmt.Sprintf("most confident mistakes (2 of %d):\n", len(ev.Mistakes))) {
		t.Errorf("no mistakes header in\n%s", out)
	}
	m0, m1 := ev.Mistakes[0], ev.Mistakes[1]
	img := func(mk results.Mistake) []string {
		return tui.HalfBlocks(tui.Gray{W: 28, H: 28, Pix: test.Images[mk.Index*trainer.Pixels : (mk.Index+1)*trainer.Pixels]}, termenv.Ascii)
	}
	pic0, pic1 := img(m0), img(m1)
	at := -1
	for i, l := range lines {
		if l == pic0[0]+"  "+pic1[0] {
			at = i
			break
		}
	}
	if at < 0 || at+16 > len(lines) {
		t.Fatalf("the first mistakes' pictures are missing from\n%s", out)
	}
	for y := range 14 {
		if lines[at+y] != pic0[y]+"  "+pic1[y] {
			t.Errorf("picture line %d: %q", y, lines[at+y])
		}
	}
	caption := classes[m0.True] + " → " + classes[m0.Pred]
	if !strings.HasPrefix(lines[at+14], caption) {
		t.Errorf("caption %q, want it to start with %q", lines[at+14], caption)
	}
	if !strings.Contains(lines[at+14], classes[m1.True]+" → "+classes[m1.Pred]) {
		t.Errorf("caption %q does not name the second mistake's classes", lines[at+14])
	}
	if !strings.HasPrefix(lines[at+15], results.Percent(m0.Prob)) {
		t.Errorf("caption %q, want it to start with %s", lines[at+15], results.Percent(m0.Prob))
	}

	// In colour, on a wider terminal: more pictures, still within the width.
	b.Reset()
	writeEvalTerminal(&b, ev, test, classes, termenv.TrueColor, 130)
	if !strings.Contains(b.String(), "\x1b[") {
		t.Error("no colour in TrueColor")
	}
	if want := fmt.Sprintf("most confident mistakes (%d of", min(4, len(ev.Mistakes))); !strings.Contains(b.String(), want) {
		t.Errorf("no %q in the 130-column output", want)
	}
	for i, l := range strings.Split(b.String(), "\n") {
		if w := ansi.StringWidth(l); w > 130 {
			t.Errorf("TrueColor line %d is %d cells wide", i, w)
		}
	}
}

// Training images are kept as bytes (`eval --split train|val`): the
// mistakes' pictures come out the same as from the same images as floats.
func TestEvalTerminalOnByteImages(t *testing.T) {
	train, _ := trainertest.Load(t, 200, 1)
	if train.Pix == nil {
		t.Fatal("training images are not bytes: this test no longer covers them")
	}
	floats := &trainer.Dataset{N: train.N, Labels: train.Labels, Images: train.Floats()}
	ev := untrainedEval(t, train)
	var fromBytes, fromFloats strings.Builder
	writeEvalTerminal(&fromBytes, ev, train, trainer.ClassNames[:], termenv.Ascii, 80)
	writeEvalTerminal(&fromFloats, ev, floats, trainer.ClassNames[:], termenv.Ascii, 80)
	if !strings.Contains(fromBytes.String(), "most confident mistakes") || fromBytes.String() != fromFloats.String() {
		t.Errorf("from bytes:\n%s\nfrom floats:\n%s", fromBytes.String(), fromFloats.String())
	}
}

// untrainedEval evaluates an untrained CNN2 (seed 1) on d.
func untrainedEval(t *testing.T, d *trainer.Dataset) *results.Evaluation {
	t.Helper()
	m, err := archs.New("CNN2", 1)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := results.Evaluate(context.Background(), m, d)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
