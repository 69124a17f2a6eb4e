package trainer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	G "gorgonia.org/gorgonia"

	"fmnist/archs"
)

// EvalBatch is the batch size used to evaluate the test set.
const EvalBatch = 500

// Job asks for one training run.
type Job struct {
	ID     string // run ID, unique in the runs directory
	Model  string
	Epochs int   // 0: the recipe's own
	Seed   int64 // weights, dropout, shuffling and the validation slice all derive from it
	// Recipe names the recipe: "seed" (or "") or "improved" (archs.Spec.RecipeNamed).
	Recipe string
	// Set changes the named recipe (archs.Recipe.WithSet), e.g. "lr=0.004".
	Set []string
	// Val holds out this many training images, chosen by Seed, as a
	// validation set: the best epoch is the one with the best validation
	// accuracy. 0 evaluates on the test set only (the seed's way).
	Val int
	// KerasClip adds Keras 2.2's probability clipping to the recipe
	// (archs.Recipe.KerasClip).
	KerasClip bool

	// Resume continues a run from a checkpoint (its recipe replaces Epochs'):
	// training starts after epoch Resume.Epoch with the saved state. A
	// checkpoint with Epoch 0 and no state restarts the run from scratch while
	// keeping its record (RunStarted.Resumed).
	Resume *Checkpoint

	// Data, when set, supplies the run's own training and test sets (a
	// detector's crops) instead of Config's, phase by phase.
	Data DataSource

	// concurrent, set by the Manager, says at each epoch's end how many
	// runs trained at once during it (EpochStats.Concurrent).
	concurrent func() int
}

// PlannedEpochs is the epoch count the job trains to, as Train will
// reckon it (a resumed run's recipe's, else the recipe's own or Epochs);
// 0 if the model or recipe is unknown.
func (j Job) PlannedEpochs() int {
	if cp := j.Resume; cp != nil && len(cp.Recipe.Phases) > 0 {
		return cp.Recipe.Epochs()
	}
	spec, err := archs.Lookup(j.Model)
	if err != nil {
		return 0
	}
	recipe, err := spec.RecipeFor(j.Recipe, j.Set)
	if err != nil {
		return 0
	}
	if j.Epochs > 0 {
		recipe = recipe.WithEpochs(j.Epochs)
	}
	return recipe.Epochs()
}

// DataSource supplies a run's data when it is not the data set itself.
type DataSource interface {
	// Phase returns the training and test sets of recipe phase p (0-based).
	// It is called when a phase starts, or resumes, with the model as it is
	// then; phase 0's sets are the run's recorded data (sizes, hashes).
	Phase(ctx context.Context, p int, m *archs.Model) (train, test *Dataset, err error)
	// AfterEpoch measures the model after an epoch (e.g. detection on
	// validation scenes); the figures go into EpochStats.Extra.
	AfterEpoch(ctx context.Context, m *archs.Model) (map[string]float64, error)
}

// Config is what every run of a Start shares.
type Config struct {
	Train, Test *Dataset
	Parallel    int // runs at once (default 1); the rest wait in order
}

// Start runs the jobs in their own goroutines, at most cfg.Parallel at once,
// and streams their events. The channel is closed when every run has ended.
// Cancelling ctx cancels running runs within one batch and queued runs at once.
func Start(ctx context.Context, cfg Config, jobs []Job) <-chan Event {
	m := NewManager(ctx, cfg)
	m.Submit(jobs...)
	go m.CloseWhenIdle()
	return m.Events()
}

// errNonFinite marks a loss that became NaN or infinite.
var errNonFinite = errors.New("loss is not finite")

