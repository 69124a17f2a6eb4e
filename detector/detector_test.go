package detector

import (
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestIoU(t *testing.T) {
	a := image.Rect(0, 0, 10, 10)
	cases := []struct {
		b    image.Rectangle
		want float64
	}{
		{image.Rect(0, 0, 10, 10), 1},
		{image.Rect(5, 0, 15, 10), 50.0 / 150},
		{image.Rect(10, 10, 20, 20), 0}, // touching corners
		{image.Rect(2, 2, 4, 4), 4.0 / 100},
		{image.Rectangle{}, 0},
	}
	for _, c := range cases {
		if got := IoU(a, c.b); !near(got, c.want) {
			t.Errorf("IoU(%v, %v) = %g, want %g", a, c.b, got, c.want)
		}
		if got := IoU(c.b, a); !near(got, c.want) {
			t.Errorf("IoU not symmetric for %v", c.b)
		}
	}
}

func TestNMS(t *testing.T) {
	boxes := []image.Rectangle{
		image.Rect(0, 0, 10, 10),   // 0: overlaps 1 heavily
		image.Rect(1, 1, 11, 11),   // 1: best of the pair
		image.Rect(50, 50, 60, 60), // 2: alone
		image.Rect(5, 0, 15, 10),   // 3: IoU 54/146 = 0.37 with 1
		image.Rect(50, 50, 60, 60), // 4: duplicate of 2, same score: input order wins
	}
	scores := []float64{0.8, 0.95, 0.9, 0.7, 0.9}
	got := NMS(boxes, scores, 0.4)
	want := []int{1, 2, 3} // 0: IoU 81/119 with 1; 4: duplicate of 2
	if g := NMS(boxes, scores, 0.3); len(g) != 2 {
		t.Errorf("NMS at 0.3 kept %v, want [1 2]", g)
	}
	if len(got) != len(want) {
		t.Fatalf("NMS kept %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("NMS kept %v, want %v", got, want)
		}
	}
	if got := NMS(nil, nil, 0.5); len(got) != 0 {
		t.Errorf("NMS of nothing kept %v", got)
	}
}

func TestFilterAndMergeSeed(t *testing.T) {
	rs := []image.Rectangle{
		image.Rect(0, 0, 50, 50),  // kept
		image.Rect(0, 0, 50, 50),  // duplicate
		image.Rect(0, 0, 10, 10),  // too small (100 < 500)
		image.Rect(0, 0, 100, 50), // aspect 2
		image.Rect(0, 0, 50, 61),  // h/w 1.22
		image.Rect(100, 100, 160, 155),
	}
	f := FilterSeed(rs, MinSizeFor(320, 240), 1.2)
	if MinSizeFor(320, 240) != 500 || MinSizeFor(640, 480) != 2000 {
		t.Fatalf("MinSizeFor: %d, %d", MinSizeFor(320, 240), MinSizeFor(640, 480))
	}
	if len(f) != 2 || f[0] != rs[0] || f[1] != rs[5] {
		t.Fatalf("FilterSeed kept %v", f)
	}
	// Mean |dx,dy,dw,dh| of these two is (4+2+0+6)/4 = 3 < 15: merged into
	// the element-wise maximum of (x, y, w, h).
	m := MergeSeed([]image.Rectangle{image.Rect(10, 10, 60, 60), image.Rect(14, 12, 70, 62), image.Rect(200, 10, 240, 50)}, 15, image.Rect(0, 0, 320, 240))
	if len(m) != 2 || m[0] != image.Rect(14, 12, 14+56, 12+50) || m[1] != image.Rect(200, 10, 240, 50) {
		t.Fatalf("MergeSeed gave %v", m)
	}
	// Chains merge until nothing changes; the result is clipped.
	m = MergeSeed([]image.Rectangle{image.Rect(300, 0, 320, 20), image.Rect(310, 0, 335, 20), image.Rect(315, 5, 340, 30)}, 15, image.Rect(0, 0, 320, 240))
	if len(m) != 1 || m[0] != image.Rect(315, 5, 320, 30) {
		t.Fatalf("chained MergeSeed gave %v", m)
	}
}

func TestMatchFrame(t *testing.T) {
	truth := []TruthItem{
		{Class: 1, Box: XYWH{0, 0, 10, 10}},
		{Class: 2, Box: XYWH{100, 100, 20, 20}},
		{Class: 3, Box: XYWH{200, 0, 10, 10}},
	}
	dets := []Detection{
		{Box: XYWH{1, 0, 10, 10}, Class: 1, Score: 0.95},     // TP, IoU 90/110
		{Box: XYWH{0, 0, 10, 10}, Class: 1, Score: 0.91},     // duplicate: FP (truth already taken)
		{Box: XYWH{100, 100, 20, 20}, Class: 4, Score: 0.99}, // wrong class: FP
		{Box: XYWH{205, 0, 10, 10}, Class: 3, Score: 0.93},   // IoU 1/3 < 0.5: FP
	}
	o, pc := MatchFrame(dets, truth, 10)
	if o.TP != 1 || o.FP != 3 || o.FN != 2 || !near(o.IoUSum, 90.0/110) {
		t.Fatalf("overall %+v", o)
	}
	if pc[1].TP != 1 || pc[1].FP != 1 || pc[4].FP != 1 || pc[2].FN != 1 || pc[3].FN != 1 || pc[3].FP != 1 {
		t.Fatalf("per class %+v", pc)
	}
	s := o.Scores()
	if !near(s.Precision, 0.25) || !near(s.Recall, 1.0/3) || !near(s.MeanIoU, 90.0/110) {
		t.Fatalf("scores %+v", s)
	}
	// Greedy by score: the better-scored detection takes the truth even if
	// the other one overlaps it more.
	o, _ = MatchFrame([]Detection{
		{Box: XYWH{0, 0, 10, 10}, Class: 1, Score: 0.5},
		{Box: XYWH{2, 0, 10, 10}, Class: 1, Score: 0.9},
	}, truth[:1], 10)
	if o.TP != 1 || o.FP != 1 || !near(o.IoUSum, 80.0/120) {
		t.Fatalf("greedy by score: %+v", o)
	}
	if s := (Counts{}).Scores(); s.Precision != 0 || s.Recall != 0 || s.MeanIoU != 0 {
		t.Fatalf("empty scores %+v", s)
	}
}

// grayWith is a w x h frame of level bg with the rectangle r at level fg.
func grayWith(w, h int, bg, fg byte, r image.Rectangle) Gray {
	g := Gray{Pix: make([]byte, w*h), W: w, H: h}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g.Pix[y*w+x] = bg
			if image.Pt(x, y).In(r) {
				g.Pix[y*w+x] = fg
			}
		}
	}
	return g
}

