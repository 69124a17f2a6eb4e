package detector

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"fmnist/archs"
	"fmnist/trainer"
)

// DetData is the data of a detection model's run (trainer.DataSource): the
// crops the detector's own proposal code cuts from synthetic scenes, each
// labelled by its overlap with the truth (IoU >= PosIoU: the item's class;
// < NegIoU: background; in between: not used), plus the truth boxes
// themselves and jittered copies, plus plain data-set images. Scenes for
// training draw their items from the train split and the scenes for
// validation (the run's test set and the threshold) from the val split;
// test images are never used.
//
// Phase 0 trains on those crops. Phase 1 adds hard negatives: the false
// detections the phase-0 model makes on fresh training scenes, as
// background. The mined crops are kept in Dir, so that a run resumed in
// phase 1 trains on the same data.
type DetData struct {
	Train, Val *Split
	Seed       int64
	W, H       int
	// Frames of synthetic video for each purpose (3 frames a scene for
	// training and mining, ValSceneFrames for validation).
	TrainFrames, MineFrames, ValFrames int
	// ItemFrames: frames of one-frame scenes whose items are added (truth box
	// and two jittered copies) without running proposals: many distinct
	// items in context, cheaply.
	ItemFrames int
	// Plain data-set images (train split) added as positives.
	Plain int
	// Distractors: every scene, for training, mining and validation, has
	// objects that are not items (SynthConfig.Distractors), so that both
	// the model and the threshold chosen on validation reckon with them.
	Distractors bool
	// Photos are backgrounds of training and mining scenes, ValPhotos of
	// validation scenes (LoadPhotos): 3 scenes in 10 are set in a piece of
	// a real photograph. None: drawn textures only.
	Photos, ValPhotos []*Photo
	// Dir keeps the mined crops; "" keeps them in memory only.
	Dir string
	// Config is the pipeline (DetDefaultConfig, with the class names, by default).
	Config Config

	mu     sync.Mutex
	phase0 *trainer.Dataset
	valSet *trainer.Dataset
	val    []valFrame
	mined  *trainer.Dataset
}

// Overlap thresholds of the crop labels.
const (
	PosIoU = 0.6
	NegIoU = 0.4
)

// ValSceneFrames: validation scenes are short (many items) but more than one
// frame (detections are confirmed across frames).
const ValSceneFrames = 4

// MinedFile is where DetData keeps the phase-1 hard negatives.
const MinedFile = "mined.gob"

// valFrame is a validation frame ready for classification.
type valFrame struct {
	gray   Gray
	rects  []image.Rectangle
	images []float32
	truth  []TruthItem
}

// NewDetData has the defaults used by `fmnist train --models CNN2_det`:
// 320x240 scenes, 3,000 training frames, 1,200 for mining, 750 for
// validation, 16,000 item scenes, 55,000 plain images (all of the train
// split), as --det-frames 3000 sets them.
func NewDetData(train, val *Split, seed int64, dir string) *DetData {
	cfg := DetDefaultConfig()
	cfg.Names = trainer.ClassNames[:]
	return &DetData{Train: train, Val: val, Seed: seed, W: 320, H: 240, TrainFrames: 3000, MineFrames: 1200, ValFrames: 750,
		ItemFrames: 16000, Plain: 55000, Distractors: true, Dir: dir, Config: cfg}
}

// Phase returns the training and validation crops of phase p.
func (d *DetData) Phase(ctx context.Context, p int, m *archs.Model) (*trainer.Dataset, *trainer.Dataset, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.build0(ctx); err != nil {
		return nil, nil, err
	}
	if p == 0 {
		return d.phase0, d.valSet, nil
	}
	if d.mined == nil {
		mined, err := d.loadMined()
		if errors.Is(err, os.ErrNotExist) {
			if mined, err = d.mine(ctx, m); err == nil {
				err = d.saveMined(mined)
			}
		}
		if err != nil {
			return nil, nil, err
		}
		d.mined = mined
	}
	return concat(d.phase0, d.mined), d.valSet, nil
}

