package detector

import (
	"context"
	"fmt"
	"image"
	"math"
	"runtime"
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
	// MinArea: proposals smaller than this fraction of the frame are dropped;
	// 0 is the seed's 2000 px of a 640x480 frame (0.65%).
	MinArea float64
	// Refine fits each detection's box to the item in it (Refine).
	Refine bool
	// Temporal keeps a detection only when the frame before or after has
	// one of the same class over it (IoU >= 0.3), or when its probability
	// is at least TemporalSure: an item in a video stays for more than one
	// frame, a false detection on texture rarely does. Frames are then
	// written one frame late.
	Temporal     bool
	TemporalSure float64
	// FillGaps (with Temporal): an item detected in the frames before and
	// after a frame (boxes with IoU >= 0.3) but not in it gets a detection
	// there too, between the two boxes, with the lower score and their
	// labels' vote: a detection that flickers out for one frame.
	FillGaps bool
	// Objectness: with a detection model, a region's score is the
	// probability that it holds an item, 1 - P(background), and its label
	// the most probable of the ten classes; otherwise the score is the
	// label's own probability.
	Objectness bool
	// Vote: a detection's label is the score-weighted vote of the
	// candidates over it in its frame and, with Temporal, of the detections
	// over it in the frames before and after.
	Vote bool
	// Relabel: with Refine, each detection's refined box is classified
	// again, and that label replaces the vote of its frame.
	Relabel bool
	Truth   *Truth // optional
}

// DefaultConfig has the defaults of `fmnist detect` with a ten-class model:
// the seed's proposal filters, with our crop preparation and NMS.
func DefaultConfig() Config {
	return Config{Threshold: 0.9, Mode: ModeSingle, ProposalSide: 160, K: 100, Sigma: 0.9, MaxAspect: SeedMaxAspect, MinContrast: 60, NMSIoU: 0.3, NMSNested: 0.8, MaxFrac: 0.5}
}

// DetDefaultConfig has the defaults of `fmnist detect` with a detection
// model (ten classes and background), the settings measured best on
// validation scenes: no square-aspect filter or merging (the model tells
// items from background and parts), small proposals kept, boxes refined,
// detections confirmed across frames. The threshold is the one stored with
// the model.
func DetDefaultConfig() Config {
	c := DefaultConfig()
	c.MaxAspect, c.NoMerge, c.MinArea, c.MinContrast = DetMaxAspect, true, DetMinArea, DetMinContrast
	c.Refine, c.Relabel, c.Temporal, c.TemporalSure, c.FillGaps = true, true, true, DetTemporalSure, true
	c.ProposalSide, c.K, c.Objectness, c.Vote = DetProposalSide, DetK, true, true
	return c
}

// Settings of the detection pipeline (DetDefaultConfig), shared with the
// training of detection models, which must see the proposals detect sees.
const (
	DetMaxAspect    = 4.0
	DetMinArea      = 0.002 // 154 px at 320x240: a 30 px trouser is about 12x30
	DetMinContrast  = 20
	DetTemporalSure = 0.995
	// Selective search on the frame scaled to a longer side of 240 px with
	// k 150: 99.6% of the items of a test video have a proposal with IoU >=
	// 0.5 (160 px and k 100: 88%; 200 px: 98% at two thirds of the cost).
	// Chosen on two validation-split videos (300 frames, seeds 11 and 12)
	// with the detection model CNN2_det-20261129-035429: recall 0.588 /
	// 0.676 / 0.690 / 0.657 at 200 / 240 / 260 / 320 (full size) px on one,
	// 0.798 / 0.800 / 0.797 at 240 / 260 / 320 on the other, precision
	// within 0.01 of the best at 240; 260 and up cost more for no more.
	DetProposalSide = 240
	DetK            = 150
)

// Settings are a run's pipeline settings as in effect (`detect --json`
// writes them): the seed's pipeline leaves out most of ours, whatever the
// Config says.
type Settings struct {
	ProposalSide int     `json:"proposal_side"` // 0: full size
	K            int     `json:"k"`
	Sigma        float64 `json:"sigma"`
	MaxAspect    float64 `json:"max_aspect"`
	Merge        bool    `json:"merge"`
	MinArea      float64 `json:"min_area"`     // fraction of the frame (min_region_px: in pixels)
	MinContrast  float64 `json:"min_contrast"` // 0: no contrast check
	Score        string  `json:"score"`        // item (1 - P(background)) or class (the label's probability)
	Vote         bool    `json:"vote"`
	Refine       bool    `json:"refine"`
	Relabel      bool    `json:"relabel"`
	Temporal     bool    `json:"temporal"`
	FillGaps     bool    `json:"fill_gaps"`
}

