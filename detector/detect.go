package detector

import (
	"context"
	"fmt"
	"image"
	"math"
	"slices"
	"time"

	"gocv.io/x/gocv"

	"fmnist/archs"
	"fmnist/trainer"
)

// Config of a detection run.
type Config struct {
	In, Out   string
	Model     *archs.Model
	Names     []string // class names, index = class
	Threshold float64  // keep a label when its top softmax probability > Threshold
	Mode      Mode
	// SeedPipeline reproduces the seed: crops stretched to 28x28, grey
	// levels 0-255, never inverted, no non-maximum suppression.
	SeedPipeline bool
	// ProposalSide: selective search runs on the frame downscaled (area
	// averaging) so its longer side is at most this many pixels, and its
	// boxes are scaled back; 0 runs it at full resolution.
	ProposalSide int
	// K and Sigma of the graph segmentation. The seed used k 500 and sigma
	// 0.9 on 640x480 frames; k is a region scale in pixels, so on our
	// 160x120 proposal frames we use k 100, which gave the best proposal
	// recall on synthetic video (k 200: fewer hits, k 50: slower, no better).
	K     int
	Sigma float64
	// MaxAspect: proposals with w/h or h/w above it are dropped (seed 1.2).
	MaxAspect float64
	// NoMerge skips the seed's near-duplicate merging (ours only; NMS
	// removes duplicates after classification anyway).
	NoMerge bool
	// MinContrast: a prepared crop whose brightest level is less than this
	// many grey levels above its border's mean is not classified (ours
	// only). On synthetic video (seed 7), 60 dropped 62% of the false
	// positives and 9% of the true ones.
	MinContrast float64
	// NMSIoU: detections overlapping a better one by more than this IoU are
	// dropped (ours only).
	NMSIoU float64
	// NMSNested: a detection of which more than this fraction lies inside a
	// better one, or which holds a better one to that extent, is dropped
	// too (ours only; > 1 turns it off).
	NMSNested float64
	// MaxFrac: proposals covering more than this fraction of the frame are
	// dropped (ours only): the whole frame, or most of it, is not an item.
	MaxFrac float64
	Truth   *Truth // optional
}

// DefaultConfig has the defaults of `fmnist detect`.
func DefaultConfig() Config {
	return Config{Threshold: 0.9, Mode: ModeSingle, ProposalSide: 160, K: 100, Sigma: 0.9, MaxAspect: SeedMaxAspect, MinContrast: 60, NMSIoU: 0.3, NMSNested: 0.8, MaxFrac: 0.5}
}

// Event is anything a detection run reports; consumers switch on the type.
type Event interface{ isEvent() }

// Started: the input is open and its first frame read.
type Started struct {
	In, Out      string
	W, H         int
	FPS          float64
	Mode         string
	SeedPipeline bool
	MinSize      int // proposal size threshold at this frame size
	Time         time.Time
}

// StageMillis are the milliseconds one frame spent in each stage.
type StageMillis struct {
	Decode    float64 `json:"decode"`
	Proposals float64 `json:"proposals"`
	Prepare   float64 `json:"prepare"`
	Classify  float64 `json:"classify"`
	DrawWrite float64 `json:"draw_write"`
	Total     float64 `json:"total"`
}

func (s *StageMillis) add(o StageMillis, k float64) {
	s.Decode += k * o.Decode
	s.Proposals += k * o.Proposals
	s.Prepare += k * o.Prepare
	s.Classify += k * o.Classify
	s.DrawWrite += k * o.DrawWrite
	s.Total += k * o.Total
}

// FrameDone: one frame was processed and written.
type FrameDone struct {
	Index     int         `json:"index"`
	Proposals int         `json:"proposals"` // raw selective-search proposals
	Regions   int         `json:"regions"`   // after filtering and merging: classified in one batch
	Boxes     []Detection `json:"boxes"`     // drawn (label probability > threshold)
	Millis    StageMillis `json:"ms"`
	Truth     *Counts     `json:"-"` // matching counts, with a truth file
}