// Train runs one job to its end and returns its final status (done, failed or
// cancelled) and, when it failed, why. It emits RunStarted, BatchProgress and
// EpochEnd events; the caller reports the end.
func Train(ctx context.Context, train, test *Dataset, job Job, emit func(Event)) (status string, err error) {
	defer func() {
		if r := recover(); r != nil {
			status, err = StatusFailed, fmt.Errorf("internal error: %v", r)
		}
	}()
	m, err := archs.New(job.Model, uint64(job.Seed))
	if err != nil {
		return StatusFailed, err
	}
	if job.Data == nil {
		// Not for detection models: their validation and mining classify
		// each frame's crops in batches whose size changes from frame to frame.
		m.KeepOneGraph()
	}
	recipe, err := m.Spec.RecipeFor(job.Recipe, job.Set)
	if err != nil {
		return StatusFailed, err
	}
	if job.Epochs > 0 {
		recipe = recipe.WithEpochs(job.Epochs)
	}
	recipe.KerasClip = recipe.KerasClip || job.KerasClip
	cp := job.Resume
	valN := job.Val
	if cp != nil {
		valN = cp.ValSize
	}
	var val *Dataset
	if valN > 0 && job.Data == nil {
		if train, val, err = SplitVal(train, valN, job.Seed); err != nil {
			return StatusFailed, err
		}
	}
	if m.Spec.Detection != (job.Data != nil) {
		if job.Data == nil {
			return StatusFailed, fmt.Errorf("%s is a detection model: it trains on scene crops (its job needs a data source)", m.Spec.Name)
		}
		return StatusFailed, fmt.Errorf("%s is not a detection model", m.Spec.Name)
	}
	// A data source's phase 0 sets are the run's recorded data, as the
	// data set is for the others; later phases replace them in the loop.
	if job.Data != nil {
		if train, test, err = job.Data.Phase(ctx, 0, m); err != nil {
			return phaseErr(ctx, err)
		}
	}
	if train == nil || train.N == 0 {
		return StatusFailed, errors.New("no training images")
	}
	if err := checkLabels(m, train, test); err != nil {
		return StatusFailed, err
	}
	if cp != nil {
		if err := CheckResume(cp, job, train, test); err != nil {
			return StatusFailed, fmt.Errorf("cannot resume: %w", err)
		}
		recipe = cp.Recipe
	}
	total := recipe.Epochs()
	testN := 0
	if test != nil {
		testN = test.N
	}

	shuffleSrc := rand.NewPCG(uint64(job.Seed), 0x5eed)
	shuffle := rand.New(shuffleSrc)
	var solver G.Solver
	phase := -1
	first := 1
	var history []EpochStats
	if cp != nil && cp.Epoch > 0 {
		// The model's compiled graphs share its tensors, BatchNorm states and
		// dropout streams, which Restore sets in place.
		if err := m.Restore(cp.State); err != nil {
			return StatusFailed, fmt.Errorf("cannot resume: %w", err)
		}
		if err := shuffleSrc.UnmarshalBinary(cp.Shuffle); err != nil {
			return StatusFailed, fmt.Errorf("cannot resume: shuffling state: %w", err)
		}
		phase = cp.Phase
		if solver, err = archs.NewSolver(recipe.Phases[phase]); err != nil {
			return StatusFailed, err
		}
		if err := setOptimizerState(solver, cp.Optimizer, m); err != nil {
			return StatusFailed, fmt.Errorf("cannot resume: %w", err)
		}
		m.DropGraphs(recipe.Phases[phase].Batch, EvalBatch)
		first = cp.Epoch + 1
		history = slices.Clone(cp.History)
	}
	emit(RunStarted{ID: job.ID, Model: m.Spec.Name, Params: m.ParamCount(), Layers: m.Layers, Recipe: recipe,
		Epochs: total, TrainSize: train.N, ValSize: val.Len(), TestSize: testN, Seed: job.Seed, Time: time.Now(),
		Resumed: cp != nil, History: slices.Clone(history)})

	trainHash, testHash := "", ""
	trainN := train.N // the recorded data's sizes, whatever a later phase trains on
	if first <= total {
		trainHash, testHash = DataHash(train), DataHash(test)
	}
	dataPhase := 0 // the phase whose data train and test hold
	for e := first; e <= total; e++ {
		p := recipe.PhaseAt(e)
		if job.Data != nil && p != dataPhase { // also when a run resumes in a later phase
			if train, test, err = job.Data.Phase(ctx, p, m); err != nil {
				return phaseErr(ctx, err)
			}
			dataPhase = p
		}
		if p != phase {
			phase = p
			// A new phase starts a fresh optimizer, as the seed's model5 did.
			if solver, err = archs.NewSolver(recipe.Phases[p]); err != nil {
				return StatusFailed, err
			}
			m.DropGraphs(recipe.Phases[p].Batch, EvalBatch)
		}
		st := EpochStats{Epoch: e}
		t0 := time.Now()
		opts := epochOpts{recipe: recipe, phase: recipe.Phases[phase], epoch: e, total: total, seed: job.Seed}
		st.TrainLoss, st.TrainAcc, err = trainEpoch(ctx, m, solver, train, opts, shuffle, func(b, nb int, loss, acc, ips float64) {
			emit(BatchProgress{ID: job.ID, Epoch: e, Epochs: total, Batch: b, Batches: nb, Loss: loss, Acc: acc, ImagesPerSec: ips})
		})
		st.TrainSeconds = time.Since(t0).Seconds()
		if err != nil {
			if ctx.Err() != nil {
				return StatusCancelled, nil
			}
			if errors.Is(err, errNonFinite) {
				return StatusFailed, fmt.Errorf("epoch %d: %w", e, err)
			}
			return StatusFailed, err
		}
		t1 := time.Now()
		if val != nil {
			if st.ValLoss, st.ValAcc, err = Evaluate(ctx, m, val); err != nil {
				if ctx.Err() != nil {
					return StatusCancelled, nil
				}
				return StatusFailed, err
			}
		}
		if test != nil && test.N > 0 {
			if st.TestLoss, st.TestAcc, err = Evaluate(ctx, m, test); err != nil {
				if ctx.Err() != nil {
					return StatusCancelled, nil
				}
				return StatusFailed, err
			}
		}
		if job.Data != nil {
			if st.Extra, err = job.Data.AfterEpoch(ctx, m); err != nil {
				return phaseErr(ctx, err)
			}
		}
		st.EvalSeconds = time.Since(t1).Seconds()
		if job.concurrent != nil {
			if n := job.concurrent(); n > 1 {
				st.Concurrent = n
			}
		}
		history = append(history, st)
		ck := &Checkpoint{Run: job.ID, Model: m.Spec.Name, Seed: job.Seed, Recipe: recipe, Epoch: e, Phase: phase,
			TrainSize: trainN, ValSize: val.Len(), TestSize: testN, TrainHash: trainHash, TestHash: testHash,
			History: slices.Clone(history)}
		if ck.State, err = m.Snapshot(); err == nil {
			if ck.Optimizer, err = optimizerState(solver, m); err == nil {
				ck.Shuffle, err = shuffleSrc.MarshalBinary()
			}
		}
		if err != nil {
			return StatusFailed, fmt.Errorf("epoch %d: checkpoint: %w", e, err)
		}
		emit(EpochEnd{ID: job.ID, Epochs: total, Stats: st, Checkpoint: ck})
	}
	return StatusDone, nil
}