// Settings are c's settings as a run uses them.
func (c Config) Settings() Settings {
	ours := !c.SeedPipeline
	s := Settings{ProposalSide: c.ProposalSide, K: c.K, Sigma: c.Sigma, MaxAspect: c.MaxAspect,
		Merge: c.SeedPipeline || !c.NoMerge, MinArea: float64(SeedMinSize) / SeedFrameArea, Score: "class",
		Vote: ours && c.Vote, Refine: ours && c.Refine, Relabel: ours && c.Refine && c.Relabel,
		Temporal: ours && c.Temporal}
	s.FillGaps = s.Temporal && c.FillGaps
	if ours {
		s.MinContrast = c.MinContrast
		if c.MinArea > 0 {
			s.MinArea = c.MinArea
		}
	}
	if c.Objectness && BackgroundClass(c.Model) >= 0 {
		s.Score = "item"
	}
	return s
}

// minSize is the smallest proposal area kept at w x h.
func (c Config) minSize(w, h int) int {
	if c.MinArea > 0 && !c.SeedPipeline {
		return int(math.Round(c.MinArea * float64(w*h)))
	}
	return MinSizeFor(w, h)
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
	MinSize      int     // proposal size threshold at this frame size
	Background   bool    // the model has a background class
	Threshold    float64 // probability a label needs
	Settings     Settings
	Time         time.Time
}

// StageMillis are the milliseconds one frame spent in each stage.
type StageMillis struct {
	Decode    float64 `json:"decode"`
	Proposals float64 `json:"proposals"`
	Prepare   float64 `json:"prepare"`
	Classify  float64 `json:"classify"`
	DrawWrite float64 `json:"draw_write"` // boxes drawn, frame written, thumbnail made
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
	Index      int         `json:"index"`
	Proposals  int         `json:"proposals"`  // raw selective-search proposals
	Regions    int         `json:"regions"`    // after filtering and merging: classified in one batch
	Background int         `json:"background"` // regions the model called background (a detection model)
	Boxes      []Detection `json:"boxes"`      // drawn (label probability > threshold)
	Millis     StageMillis `json:"ms"`
	// Elapsed is the wall-clock time from the start of the run (as
	// Summary.Seconds) to this frame's being written: frames done over it
	// is the rate so far, the stage times' sum is not (proposals run
	// ahead, on other cores).
	Elapsed time.Duration `json:"-"`
	Truth   *Counts       `json:"-"` // matching counts, with a truth file
	// Thumb is the frame as written, scaled down (thumbnail); only some
	// frames carry one (thumbEvery), the others nil. Not in the JSON report.
	Thumb *Thumb `json:"-"`
}

// Thumb is a small copy of a frame as written, boxes and labels drawn: W x
// H pixels, row-major, 3 bytes (R, G, B) a pixel.
type Thumb struct {
	W, H int
	Pix  []byte
}

// ThumbSide is the longest side of a Thumb, in pixels. A thumbnail is made
// at most every thumbEvery (the first frame always gets one): a viewer
// redraws no faster, and each costs a resize, a colour conversion and a
// copy (about 60 KB at 160x120).
const (
	ThumbSide  = 160
	thumbEvery = 250 * time.Millisecond
)

// thumbSize is the size of the thumbnail of a w x h frame: scaled so that
// its longer side is at most ThumbSide, never enlarged.
func thumbSize(w, h int) (int, int) {
	if m := max(w, h); m > ThumbSide {
		f := float64(ThumbSide) / float64(m)
		return max(1, int(math.Round(float64(w)*f))), max(1, int(math.Round(float64(h)*f)))
	}
	return w, h
}

