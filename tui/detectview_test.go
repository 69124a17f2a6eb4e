package tui

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"fmnist/detector"
	"fmnist/trainer"
)

// fixDetectEvents are a scripted detection: 6 frames of 10, three labelled.
func fixDetectEvents(summary bool) []detector.Event {
	ms := detector.StageMillis{Decode: 1.5, Proposals: 20, Prepare: 2, Classify: 15, DrawWrite: 1.5, Total: 40}
	box := func(class int, label string, score float64) detector.Detection {
		return detector.Detection{Box: detector.XYWH{10, 20, 28, 28}, Class: class, Label: label, Score: score}
	}
	evs := []detector.Event{detector.Started{In: "clips/shop.avi", Out: "out/shop-labelled.avi", W: 320, H: 240, FPS: 10, Mode: "single", MinSize: 400, Time: fixNow()}}
	frames := [][]detector.Detection{
		nil,
		{box(7, "Sneaker", 0.97), box(8, "Bag", 0.93)},
		nil,
		{box(0, "T-shirt/top", 0.95)},
		{box(7, "Sneaker", 0.99), box(9, "Ankle boot", 0.91), box(7, "Sneaker", 0.92)},
		nil,
	}
	for i, b := range frames {
		// 20 ms apart, though each takes 40 ms: proposals run ahead.
		evs = append(evs, detector.FrameDone{Index: i, Proposals: 40, Regions: 6, Boxes: b, Millis: ms, Elapsed: time.Duration(i+1) * 20 * time.Millisecond})
	}
	if summary {
		evs = append(evs, detector.Summary{
			Frames: 6, FramesLabelled: 3, Detections: 6, PerClass: map[string]int{"Sneaker": 3, "Bag": 1, "T-shirt/top": 1, "Ankle boot": 1},
			Seconds: 0.12, FPS: 50, MeanMillis: ms,
			Metrics: &detector.Metrics{FramesEvaluated: 6, TruthItems: 7, Overall: detector.Scores{TP: 5, FP: 1, FN: 2, Precision: 5.0 / 6, Recall: 5.0 / 7, MeanIoU: 0.812}},
		})
	}
	return evs
}

func newFixDetectView() *DetectView {
	return NewDetectView(DetectOptions{In: "clips/shop.avi", Model: "runs/20260101-120000-CNN2/best", Total: 10})
}

// TestDetectGolden runs the detector view (teatest) on the scripted events
// and compares its final screen with testdata/TestDetectGolden/*.golden.
func TestDetectGolden(t *testing.T) {
	cases := []struct {
		name    string
		summary bool
		keys    []string
	}{
		{"running", false, nil},
		{"done", true, nil},
		{"help", false, []string{"?"}},
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s-%dx%d", c.name, size[0], size[1]), func(t *testing.T) {
				detectGolden(t, size[0], size[1], c.summary, c.keys...)
			})
		}
	}
	t.Run("too-small-79x24", func(t *testing.T) { detectGolden(t, 79, 24, true) })
}

func detectGolden(t *testing.T, w, h int, summary bool, keys ...string) {
	t.Helper()
	tm := teatest.NewTestModel(t, newFixDetectView(), teatest.WithInitialTermSize(w, h))
	for _, ev := range fixDetectEvents(summary) {
		tm.Send(detectEventMsg{ev})
	}
	for _, k := range keys {
		tm.Send(keyMsg(k))
	}
	tm.Send(tea.QuitMsg{})
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second))
	teatest.RequireEqualOutput(t, []byte(fm.View()))
}

func TestDetectViewCountsAndList(t *testing.T) {
	v := newFixDetectView()
	for _, ev := range fixDetectEvents(true) {
		v.Handle(ev)
	}
	got := v.Counts()
	want := map[int]int{0: 1, 7: 3, 8: 1, 9: 1}
	for c, n := range got {
		if n != want[c] {
			t.Errorf("class %d: %d labels, want %d", c, n, want[c])
		}
	}
	wantList := []string{
		"frame 1: Sneaker 0.97, Bag 0.93",
		"frame 3: T-shirt/top 0.95",
		"frame 4: Sneaker 0.99, Ankle boot 0.91, Sneaker 0.92",
	}
	if l := v.Labelled(); strings.Join(l, "\n") != strings.Join(wantList, "\n") {
		t.Errorf("labelled frames:\n%s\nwant\n%s", strings.Join(l, "\n"), strings.Join(wantList, "\n"))
	}
	if v.done != 6 || v.labelled != 3 {
		t.Errorf("done %d labelled %d, want 6 and 3", v.done, v.labelled)
	}
}

