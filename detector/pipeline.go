package detector

import (
	"context"
	"fmt"
	"image"
	"math"
	"slices"

	"gocv.io/x/gocv"

	"fmnist/archs"
	"fmnist/trainer"
)

// Candidate is a classified region: the model's most probable class other
// than background, and its probability.
type Candidate struct {
	Box    image.Rectangle
	Region int // index of the region (and its sample) in the classified batch
	Class  int
	Score  float64
	Probs  [trainer.NumClasses]float64 // the ten classes' probabilities, given an item
}

// pipeline is the per-frame work of a detection run, without video input
// and output: proposals, crop preparation and classification, then the
// choice of detections. Training a detection model uses the same code on
// synthetic scenes (DetData).
type pipeline struct {
	cfg     Config
	W, H    int
	pw, ph  int // proposal frame size
	minSize int
	bg      int      // index of the background class, or -1
	set     Settings // cfg as in effect (Config.Settings)
	frame   gocv.Mat
	gray    gocv.Mat
	small   gocv.Mat
	halfMat gocv.Mat
	// half is the grey frame at half size (area averaging) on frames of
	// 480 lines or more: large boxes are prepared from it (prepareCrop).
	half Gray
	// labels, when set, keeps relabel's results by frame (frameID) and
	// box: validation chooses the same frame's detections at many
	// thresholds.
	labels  map[labelKey]relabelled
	frameID int
}

type relabelled struct {
	probs [trainer.NumClasses]float64
	item  float64
}

type labelKey struct {
	frame int
	box   image.Rectangle
}

// BackgroundClass is the output index of background in a detection model
// (the eleventh), or -1 for a ten-class model.
func BackgroundClass(m *archs.Model) int {
	if m != nil && m.Spec.NumClasses() > trainer.NumClasses {
		return trainer.NumClasses
	}
	return -1
}

func newPipeline(cfg Config, w, h int) *pipeline {
	p := classifier(cfg)
	p.W, p.H, p.pw, p.ph, p.minSize = w, h, w, h, cfg.minSize(w, h)
	if s := cfg.ProposalSide; s > 0 && max(w, h) > s {
		f := float64(s) / float64(max(w, h))
		p.pw, p.ph = max(2, int(math.Round(float64(w)*f))), max(2, int(math.Round(float64(h)*f)))
	}
	p.frame, p.gray, p.small, p.halfMat = gocv.NewMat(), gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	return p
}

// classifier is a pipeline that only classifies and chooses (no frames, no
// OpenCV buffers): for crops already prepared.
func classifier(cfg Config) *pipeline {
	return &pipeline{cfg: cfg, bg: BackgroundClass(cfg.Model), set: cfg.Settings()}
}

func (p *pipeline) close() {
	p.frame.Close()
	p.gray.Close()
	p.small.Close()
	p.halfMat.Close()
}

// load puts a BGR frame into p.frame and its grey version into p.gray.
func (p *pipeline) load(bgr []byte) (Gray, error) {
	if len(bgr) != p.W*p.H*3 {
		return Gray{}, fmt.Errorf("frame of %d bytes, want %dx%dx3", len(bgr), p.W, p.H)
	}
	m, err := gocv.NewMatFromBytes(p.H, p.W, gocv.MatTypeCV8UC3, bgr)
	if err != nil {
		return Gray{}, err
	}
	m.CopyTo(&p.frame)
	m.Close()
	gocv.CvtColor(p.frame, &p.gray, gocv.ColorBGRToGray)
	if p.gray.Cols() != p.W || p.gray.Rows() != p.H || p.gray.Type() != gocv.MatTypeCV8UC1 {
		return Gray{}, fmt.Errorf("grey conversion failed")
	}
	p.half = Gray{}
	if min(p.W, p.H) >= halfFrom {
		hw, hh := p.W/2, p.H/2
		gocv.Resize(p.gray, &p.halfMat, image.Pt(hw, hh), 0, 0, gocv.InterpolationArea)
		if p.halfMat.Cols() == hw && p.halfMat.Rows() == hh && p.halfMat.Type() == gocv.MatTypeCV8UC1 {
			p.half = Gray{Pix: p.halfMat.ToBytes(), W: hw, H: hh}
		}
	}
	return Gray{Pix: p.gray.ToBytes(), W: p.W, H: p.H}, nil
}

// Half-size preparation: on frames of at least halfFrom lines, boxes whose
// longer side is at least halfSide px are prepared from the frame at half
// size. A 28x28 sample of a box that large averages at least 4x4 pixels
// of the full frame each, so the half frame's 2x2 averages change it
// little (box edges move by up to a half-frame pixel: a mean difference of
// at most 0.032 per pixel on 22 boxes), for a quarter of the work. At
// 640x480 prepare went from 15.4 to 6.4 ms a frame (20.3 to 24.3 frames/s)
// and the seed-3 test video's precision and recall from 0.729 / 0.727 to
// 0.715 / 0.720.
const (
	halfFrom = 480
	halfSide = 4 * ImageSize
)

