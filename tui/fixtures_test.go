package tui

import (
	"math"
	"strings"
	"testing"
	"time"

	"fmnist/archs"
	"fmnist/results"
	"fmnist/trainer"
)

// Fixed clock and data for the scripted tests: no training, no real time.
var fixT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)

func fixNow() time.Time { return fixT0.Add(30 * time.Minute) }

func fixRecipe(epochs, batch int) archs.Recipe {
	return archs.Recipe{Phases: []archs.Phase{{Epochs: epochs, Batch: batch, Optimizer: "adam", LR: 0.001}}}
}

// fixSGDRecipe is the all-CNN pair's seed recipe (Nesterov SGD).
func fixSGDRecipe(epochs int) archs.Recipe {
	return archs.Recipe{Phases: []archs.Phase{{Epochs: epochs, Batch: 64, Optimizer: "sgd", LR: 0.01, Momentum: 0.9, Nesterov: true, Decay: 1e-6}}}
}

var fixLayers = []string{
	"batch_normalization_1      channels               1x28x28              4",
	"conv2d_1                   3x3/1 same relu        32x28x28           320",
	"max_pooling2d_1            2x2 same               32x14x14             0",
	"flatten_1                                         6272                 0",
	"dense_1                    relu                   128             802944",
	"dense_2                                           10                1290",
}

// fixEpoch makes plausible figures for epoch e of a run learning at rate k.
func fixEpoch(e int, k, sec float64) trainer.EpochStats {
	f := 1 - math.Exp(-k*float64(e))
	return trainer.EpochStats{
		Epoch: e, TrainSeconds: sec + float64(e%3)*0.1, EvalSeconds: sec / 10,
		TrainLoss: 1.2 - 0.9*f, TrainAcc: 0.60 + 0.33*f,
		TestLoss: 1.1 - 0.8*f + 0.01*float64(e%2), TestAcc: 0.62 + 0.29*f - 0.004*float64(e%2),
	}
}

// fixDiskRuns are records "read from disk": a finished run and a failed one
// from earlier sessions.
func fixDiskRuns() []*results.Run {
	fin := fixT0.Add(-2 * time.Hour)
	done := &results.Run{ID: "CNN2_dropout-20260301-090000", Model: "CNN2_dropout", Params: 440910, Status: "done",
		Recipe: fixRecipe(8, 256), EpochsPlanned: 8, TrainSize: 60000, TestSize: 10000, Seed: 1, Layers: fixLayers,
		StartedAt: fixT0.Add(-3 * time.Hour), FinishedAt: &fin}
	for e := 1; e <= 8; e++ {
		done.Epochs = append(done.Epochs, fixEpoch(e, 0.35, 60))
	}
	failedAt := fixT0.Add(-90 * time.Minute)
	failed := &results.Run{ID: "all_cnn-20260301-100000", Model: "all_cnn", Params: 1248202, Status: "failed",
		Error: "epoch 2: loss is not finite (NaN) at batch 17", Recipe: fixSGDRecipe(40), EpochsPlanned: 40,
		TrainSize: 60000, TestSize: 10000, Seed: 1, StartedAt: fixT0.Add(-100 * time.Minute), FinishedAt: &failedAt}
	failed.Epochs = append(failed.Epochs, fixEpoch(1, 0.2, 560))
	for _, r := range []*results.Run{done, failed} {
		r.BestTestAcc, r.BestEpoch = 0, 0
		for i, e := range r.Epochs {
			if i == 0 || e.TestAcc > r.BestTestAcc {
				r.BestTestAcc, r.BestEpoch = e.TestAcc, e.Epoch
			}
		}
	}
	return []*results.Run{done, failed}
}

// fixEvents is a scripted stream of this process's events: CNN2 finished 5
// epochs, model5 is in its 3rd epoch of 6, reduced_all_cnn waits.
func fixEvents() []trainer.Event {
	var evs []trainer.Event
	ids := []string{"CNN2-20260301-120000", "model5-20260301-120000", "reduced_all_cnn-20260301-120000"}
	for i, m := range []string{"CNN2", "model5", "reduced_all_cnn"} {
		evs = append(evs, trainer.RunQueued{ID: ids[i], Model: m, Index: i})
	}
	evs = append(evs, trainer.RunStarted{ID: ids[0], Model: "CNN2", Params: 211950, Layers: fixLayers,
		Recipe: fixRecipe(5, 256), Epochs: 5, TrainSize: 60000, TestSize: 10000, Seed: 1, Time: fixT0})
	for e := 1; e <= 5; e++ {
		evs = append(evs, trainer.BatchProgress{ID: ids[0], Epoch: e, Epochs: 5, Batch: 100, Batches: 235, Loss: 0.5, Acc: 0.8, ImagesPerSec: 3200})
		evs = append(evs, trainer.EpochEnd{ID: ids[0], Epochs: 5, Stats: fixEpoch(e, 0.5, 18.5)})
	}
	evs = append(evs, trainer.RunFinished{ID: ids[0], Status: trainer.StatusDone, Time: fixT0.Add(2 * time.Minute)})
	m5 := archs.Recipe{Phases: []archs.Phase{
		{Epochs: 2, Batch: 256, Optimizer: "adam", LR: 0.01},
		{Epochs: 4, Batch: 1024, Optimizer: "adam", LR: 0.001}}}
	evs = append(evs, trainer.RunStarted{ID: ids[1], Model: "model5", Params: 192218, Recipe: m5, Epochs: 6,
		TrainSize: 60000, TestSize: 10000, Seed: 1, Time: fixT0.Add(2 * time.Minute)})
	for e := 1; e <= 2; e++ {
		evs = append(evs, trainer.EpochEnd{ID: ids[1], Epochs: 6, Stats: fixEpoch(e, 0.6, 40)})
	}
	evs = append(evs, trainer.BatchProgress{ID: ids[1], Epoch: 3, Epochs: 6, Batch: 30, Batches: 59, Loss: 0.41, Acc: 0.852, ImagesPerSec: 1450})
	return evs
}