// The bar's rate is frames done over the time since the start (6 frames in
// 0.12 s), not the inverse of a frame's stage times (40 ms: 25 frames/s),
// and its ETA follows from it.
func TestDetectViewRateIsWallClock(t *testing.T) {
	v := newFixDetectView()
	v.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	for _, ev := range fixDetectEvents(false) {
		v.Handle(ev)
	}
	out := v.View()
	if !strings.Contains(out, "frame 6/10  50.0 frames/s  ETA 0s") {
		t.Errorf("progress line:\n%s", out)
	}
}

// TestDetectViewEventsAndQuit: events arrive through the channel; q before
// the end cancels the detection, q after it only quits.
func TestDetectViewEventsAndQuit(t *testing.T) {
	ch := make(chan detector.Event, 16)
	for _, ev := range fixDetectEvents(false) {
		ch <- ev
	}
	cancels := 0
	v := NewDetectView(DetectOptions{In: "x.avi", Events: ch, Cancel: func() { cancels++ }})
	cmd := v.Init()
	for i := 0; i < 7; i++ {
		_, cmd = v.Update(cmd())
	}
	if v.done != 6 {
		t.Fatalf("done %d, want 6", v.done)
	}
	v.Update(keyMsg("q"))
	if cancels != 1 || !v.Cancelled() {
		t.Errorf("q before the end: %d cancels, cancelled %v", cancels, v.Cancelled())
	}
	v2 := NewDetectView(DetectOptions{In: "x.avi", Cancel: func() { cancels++ }})
	for _, ev := range fixDetectEvents(true) {
		v2.Handle(ev)
	}
	v2.Update(keyMsg("q"))
	if cancels != 1 || v2.Cancelled() {
		t.Errorf("q after the end cancelled the detection")
	}
	close(ch)
	if _, ok := cmd().(detectClosedMsg); !ok {
		t.Errorf("closed channel: no detectClosedMsg")
	}
}

// TestDetectGoldenDetectionModel is the view of a detection model's run: the
// latest frame's regions rejected as background, and at the end precision
// and recall per class next to the labels.
func TestDetectGoldenDetectionModel(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("done-%dx%d", size[0], size[1]), func(t *testing.T) {
			evs := fixDetectEvents(true)
			st := evs[0].(detector.Started)
			st.Background, st.Threshold = true, 0.6
			evs[0] = st
			for i, ev := range evs {
				if f, ok := ev.(detector.FrameDone); ok {
					f.Background = 4
					evs[i] = f
				}
			}
			sum := evs[len(evs)-1].(detector.Summary)
			sum.Background = 24
			m := *sum.Metrics
			m.PerClass = map[string]detector.Scores{}
			for _, name := range trainer.ClassNames {
				m.PerClass[name] = detector.Scores{}
			}
			m.PerClass["Sneaker"] = detector.Scores{TP: 3, Precision: 1, Recall: 0.75, MeanIoU: 0.86}
			m.PerClass["Bag"] = detector.Scores{FP: 1}
			m.PerClass["Ankle boot"] = detector.Scores{TP: 1, FN: 1, Precision: 1, Recall: 0.5, MeanIoU: 0.7}
			m.PerClass["T-shirt/top"] = detector.Scores{TP: 1, Precision: 1, Recall: 1, MeanIoU: 0.9}
			sum.Metrics = &m
			evs[len(evs)-1] = sum
			tm := teatest.NewTestModel(t, newFixDetectView(), teatest.WithInitialTermSize(size[0], size[1]))
			for _, ev := range evs {
				tm.Send(detectEventMsg{ev})
			}
			tm.Send(tea.QuitMsg{})
			fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second))
			view := fm.View()
			for _, want := range []string{"6 classified", "Labels per class", "prec", "Sneaker", "1.00 0.75"} {
				if !strings.Contains(view, want) {
					t.Errorf("view lacks %q:\n%s", want, view)
				}
			}
			teatest.RequireEqualOutput(t, []byte(view))
		})
	}
}