// Summary is the last event: totals and means, and the error that ended the
// run early, if any.
type Summary struct {
	Frames         int            `json:"frames"`
	FramesLabelled int            `json:"frames_labelled"`
	Detections     int            `json:"detections"`
	PerClass       map[string]int `json:"detections_per_class"`
	Seconds        float64        `json:"seconds"`
	FPS            float64        `json:"frames_per_second"`
	MeanMillis     StageMillis    `json:"mean_ms"`
	Metrics        *Metrics       `json:"metrics,omitempty"`
	Err            string         `json:"error,omitempty"`
}

func (Started) isEvent()   {}
func (FrameDone) isEvent() {}
func (Summary) isEvent()   {}

// Job is an opened detection run: input readable with a first frame, output
// writable, model present.
type Job struct {
	cfg     Config
	r       *Reader
	w       *Writer
	first   []byte
	firstMs float64 // decoding the first frame
	started Started
}

// Open checks everything that can be checked before processing: the model,
// the input (a video with at least one frame), the truth's frame size and
// the output path. Errors are one line.
func Open(cfg Config) (*Job, error) {
	if cfg.Model == nil {
		return nil, fmt.Errorf("no model")
	}
	if len(cfg.Names) != trainer.NumClasses {
		return nil, fmt.Errorf("want %d class names, got %d", trainer.NumClasses, len(cfg.Names))
	}
	if cfg.Threshold < 0 || cfg.Threshold >= 1 || math.IsNaN(cfg.Threshold) {
		return nil, fmt.Errorf("threshold %g must be in [0, 1)", cfg.Threshold)
	}
	if cfg.K <= 0 || cfg.Sigma <= 0 || cfg.MaxAspect < 1 || cfg.NMSIoU <= 0 || cfg.NMSIoU > 1 || cfg.ProposalSide < 0 {
		return nil, fmt.Errorf("invalid proposal settings (k %d, sigma %g, max aspect %g, NMS IoU %g, proposal side %d)", cfg.K, cfg.Sigma, cfg.MaxAspect, cfg.NMSIoU, cfg.ProposalSide)
	}
	if err := CheckWritable(cfg.Out, "output video"); err != nil {
		return nil, err
	}
	r, err := OpenReader(cfg.In)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	first, err := r.Next()
	firstMs := millis(time.Since(t0))
	if err != nil {
		r.Close()
		return nil, err
	}
	if first == nil {
		r.Close()
		return nil, fmt.Errorf("input %s has no frames", cfg.In)
	}
	if t := cfg.Truth; t != nil && (t.Width != r.W || t.Height != r.H) {
		r.Close()
		return nil, fmt.Errorf("truth is for %dx%d frames, the video's are %dx%d", t.Width, t.Height, r.W, r.H)
	}
	w, err := OpenWriter(cfg.Out, r.W, r.H, r.FPS)
	if err != nil {
		r.Close()
		return nil, err
	}
	j := &Job{cfg: cfg, r: r, w: w, first: first, firstMs: firstMs}
	j.started = Started{In: cfg.In, Out: cfg.Out, W: r.W, H: r.H, FPS: r.FPS, Mode: cfg.Mode.String(),
		SeedPipeline: cfg.SeedPipeline, MinSize: MinSizeFor(r.W, r.H), Time: time.Now()}
	return j, nil
}

// Run processes every frame and streams events: Started, one FrameDone per
// frame, and a final Summary. The channel closes after the Summary. A
// cancelled context ends the run early (the Summary says so).
func (j *Job) Run(ctx context.Context) <-chan Event {
	ch := make(chan Event, 16)
	go func() {
		defer close(ch)
		ch <- j.started
		ch <- j.process(ctx, ch)
	}()
	return ch
}

// Label of class c.
func (j *Job) label(c int) string { return j.cfg.Names[c] }

