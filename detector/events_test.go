package detector

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fmnist/archs"
	"fmnist/trainer"
)

// synthFile writes a small synthetic video of plain rectangles and returns
// its path and truth.
func synthFile(t *testing.T, frames int) (string, *Truth) {
	t.Helper()
	n := 50
	imgs := make([]float32, n*784)
	labels := make([]uint8, n)
	for i := 0; i < n; i++ {
		labels[i] = uint8(i % 10)
		for y := 3; y < 25; y++ {
			for x := 5; x < 23; x++ {
				imgs[i*784+y*28+x] = 1
			}
		}
	}
	path := filepath.Join(t.TempDir(), "v.avi")
	w, err := OpenWriter(path, 320, 240, 10)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	truth, err := Synthesize(SynthConfig{Frames: frames, W: 320, H: 240, Seed: 2, Images: imgs, Labels: labels, N: n, Names: names},
		func(_ int, b []byte) error { return w.WriteBytes(b) })
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	return path, truth
}

func TestJobEvents(t *testing.T) {
	in, truth := synthFile(t, 12)
	m, err := archs.New("CNN2", 1) // untrained: the labels are noise, the plumbing is what is tested
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.In, cfg.Out, cfg.Model, cfg.Names, cfg.Truth = in, filepath.Join(t.TempDir(), "o.avi"), m, truth.Classes, truth
	cfg.Threshold = 0
	job, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var evs []Event
	for ev := range job.Run(context.Background()) {
		evs = append(evs, ev)
	}
	if len(evs) != 14 {
		t.Fatalf("%d events, want Started + 12 FrameDone + Summary", len(evs))
	}
	if s, ok := evs[0].(Started); !ok || s.W != 320 || s.H != 240 || s.FPS != 10 || s.MinSize != 500 {
		t.Fatalf("first event %#v", evs[0])
	}
	dets := 0
	for i, ev := range evs[1:13] {
		f, ok := ev.(FrameDone)
		if !ok || f.Index != i || f.Millis.Total <= 0 || f.Truth == nil {
			t.Fatalf("event %d: %#v", i+1, ev)
		}
		dets += len(f.Boxes)
	}
	sum, ok := evs[13].(Summary)
	if !ok || sum.Err != "" || sum.Frames != 12 || sum.Detections != dets || sum.Metrics == nil || sum.Metrics.FramesEvaluated != 12 || sum.FPS <= 0 {
		t.Fatalf("summary %#v", evs[13])
	}
	if n, _, _, err := CountFrames(cfg.Out); err != nil || n != 12 {
		t.Fatalf("output: %d frames, %v", n, err)
	}

	// A cancelled run ends with a Summary saying so.
	cfg.Out = filepath.Join(t.TempDir(), "c.avi")
	job, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var last Event
	for ev := range job.Run(ctx) {
		last = ev
	}
	if s, ok := last.(Summary); !ok || !strings.Contains(s.Err, "cancelled") {
		t.Fatalf("cancelled run ended with %#v", last)
	}

	// A truth file for another frame size is refused at Open.
	other := *truth
	other.Width = 640
	cfg.Truth = &other
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "640x240") {
		t.Fatalf("truth of another size: %v", err)
	}
}

// Frames proposed on several workers come back in order, each with its own
// proposals: the same as on one worker.
func TestProposeAheadKeepsOrder(t *testing.T) {
	in, _ := synthFile(t, 9)
	run := func(workers int) []proposed {
		m, err := archs.New("CNN2", 1)
		if err != nil {
			t.Fatal(err)
		}
		cfg := DetDefaultConfig()
		cfg.In, cfg.Out, cfg.Model, cfg.Names = in, filepath.Join(t.TempDir(), "o.avi"), m, trainer.ClassNames[:]
		job, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer job.r.Close()
		defer job.w.Close()
		frames, wait := job.proposeAhead(context.Background(), job.first, job.firstMs, workers)
		defer wait()
		var out []proposed
		for f := range frames {
			out = append(out, <-f)
		}
		return out
	}
	one, three := run(1), run(3)
	if len(one) != 9 || len(three) != 9 {
		t.Fatalf("%d and %d frames, want 9", len(one), len(three))
	}
	for i := range one {
		a, b := one[i], three[i]
		if a.err != nil || b.err != nil || a.index != i || b.index != i || !slices.Equal(a.rects, b.rects) || !bytes.Equal(a.g.Pix, b.g.Pix) {
			t.Fatalf("frame %d: one worker %d rects (index %d, %v), three %d (index %d, %v)", i, len(a.rects), a.index, a.err, len(b.rects), b.index, b.err)
		}
	}
	if slices.Equal(one[0].rects, one[1].rects) && slices.Equal(one[1].rects, one[2].rects) {
		t.Fatalf("frames 0-2 have the same proposals: not per frame")
	}
}