// fixThumb is a synthetic 160x120 thumbnail: a dark background, red, blue
// and yellow rectangles, and a green box (as the detector draws one) round
// the red one.
func fixThumb() *detector.Thumb {
	w, h := 160, 120
	t := &detector.Thumb{W: w, H: h, Pix: make([]byte, w*h*3)}
	fill := func(x0, y0, x1, y1 int, c [3]byte) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				copy(t.Pix[(y*w+x)*3:], c[:])
			}
		}
	}
	fill(0, 0, w, h, [3]byte{20, 20, 24})
	fill(16, 16, 64, 76, [3]byte{0, 200, 0})
	fill(20, 20, 60, 72, [3]byte{230, 60, 60})
	fill(90, 28, 142, 62, [3]byte{60, 110, 240})
	fill(70, 82, 132, 110, [3]byte{230, 200, 40})
	return t
}

// fixThumbEvents are fixDetectEvents with a thumbnail on frame 4.
func fixThumbEvents(summary bool) []detector.Event {
	evs := fixDetectEvents(summary)
	for i, ev := range evs {
		if f, ok := ev.(detector.FrameDone); ok && f.Index == 4 {
			f.Thumb = fixThumb()
			evs[i] = f
		}
	}
	return evs
}

// TestDetectGoldenThumb: the picture of the latest frame above the labelled
// frames (80x24) and between them and the counts (160x48), in 256 colours
// and without colour (testdata/TestDetectGoldenThumb).
func TestDetectGoldenThumb(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		for _, prof := range []termenv.Profile{termenv.ANSI256, termenv.Ascii} {
			for _, summary := range []bool{false, true} {
				colour := map[termenv.Profile]string{termenv.Ascii: "nocolor", termenv.ANSI256: "ansi256"}[prof]
				state := map[bool]string{false: "running", true: "done"}[summary]
				t.Run(fmt.Sprintf("%s-%s-%dx%d", state, colour, size[0], size[1]), func(t *testing.T) {
					r := lipgloss.NewRenderer(io.Discard)
					r.SetColorProfile(prof)
					v := NewDetectView(DetectOptions{In: "clips/shop.avi", Model: "runs/20260101-120000-CNN2/best", Total: 10, Styles: NewStyles(r)})
					tm := teatest.NewTestModel(t, v, teatest.WithInitialTermSize(size[0], size[1]))
					for _, ev := range fixThumbEvents(summary) {
						tm.Send(detectEventMsg{ev})
					}
					tm.Send(tea.QuitMsg{})
					fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second))
					teatest.RequireEqualOutput(t, []byte(fm.View()))
				})
			}
		}
	}
}

// TestDetectViewPictureFits: at every size the view keeps its size, shows
// the counts and, with room, the picture and its caption; a thumbnail too
// flat for the room is left out.
func TestDetectViewPictureFits(t *testing.T) {
	for _, summary := range []bool{false, true} {
		for _, size := range [][2]int{{80, 24}, {100, 30}, {120, 40}, {139, 30}, {140, 30}, {160, 48}, {200, 60}, {300, 80}} {
			r := lipgloss.NewRenderer(io.Discard)
			r.SetColorProfile(termenv.Ascii)
			v := NewDetectView(DetectOptions{In: "clips/shop.avi", Model: "runs/20260101-120000-CNN2/best", Total: 10, Styles: NewStyles(r)})
			v.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			for _, ev := range fixThumbEvents(summary) {
				v.Handle(ev)
			}
			view := ansi.Strip(v.View())
			lines := strings.Split(view, "\n")
			if len(lines) != size[1] {
				t.Errorf("%v: %d lines", size, len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > size[0] {
					t.Errorf("%v line %d: %d cells", size, i, w)
				}
			}
			// the counts, the list, the caption (padded) and the yellow
			// rectangle in shades
			for _, want := range []string{"Labels per class", "Ankle boot", "Labelled frames", "frame 4 ", "▓▓▓▓"} {
				if !strings.Contains(view, want) {
					t.Errorf("%v (summary %v) lacks %q:\n%s", size, summary, want, view)
				}
			}
		}
	}

	flat := newFixDetectView()
	plain := newFixDetectView()
	for _, v := range []*DetectView{flat, plain} {
		v.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		for _, ev := range fixDetectEvents(false) {
			v.Handle(ev)
		}
	}
	flat.Handle(detector.FrameDone{Index: 5, Thumb: &detector.Thumb{W: 160, H: 8, Pix: make([]byte, 160*8*3)}})
	plain.Handle(detector.FrameDone{Index: 5})
	if a, b := flat.View(), plain.View(); a != b {
		t.Errorf("a 160x8 thumbnail is drawn at 80x24:\n%s", a)
	}
}
