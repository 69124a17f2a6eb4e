package detector

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gocv.io/x/gocv"

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
	dets, thumbs := 0, 0
	for i, ev := range evs[1:13] {
		f, ok := ev.(FrameDone)
		if !ok || f.Index != i || f.Millis.Total <= 0 || f.Truth == nil {
			t.Fatalf("event %d: %#v", i+1, ev)
		}
		dets += len(f.Boxes)
		if f.Thumb != nil {
			thumbs++
			if f.Thumb.W != 160 || f.Thumb.H != 120 || len(f.Thumb.Pix) != 160*120*3 {
				t.Fatalf("frame %d: thumbnail %dx%d with %d bytes, want 160x120x3", i, f.Thumb.W, f.Thumb.H, len(f.Thumb.Pix))
			}
		} else if i == 0 {
			t.Fatal("the first frame has no thumbnail")
		}
	}
	sum, ok := evs[13].(Summary)
	if !ok || sum.Err != "" || sum.Frames != 12 || sum.Detections != dets || sum.Metrics == nil || sum.Metrics.FramesEvaluated != 12 || sum.FPS <= 0 {
		t.Fatalf("summary %#v", evs[13])
	}
	// At most one thumbnail every thumbEvery, the first at once.
	if most := 1 + int(sum.Seconds/thumbEvery.Seconds()); thumbs > most {
		t.Errorf("%d thumbnails in %.2f s, want at most %d", thumbs, sum.Seconds, most)
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

	// Cancelled midway: every frame the summary counts (and the video
	// holds) was reported.
	cfg.Out = filepath.Join(t.TempDir(), "m.avi")
	job, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	frames := 0
	for ev := range job.Run(ctx) {
		switch e := ev.(type) {
		case FrameDone:
			if frames++; frames == 3 {
				cancel()
			}
		case Summary:
			if e.Frames != frames || !strings.Contains(e.Err, "cancelled") {
				t.Errorf("cancelled midway: %d frames reported, the summary says %d (%q)", frames, e.Frames, e.Err)
			}
		}
	}
	cancel()

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

// TestThumbnail: frames are scaled to a longer side of at most ThumbSide by
// area averaging, never enlarged, and come back as RGB.
func TestThumbnail(t *testing.T) {
	for _, c := range [][4]int{{320, 240, 160, 120}, {640, 480, 160, 120}, {200, 50, 160, 40}, {90, 300, 48, 160}, {100, 80, 100, 80}, {160, 160, 160, 160}} {
		if w, h := thumbSize(c[0], c[1]); w != c[2] || h != c[3] {
			t.Errorf("thumbSize(%d, %d) = %d, %d, want %d, %d", c[0], c[1], w, h, c[2], c[3])
		}
	}
	// Left half blue, right half red (BGR), a 2x2 green square at (100, 100).
	w, h := 320, 240
	bgr := make([]byte, w*h*3)
	for y := range h {
		for x := range w {
			p := bgr[(y*w+x)*3:]
			switch {
			case x >= 100 && x < 102 && y >= 100 && y < 102:
				p[1] = 255
			case x < w/2:
				p[0] = 255
			default:
				p[2] = 255
			}
		}
	}
	frame, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC3, bgr)
	if err != nil {
		t.Fatal(err)
	}
	defer frame.Close()
	small, rgb := gocv.NewMat(), gocv.NewMat()
	defer small.Close()
	defer rgb.Close()
	th := thumbnail(frame, &small, &rgb)
	if th == nil || th.W != 160 || th.H != 120 || len(th.Pix) != 160*120*3 {
		t.Fatalf("thumbnail %+v", th)
	}
	at := func(x, y int) [3]byte { p := th.Pix[(y*th.W+x)*3:]; return [3]byte{p[0], p[1], p[2]} }
	for _, c := range []struct {
		x, y int
		want [3]byte
	}{{10, 10, [3]byte{0, 0, 255}}, {150, 100, [3]byte{255, 0, 0}}, {50, 50, [3]byte{0, 255, 0}}} {
		if got := at(c.x, c.y); got != c.want {
			t.Errorf("pixel (%d,%d) is %v, want %v (RGB)", c.x, c.y, got, c.want)
		}
	}
}

// TestReportDropsThumbs: the JSON report neither writes nor keeps
// thumbnails.
func TestReportDropsThumbs(t *testing.T) {
	f := FrameDone{Index: 3, Proposals: 7, Boxes: []Detection{}}
	plain, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	f.Thumb = &Thumb{W: 2, H: 1, Pix: []byte{1, 2, 3, 4, 5, 6}}
	withThumb, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain, withThumb) {
		t.Errorf("FrameDone's JSON changes with a thumbnail:\n%s\n%s", plain, withThumb)
	}
	var r Report
	r.Add(f)
	if len(r.Frames) != 1 || r.Frames[0].Thumb != nil {
		t.Errorf("the report keeps the thumbnail: %+v", r.Frames)
	}
}

// BenchmarkThumbnail: the cost of one thumbnail of a 320x240 frame.
func BenchmarkThumbnail(b *testing.B) {
	frame := gocv.NewMatWithSize(240, 320, gocv.MatTypeCV8UC3)
	defer frame.Close()
	small, rgb := gocv.NewMat(), gocv.NewMat()
	defer small.Close()
	defer rgb.Close()
	for b.Loop() {
		if thumbnail(frame, &small, &rgb) == nil {
			b.Fatal("no thumbnail")
		}
	}
}