// thumbnail is frame (8-bit BGR) scaled by area averaging (INTER_AREA) to
// thumbSize, as RGB; small and rgb are its buffers. Nil if OpenCV fails.
func thumbnail(frame gocv.Mat, small, rgb *gocv.Mat) *Thumb {
	w, h := frame.Cols(), frame.Rows()
	if w <= 0 || h <= 0 || frame.Type() != gocv.MatTypeCV8UC3 {
		return nil
	}
	tw, th := thumbSize(w, h)
	src := frame
	if tw != w || th != h {
		gocv.Resize(frame, small, image.Pt(tw, th), 0, 0, gocv.InterpolationArea)
		src = *small
	}
	gocv.CvtColor(src, rgb, gocv.ColorBGRToRGB)
	if rgb.Cols() != tw || rgb.Rows() != th || rgb.Type() != gocv.MatTypeCV8UC3 {
		return nil
	}
	return &Thumb{W: tw, H: th, Pix: rgb.ToBytes()}
}

// Summary is the last event: totals and means, and the error that ended the
// run early, if any.
type Summary struct {
	Frames         int            `json:"frames"`
	FramesLabelled int            `json:"frames_labelled"`
	Detections     int            `json:"detections"`
	Background     int            `json:"rejected_as_background"`
	PerClass       map[string]int `json:"detections_per_class"`
	Seconds        float64        `json:"seconds"`
	FPS            float64        `json:"frames_per_second"`
	MeanMillis     StageMillis    `json:"mean_ms"`
	Metrics        *Metrics       `json:"metrics,omitempty"`
	Err            string         `json:"error,omitempty"`
	// VideoWritten: the output video is at its path, with every frame
	// processed (all of them, or those before a cancel). After an error
	// otherwise, a file that was there before is left as it was.
	VideoWritten bool `json:"video_written"`
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
	if k := cfg.Model.Spec.NumClasses(); k != trainer.NumClasses && k != trainer.NumClasses+1 {
		return nil, fmt.Errorf("model %s has %d classes: a detector needs the %d Fashion-MNIST classes, with or without background", cfg.Model.Spec.Name, k, trainer.NumClasses)
	}
	if cfg.Threshold < 0 || cfg.Threshold >= 1 || math.IsNaN(cfg.Threshold) {
		return nil, fmt.Errorf("threshold %g must be in [0, 1)", cfg.Threshold)
	}
	// Negated comparisons refuse NaN too.
	if cfg.K <= 0 || !(cfg.Sigma > 0) || !(cfg.MaxAspect >= 1) || !(cfg.NMSIoU > 0 && cfg.NMSIoU <= 1) || cfg.ProposalSide < 0 {
		return nil, fmt.Errorf("invalid proposal settings (k %d, sigma %g, max aspect %g, NMS IoU %g, proposal side %d)", cfg.K, cfg.Sigma, cfg.MaxAspect, cfg.NMSIoU, cfg.ProposalSide)
	}
	if !(cfg.MinArea >= 0 && cfg.MinArea < 1) || !(cfg.MinContrast >= 0) || math.IsInf(cfg.MinContrast, 0) {
		return nil, fmt.Errorf("min area %g must be in [0, 1), min contrast %g at least 0", cfg.MinArea, cfg.MinContrast)
	}
	if SamePath(cfg.In, cfg.Out) {
		return nil, fmt.Errorf("the output video %s is the input video", cfg.Out)
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
		SeedPipeline: cfg.SeedPipeline, MinSize: cfg.minSize(r.W, r.H), Background: BackgroundClass(cfg.Model) >= 0,
		Threshold: cfg.Threshold, Settings: cfg.Settings(), Time: time.Now()}
	return j, nil
}

// Run processes every frame and streams events: Started, one FrameDone per
// frame, and a final Summary. The channel closes after the Summary; the
// caller reads every event until then. A cancelled context ends the run
// early (the Summary says so), every frame written still reported.
func (j *Job) Run(ctx context.Context) <-chan Event {
	ch := make(chan Event, 16)
	go func() {
		defer close(ch)
		ch <- j.started
		ch <- j.process(ctx, ch)
	}()
	return ch
}

// pending is a processed frame not yet written: with Temporal, a frame's
// detections wait for the next frame's.
type pending struct {
	bgr  []byte
	dets []Detection // before confirmation
	ev   FrameDone   // all but the boxes and the drawing time
}