func (j *Job) process(ctx context.Context, ch chan<- Event) Summary {
	defer j.r.Close()
	defer j.w.Close()
	cfg := j.cfg
	W, H := j.r.W, j.r.H
	bounds := image.Rect(0, 0, W, H)
	minSize := MinSizeFor(W, H)
	sum := Summary{PerClass: map[string]int{}}
	var total StageMillis
	var counts Counts
	perClass := make([]Counts, len(cfg.Names))
	evaluated, truthItems := 0, 0

	// Proposal frame size.
	pw, ph := W, H
	if s := cfg.ProposalSide; s > 0 && max(W, H) > s {
		f := float64(s) / float64(max(W, H))
		pw, ph = max(2, int(math.Round(float64(W)*f))), max(2, int(math.Round(float64(H)*f)))
	}
	frame := gocv.NewMat()
	defer frame.Close()
	gray := gocv.NewMat()
	defer gray.Close()
	small := gocv.NewMat()
	defer small.Close()

	start := time.Now()
	bgr, decodeMs := j.first, j.firstMs
	fail := func(err error) Summary {
		sum.Err = oneLine(err.Error())
		return sum
	}
	for i := 0; bgr != nil; i++ {
		if err := ctx.Err(); err != nil {
			j.w.Close()
			return j.finish(sum, total, start, counts, perClass, evaluated, truthItems, "cancelled after "+fmt.Sprint(i)+" frames")
		}
		var ms StageMillis
		ms.Decode = decodeMs
		t0 := time.Now()

		// Proposals on the (downscaled) colour frame.
		m, err := gocv.NewMatFromBytes(H, W, gocv.MatTypeCV8UC3, bgr)
		if err != nil {
			return fail(err)
		}
		m.CopyTo(&frame)
		m.Close()
		pbytes := bgr
		if pw != W || ph != H {
			gocv.Resize(frame, &small, image.Pt(pw, ph), 0, 0, gocv.InterpolationArea)
			if small.Cols() != pw || small.Rows() != ph || small.Type() != gocv.MatTypeCV8UC3 {
				return fail(fmt.Errorf("resizing frame %d for proposals failed", i))
			}
			pbytes = small.ToBytes()
		}
		raw, err := SelectiveSearch(pbytes, pw, ph, cfg.Mode, cfg.K, cfg.Sigma)
		if err != nil {
			return fail(fmt.Errorf("frame %d: %v", i, err))
		}
		rects := make([]image.Rectangle, 0, len(raw))
		for _, r := range raw {
			if pw != W || ph != H {
				r = scaleRect(r, pw, ph, W, H)
			}
			rects = append(rects, r)
		}
		rects = FilterSeed(rects, minSize, cfg.MaxAspect)
		if !cfg.SeedPipeline && cfg.MaxFrac > 0 {
			big := cfg.MaxFrac * float64(W*H)
			rects = slices.DeleteFunc(rects, func(r image.Rectangle) bool { return float64(r.Dx()*r.Dy()) > big })
		}
		if cfg.SeedPipeline || !cfg.NoMerge {
			rects = MergeSeed(rects, SeedMergeDist, bounds)
		}
		t1 := time.Now()
		ms.Proposals = millis(t1.Sub(t0))

		// Prepare the crops from the grey frame.
		gocv.CvtColor(frame, &gray, gocv.ColorBGRToGray)
		if gray.Cols() != W || gray.Rows() != H || gray.Type() != gocv.MatTypeCV8UC1 {
			return fail(fmt.Errorf("frame %d: grey conversion failed", i))
		}
		g := Gray{Pix: gray.ToBytes(), W: W, H: H}
		n := len(rects)
		batch := (n + 7) / 8 * 8 // few distinct batch sizes: few compiled graphs
		images := make([]float32, batch*trainer.Pixels)
		kept := rects[:0:0]
		for _, r := range rects {
			dst := images[len(kept)*trainer.Pixels : (len(kept)+1)*trainer.Pixels]
			if cfg.SeedPipeline {
				PrepareSeed(g, r, dst)
			} else if st := Prepare(g, r, dst); st.Contrast < cfg.MinContrast {
				clear(dst) // too flat to be an item: not classified
				continue
			}
			kept = append(kept, r)
		}
		rects, n = kept, len(kept)
		batch = (n + 7) / 8 * 8
		images = images[:batch*trainer.Pixels]
		t2 := time.Now()
		ms.Prepare = millis(t2.Sub(t1))

		// Classify all regions of the frame in one batch.
		var dets []Detection
		if n > 0 {
			err := trainer.Predict(ctx, cfg.Model, images, batch, func(k int, logits []float32) {
				if k >= n {
					return
				}
				c, p := topSoftmax(logits)
				if p > cfg.Threshold {
					dets = append(dets, Detection{Box: ToXYWH(rects[k]), Class: c, Label: j.label(c), Score: p})
				}
			})
			if err != nil {
				if ctx.Err() != nil {
					continue // reported at the top of the loop
				}
				return fail(fmt.Errorf("frame %d: classifying: %v", i, err))
			}
		}
		if !cfg.SeedPipeline && len(dets) > 1 {
			boxes := make([]image.Rectangle, len(dets))
			scores := make([]float64, len(dets))
			for k, d := range dets {
				boxes[k], scores[k] = d.Box.Rect(), d.Score
			}
			keep := NMSNested(boxes, scores, cfg.NMSIoU, cfg.NMSNested)
			kept := make([]Detection, len(keep))
			for k, idx := range keep {
				kept[k] = dets[idx]
			}
			dets = kept
		}
		t3 := time.Now()
		ms.Classify = millis(t3.Sub(t2))

		// Draw and write.
		thickness := 2
		if cfg.SeedPipeline {
			thickness = 5
		}
		annotate(&frame, dets, thickness)
		if err := j.w.Write(frame); err != nil {
			return fail(err)
		}
		t4 := time.Now()
		ms.DrawWrite = millis(t4.Sub(t3))

		// Read the next frame (its decode time belongs to the next frame).
		next, err := j.r.Next()
		if err != nil {
			j.w.Close()
			return fail(err)
		}
		decodeMs = millis(time.Since(t4))
		bgr = next
		ms.Total = ms.Decode + ms.Proposals + ms.Prepare + ms.Classify + ms.DrawWrite

		ev := FrameDone{Index: i, Proposals: len(raw), Regions: n, Boxes: dets, Millis: ms}
		if dets == nil {
			ev.Boxes = []Detection{}
		}
		if cfg.Truth != nil && i < len(cfg.Truth.Frames) {
			items := cfg.Truth.Frames[i].Items
			o, pc := MatchFrame(dets, items, len(cfg.Names))
			counts.Add(o)
			for c := range pc {
				perClass[c].Add(pc[c])
			}
			evaluated++
			truthItems += len(items)
			ev.Truth = &o
		}
		sum.Frames++
		if len(dets) > 0 {
			sum.FramesLabelled++
		}
		for _, d := range dets {
			sum.Detections++
			sum.PerClass[d.Label]++
		}
		total.add(ms, 1)
		select {
		case ch <- ev:
		case <-ctx.Done():
		}
	}
	if err := j.w.Close(); err != nil {
		return fail(fmt.Errorf("closing output: %v", err))
	}
	return j.finish(sum, total, start, counts, perClass, evaluated, truthItems, "")
}