func TestPrepareLightAndDarkItems(t *testing.T) {
	item := image.Rect(40, 30, 60, 70) // 20 x 40, tall
	box := image.Rect(36, 26, 64, 74)  // a proposal around it
	for _, c := range []struct {
		name   string
		bg, fg byte
	}{{"light item on dark", 40, 220}, {"dark item on light", 220, 40}} {
		g := grayWith(100, 100, c.bg, c.fg, item)
		dst := make([]float32, 784)
		Prepare(g, box, dst)
		// Centre is the item: 1 after inversion/stretching; corners are
		// background (outside the squared crop too): 0.
		if v := dst[14*28+14]; v < 0.99 {
			t.Errorf("%s: centre %g, want 1", c.name, v)
		}
		for _, p := range []int{0, 27, 27 * 28, 783, 14*28 + 1} {
			if dst[p] > 0.01 {
				t.Errorf("%s: pixel %d = %g, want 0", c.name, p, dst[p])
			}
		}
		for _, v := range dst {
			if v < 0 || v > 1 {
				t.Fatalf("%s: value %g out of [0,1]", c.name, v)
			}
		}
		// The tall box is squared: the item keeps its aspect ratio, about
		// 20/48*28 = 11.7 columns wide.
		cols := 0
		for x := 0; x < 28; x++ {
			if dst[14*28+x] > 0.5 {
				cols++
			}
		}
		if cols < 11 || cols > 13 {
			t.Errorf("%s: item %d columns wide, want about 12", c.name, cols)
		}
	}
	// The seed's preparation: 0-255, stretched, not inverted.
	g := grayWith(100, 100, 220, 40, item)
	dst := make([]float32, 784)
	PrepareSeed(g, item, dst)
	if dst[0] != 40 || dst[14*28+14] != 40 {
		t.Errorf("seed preparation of a uniform crop: %g, %g, want 40", dst[0], dst[14*28+14])
	}
}

func TestAreaResizeKeepsMean(t *testing.T) {
	src := make([]float64, 37*53)
	var s float64
	for i := range src {
		src[i] = float64((i * 7919) % 256)
		s += src[i]
	}
	out := areaResize(src, 37, 53, 28, 28)
	var o float64
	for _, v := range out {
		o += v
	}
	if math.Abs(s/float64(len(src))-o/float64(len(out))) > 1e-6 {
		t.Errorf("mean %g -> %g", s/float64(len(src)), o/float64(len(out)))
	}
}