// epochOpts is what trainEpoch needs of the recipe: the phase's batch and
// rate, the schedule over the run, label smoothing, weight decay and
// augmentation.
type epochOpts struct {
	recipe       archs.Recipe
	phase        archs.Phase
	epoch, total int // 1-based epoch of total
	seed         int64
}

// trainEpoch trains one pass over every image in a fresh random order, the last
// partial batch included, and returns the mean loss and accuracy.
// Augmentation draws from a stream of its own, fixed by the seed and the
// epoch (so a resumed run augments as the uninterrupted one would).
func trainEpoch(ctx context.Context, m *archs.Model, solver G.Solver, d *Dataset, o epochOpts, rng *rand.Rand,
	progress func(b, nb int, loss, acc, ips float64)) (float64, float64, error) {
	batch := o.phase.Batch
	perm := rng.Perm(d.N)
	nb := (d.N + batch - 1) / batch
	imgs := make([]float32, batch*Pixels)
	labels := make([]uint8, batch)
	sched, _ := solver.(archs.Scheduled)
	if sched != nil {
		sched.SetWeightDecay(o.recipe.WeightDecay)
	}
	var aug *rand.Rand
	var tmp []float32
	if o.recipe.Augment != nil {
		aug = rand.New(rand.NewPCG(uint64(o.seed), 0xa06<<32|uint64(o.epoch)))
		tmp = make([]float32, Pixels)
	}
	var lossSum float64
	correct, seen := 0, 0
	start, lastReport := time.Now(), time.Time{}
	for b := 0; b < nb; b++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		lo, hi := b*batch, min((b+1)*batch, d.N)
		n := hi - lo
		for i, idx := range perm[lo:hi] {
			img := imgs[i*Pixels : (i+1)*Pixels]
			d.Image(idx, img)
			if aug != nil {
				o.recipe.Augment.Apply(img, tmp, ImageSize, aug)
			}
			labels[i] = d.Labels[idx]
		}
		gr, err := m.Graph(n, true)
		if err != nil {
			return 0, 0, err
		}
		gr.Smoothing, gr.KerasClip = float32(o.recipe.LabelSmoothing), o.recipe.KerasClip
		if sched != nil && o.recipe.Schedule != "" {
			progress := float64(o.epoch-1) + float64(b)/float64(nb)
			sched.SetLR(o.phase.LR * o.recipe.LRFactor(progress, o.total))
		}
		if err := gr.Run(imgs[:n*Pixels], labels[:n]); err != nil {
			return 0, 0, err
		}
		loss := gr.Loss()
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return 0, 0, fmt.Errorf("%w (%v) at batch %d", errNonFinite, loss, b+1)
		}
		if err := m.Step(solver, gr); err != nil {
			return 0, 0, err
		}
		lossSum += loss * float64(n)
		correct += countCorrect(gr.Logits(), m.Spec.NumClasses(), labels[:n])
		seen += n
		if now := time.Now(); b == nb-1 || now.Sub(lastReport) >= 100*time.Millisecond {
			lastReport = now
			progress(b+1, nb, lossSum/float64(seen), float64(correct)/float64(seen), float64(seen)/now.Sub(start).Seconds())
		}
	}
	return lossSum / float64(seen), float64(correct) / float64(seen), nil
}

