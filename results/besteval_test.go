package results

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fmnist/archs"
	"fmnist/trainer"
)

// EvaluateBest is Evaluate's figures, its 24 most confident mistakes and
// the first 3 images of each class the model gets right, in test order,
// each with its pixels as bytes.
func TestEvaluateBest(t *testing.T) {
	ctx := context.Background()
	m, test, ev := evalUntrained(t)
	be, err := EvaluateBest(ctx, "CNN2-x", 7, m, test)
	if err != nil {
		t.Fatal(err)
	}
	if be.Run != "CNN2-x" || be.Epoch != 7 || be.Model != "CNN2" || be.N != 300 || be.Correct != ev.Correct || be.Loss != ev.Loss ||
		be.Confusion != ev.Confusion || len(be.Classes) != 10 {
		t.Fatalf("EvaluateBest %+v, Evaluate %d/%d", be, ev.Correct, ev.N)
	}
	if len(be.Mistakes) != min(BestEvalMistakes, len(ev.Mistakes)) {
		t.Errorf("%d mistakes kept of %d", len(be.Mistakes), len(ev.Mistakes))
	}
	for i, mk := range be.Mistakes {
		if w := ev.Mistakes[i]; mk.Index != w.Index || mk.True != w.True || mk.Pred != w.Pred || mk.Prob != w.Prob {
			t.Errorf("mistake %d: %+v, Evaluate's %+v", i, mk, w)
		}
	}
	// The first correct images of each class, in test order.
	wrong := map[int]bool{}
	for _, mk := range ev.Mistakes {
		wrong[mk.Index] = true
	}
	var want []int
	var per [10]int
	for c := range 10 {
		for i := range test.N {
			if int(test.Labels[i]) == c && !wrong[i] && per[c] < BestEvalRight {
				per[c]++
				want = append(want, i)
			}
		}
	}
	if len(be.Right) != len(want) {
		t.Fatalf("%d correct examples, want %d", len(be.Right), len(want))
	}
	for i, x := range be.Right {
		if x.Index != want[i] || x.Pred != x.True || int(test.Labels[x.Index]) != x.True || x.Prob <= 0 || x.Prob > 1 {
			t.Errorf("correct example %d: %+v, want image %d", i, x, want[i])
		}
	}
	for _, x := range append(be.Mistakes, be.Right...) {
		for p, b := range x.Pixels {
			if float32(b)/255 != test.Images[x.Index*trainer.Pixels+p] {
				t.Fatalf("image %d pixel %d: %d, the data set's %v", x.Index, p, b, test.Images[x.Index*trainer.Pixels+p])
			}
		}
	}
}

// EvaluateSavedBest: a run without a saved model, and a detection model,
// give a one-line reason and load no data.
func TestEvaluateSavedBestWithoutFigures(t *testing.T) {
	runs := t.TempDir()
	noData := func(int) (*trainer.Dataset, error) {
		t.Error("the data set was loaded")
		return nil, os.ErrNotExist
	}
	if be := EvaluateSavedBest(context.Background(), runs, "CNN2-none", noData); !strings.HasPrefix(be.Err, "no saved best model in ") || be.N != 0 {
		t.Errorf("no model: %+v", be)
	}
	m, err := archs.New("CNN2_det", 1)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := m.Tensors()
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveModel(filepath.Join(runs, "CNN2_det-a", BestDir), "CNN2_det", ts, SourceDoc{Run: "CNN2_det-a", Kind: BestDir, Epoch: 3}); err != nil {
		t.Fatal(err)
	}
	if be := EvaluateSavedBest(context.Background(), runs, "CNN2_det-a", noData); be.Note != DetectionNote || be.Epoch != 3 || be.Err != "" {
		t.Errorf("detection model: %+v", be)
	}
}

// A queued run's record has its planned epochs once RunQueued says them.
func TestApplyRunQueuedEpochs(t *testing.T) {
	var r Run
	r.Apply(trainer.RunQueued{ID: "a", Model: "CNN2", Epochs: 12})
	if r.EpochsPlanned != 12 || r.Status != trainer.StatusQueued {
		t.Errorf("record %+v", r)
	}
	r.Apply(trainer.RunStarted{ID: "a", Model: "CNN2", Epochs: 10})
	r.Apply(trainer.RunQueued{ID: "a", Model: "CNN2", Epochs: 12})
	if r.EpochsPlanned != 10 {
		t.Errorf("planned %d after the start said 10", r.EpochsPlanned)
	}
}
