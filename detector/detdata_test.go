package detector

import (
	"bytes"
	"context"
	"image"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"fmnist/archs"
	"fmnist/trainer"
)

// trainFile loads the real training file once for the tests of this file.
func trainFile(t *testing.T) *trainer.Dataset {
	t.Helper()
	train, _, err := trainer.Load("", 0, 1)
	if err != nil {
		t.Fatalf("Fashion-MNIST (scripts/setup.sh installs it): %v", err)
	}
	return train
}

func TestSynthesizeIsDeterministicPerSeed(t *testing.T) {
	train := trainFile(t)
	sp, err := SplitOf(train, SplitTrain, "training file")
	if err != nil {
		t.Fatal(err)
	}
	render := func(seed int64) ([][]byte, *Truth) {
		var frames [][]byte
		truth, err := Synthesize(sp.SynthConfig(12, 320, 240, seed), func(_ int, b []byte) error {
			frames = append(frames, append([]byte(nil), b...))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return frames, truth
	}
	a, ta := render(5)
	b, tb := render(5)
	c, _ := render(6)
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("frame %d differs between two renderings with seed 5", i)
		}
	}
	if !reflect.DeepEqual(ta, tb) {
		t.Fatal("truth differs between two renderings with seed 5")
	}
	if bytes.Equal(a[0], c[0]) {
		t.Fatal("seeds 5 and 6 give the same first frame")
	}
	// Light and dark backgrounds both occur, items may be cut by the frame's
	// edge, and sizes span 30-110 px at 320x240 (over enough frames).
	var light, dark, cut int
	lo, hi := 1000, 0
	_, truth := func() ([][]byte, *Truth) {
		var means []float64
		tr, err := Synthesize(sp.SynthConfig(400, 320, 240, 7), func(_ int, b []byte) error {
			var s float64
			for _, v := range b[:3*320*8] { // the top rows: mostly background
				s += float64(v)
			}
			means = append(means, s/float64(3*320*8))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range means {
			if m > 128 {
				light++
			} else {
				dark++
			}
		}
		return nil, tr
	}()
	for _, f := range truth.Frames {
		for _, it := range f.Items {
			r := it.Box.Rect()
			side := max(r.Dx(), r.Dy())
			lo, hi = min(lo, side), max(hi, side)
			if r.Min.X == 0 || r.Min.Y == 0 || r.Max.X == 320 || r.Max.Y == 240 {
				cut++
			}
			if it.Index < 0 || it.Index >= ValStart {
				t.Fatalf("train split item has index %d", it.Index)
			}
		}
	}
	if light < 40 || dark < 40 || cut == 0 || lo > 35 || hi < 90 {
		t.Errorf("400 frames: %d light, %d dark, %d items at the edge, item sides %d-%d px", light, dark, cut, lo, hi)
	}
}

func TestSplitsAreDisjoint(t *testing.T) {
	for _, n := range []int{60000, 1200} {
		tl, th, _ := SplitRange(SplitTrain, n)
		vl, vh, _ := SplitRange(SplitVal, n)
		if tl != 0 || th != vl || vh != n || th <= tl || vh <= vl {
			t.Errorf("n %d: train [%d, %d), val [%d, %d)", n, tl, th, vl, vh)
		}
	}
	if _, _, err := SplitRange("holdout", 100); err == nil {
		t.Error("an unknown split was accepted")
	}
}

// TestDetDataUsesNoTestImages builds a small detection data set and checks
// where every scene's items come from: training scenes from the train split,
// validation scenes from the val split, and its crops are labelled by
// overlap (classes and background both present).
func TestDetDataUsesNoTestImages(t *testing.T) {
	train := trainFile(t)
	tr, _ := SplitOf(train, SplitTrain, "training file")
	va, _ := SplitOf(train, SplitVal, "training file")
	d := NewDetData(tr, va, 1, "")
	d.TrainFrames, d.MineFrames, d.ValFrames, d.ItemFrames, d.Plain = 24, 8, 8, 16, 100
	cfg := d.Config
	cfg.Names = trainer.ClassNames[:]
	for _, c := range []struct {
		s      *Split
		lo, hi int
	}{{tr, 0, ValStart}, {va, ValStart, 60000}} {
		n := 0
		err := d.scenes(context.Background(), c.s, 8, 3, 9, cfg, func(f int, g Gray, rects []image.Rectangle, images []float32, truth []TruthItem) {
			for _, it := range truth {
				n++
				if it.Index < c.lo || it.Index >= c.hi {
					t.Errorf("%s scene item %d is outside [%d, %d)", c.s.Name, it.Index, c.lo, c.hi)
				}
				if int(train.Labels[it.Index]) != it.Class {
					t.Errorf("item %d: class %d, the file says %d", it.Index, it.Class, train.Labels[it.Index])
				}
			}
			if len(images) < len(rects)*trainer.Pixels {
				t.Errorf("frame %d: %d samples for %d regions", f, len(images)/trainer.Pixels, len(rects))
			}
		})
		if err != nil || n == 0 {
			t.Fatalf("%s scenes: %d items, %v", c.s.Name, n, err)
		}
	}
	n := 0
	err := d.itemScenes(context.Background(), func(g Gray, truth []TruthItem) {
		for _, it := range truth {
			n++
			if it.Index >= ValStart || int(train.Labels[it.Index]) != it.Class {
				t.Errorf("item scene: item %d (class %d) is not of the train split's [0, %d)", it.Index, it.Class, ValStart)
			}
		}
	})
	if err != nil || n == 0 {
		t.Fatalf("item scenes: %d items, %v", n, err)
	}
	trainSet, valSet, err := d.Phase(context.Background(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	count := func(ds *trainer.Dataset) (bg, items int) {
		for _, l := range ds.Labels {
			if l == BackgroundLabel {
				bg++
			} else {
				items++
			}
		}
		return
	}
	bg, items := count(trainSet)
	vbg, vitems := count(valSet)
	if bg == 0 || items <= d.Plain || vbg == 0 || vitems == 0 {
		t.Errorf("training crops: %d background, %d items (%d plain); validation: %d background, %d items", bg, items, d.Plain, vbg, vitems)
	}
	// The same seed gives the same data.
	d2 := NewDetData(tr, va, 1, "")
	d2.TrainFrames, d2.MineFrames, d2.ValFrames, d2.ItemFrames, d2.Plain = 24, 8, 8, 16, 100
	t2, v2, _ := d2.Phase(context.Background(), 0, nil)
	if trainer.DataHash(t2) != trainer.DataHash(trainSet) || trainer.DataHash(v2) != trainer.DataHash(valSet) {
		t.Error("two builds with seed 1 differ")
	}
}

// TestRefineFitsItem draws an item on a noisy plain background and checks
// that a loose box and a tight-ish one both refine to the item's box.
func TestRefineFitsItem(t *testing.T) {
	const w, h = 200, 150
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dark := range []bool{false, true} {
		g := Gray{Pix: make([]byte, w*h), W: w, H: h}
		bg, fg := 40.0, 210.0
		if dark {
			bg, fg = 200, 30
		}
		item := image.Rect(70, 40, 110, 120) // 40x80, like a dress
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := bg + rng.NormFloat64()*6
				if image.Pt(x, y).In(item) && !(x > 85 && x < 95 && y > 100) { // a gap between the legs
					v = fg + rng.NormFloat64()*6
				}
				g.Pix[y*w+x] = byte(max(0, min(255, v)))
			}
		}
		// Loose (the last: IoU 0.44 with the item), tight and exact boxes.
		for _, r := range []image.Rectangle{image.Rect(60, 30, 122, 128), image.Rect(74, 46, 108, 112), item, image.Rect(56, 28, 124, 136)} {
			got := Refine(g, r)
			if iou := IoU(got, item); iou < 0.95 {
				t.Errorf("dark %v: Refine(%v) = %v, IoU %.2f with the item %v", dark, r, got, iou, item)
			}
		}
		// Flat texture: nothing stands out, the box stays.
		flat := Gray{Pix: make([]byte, w*h), W: w, H: h}
		for i := range flat.Pix {
			flat.Pix[i] = byte(100 + rng.IntN(8))
		}
		if r := image.Rect(20, 20, 60, 60); Refine(flat, r) != r {
			t.Errorf("flat: Refine moved the box to %v", Refine(flat, r))
		}
	}
}

// testDet is a 40x60 detection at (x, 10) of class with the given score,
// voting for its class.
func testDet(x, class int, score float64) Detection {
	d := Detection{Box: XYWH{x, 10, 40, 60}, Class: class, Label: trainer.ClassNames[class], Score: score}
	d.probs[class] = 1
	return d
}

func TestConfirmAcrossFrames(t *testing.T) {
	names := trainer.ClassNames[:]
	det := testDet
	prev := []Detection{det(100, 3, 0.9)}
	next := []Detection{det(104, 3, 0.8)}
	got := confirm([]Detection{det(102, 4, 0.9), det(250, 1, 0.9), det(10, 8, 0.999)}, prev, next, 0.995, true, names)
	// The first is confirmed and takes the vote (dress twice, coat once);
	// the second has no neighbour; the third is sure enough on its own.
	if len(got) != 2 || got[0].Class != 3 || got[0].Label != names[3] || got[1].Class != 8 {
		t.Fatalf("confirm = %+v", got)
	}
	if got := confirm([]Detection{det(102, 4, 0.9)}, prev, next, 0.995, false, names); len(got) != 0 {
		t.Fatalf("without voting a detection of another class confirmed it: %+v", got)
	}
	if got := confirm([]Detection{det(102, 4, 0.9)}, nil, nil, 0.995, true, names); len(got) != 0 {
		t.Fatalf("a lone frame confirmed itself: %+v", got)
	}
}

func TestFillGaps(t *testing.T) {
	names := trainer.ClassNames[:]
	det := testDet
	prev := []Detection{det(100, 3, 0.9), det(250, 1, 0.9), det(10, 8, 0.95)}
	next := []Detection{det(104, 3, 0.8), det(10, 8, 0.97)}
	// The dress flickered out of this frame: it comes back between the two
	// boxes, with the lower score. The trouser has no next; the bag is
	// still detected here.
	got := fillGaps([]Detection{det(12, 8, 0.9)}, prev, next, true, names)
	if len(got) != 1 || got[0].Box != (XYWH{102, 10, 40, 60}) || got[0].Class != 3 || got[0].Label != names[3] || got[0].Score != 0.8 {
		t.Fatalf("fillGaps = %+v", got)
	}
	// Without voting, boxes of different classes are not one item.
	if got := fillGaps(nil, []Detection{det(100, 3, 0.9)}, []Detection{det(104, 4, 0.9)}, false, names); len(got) != 0 {
		t.Fatalf("filled between a dress and a coat: %+v", got)
	}
	// Boxes that do not overlap are not one item either.
	if got := fillGaps(nil, []Detection{det(100, 3, 0.9)}, []Detection{det(200, 3, 0.9)}, true, names); len(got) != 0 {
		t.Fatalf("filled between distant boxes: %+v", got)
	}
}

// TestBackgroundIsLearned trains a detection model for two epochs on a
// small generated set and checks, on its validation crops (scenes of the
// val split), that crops of background are called background, and crops of
// items are not, far more often than chance (the share of each in the set).
func TestBackgroundIsLearned(t *testing.T) {
	train := trainFile(t)
	tr, _ := SplitOf(train, SplitTrain, "training file")
	va, _ := SplitOf(train, SplitVal, "training file")
	d := NewDetData(tr, va, 2, t.TempDir())
	d.TrainFrames, d.MineFrames, d.ValFrames, d.ItemFrames, d.Plain = 150, 40, 60, 800, 3000
	var last trainer.EpochEnd
	status, err := trainer.Train(context.Background(), nil, nil, trainer.Job{ID: "det", Model: "CNN2_det", Epochs: 2, Seed: 2, Data: d},
		func(ev trainer.Event) {
			if e, ok := ev.(trainer.EpochEnd); ok {
				last = e
			}
		})
	if status != trainer.StatusDone || err != nil {
		t.Fatalf("training: %s, %v", status, err)
	}
	_, val, err := d.Phase(context.Background(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := archsModel(last)
	if err != nil {
		t.Fatal(err)
	}
	var bgOK, bgN, itemOK, itemN int
	err = trainer.Predict(context.Background(), m, val.Images, val.N, func(i int, logits []float32) {
		isBg := trainer.Argmax(logits) == BackgroundLabel
		if val.Labels[i] == BackgroundLabel {
			bgN++
			if isBg {
				bgOK++
			}
		} else {
			itemN++
			if !isBg {
				itemOK++
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	bgRate, itemRate := float64(bgOK)/float64(bgN), float64(itemOK)/float64(itemN)
	bgShare := float64(bgN) / float64(bgN+itemN)
	t.Logf("%d validation crops (%.0f%% background): background called background %.3f, items called items %.3f; %v",
		val.N, 100*bgShare, bgRate, itemRate, last.Stats.Extra)
	// Measured (seed 2, 2942 crops, 94% background): background 0.819,
	// items 0.861 (before item scenes and distractors: 0.923 and 0.512). A
	// guess that ignores the image has a balanced accuracy ((background
	// rate + item rate) / 2) of 0.5; this one must reach 0.75.
	if bgRate < 0.75 || itemRate < 0.75 || bgRate+itemRate < 1.5 {
		t.Errorf("background called background %.3f, items called items %.3f, want >= 0.75 each and a balanced accuracy >= 0.75", bgRate, itemRate)
	}
	for _, k := range []string{"det_threshold", "det_relabel"} {
		if _, ok := last.Stats.Extra[k]; !ok {
			t.Errorf("epoch figures lack %s, chosen on validation scenes: %v", k, last.Stats.Extra)
		}
	}
}

// archsModel rebuilds the model of an epoch's checkpoint.
func archsModel(e trainer.EpochEnd) (*archs.Model, error) {
	m, err := archs.New(e.Checkpoint.Model, 0)
	if err != nil {
		return nil, err
	}
	return m, m.Restore(e.Checkpoint.State)
}

// TestHalfSizePrepare checks that large boxes of a 640x480 frame, prepared
// from the half-size frame, give nearly the samples of the full frame.
func TestHalfSizePrepare(t *testing.T) {
	train := trainFile(t)
	tr, _ := SplitOf(train, SplitTrain, "training file")
	sc := tr.SynthConfig(30, 640, 480, 5)
	sc.SceneFrames = 1
	p := newPipeline(DetDefaultConfig(), 640, 480)
	defer p.close()
	full, half := make([]float32, trainer.Pixels), make([]float32, trainer.Pixels)
	n, worst := 0, 0.0
	_, err := synthesize(sc, func(i int, bgr []byte, items []TruthItem) error {
		g, err := p.load(bgr)
		if err != nil || p.half.Pix == nil {
			t.Fatalf("frame %d: no half-size frame (%v)", i, err)
		}
		for _, it := range items {
			r := it.Box.Rect()
			if max(r.Dx(), r.Dy()) < halfSide {
				continue
			}
			n++
			Prepare(g, r, full)
			p.prepareCrop(g, r, half)
			var sum float64
			for k := range full {
				sum += math.Abs(float64(full[k] - half[k]))
			}
			mean := sum / trainer.Pixels
			worst = max(worst, mean)
			// Measured: at most 0.032 over 22 large boxes (box edges move by
			// up to a pixel of the half frame, and the border level is
			// averaged with its neighbours).
			if mean > 0.04 {
				t.Errorf("frame %d, box %v: mean difference %.3f between the full and half-size samples", i, r, mean)
			}
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("%d large boxes, %v", n, err)
	}
	t.Logf("%d large boxes: largest mean difference %.4f", n, worst)
}