// phaseErr is the status of a run whose data source failed.
func phaseErr(ctx context.Context, err error) (string, error) {
	if ctx.Err() != nil {
		return StatusCancelled, nil
	}
	return StatusFailed, err
}

// checkLabels refuses data sets that are short of labels or values, or
// have a label the model has no output for.
func checkLabels(m *archs.Model, sets ...*Dataset) error {
	k := m.Spec.NumClasses()
	for _, d := range sets {
		if d == nil {
			continue
		}
		if len(d.Labels) < d.N || d.values() < d.N*Pixels {
			return fmt.Errorf("data set of %d images has %d labels and %d values", d.N, len(d.Labels), d.values())
		}
		for _, l := range d.Labels[:d.N] {
			if int(l) >= k {
				return fmt.Errorf("the data have label %d, %s has %d classes", l, m.Spec.Name, k)
			}
		}
	}
	return nil
}

// countCorrect counts the labels that are the argmax of their row of k logits.
func countCorrect(logits []float32, k int, labels []uint8) int {
	c := 0
	for i, l := range labels {
		if Argmax(logits[i*k:(i+1)*k]) == int(l) {
			c++
		}
	}
	return c
}

// Argmax is the index of the largest value (the first on a tie).
func Argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Evaluate returns the mean cross-entropy and the accuracy of m on d, using
// BatchNorm's moving statistics and no dropout.
func Evaluate(ctx context.Context, m *archs.Model, d *Dataset) (loss, acc float64, err error) {
	var lossSum float64
	correct := 0
	err = PredictSet(ctx, m, d, func(i int, logits []float32) {
		lossSum += archs.CrossEntropy(logits, int(d.Labels[i]))
		if Argmax(logits) == int(d.Labels[i]) {
			correct++
		}
	})
	if err != nil {
		return 0, 0, err
	}
	return lossSum / float64(d.N), float64(correct) / float64(d.N), nil
}