func TestSoftmax(t *testing.T) {
	probs := softmax([]float32{0, 2, 1})
	c := argmax(probs)
	p := probs[c]
	want := math.Exp(2) / (1 + math.Exp(1) + math.Exp(2))
	if c != 1 || math.Abs(p-want) > 1e-6 {
		t.Errorf("softmax: top %d, %g, want 1, %g", c, p, want)
	}
}

func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.avi")
	os.WriteFile(text, []byte("this is not a video\n"), 0o644)
	empty := filepath.Join(dir, "empty.avi")
	os.WriteFile(empty, nil, 0o644)
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.avi"), "does not exist"},
		{text, "not a video"},
		{empty, "empty"},
		{dir, "directory"},
	} {
		_, err := OpenReader(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("OpenReader(%s): %v, want %q", c.path, err, c.want)
		}
	}
	if err := CheckWritable(filepath.Join(dir, "no", "such", "out.avi"), "output video"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("unwritable: %v", err)
	}
	if err := CheckWritable(filepath.Join(text, "out.avi"), "output video"); err == nil {
		t.Errorf("a file as a directory: no error")
	}
	out := filepath.Join(dir, "ok.avi")
	if err := CheckWritable(out, "output video"); err != nil {
		t.Errorf("writable: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("CheckWritable left %s behind", out)
	}
	if _, err := SelectiveSearch(make([]byte, 10), 2, 2, ModeSingle, 100, 0.9); err == nil {
		t.Errorf("SelectiveSearch accepted a short buffer")
	}
	if _, err := Record(t.Context(), 7, 40, filepath.Join(dir, "rec.avi"), nil); err == nil || !strings.Contains(err.Error(), "no camera 7") {
		t.Errorf("Record without a camera: %v", err)
	}
}

// TestWriterReplacesOnlyOnClose: frames go to a temporary file; Abort leaves
// the file at the path as it was, Close puts the new video there, and
// neither leaves anything else behind.
func TestWriterReplacesOnlyOnClose(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.avi")
	os.WriteFile(path, []byte("old"), 0o644)
	frame := make([]byte, 64*48*3)
	write := func() *Writer {
		w, err := OpenWriter(path, 64, 48, 10)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if err := w.WriteBytes(frame); err != nil {
				t.Fatal(err)
			}
		}
		if b, _ := os.ReadFile(path); string(b) != "old" {
			t.Fatalf("the path changed before Close")
		}
		return w
	}
	files := func() int { e, _ := os.ReadDir(dir); return len(e) }
	w := write()
	w.Abort()
	if b, _ := os.ReadFile(path); string(b) != "old" || files() != 1 {
		t.Fatalf("after Abort: %q, %d files", b, files())
	}
	w = write()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Abort() // does nothing after Close
	if n, fw, fh, err := CountFrames(path); err != nil || n != 3 || fw != 64 || fh != 48 || files() != 1 {
		t.Fatalf("after Close: %d frames %dx%d (%v), %d files", n, fw, fh, err, files())
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("the video's mode is %v (%v), want -rw-r--r-- as os.Create makes it", fi.Mode().Perm(), err)
	}
}

func TestSynthVideoRoundTrip(t *testing.T) {
	n := 200
	imgs := make([]float32, n*784)
	labels := make([]uint8, n)
	for i := 0; i < n; i++ {
		labels[i] = uint8(i % 10)
		for y := 4; y < 24; y++ {
			for x := 6; x < 22; x++ {
				imgs[i*784+y*28+x] = 0.9
			}
		}
	}
	path := filepath.Join(t.TempDir(), "s.avi")
	w, err := OpenWriter(path, 160, 120, 10)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	truth, err := Synthesize(SynthConfig{Frames: 30, W: 160, H: 120, Seed: 3, Images: imgs, Labels: labels, N: n, Names: names},
		func(_ int, b []byte) error { return w.WriteBytes(b) })
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if len(truth.Frames) != 30 {
		t.Fatalf("%d truth frames", len(truth.Frames))
	}
	for _, f := range truth.Frames {
		if len(f.Items) < 1 || len(f.Items) > 3 {
			t.Fatalf("frame %d has %d items", f.Index, len(f.Items))
		}
		for i, a := range f.Items {
			r := a.Box.Rect()
			if !r.In(image.Rect(0, 0, 160, 120)) || r.Dx() < 10 {
				t.Fatalf("frame %d: box %v", f.Index, a.Box)
			}
			for _, b := range f.Items[i+1:] {
				if IoU(r, b.Box.Rect()) > 0 {
					t.Fatalf("frame %d: items overlap", f.Index)
				}
			}
		}
	}
	got, fw, fh, err := CountFrames(path)
	if err != nil || got != 30 || fw != 160 || fh != 120 {
		t.Fatalf("read back %d frames %dx%d, %v", got, fw, fh, err)
	}
}
