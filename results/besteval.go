package results

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"

	"fmnist/archs"
	"fmnist/trainer"
)

// What a BestEval keeps of the test images.
const (
	BestEvalMistakes = 24 // the most confident mistakes
	BestEvalRight    = 3  // correctly classified images per class
)

// BestEval is what viewers show of a run's best model: its confusion matrix
// on the test set, its most confident mistakes and a few images it gets
// right, each with its pixels, so that a viewer needs no data set. It is
// small (about 50 KB) and never written into run.json. Err or Note, when
// set, say why there are no figures (the evaluation failed; a detection
// model, which is not evaluated on the test set).
type BestEval struct {
	Run   string
	Epoch int // the epoch the model is from
	Model string
	// N test images, Correct of them right; Loss is the mean cross-entropy.
	N, Correct int
	Loss       float64
	// Confusion[true][predicted] counts images.
	Confusion [trainer.NumClasses][trainer.NumClasses]int
	Classes   []string
	// Mistakes are the most confident wrong answers, most confident first
	// (at most BestEvalMistakes); Right the first images of each class that
	// the model gets right, in test order (at most BestEvalRight per class),
	// by class.
	Mistakes, Right []Example
	Err, Note       string
}

// Example is one test image and the model's answer: Index into the test
// set, its True class, the predicted class Pred and the probability the
// model gave it, and its pixels.
type Example struct {
	Index, True, Pred int
	Prob              float64
	Pixels            []uint8 // trainer.Pixels values, row-major, 0 black to 255 white
}

// Accuracy is Correct/N (0 without images).
func (e *BestEval) Accuracy() float64 {
	if e.N == 0 {
		return 0
	}
	return float64(e.Correct) / float64(e.N)
}

// EvaluateBest evaluates m, run's model of epoch epoch, on d as Evaluate
// does (the confusion matrix is Evaluate's) and keeps what a BestEval
// keeps.
func EvaluateBest(ctx context.Context, run string, epoch int, m *archs.Model, d *trainer.Dataset) (*BestEval, error) {
	var perClass [trainer.NumClasses]int
	var right []Example
	ev, err := evaluate(ctx, m, d, func(i, class int, logits []float32) {
		if perClass[class] < BestEvalRight {
			perClass[class]++
			right = append(right, Example{Index: i, True: class, Pred: class, Prob: Softmax(logits)[class]})
		}
	}, trainer.Predict)
	if err != nil {
		return nil, err
	}
	be := &BestEval{Run: run, Epoch: epoch, Model: m.Spec.Name, N: ev.N, Correct: ev.Correct, Loss: ev.Loss,
		Confusion: ev.Confusion, Classes: trainer.ClassNames[:]}
	for _, mk := range ev.Mistakes[:min(len(ev.Mistakes), BestEvalMistakes)] {
		be.Mistakes = append(be.Mistakes, Example{Index: mk.Index, True: mk.True, Pred: mk.Pred, Prob: mk.Prob})
	}
	slices.SortStableFunc(right, func(a, b Example) int { return a.True - b.True })
	be.Right = right
	for _, list := range [][]Example{be.Mistakes, be.Right} {
		for i := range list {
			list[i].Pixels = pixels8(d, list[i].Index)
		}
	}
	return be, nil
}

// pixels8 is image i of d as bytes.
func pixels8(d *trainer.Dataset, i int) []uint8 {
	out := make([]uint8, trainer.Pixels)
	for p, v := range d.Images[i*trainer.Pixels : (i+1)*trainer.Pixels] {
		out[p] = uint8(math.Round(float64(min(max(v, 0), 1)) * 255))
	}
	return out
}

// ModelFromCheckpoint builds the model whose state a checkpoint holds.
func ModelFromCheckpoint(cp *trainer.Checkpoint) (*archs.Model, error) {
	if cp == nil || cp.State == nil {
		return nil, errors.New("checkpoint without model state")
	}
	m, err := archs.New(cp.Model, uint64(cp.Seed))
	if err != nil {
		return nil, err
	}
	if err := m.Restore(cp.State); err != nil {
		return nil, err
	}
	return m, nil
}

// IsDetection reports whether model is a detection model (ten classes and
// background), whose accuracy is not measured on the test set.
func IsDetection(model string) bool {
	spec, err := archs.Lookup(model)
	return err == nil && spec.Detection
}

// DetectionNote is a BestEval's Note for a detection model.
const DetectionNote = "a detection model: no confusion matrix on the test set (see fmnist detect)"

// EvaluateSavedBest evaluates run id's saved best model (runsDir/id/best) on
// the first test_size images (as its model file records) of the test set
// that test loads; test is called only when there is a model to evaluate.
// Problems come back as the BestEval's Err, a detection model as its Note.
func EvaluateSavedBest(ctx context.Context, runsDir, id string, test func(n int) (*trainer.Dataset, error)) *BestEval {
	be := &BestEval{Run: id}
	dir := filepath.Join(runsDir, id, BestDir)
	if _, err := os.Stat(filepath.Join(dir, ModelYAML)); errors.Is(err, fs.ErrNotExist) {
		be.Err = "no saved best model in " + dir
		return be
	}
	doc, err := ReadModelDoc(dir)
	if err != nil {
		be.Err = err.Error()
		return be
	}
	be.Model, be.Epoch = doc.Architecture, doc.Source.Epoch
	if doc.Detection != nil || IsDetection(doc.Architecture) {
		be.Note = DetectionNote
		return be
	}
	m, doc, err := LoadModel(dir)
	if err != nil {
		be.Err = err.Error()
		return be
	}
	be.Epoch = doc.Source.Epoch
	n := doc.Source.TestSize
	d, err := test(n)
	if err != nil {
		be.Err = err.Error()
		return be
	}
	if n > 0 && d.N < n {
		be.Err = fmt.Sprintf("the test set has %d images, the run was evaluated on %d", d.N, n)
		return be
	}
	if n > 0 {
		d = FirstImages(d, n)
	}
	out, err := EvaluateBest(ctx, id, doc.Source.Epoch, m, d)
	if err != nil {
		be.Err = err.Error()
		return be
	}
	return out
}

// FirstImages is the data set of d's first n images (d itself when it has
// no more), sharing d's storage.
func FirstImages(d *trainer.Dataset, n int) *trainer.Dataset {
	if d == nil || n >= d.N {
		return d
	}
	return &trainer.Dataset{Images: d.Images[:n*trainer.Pixels], Labels: d.Labels[:n], N: n}
}