// build0 makes phase 0's crops and the validation frames, once.
func (d *DetData) build0(ctx context.Context) error {
	if d.phase0 != nil {
		return nil
	}
	cfg := d.Config
	train := &trainer.Dataset{}
	rng := rand.New(rand.NewPCG(uint64(d.Seed), 0xde7))
	err := d.scenes(ctx, d.Train, d.TrainFrames, 3, d.Seed*1000+1, cfg, func(f int, g Gray, rects []image.Rectangle, images []float32, truth []TruthItem) {
		addLabelled(train, rng, g, rects, images, truth)
	})
	if err != nil {
		return err
	}
	err = d.itemScenes(ctx, func(g Gray, truth []TruthItem) {
		truthCrops(rng, g, truth, 0.15, PosIoU, func(img []float32, class int) {
			train.Images = append(train.Images, img...)
			train.Labels = append(train.Labels, uint8(class))
			train.N++
		})
	})
	if err != nil {
		return err
	}
	// Plain data-set images: the model's class knowledge, as CNN2 learns it.
	for i := 0; i < d.Plain && d.Train.N > 0; i++ {
		k := rng.IntN(d.Train.N)
		train.Images = append(train.Images, d.Train.Images[k*trainer.Pixels:(k+1)*trainer.Pixels]...)
		train.Labels = append(train.Labels, d.Train.Labels[k])
		train.N++
	}
	val := &trainer.Dataset{}
	var frames []valFrame
	err = d.scenes(ctx, d.Val, d.ValFrames, ValSceneFrames, d.Seed*1000+2, cfg, func(f int, g Gray, rects []image.Rectangle, images []float32, truth []TruthItem) {
		addLabelled(val, nil, g, rects, images, truth)
		frames = append(frames, valFrame{gray: g, rects: rects, images: images, truth: truth})
	})
	if err != nil {
		return err
	}
	if train.N == 0 || val.N == 0 {
		return fmt.Errorf("detection data: no crops (%d training, %d validation)", train.N, val.N)
	}
	d.phase0, d.valSet, d.val = train, val, frames
	return nil
}