// prepareCrop is Prepare on the frame or, for a large box on a large frame,
// on its half-size copy.
func (p *pipeline) prepareCrop(g Gray, r image.Rectangle, dst []float32) CropStats {
	if p.half.Pix != nil && max(r.Dx(), r.Dy()) >= halfSide && g.W == p.W {
		h := image.Rect(r.Min.X/2, r.Min.Y/2, (r.Max.X+1)/2, (r.Max.Y+1)/2).Intersect(image.Rect(0, 0, p.half.W, p.half.H))
		if !h.Empty() {
			return Prepare(p.half, h, dst)
		}
	}
	return Prepare(g, r, dst)
}

// propose runs selective search on the loaded frame (scaled down to the
// proposal size) and filters the boxes; it returns the raw count too.
func (p *pipeline) propose(bgr []byte) (int, []image.Rectangle, error) {
	cfg := p.cfg
	pbytes := bgr
	if p.pw != p.W || p.ph != p.H {
		gocv.Resize(p.frame, &p.small, image.Pt(p.pw, p.ph), 0, 0, gocv.InterpolationArea)
		if p.small.Cols() != p.pw || p.small.Rows() != p.ph || p.small.Type() != gocv.MatTypeCV8UC3 {
			return 0, nil, fmt.Errorf("resizing the frame for proposals failed")
		}
		pbytes = p.small.ToBytes()
	}
	raw, err := SelectiveSearch(pbytes, p.pw, p.ph, cfg.Mode, cfg.K, cfg.Sigma)
	if err != nil {
		return 0, nil, err
	}
	rects := make([]image.Rectangle, 0, len(raw))
	for _, r := range raw {
		if p.pw != p.W || p.ph != p.H {
			r = scaleRect(r, p.pw, p.ph, p.W, p.H)
		}
		rects = append(rects, r)
	}
	rects = FilterSeed(rects, p.minSize, cfg.MaxAspect)
	if !cfg.SeedPipeline && cfg.MaxFrac > 0 {
		big := cfg.MaxFrac * float64(p.W*p.H)
		rects = slices.DeleteFunc(rects, func(r image.Rectangle) bool { return float64(r.Dx()*r.Dy()) > big })
	}
	if cfg.SeedPipeline || !cfg.NoMerge {
		rects = MergeSeed(rects, SeedMergeDist, image.Rect(0, 0, p.W, p.H))
	}
	return len(raw), rects, nil
}

// prepare makes a 28x28 sample of every box (p.cfg's way) and returns the
// boxes kept (flat crops are dropped) and their samples, padded with blank
// images to a multiple of 8 (few distinct batch sizes: few compiled graphs).
func (p *pipeline) prepare(g Gray, rects []image.Rectangle) ([]image.Rectangle, []float32) {
	batch := (len(rects) + 7) / 8 * 8
	images := make([]float32, batch*trainer.Pixels)
	kept := rects[:0:0]
	for _, r := range rects {
		dst := images[len(kept)*trainer.Pixels : (len(kept)+1)*trainer.Pixels]
		if p.cfg.SeedPipeline {
			PrepareSeed(g, r, dst)
		} else if st := p.prepareCrop(g, r, dst); st.Contrast < p.cfg.MinContrast {
			clear(dst) // too flat to be an item: not classified
			continue
		}
		kept = append(kept, r)
	}
	batch = (len(kept) + 7) / 8 * 8
	return kept, images[:batch*trainer.Pixels]
}

// classify runs the model on the samples in one batch. Regions whose most
// probable class is background are counted, not returned.
func (p *pipeline) classify(ctx context.Context, rects []image.Rectangle, images []float32) ([]Candidate, int, error) {
	n := len(rects)
	if n == 0 {
		return nil, 0, nil
	}
	var cands []Candidate
	background := 0
	batch := len(images) / trainer.Pixels
	err := trainer.Predict(ctx, p.cfg.Model, images, batch, func(k int, logits []float32) {
		if k >= n {
			return
		}
		probs := softmax(logits)
		c := argmax(probs)
		objectness := p.set.Score == "item"
		if c == p.bg {
			background++
			if !objectness {
				return
			}
			// Kept: its probability of holding an item, whichever, may
			// still pass the threshold.
		}
		cand := Candidate{Box: rects[k], Region: k, Class: c, Score: probs[c]}
		// The ten classes' probabilities, given an item.
		var item float64
		for i := range cand.Probs {
			item += probs[i]
		}
		for i := range cand.Probs {
			cand.Probs[i] = probs[i] / item
		}
		if objectness {
			// The probability of an item, whichever: 1 - P(background).
			cand.Score = 1 - probs[p.bg]
			cand.Class = argmax(cand.Probs[:])
		}
		cands = append(cands, cand)
	})
	return cands, background, err
}