// Predict runs m in evaluation mode over n images and calls fn with the logits
// of each, in order.
func Predict(ctx context.Context, m *archs.Model, images []float32, n int, fn func(i int, logits []float32)) error {
	return predict(ctx, m, n, func(lo, hi int) []float32 { return images[lo*Pixels : hi*Pixels] }, fn)
}

// PredictSet is Predict over the images of d, whichever way it stores them.
func PredictSet(ctx context.Context, m *archs.Model, d *Dataset, fn func(i int, logits []float32)) error {
	if d.Pix == nil {
		return Predict(ctx, m, d.Images, d.N, fn)
	}
	var buf []float32
	return predict(ctx, m, d.N, func(lo, hi int) []float32 {
		buf = slices.Grow(buf[:0], (hi-lo)*Pixels)[:(hi-lo)*Pixels]
		d.Fill(lo, hi, buf)
		return buf
	}, fn)
}

// predict runs batches [lo, hi) of n images, each from batch(lo, hi).
func predict(ctx context.Context, m *archs.Model, n int, batch func(lo, hi int) []float32, fn func(i int, logits []float32)) error {
	for lo := 0; lo < n; lo += EvalBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+EvalBatch, n)
		gr, err := m.Graph(hi-lo, false)
		if err != nil {
			return err
		}
		if err := gr.Run(batch(lo, hi), nil); err != nil {
			return err
		}
		lg := gr.Logits()
		k := m.Spec.NumClasses()
		for i := lo; i < hi; i++ {
			fn(i, lg[(i-lo)*k:(i-lo+1)*k])
		}
	}
	return nil
}

// PredictMirrored is Predict with test-time augmentation: each image's
// softmax is averaged with its mirror image's, and fn gets the logarithm of
// that mean (a valid set of logits: their softmax is the mean), computed in
// log space so that no class's logit becomes -Inf. It costs two passes;
// meant for models trained with flips (recipe "improved").
func PredictMirrored(ctx context.Context, m *archs.Model, images []float32, n int, fn func(i int, logits []float32)) error {
	k := m.Spec.NumClasses()
	first := make([]float64, n*k) // log-softmax of the first pass
	ls := make([]float64, k)
	if err := Predict(ctx, m, images, n, func(i int, logits []float32) {
		logSoftmax(logits, first[i*k:(i+1)*k])
	}); err != nil {
		return err
	}
	lg := make([]float32, k)
	return Predict(ctx, m, Mirror(images[:n*Pixels]), n, func(i int, logits []float32) {
		logSoftmax(logits, ls)
		for j, a := range first[i*k : (i+1)*k] {
			lg[j] = float32(logMeanExp(a, ls[j]))
		}
		fn(i, lg)
	})
}

// logMeanExp is log((e^a + e^b) / 2), finite whenever a or b is.
func logMeanExp(a, b float64) float64 {
	hi, lo := max(a, b), min(a, b)
	return hi + math.Log1p(math.Exp(lo-hi)) - math.Ln2
}

// logSoftmax writes the log-softmax of logits (in float64) to dst.
func logSoftmax(logits []float32, dst []float64) {
	lse := archs.LogSumExp(logits)
	for j, v := range logits {
		dst[j] = float64(v) - lse
	}
}

// Mirror returns a copy of the images with each one flipped left to right.
func Mirror(images []float32) []float32 {
	out := make([]float32, len(images))
	for r := 0; r < len(images)/ImageSize; r++ {
		src, dst := images[r*ImageSize:(r+1)*ImageSize], out[r*ImageSize:(r+1)*ImageSize]
		for c := range dst {
			dst[c] = src[ImageSize-1-c]
		}
	}
	return out
}