// fixSys is a fixed system sample: 97% of a core, 212 MiB resident.
func fixSys() SysSample { return SysSample{CPU: 97, RSS: 212 << 20, OK: true} }

// fixImage is a made-up 28x28 item: a light ellipse on black, its size and
// texture varying with k.
func fixImage(k int) []uint8 {
	px := make([]uint8, trainer.Pixels)
	rx, ry := 5.0+float64(k%6), 7.0+float64(k%5)
	for y := range trainer.ImageSize {
		for x := range trainer.ImageSize {
			dx, dy := (float64(x)-13.5)/rx, (float64(y)-13.5)/ry
			if dx*dx+dy*dy <= 1 {
				px[y*trainer.ImageSize+x] = uint8(90 + (x*7+y*3+k*11)%160)
			}
		}
	}
	return px
}

// fixEval is a fixed evaluation of run's best model at epoch: 10,000 test
// images, 1,000 a class, the usual confusions (shirts with T-shirts,
// pullovers and coats), 24 mistakes and three correct images a class.
func fixEval(run string, epoch int) *results.BestEval {
	e := &results.BestEval{Run: run, Epoch: epoch, Model: "model5", N: 10000, Loss: 0.41, Classes: trainer.ClassNames[:]}
	wrong := [10][10]int{
		0: {6: 95, 3: 20, 2: 12, 8: 8, 4: 5},
		1: {3: 12, 0: 4},
		2: {4: 80, 6: 70, 0: 15},
		3: {0: 25, 4: 30, 6: 20, 1: 8},
		4: {2: 90, 6: 60, 3: 25},
		5: {7: 25, 9: 12},
		6: {0: 140, 2: 85, 4: 70, 3: 20},
		7: {5: 18, 9: 30},
		8: {6: 8, 0: 5},
		9: {7: 35, 5: 6},
	}
	for r := range 10 {
		n := 0
		for c, v := range wrong[r] {
			e.Confusion[r][c] = v * 17 / 10 // about the 82% that model5 has at epoch 2
			n += e.Confusion[r][c]
		}
		e.Confusion[r][r] = 1000 - n
		e.Correct += 1000 - n
	}
	pairs := [][2]int{{6, 0}, {4, 2}, {0, 6}, {2, 4}, {9, 7}, {3, 0}, {6, 2}, {7, 9}}
	for i := range results.BestEvalMistakes {
		p := pairs[i%len(pairs)]
		e.Mistakes = append(e.Mistakes, results.Example{Index: 37 + 53*i, True: p[0], Pred: p[1], Prob: 0.995 - 0.012*float64(i), Pixels: fixImage(i)})
	}
	for c := range 10 {
		for j := range results.BestEvalRight {
			e.Right = append(e.Right, results.Example{Index: c + 10*j, True: c, Pred: c, Prob: 0.99 - 0.03*float64(j) - 0.01*float64(c), Pixels: fixImage(100 + 3*c + j)})
		}
	}
	return e
}

// fixSeedRuns are fixDiskRuns and two more seeds of its first run (the
// same model and recipe, learning at other rates), appended last.
func fixSeedRuns() []*results.Run {
	runs := fixDiskRuns()
	base := runs[0]
	for i, k := range []float64{0.30, 0.40} {
		r := *base
		r.ID, r.Seed = base.ID+"-"+string(rune('2'+i)), int64(2+i)
		r.Epochs = nil
		for e := 1; e <= 8; e++ {
			r.Epochs = append(r.Epochs, fixEpoch(e, k, 60))
		}
		r.BestTestAcc, r.BestEpoch = r.Epochs[7].TestAcc, 8
		runs = append(runs, &r)
	}
	return runs
}

// checkWidth fails t for each line of view wider than w cells.
func checkWidth(t *testing.T, view string, w int) {
	t.Helper()
	for i, l := range strings.Split(view, "\n") {
		if n := cellWidth(l); n > w {
			t.Errorf("line %d is %d wide: %q", i, n, l)
		}
	}
}