func (j *Job) process(ctx context.Context, ch chan<- Event) Summary {
	defer j.r.Close()
	defer j.w.Abort() // after an error; Close keeps a finished or cancelled run's video
	cfg := j.cfg
	p := newPipeline(cfg, j.r.W, j.r.H)
	defer p.close()
	sum := Summary{PerClass: map[string]int{}}
	var total StageMillis
	var counts Counts
	perClass := make([]Counts, len(cfg.Names))
	evaluated, truthItems := 0, 0
	out := gocv.NewMat()
	defer out.Close()
	thumbSmall, thumbRGB := gocv.NewMat(), gocv.NewMat()
	defer thumbSmall.Close()
	defer thumbRGB.Close()
	var lastThumb time.Time // when the latest thumbnail was made

	start := time.Now()
	fail := func(err error) Summary { // the totals of the frames done, and the error
		return j.finish(sum, total, start, counts, perClass, evaluated, truthItems, oneLine(err.Error()))
	}
	temporal := cfg.Settings().Temporal
	// emit draws, writes and reports frame f; next (may be nil) is the frame
	// after it, for Temporal.
	var prev []Detection // the detections of the frame emitted last, before confirmation
	emit := func(f, next *pending) error {
		t0 := time.Now()
		dets := f.dets
		if temporal {
			var nextDets []Detection
			if next != nil {
				nextDets = next.dets
			}
			dets = cfg.acrossFrames(f.dets, prev, nextDets)
		}
		m, err := gocv.NewMatFromBytes(p.H, p.W, gocv.MatTypeCV8UC3, f.bgr)
		if err != nil {
			return err
		}
		m.CopyTo(&out)
		m.Close()
		thickness := 2
		if cfg.SeedPipeline {
			thickness = 5
		}
		annotate(&out, dets, thickness)
		if err := j.w.Write(out); err != nil {
			return err
		}
		ev := f.ev
		if now := time.Now(); now.Sub(lastThumb) >= thumbEvery {
			ev.Thumb, lastThumb = thumbnail(out, &thumbSmall, &thumbRGB), now
		}
		ev.Millis.DrawWrite = millis(time.Since(t0))
		ev.Millis.Total = ev.Millis.Decode + ev.Millis.Proposals + ev.Millis.Prepare + ev.Millis.Classify + ev.Millis.DrawWrite
		ev.Boxes = dets
		ev.Elapsed = time.Since(start)
		if dets == nil {
			ev.Boxes = []Detection{}
		}
		if cfg.Truth != nil && ev.Index < len(cfg.Truth.Frames) {
			items := cfg.Truth.Frames[ev.Index].Items
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
		sum.Background += ev.Background
		if len(dets) > 0 {
			sum.FramesLabelled++
		}
		for _, d := range dets {
			sum.Detections++
			sum.PerClass[d.Label]++
		}
		total.add(ev.Millis, 1)
		prev = f.dets
		// Sent even when cancelled: the frame is in the video and the
		// summary, so the report has it too.
		ch <- ev
		return nil
	}
	var held *pending
	ahead, cancel := context.WithCancel(ctx)
	frames, wait := j.proposeAhead(ahead, j.first, j.firstMs, runtime.GOMAXPROCS(0))
	// Deferred after the reader's Close, so run before it: stop the
	// front, then wait for it to let go of the reader.
	defer wait()
	defer cancel()
	for out := range frames {
		fr := <-out
		if err := ctx.Err(); err != nil {
			if held != nil {
				if err := emit(held, nil); err != nil {
					return fail(err)
				}
			}
			return j.cancelled(sum, total, start, counts, perClass, evaluated, truthItems)
		}
		if fr.err != nil {
			return fail(fr.err)
		}
		f := &pending{bgr: fr.bgr}
		f.ev.Index = fr.index
		f.ev.Millis.Decode = fr.decodeMs
		f.ev.Millis.Proposals = fr.proposalsMs
		t1 := time.Now()
		p.half = fr.half
		rects, images := p.prepare(fr.g, fr.rects)
		t2 := time.Now()
		f.ev.Millis.Prepare = millis(t2.Sub(t1))
		cands, background, err := p.classify(ctx, rects, images)
		if err != nil {
			if ctx.Err() != nil {
				continue // reported at the top of the loop
			}
			return fail(fmt.Errorf("frame %d: classifying: %v", fr.index, err))
		}
		if f.dets, err = p.choose(ctx, fr.g, cands, cfg.Threshold); err != nil {
			if ctx.Err() != nil {
				continue
			}
			return fail(fmt.Errorf("frame %d: classifying: %v", fr.index, err))
		}
		f.ev.Millis.Classify = millis(time.Since(t2))
		f.ev.Proposals, f.ev.Regions, f.ev.Background = fr.raw, len(rects), background

		// The frame before waited for this one.
		if temporal {
			if held != nil {
				if err := emit(held, f); err != nil {
					return fail(err)
				}
			}
			held = f
		} else if err := emit(f, nil); err != nil {
			return fail(err)
		}
	}
	if err := ctx.Err(); err != nil {
		if held != nil {
			if err := emit(held, nil); err != nil {
				return fail(err)
			}
		}
		return j.cancelled(sum, total, start, counts, perClass, evaluated, truthItems)
	}
	if held != nil {
		if err := emit(held, nil); err != nil {
			return fail(err)
		}
	}
	if err := j.w.Close(); err != nil {
		return fail(fmt.Errorf("closing output: %v", err))
	}
	sum.VideoWritten = true
	// A truth file of another length is an error (finish), with every frame
	// written: the video is whole, the metrics are not.
	return j.finish(sum, total, start, counts, perClass, evaluated, truthItems, "")
}

// confirm keeps the detections of a frame that the frame before or after
// (either may be empty) confirms with a detection over it (IoU >= 0.3; of
// the same class unless vote), and those whose score is at least sure. With
// vote, the label becomes the vote of the detection and those confirming it.
func confirm(dets, prev, next []Detection, sure float64, vote bool, names []string) []Detection {
	var out []Detection
	for _, d := range dets {
		ok := d.Score >= sure
		sum := d.probs
		for _, other := range [][]Detection{prev, next} {
			for _, e := range other {
				if (vote || e.Class == d.Class) && IoU(e.Box.Rect(), d.Box.Rect()) >= 0.3 {
					ok = true
					for k := range sum {
						sum[k] += e.probs[k]
					}
					break
				}
			}
		}
		if ok {
			if vote {
				d.probs = sum
				d.setClass(names)
			}
			out = append(out, d)
		}
	}
	return out
}

// acrossFrames is the frame step of Temporal: a frame's detections dets
// confirmed by the frames before and after (either may be empty), and with
// FillGaps the items those two have and dets lacks.
func (c Config) acrossFrames(dets, prev, next []Detection) []Detection {
	out := confirm(dets, prev, next, c.TemporalSure, c.Vote, c.Names)
	if c.FillGaps {
		out = append(out, fillGaps(dets, prev, next, c.Vote, c.Names)...)
	}
	return out
}

// fillGaps returns a detection for each item that the frames before and
// after have (a detection in each, IoU >= 0.3, of the same class unless
// vote) and dets, this frame's, lacks (nothing over either box): the mean
// of the two boxes, the lower score, and the two labels' vote.
func fillGaps(dets, prev, next []Detection, vote bool, names []string) []Detection {
	var out []Detection
	over := func(r image.Rectangle) bool {
		for _, d := range dets {
			if IoU(d.Box.Rect(), r) >= 0.3 {
				return true
			}
		}
		return false
	}
	for _, a := range prev {
		for _, b := range next {
			if !vote && a.Class != b.Class || IoU(a.Box.Rect(), b.Box.Rect()) < 0.3 {
				continue
			}
			if over(a.Box.Rect()) || over(b.Box.Rect()) {
				break
			}
			g := Detection{Score: min(a.Score, b.Score), Class: a.Class, Label: a.Label, item: -1}
			for k := range g.Box {
				g.Box[k] = (a.Box[k] + b.Box[k] + 1) / 2
			}
			for k := range g.probs {
				g.probs[k] = a.probs[k] + b.probs[k]
			}
			if vote {
				g.setClass(names)
			}
			out = append(out, g)
			break
		}
	}
	return out
}

// cancelled ends a cancelled run: the frames written so far are kept as
// the output video, unless closing it fails, which the error then says.
func (j *Job) cancelled(sum Summary, total StageMillis, start time.Time, counts Counts, perClass []Counts, evaluated, truthItems int) Summary {
	msg := "cancelled after " + fmt.Sprint(sum.Frames) + " frames"
	if err := j.w.Close(); err != nil {
		msg += "; closing output: " + oneLine(err.Error())
	} else {
		sum.VideoWritten = true
	}
	return j.finish(sum, total, start, counts, perClass, evaluated, truthItems, msg)
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
