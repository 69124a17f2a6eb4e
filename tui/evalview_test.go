package tui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"fmnist/results"
	"fmnist/trainer"
)

// The Focus view asks the controller once for the evaluation of the best
// model of each run it shows (per best epoch), says that it is evaluating
// meanwhile, and shows the evaluation when it comes: the heading, the
// heatmap and bars of its confusion matrix exactly as Heatmap and ClassBars
// draw them, and its most confident mistakes (or, with c, correct
// examples). Another best epoch asks again.
func TestFocusEvalSection(t *testing.T) {
	ctrl := &fakeCtrl{}
	m := newTestModel(t, ctrl, 80, 24)
	if len(ctrl.evals) != 0 {
		t.Fatalf("asked before the Focus view showed a run: %v", ctrl.evals)
	}
	for _, k := range []string{"tab", "tab"} {
		_, cmd := m.Update(keyMsg(k))
		runQuick(cmd)
	}
	if !slices.Equal(ctrl.evals, []string{"model5-20260301-120000/2"}) {
		t.Fatalf("asked %v, want model5's best epoch 2", ctrl.evals)
	}
	page := strings.Join(m.focus.content(m.c.selectedRun()), "\n")
	if !strings.Contains(page, "best model (epoch 2)  evaluating the best model…") {
		t.Errorf("no word of the evaluation under way:\n%s", page)
	}
	// Nothing is asked twice.
	m.Update(keyMsg("down"))
	m.Update(sysTickMsg{})
	if len(ctrl.evals) != 1 {
		t.Errorf("asked again: %v", ctrl.evals)
	}

	e := fixEval("model5-20260301-120000", 2)
	m.Update(evalsMsg{e})
	lines := m.focus.content(m.c.selectedRun())
	page = strings.Join(lines, "\n")
	for _, want := range []string{"best model (epoch 2): 82.53% on 10,000 test images", "most confident mistakes (5 of 1,747) · c: correct examples",
		"Shirt →", "T-shirt/top", "Coat →", "Pullover 98%"} {
		if !strings.Contains(page, want) {
			t.Errorf("section lacks %q:\n%s", want, page)
		}
	}
	for _, l := range slices.Concat(Heatmap(e.Confusion, e.Classes, termenv.Ascii, 80), ClassBars(e.Confusion, e.Classes, termenv.Ascii, 60)) {
		if !slices.Contains(lines, l) {
			t.Errorf("the page lacks the line %q", l)
		}
	}
	for _, l := range lines {
		if cellWidth(l) > 80 {
			t.Errorf("line %d cells wide: %q", cellWidth(l), l)
		}
	}
	// c: correct examples, one of each class, captioned with class and
	// probability; c again: the mistakes.
	press(m, "c")
	page = strings.Join(m.focus.content(m.c.selectedRun()), "\n")
	for _, want := range []string{"correct examples (the first of each class) · c: mistakes", "Trouser 98%", "Ankle boot 90%"} {
		if !strings.Contains(page, want) {
			t.Errorf("correct examples lack %q:\n%s", want, page)
		}
	}
	press(m, "c")
	if page = strings.Join(m.focus.content(m.c.selectedRun()), "\n"); !strings.Contains(page, "most confident mistakes") {
		t.Error("c twice does not come back to the mistakes")
	}

	// A new best epoch: the old evaluation stays, marked, until the new
	// one comes (the hub evaluates its own runs' best epochs unasked; the
	// view asks all the same, and the hub does nothing twice).
	st := fixEpoch(3, 0.6, 40)
	st.TestAcc = 0.95
	_, cmd := m.Update(eventsMsg{trainer.EpochEnd{ID: "model5-20260301-120000", Epochs: 6, Stats: st}})
	runQuick(cmd)
	page = strings.Join(m.focus.content(m.c.selectedRun()), "\n")
	if !strings.Contains(page, "best model (epoch 2): 82.53% on 10,000 test images · evaluating epoch 3…") {
		t.Errorf("the new best epoch is not said:\n%s", page)
	}
	if !slices.Contains(ctrl.evals, "model5-20260301-120000/3") {
		t.Errorf("asked %v, want epoch 3 too", ctrl.evals)
	}

	// An error in one line, a detection model's note.
	m.Update(evalsMsg{{Run: "model5-20260301-120000", Epoch: 3, Err: "fashion-mnist: no data in\n/usr/share/datasets"}})
	page = strings.Join(m.focus.content(m.c.selectedRun()), "\n")
	if !strings.Contains(page, "best model  fashion-mnist: no data in /usr/share/datasets") {
		t.Errorf("error not in one line:\n%s", page)
	}
	m.Update(evalsMsg{{Run: "model5-20260301-120000", Epoch: 3, Note: results.DetectionNote}})
	if page = strings.Join(m.focus.content(m.c.selectedRun()), "\n"); !strings.Contains(page, "best model  a detection model") {
		t.Errorf("detection note missing:\n%s", page)
	}
}

// Without a controller nothing can be asked: no section until an
// evaluation comes; the key table's Correct is in the Focus footer.
func TestFocusEvalWithoutController(t *testing.T) {
	m := New(Options{Runs: fixDiskRuns(), Now: fixNow, Frame: -1, System: fixSys, SysEvery: -1, View: "focus"})
	m.Update(teaSize(160, 48))
	if page := strings.Join(m.focus.content(m.c.selectedRun()), "\n"); strings.Contains(page, "best model") {
		t.Errorf("a section without a way to evaluate:\n%s", page)
	}
	lines := strings.Split(m.View(), "\n")
	if f := lines[len(lines)-1]; !strings.Contains(f, "c correct") {
		t.Errorf("footer %q lacks c", f)
	}
	m.c.keys.Correct.SetKeys("C")
	press(m, "c")
	if m.focus.correct {
		t.Error("c still toggles after rebinding")
	}
	press(m, "C")
	if !m.focus.correct {
		t.Error("C does not toggle")
	}
}

// runQuick runs cmd and the commands it batches, each for at most a second
// (a timer's command is left waiting).
func runQuick(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	select {
	case msg := <-done:
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				runQuick(c)
			}
		}
	case <-time.After(time.Second): // a timer: skip it (real commands here take microseconds)
	}
}

func TestWrapTokens(t *testing.T) {
	for _, c := range []struct {
		w      int
		tokens []string
		want   []string
	}{
		{28, []string{"Shirt →", "T-shirt/top", "97%"}, []string{"Shirt → T-shirt/top 97%"}},
		{14, []string{"Shirt →", "T-shirt/top", "97%"}, []string{"Shirt →", "T-shirt/top", "97%"}},
		{14, []string{"Sandal →", "Ankle boot", "72%"}, []string{"Sandal →", "Ankle boot 72%"}},
		{14, []string{"Trouser", "98%"}, []string{"Trouser 98%"}},
		{5, []string{"Supercalifragilistic", "1%"}, []string{"Supe…", "1%"}},
	} {
		if got := wrapTokens(c.w, c.tokens...); !slices.Equal(got, c.want) {
			t.Errorf("wrapTokens(%d, %q) = %q, want %q", c.w, c.tokens, got, c.want)
		}
	}
}
