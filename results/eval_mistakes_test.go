package results

import (
	"context"
	"testing"

	"fmnist/archs"
	"fmnist/trainer"
)

// TestEvaluateMistakes: on 300 real test images an untrained CNN2's
// Mistakes are exactly its wrong answers (one per image off the confusion
// matrix's diagonal, with the data's label as True), sorted by the
// predicted class's softmax probability, highest first; and the accuracy
// is still trainer.Evaluate's.
func TestEvaluateMistakes(t *testing.T) {
	ctx := context.Background()
	m, test, ev := evalUntrained(t)
	if ev.N != 300 {
		t.Fatalf("N = %d", ev.N)
	}
	if len(ev.Mistakes) != ev.N-ev.Correct {
		t.Fatalf("%d mistakes, %d wrong answers", len(ev.Mistakes), ev.N-ev.Correct)
	}
	if len(ev.Mistakes) == 0 {
		t.Fatal("an untrained model made no mistakes")
	}
	off := 0
	for r := range trainer.NumClasses {
		for c := range trainer.NumClasses {
			if r != c {
				off += ev.Confusion[r][c]
			}
		}
	}
	if off != len(ev.Mistakes) {
		t.Errorf("confusion off-diagonals add up to %d, %d mistakes", off, len(ev.Mistakes))
	}

	// Each mistake against the model's own logits.
	probs := make([][]float64, test.N)
	if err := trainer.Predict(ctx, m, test.Images, test.N, func(i int, logits []float32) {
		probs[i] = Softmax(logits)
	}); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	var byClass [trainer.NumClasses][trainer.NumClasses]int
	for k, mk := range ev.Mistakes {
		if mk.Index < 0 || mk.Index >= test.N || seen[mk.Index] {
			t.Fatalf("mistake %d: bad or repeated index %d", k, mk.Index)
		}
		seen[mk.Index] = true
		if mk.True != int(test.Labels[mk.Index]) {
			t.Errorf("mistake %d: True %d, label %d", k, mk.True, test.Labels[mk.Index])
		}
		if mk.Pred == mk.True {
			t.Errorf("mistake %d: Pred == True == %d", k, mk.Pred)
		}
		if p := probs[mk.Index]; mk.Prob != p[mk.Pred] {
			t.Errorf("mistake %d: Prob %v, softmax gives %v", k, mk.Prob, p[mk.Pred])
		}
		if mk.Prob < 1.0/trainer.NumClasses || mk.Prob > 1 {
			t.Errorf("mistake %d: Prob %v is not a top class's probability", k, mk.Prob)
		}
		byClass[mk.True][mk.Pred]++
		if k > 0 {
			prev := ev.Mistakes[k-1]
			if prev.Prob < mk.Prob || prev.Prob == mk.Prob && prev.Index > mk.Index {
				t.Errorf("mistakes %d and %d out of order: %+v, %+v", k-1, k, prev, mk)
			}
		}
	}
	for r := range trainer.NumClasses {
		for c := range trainer.NumClasses {
			if r != c && byClass[r][c] != ev.Confusion[r][c] {
				t.Errorf("confusion[%d][%d] = %d, %d mistakes", r, c, ev.Confusion[r][c], byClass[r][c])
			}
		}
	}

	_, acc, err := trainer.Evaluate(ctx, m, test)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Accuracy() != acc {
		t.Errorf("accuracy %v, trainer.Evaluate %v", ev.Accuracy(), acc)
	}
}

// evalUntrained evaluates an untrained CNN2 (seed 1) on the first 300 test
// images: plenty of mistakes, in every class.
func evalUntrained(t *testing.T) (*archs.Model, *trainer.Dataset, *Evaluation) {
	t.Helper()
	_, test := loadData(t, 1, 300)
	m, err := archs.New("CNN2", 1)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Evaluate(context.Background(), m, test)
	if err != nil {
		t.Fatal(err)
	}
	return m, test, ev
}