// choose turns a frame's candidates into detections: those above the
// threshold, then (ours) non-maximum suppression, box refinement and
// relabelling.
func (p *pipeline) choose(ctx context.Context, g Gray, cands []Candidate, threshold float64) ([]Detection, error) {
	var dets []Detection
	rescore := p.relabels()
	pre := threshold
	if rescore {
		pre = threshold * threshold // the final score is a geometric mean with this one
	}
	for _, c := range cands {
		if c.Score > pre {
			dets = append(dets, Detection{Box: ToXYWH(c.Box), Class: c.Class, Label: p.cfg.Names[c.Class], Score: c.Score, probs: c.Probs})
		}
	}
	if p.cfg.SeedPipeline || len(dets) == 0 {
		return dets, nil
	}
	if len(dets) > 1 {
		boxes := make([]image.Rectangle, len(dets))
		scores := make([]float64, len(dets))
		for k, d := range dets {
			boxes[k], scores[k] = d.Box.Rect(), d.Score
		}
		keep := NMSNested(boxes, scores, p.cfg.NMSIoU, p.cfg.NMSNested)
		kept := make([]Detection, len(keep))
		for k, idx := range keep {
			kept[k] = dets[idx]
		}
		dets = kept
	}
	if p.cfg.Vote {
		// Each detection's label is the vote of every candidate over it
		// (IoU >= 0.5), weighted by their scores: several crops of one item
		// agree more often than any one of them.
		for i := range dets {
			var sum [trainer.NumClasses]float64
			for _, c := range cands {
				if IoU(c.Box, dets[i].Box.Rect()) >= 0.5 {
					for k := range sum {
						sum[k] += c.Score * c.Probs[k]
					}
				}
			}
			dets[i].probs = sum
			dets[i].setClass(p.cfg.Names)
		}
	}
	if p.cfg.Refine {
		for i := range dets {
			dets[i].Box = ToXYWH(Refine(g, dets[i].Box.Rect()))
		}
		if rescore {
			if err := p.relabel(ctx, g, dets); err != nil {
				return nil, err
			}
			return slices.DeleteFunc(dets, func(d Detection) bool { return d.Score <= threshold }), nil
		}
	}
	return dets, nil
}

// relabels: choose classifies the refined boxes again.
func (p *pipeline) relabels() bool { return p.set.Relabel }

// relabel classifies each detection's refined box once more and takes that
// label, and as score the geometric mean of its score and the refined
// crop's: the refined box frames the item as the data set does. Whether
// that helps depends on the model (on the seed-3 test video, +0.03
// precision and recall with one, -0.03 with another), so a detection
// model's validation scenes choose it (DetData.validate).
func (p *pipeline) relabel(ctx context.Context, g Gray, dets []Detection) error {
	var todo []int // detections not in the cache
	for i, d := range dets {
		if r, ok := p.labels[labelKey{p.frameID, d.Box.Rect()}]; ok {
			dets[i].probs, dets[i].item = r.probs, r.item
			dets[i].Score = math.Sqrt(dets[i].Score * r.item)
			dets[i].setClass(p.cfg.Names)
		} else {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	batch := (len(todo) + 7) / 8 * 8
	images := make([]float32, batch*trainer.Pixels)
	for k, i := range todo {
		p.prepareCrop(g, dets[i].Box.Rect(), images[k*trainer.Pixels:(k+1)*trainer.Pixels])
	}
	return trainer.Predict(ctx, p.cfg.Model, images, batch, func(k int, logits []float32) {
		if k >= len(todo) {
			return
		}
		d := &dets[todo[k]]
		probs := softmax(logits)
		var item float64
		for c := range trainer.NumClasses {
			item += probs[c]
		}
		for c := range d.probs {
			d.probs[c] = probs[c] / item
		}
		d.item = 1
		if p.bg >= 0 {
			d.item = 1 - probs[p.bg]
		}
		d.Score = math.Sqrt(d.Score * d.item)
		d.setClass(p.cfg.Names)
		if p.labels != nil {
			p.labels[labelKey{p.frameID, d.Box.Rect()}] = relabelled{d.probs, d.item}
		}
	})
}

// softmax is the probability of each class.
func softmax(logits []float32) []float64 {
	top := logits[trainer.Argmax(logits)]
	out := make([]float64, len(logits))
	var sum float64
	for i, v := range logits {
		out[i] = math.Exp(float64(v - top))
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// argmax is the index of the largest value (the first on a tie).
func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
