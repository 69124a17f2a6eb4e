package results

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"

	"fmnist/archs"
	"fmnist/trainer"
)

// Evaluation is a model's performance on a test set.
type Evaluation struct {
	N, Correct int
	Loss       float64 // mean cross-entropy
	// Confusion[true][predicted] counts images.
	Confusion [trainer.NumClasses][trainer.NumClasses]int
	// Mistakes are the wrongly classified images, most confident first.
	Mistakes []Mistake
}

// Mistake is a wrongly classified image: Index into the evaluated data set,
// its True and predicted (Pred) classes, and Prob, the softmax probability
// the model gave Pred.
type Mistake struct {
	Index, True, Pred int
	Prob              float64
}

// Accuracy is Correct/N, computed as trainer.Evaluate does (so the two are
// bit-identical for the same model and data).
func (e *Evaluation) Accuracy() float64 { return float64(e.Correct) / float64(e.N) }

// ClassAccuracy is the fraction of class c's images predicted as c (NaN when
// the test set has none).
func (e *Evaluation) ClassAccuracy(c int) float64 {
	n := 0
	for _, v := range e.Confusion[c] {
		n += v
	}
	if n == 0 {
		return math.NaN()
	}
	return float64(e.Confusion[c][c]) / float64(n)
}

// ClassCount is the number of test images of class c.
func (e *Evaluation) ClassCount(c int) int {
	n := 0
	for _, v := range e.Confusion[c] {
		n += v
	}
	return n
}

// Evaluate runs m over d in evaluation mode (BatchNorm moving statistics, no
// dropout), with the same batches as training's per-epoch evaluation.
// Mistakes come sorted by Prob, highest first (ties by Index).
func Evaluate(ctx context.Context, m *archs.Model, d *trainer.Dataset) (*Evaluation, error) {
	return evaluate(ctx, m, d, nil, trainer.Predict)
}

// EvaluateMirrored is Evaluate with each image's prediction averaged with
// its mirror image's (trainer.PredictMirrored).
func EvaluateMirrored(ctx context.Context, m *archs.Model, d *trainer.Dataset) (*Evaluation, error) {
	return evaluate(ctx, m, d, nil, trainer.PredictMirrored)
}

// predictFn is trainer.Predict or trainer.PredictMirrored.
type predictFn func(ctx context.Context, m *archs.Model, images []float32, n int, fn func(i int, logits []float32)) error

// evaluate is Evaluate; right, if set, is also called for every correctly
// classified image, in test order, with its class and probability.
func evaluate(ctx context.Context, m *archs.Model, d *trainer.Dataset, right func(i, class int, logits []float32), predict predictFn) (*Evaluation, error) {
	if d == nil || d.N == 0 {
		return nil, fmt.Errorf("no test images")
	}
	ev := &Evaluation{N: d.N}
	var lossSum float64
	err := predict(ctx, m, d.Floats(), d.N, func(i int, logits []float32) {
		l := int(d.Labels[i])
		lossSum += archs.CrossEntropy(logits, l)
		p := trainer.Argmax(logits)
		if p == l {
			ev.Correct++
			if right != nil {
				right(i, l, logits)
			}
		} else {
			ev.Mistakes = append(ev.Mistakes, Mistake{Index: i, True: l, Pred: p, Prob: Softmax(logits)[p]})
		}
		ev.Confusion[l][p]++
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(ev.Mistakes, func(a, b int) bool {
		ma, mb := ev.Mistakes[a], ev.Mistakes[b]
		if ma.Prob != mb.Prob {
			return ma.Prob > mb.Prob
		}
		return ma.Index < mb.Index
	})
	ev.Loss = lossSum / float64(d.N)
	return ev, nil
}

// Softmax turns logits into probabilities (in float64).
func Softmax(logits []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	p := make([]float64, len(logits))
	var sum float64
	for i, v := range logits {
		p[i] = math.Exp(float64(v) - mx)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// WriteConfusion prints per-class accuracy and the confusion matrix (rows:
// true class, columns: predicted) with class names.
func (e *Evaluation) WriteConfusion(w io.Writer, classes []string) {
	width := 0
	for _, c := range classes {
		width = max(width, len(c))
	}
	fmt.Fprintf(w, "per-class accuracy:\n")
	for c, name := range classes {
		acc := e.ClassAccuracy(c)
		s := "   —   "
		if !math.IsNaN(acc) {
			s = fmt.Sprintf("%6.2f%%", acc*100)
		}
		fmt.Fprintf(w, "  %d %-*s %s  (%d of %d)\n", c, width, name, s, e.Confusion[c][c], e.ClassCount(c))
	}
	fmt.Fprintf(w, "confusion matrix (rows: true class, columns: predicted class):\n")
	fmt.Fprintf(w, "  %-*s", width+2, "")
	for c := range classes {
		fmt.Fprintf(w, " %5d", c)
	}
	fmt.Fprintln(w)
	for r, name := range classes {
		fmt.Fprintf(w, "  %d %-*s", r, width, name)
		for c := range classes {
			fmt.Fprintf(w, " %5d", e.Confusion[r][c])
		}
		fmt.Fprintln(w)
	}
}