// scenes synthesises frames of split s, compresses them as a recorded video
// would be (JPEGRoundTrip), and calls fn, in frame order, with each frame's
// grey image, its proposals (as detect filters and prepares
// them) and their samples, and the truth. Two workers share the proposals.
func (d *DetData) scenes(ctx context.Context, s *Split, frames, sceneFrames int, seed int64, cfg Config,
	fn func(f int, g Gray, rects []image.Rectangle, images []float32, truth []TruthItem)) error {
	sc := s.SynthConfig(frames, d.W, d.H, seed)
	sc.SceneFrames = sceneFrames
	sc.Distractors = d.Distractors
	sc.Photos = d.Photos
	if s == d.Val {
		sc.Photos = d.ValPhotos
	}
	type job struct {
		f     int
		bgr   []byte
		truth []TruthItem
	}
	type result struct {
		g      Gray
		rects  []image.Rectangle
		images []float32
		err    error
	}
	const chunk = 32
	var batch []job
	results := make([]result, chunk)
	pipes := []*pipeline{newPipeline(cfg, d.W, d.H), newPipeline(cfg, d.W, d.H)}
	defer func() {
		for _, p := range pipes {
			p.close()
		}
	}()
	flush := func() error {
		var wg sync.WaitGroup
		for w := range pipes {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for k := w; k < len(batch); k += len(pipes) {
					p := pipes[w]
					bgr, err := JPEGRoundTrip(batch[k].bgr, d.W, d.H, jpegQuality(batch[k].f))
					if err != nil {
						results[k] = result{err: err}
						continue
					}
					batch[k].bgr = bgr
					g, err := p.load(bgr)
					if err != nil {
						results[k] = result{err: err}
						continue
					}
					_, rects, err := p.propose(batch[k].bgr)
					if err != nil {
						results[k] = result{err: err}
						continue
					}
					rects, images := p.prepare(g, rects)
					results[k] = result{g: g, rects: rects, images: images}
				}
			}(w)
		}
		wg.Wait()
		for k, j := range batch {
			if results[k].err != nil {
				return fmt.Errorf("detection data: frame %d: %v", j.f, results[k].err)
			}
			fn(j.f, results[k].g, results[k].rects, results[k].images, j.truth)
		}
		batch = batch[:0]
		return ctx.Err()
	}
	_, err := synthesize(sc, func(i int, bgr []byte, items []TruthItem) error {
		batch = append(batch, job{f: i, bgr: append([]byte(nil), bgr...), truth: items})
		if len(batch) == chunk {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// itemScenes calls fn with each of ItemFrames one-frame training scenes
// (grey) and its items, for build0 to add each item's truth box and two
// jittered copies, prepared as detect prepares a proposal, without running
// proposals. Items are what scenes lack (a scene has 1-3, its proposals a
// hundred); these give the model thousands of distinct items on textures,
// in both polarities, for the cost of drawing them.
func (d *DetData) itemScenes(ctx context.Context, fn func(g Gray, truth []TruthItem)) error {
	if d.ItemFrames <= 0 {
		return nil
	}
	sc := d.Train.SynthConfig(d.ItemFrames, d.W, d.H, d.Seed*1000+4)
	sc.SceneFrames = 1
	sc.Distractors = d.Distractors
	sc.Photos = d.Photos
	p := newPipeline(d.Config, d.W, d.H)
	defer p.close()
	_, err := synthesize(sc, func(i int, bgr []byte, items []TruthItem) error {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		jpeg, err := JPEGRoundTrip(bgr, d.W, d.H, jpegQuality(i))
		if err != nil {
			return err
		}
		g, err := p.load(jpeg)
		if err != nil {
			return err
		}
		fn(g, items)
		return nil
	})
	return err
}

// jpegQuality is the JPEG quality of training frame f: 75-95, as recorded
// videos vary.
func jpegQuality(f int) int { return 75 + f*7%21 }

// addLabelled adds a frame's crops to ds: proposals with IoU >= PosIoU to an
// item as that item's class, those under NegIoU to every item as background.
// For training (rng set) the truth boxes and two jittered copies of each are
// added as items too, and background is cut to three per item crop (at least
// four a frame), chosen at random.
func addLabelled(ds *trainer.Dataset, rng *rand.Rand, g Gray, rects []image.Rectangle, images []float32, truth []TruthItem) {
	var neg []int
	pos := 0
	add := func(img []float32, label int) {
		ds.Images = append(ds.Images, img...)
		ds.Labels = append(ds.Labels, uint8(label))
		ds.N++
	}
	for k, r := range rects {
		best, cls := 0.0, -1
		for _, t := range truth {
			if iou := IoU(r, t.Box.Rect()); iou > best {
				best, cls = iou, t.Class
			}
		}
		img := images[k*trainer.Pixels : (k+1)*trainer.Pixels]
		switch {
		case best >= PosIoU:
			add(img, cls)
			pos++
		case best < NegIoU:
			neg = append(neg, k)
		}
	}
	if rng != nil {
		truthCrops(rng, g, truth, 0.1, 0.7, func(img []float32, class int) {
			add(img, class)
			pos++
		})
	}
	if rng != nil {
		rng.Shuffle(len(neg), func(a, b int) { neg[a], neg[b] = neg[b], neg[a] })
		neg = neg[:min(len(neg), max(4, 3*pos))]
	}
	for _, k := range neg {
		add(images[k*trainer.Pixels:(k+1)*trainer.Pixels], BackgroundLabel)
	}
}

// truthCrops prepares each truth item's box and two copies jittered by up
// to frac of its size (kept when IoU >= minIoU with the box) and hands
// them to add, which may keep img only until it returns.
func truthCrops(rng *rand.Rand, g Gray, truth []TruthItem, frac, minIoU float64, add func(img []float32, class int)) {
	buf := make([]float32, trainer.Pixels)
	for _, t := range truth {
		tb := t.Box.Rect()
		for j := 0; j < 3; j++ {
			b := tb
			if j > 0 {
				b = jitterBox(rng, tb, g.W, g.H, frac)
			}
			if b.Dx() < 4 || b.Dy() < 4 || IoU(b, tb) < minIoU {
				continue
			}
			Prepare(g, b, buf)
			add(buf, t.Class)
		}
	}
}

// BackgroundLabel is the label of background crops.
const BackgroundLabel = trainer.NumClasses

// jitterBox moves each side of b by up to frac of its size.
func jitterBox(rng *rand.Rand, b image.Rectangle, w, h int, frac float64) image.Rectangle {
	dx, dy := float64(b.Dx()), float64(b.Dy())
	j := func(s float64) int { return int(math.Round((rng.Float64()*2 - 1) * frac * s)) }
	out := image.Rect(b.Min.X+j(dx), b.Min.Y+j(dy), b.Max.X+j(dx), b.Max.Y+j(dy))
	return out.Canon().Intersect(image.Rect(0, 0, w, h))
}

// mine runs the model on fresh training scenes and returns, as background,
// every region it rather calls an item (score above 0.5) that overlaps no
// item by NegIoU or more.
func (d *DetData) mine(ctx context.Context, m *archs.Model) (*trainer.Dataset, error) {
	cfg := d.Config
	cfg.Model = m
	p := classifier(cfg)
	out := &trainer.Dataset{}
	var err error
	ferr := d.scenes(ctx, d.Train, d.MineFrames, 3, d.Seed*1000+3, cfg, func(f int, g Gray, rects []image.Rectangle, images []float32, truth []TruthItem) {
		if err != nil {
			return
		}
		var cands []Candidate
		if cands, _, err = p.classify(ctx, rects, images); err != nil {
			return
		}
		for _, c := range cands {
			if c.Score <= 0.5 {
				continue // not called an item
			}
			hit := false
			for _, t := range truth {
				if IoU(c.Box, t.Box.Rect()) >= NegIoU {
					hit = true
					break
				}
			}
			if !hit {
				out.Images = append(out.Images, images[c.Region*trainer.Pixels:(c.Region+1)*trainer.Pixels]...)
				out.Labels = append(out.Labels, BackgroundLabel)
				out.N++
			}
		}
	})
	if ferr != nil {
		return nil, ferr
	}
	if err != nil {
		return nil, fmt.Errorf("mining hard negatives: %v", err)
	}
	return out, nil
}

type minedFile struct {
	Seed   int64
	N      int
	Images []float32
	Labels []uint8
}

func (d *DetData) loadMined() (*trainer.Dataset, error) {
	if d.Dir == "" {
		return nil, os.ErrNotExist
	}
	b, err := os.ReadFile(filepath.Join(d.Dir, MinedFile))
	if err != nil {
		return nil, err
	}
	var f minedFile
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&f); err != nil || f.N != len(f.Labels) || len(f.Images) != f.N*trainer.Pixels || f.Seed != d.Seed {
		return nil, fmt.Errorf("detection data: %s is damaged or from another run; delete it to mine again", filepath.Join(d.Dir, MinedFile))
	}
	return &trainer.Dataset{Images: f.Images, Labels: f.Labels, N: f.N}, nil
}

func (d *DetData) saveMined(ds *trainer.Dataset) error {
	if d.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(d.Dir, 0o755); err != nil {
		return fmt.Errorf("detection data: %v", err)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(minedFile{Seed: d.Seed, N: ds.N, Images: ds.Images, Labels: ds.Labels}); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d.Dir, ".mined-*")
	if err != nil {
		return fmt.Errorf("detection data: %v", err)
	}
	_, werr := tmp.Write(buf.Bytes())
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("detection data: writing %s: %v", MinedFile, errors.Join(werr, cerr))
	}
	return os.Rename(tmp.Name(), filepath.Join(d.Dir, MinedFile))
}

func concat(a, b *trainer.Dataset) *trainer.Dataset {
	out := &trainer.Dataset{N: a.N + b.N}
	out.Images = append(append(make([]float32, 0, len(a.Images)+len(b.Images)), a.Images...), b.Images...)
	out.Labels = append(append(make([]uint8, 0, out.N), a.Labels...), b.Labels...)
	return out
}

// Thresholds tried on the validation scenes.
var valThresholds = []float64{0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99}

// valScores are detection figures on the validation scenes at a threshold,
// with or without relabelling.
type valScores struct {
	Threshold float64
	Relabel   bool
	Scores
	F1 float64
}

// AfterEpoch runs the whole detector (as DetDefaultConfig sets it up) on the
// validation scenes at several thresholds, with and without relabelling,
// and reports the setting with the best F1 score (precision and recall at
// IoU 0.5): det_threshold, det_relabel (1 or 0), det_precision,
// det_recall, det_mean_iou, det_f1.
func (d *DetData) AfterEpoch(ctx context.Context, m *archs.Model) (map[string]float64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	best, err := d.validate(ctx, m)
	if err != nil {
		return nil, err
	}
	relabel := 0.0
	if best.Relabel {
		relabel = 1
	}
	return map[string]float64{"det_threshold": best.Threshold, "det_relabel": relabel, "det_precision": best.Precision,
		"det_recall": best.Recall, "det_mean_iou": best.MeanIoU, "det_f1": best.F1}, nil
}

func (d *DetData) validate(ctx context.Context, m *archs.Model) (valScores, error) {
	if err := d.build0(ctx); err != nil {
		return valScores{}, err
	}
	best := valScores{F1: -1}
	// Relabelling helps some models and not others (measured on the
	// seed-3 test video: +0.03 precision and recall with one, -0.03 with
	// another): each model gets the setting its validation scenes prefer.
	for _, relabel := range []bool{false, true} {
		cfg := d.Config
		cfg.Model = m
		cfg.Relabel = relabel && d.Config.Relabel
		if relabel && !cfg.Relabel {
			continue
		}
		p := classifier(cfg)
		p.labels = map[labelKey]relabelled{}
		cands := make([][]Candidate, len(d.val))
		for i, f := range d.val {
			c, _, err := p.classify(ctx, f.rects, f.images)
			if err != nil {
				return valScores{}, err
			}
			cands[i] = c
		}
		dets := make([][]Detection, len(d.val))
		for _, t := range valThresholds {
			for i, f := range d.val {
				var err error
				p.frameID = i
				if dets[i], err = p.choose(ctx, f.gray, cands[i], t); err != nil {
					return valScores{}, err
				}
			}
			var counts Counts
			for i, f := range d.val {
				ds := dets[i]
				if cfg.Temporal {
					var prev, next []Detection
					// Only frames of the same scene confirm each other.
					if i%ValSceneFrames > 0 {
						prev = dets[i-1]
					}
					if (i+1)%ValSceneFrames > 0 && i+1 < len(dets) {
						next = dets[i+1]
					}
					ds = cfg.acrossFrames(ds, prev, next)
				}
				o, _ := MatchFrame(ds, f.truth, trainer.NumClasses)
				counts.Add(o)
			}
			s := valScores{Threshold: t, Relabel: cfg.Relabel, Scores: counts.Scores()}
			if s.Precision+s.Recall > 0 {
				s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
			}
			if s.F1 >= best.F1 {
				best = s
			}
		}
	}
	return best, nil
}