func (j *Job) finish(sum Summary, total StageMillis, start time.Time, counts Counts, perClass []Counts, evaluated, truthItems int, errMsg string) Summary {
	sum.Seconds = time.Since(start).Seconds()
	if sum.Seconds > 0 {
		sum.FPS = float64(sum.Frames) / sum.Seconds
	}
	if sum.Frames > 0 {
		sum.MeanMillis.add(total, 1/float64(sum.Frames))
	}
	if j.cfg.Truth != nil {
		mt := &Metrics{FramesEvaluated: evaluated, TruthItems: truthItems, Overall: counts.Scores(), PerClass: map[string]Scores{}}
		for c, pc := range perClass {
			mt.PerClass[j.cfg.Names[c]] = pc.Scores()
		}
		sum.Metrics = mt
	}
	sum.Err = errMsg
	if t := j.cfg.Truth; t != nil && errMsg == "" && sum.Frames != len(t.Frames) {
		sum.Err = fmt.Sprintf("the truth file has %d frames, the video %d: the metrics cover only %d frames", len(t.Frames), sum.Frames, evaluated)
	}
	return sum
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// topSoftmax returns the most probable class and its softmax probability.
func topSoftmax(logits []float32) (int, float64) {
	best := trainer.Argmax(logits)
	var s float64
	for _, v := range logits {
		s += math.Exp(float64(v - logits[best]))
	}
	return best, 1 / s
}
