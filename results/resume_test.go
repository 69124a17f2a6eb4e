package results

import (
	"bytes"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"fmnist/safetensors"
	"fmnist/trainer"
)

// A run interrupted after an epoch and resumed from its checkpoint file
// matches an uninterrupted run with the same seed in every recorded figure
// but the timings, and ends with the same weights. Covered: Adam with
// dropout and BatchNorm (CNN2_dropout), Nesterov SGD (reduced_all_cnn), and
// model5's two phases (stopped inside the second, whose Adam state must
// carry over), and CNN2 with a validation set and the improved recipe
// (augmentation, schedule and weight decay must carry over too).
func TestResumeMatchesUninterruptedRun(t *testing.T) {
	tr, te := loadData(t, 512, 200)
	for _, c := range []struct {
		model             string
		epochs, stopAfter int
		val               int
		recipe            string
	}{
		{"CNN2_dropout", 2, 1, 0, ""},
		{"reduced_all_cnn", 2, 1, 0, ""},
		{"model5", 3, 2, 0, ""},
		{"CNN2", 3, 1, 100, "improved"},
	} {
		t0 := time.Now()
		dir := t.TempDir()
		full := trainer.Job{ID: c.model + "-full", Model: c.model, Epochs: c.epochs, Seed: 11, Val: c.val, Recipe: c.recipe}
		if st, _ := train(t, tr, te, full, 0, NewRecorder(dir)); st != trainer.StatusDone {
			t.Fatalf("%s: uninterrupted run %s", c.model, st)
		}
		cut := trainer.Job{ID: c.model + "-cut", Model: c.model, Epochs: c.epochs, Seed: 11, Val: c.val, Recipe: c.recipe}
		if st, _ := train(t, tr, te, cut, c.stopAfter, NewRecorder(dir)); st != trainer.StatusCancelled {
			t.Fatalf("%s: interrupted run %s", c.model, st)
		}
		cutDir := filepath.Join(dir, cut.ID)
		cp, err := LoadCheckpoint(cutDir)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Epoch != c.stopAfter {
			t.Fatalf("%s: checkpoint after epoch %d, want %d", c.model, cp.Epoch, c.stopAfter)
		}
		cut.Resume = cp
		if st, _ := train(t, tr, te, cut, 0, NewRecorder(dir)); st != trainer.StatusDone {
			t.Fatalf("%s: resumed run %s", c.model, st)
		}

		a, err := LoadRun(filepath.Join(dir, full.ID))
		if err != nil {
			t.Fatal(err)
		}
		b, err := LoadRun(cutDir)
		if err != nil {
			t.Fatal(err)
		}
		if b.Status != trainer.StatusDone || len(b.ResumedAt) != 1 || !b.StartedAt.Equal(a.StartedAt) && b.StartedAt.After(b.ResumedAt[0]) {
			t.Errorf("%s: resumed record status %s, resumed_at %v", c.model, b.Status, b.ResumedAt)
		}
		if len(a.Epochs) != c.epochs || len(b.Epochs) != c.epochs {
			t.Fatalf("%s: %d and %d epochs recorded", c.model, len(a.Epochs), len(b.Epochs))
		}
		for i := range a.Epochs {
			x, y := a.Epochs[i], b.Epochs[i]
			x.TrainSeconds, x.EvalSeconds, y.TrainSeconds, y.EvalSeconds = 0, 0, 0, 0
			if !reflect.DeepEqual(x, y) {
				t.Errorf("%s epoch %d: uninterrupted %+v, resumed %+v", c.model, i+1, x, y)
			}
		}
		if a.BestEpoch != b.BestEpoch || a.BestTestAcc != b.BestTestAcc {
			t.Errorf("%s: best %v@%d vs %v@%d", c.model, a.BestTestAcc, a.BestEpoch, b.BestTestAcc, b.BestEpoch)
		}
		for _, sub := range []string{FinalDir, BestDir} {
			fa, err := safetensors.ReadFile(filepath.Join(dir, full.ID, sub, ModelWeights))
			if err != nil {
				t.Fatal(err)
			}
			fb, err := safetensors.ReadFile(filepath.Join(cutDir, sub, ModelWeights))
			if err != nil {
				t.Fatal(err)
			}
			for i, ta := range fa.Tensors {
				if tb := fb.Tensors[i]; ta.Name != tb.Name || !bytes.Equal(ta.Data, tb.Data) {
					t.Errorf("%s: %s model tensor %s differs", c.model, sub, ta.Name)
				}
			}
		}
		t.Logf("%s: resumed after epoch %d of %d; final test acc %.4f in both runs (%v)", c.model, c.stopAfter, c.epochs, b.Epochs[c.epochs-1].TestAcc, time.Since(t0))
	}
}

func TestResumeRefusesOtherData(t *testing.T) {
	tr, te := loadData(t, 256, 100)
	_, cps := train(t, tr, te, trainer.Job{ID: "d", Model: "CNN2", Epochs: 2, Seed: 1}, 1, nil)
	cp := cps[0]
	job := trainer.Job{ID: "d", Model: "CNN2", Seed: 1, Resume: cp}
	if err := trainer.CheckResume(cp, job, tr, te); err != nil {
		t.Fatalf("same data refused: %v", err)
	}
	tr2, te2 := loadData(t, 300, 100)
	if err := trainer.CheckResume(cp, job, tr2, te2); err == nil {
		t.Error("a different training slice was accepted")
	}
	flipped := *tr
	flipped.Labels = append([]uint8(nil), tr.Labels...)
	flipped.Labels[0] = (flipped.Labels[0] + 1) % 10
	if err := trainer.CheckResume(cp, job, &flipped, te); err == nil {
		t.Error("different labels were accepted")
	}
	job.Seed = 2
	if err := trainer.CheckResume(cp, job, tr, te); err == nil {
		t.Error("a different seed was accepted")
	}
}
