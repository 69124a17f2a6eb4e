package tui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"fmnist/archs"
	"fmnist/results"
	"fmnist/trainer"
)

func TestPlainStream(t *testing.T) {
	var b bytes.Buffer
	p := NewPlain(&b)
	recipe := archs.Recipe{Phases: []archs.Phase{{Epochs: 35, Batch: 256, Optimizer: "adam", LR: 0.001}}}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	id := "CNN2-20260301-120000"

	p.Handle(trainer.RunQueued{ID: id, Model: "CNN2"})
	p.Handle(trainer.RunQueued{ID: "q", Model: "reduced_all_cnn_wide"})
	p.Handle(trainer.RunStarted{ID: id, Model: "CNN2", Params: 211950, Recipe: recipe, Epochs: 35,
		TrainSize: 60000, TestSize: 10000, Time: t0})
	p.Handle(trainer.BatchProgress{ID: id, Epoch: 1, Epochs: 35, Batch: 10, Batches: 235})
	if strings.Count(b.String(), "\n") != 1 {
		t.Fatalf("queue/progress events printed something:\n%s", b.String())
	}
	p.Handle(trainer.EpochEnd{ID: id, Epochs: 35, Stats: trainer.EpochStats{
		Epoch: 3, TrainSeconds: 12.34, EvalSeconds: 0.8, TrainLoss: 0.4123, TrainAcc: 0.8512, TestLoss: 0.3989, TestAcc: 0.8601}})
	p.Handle(trainer.EpochEnd{ID: id, Epochs: 35, Stats: trainer.EpochStats{
		Epoch: 31, TrainSeconds: 100, EvalSeconds: 1, TrainLoss: 0.1, TrainAcc: 0.97, TestLoss: 0.2, TestAcc: 0.9204}})
	p.Handle(trainer.EpochEnd{ID: id, Epochs: 35, Stats: trainer.EpochStats{
		Epoch: 32, TrainSeconds: 10, EvalSeconds: 1, TrainLoss: 0.1, TrainAcc: 0.97, TestLoss: 0.2, TestAcc: 0.91, Concurrent: 2}})
	p.Handle(trainer.RunFinished{ID: id, Status: trainer.StatusDone, Time: t0.Add(time.Hour)})

	p.Handle(trainer.RunStarted{ID: "m5", Model: "model5", Epochs: 40, Recipe: recipe})
	p.Handle(trainer.RunFinished{ID: "m5", Status: trainer.StatusFailed, Err: "out of memory\nat layer 3"})
	p.Handle(trainer.RunStarted{ID: "x", Model: "all_cnn", Epochs: 5, Recipe: recipe})
	imp := archs.Recipe{Name: "improved", Phases: []archs.Phase{{Epochs: 3, Batch: 64, Optimizer: "adam", LR: 0.004}},
		Schedule: "cosine", WarmupEpochs: 1, Augment: &archs.Augment{Flip: true}, Set: []string{"lr=0.004", "batch=64"}}
	p.Handle(trainer.RunStarted{ID: "i", Model: "CNN2", Epochs: 3, Recipe: imp})
	for e := 1; e <= 3; e++ {
		p.Handle(trainer.EpochEnd{ID: "x", Epochs: 5, Stats: trainer.EpochStats{Epoch: e, TestAcc: 0.5}})
	}
	p.Handle(trainer.RunFinished{ID: "x", Status: trainer.StatusCancelled})
	p.Handle(trainer.RunFinished{ID: "q", Status: trainer.StatusCancelled})

	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	want := []string{
		"start  CNN2 (run CNN2-20260301-120000) params 211,950, 35 epochs, batch 256, Adam lr 0.001, train 60000 / test 10000",
		// The model column is as wide as the longest model seen so far
		// (reduced_all_cnn_wide, 20 characters, from the queue).
		// The eta is the remaining epochs at the mean pace of those done
		// (32 x 13.1 s, then 4 x 57.1 s and 3 x 41.7 s).
		"       CNN2                 epoch  3/35  train loss 0.4123 acc 85.12%  test loss 0.3989 acc 86.01%    12.3s +0.8s eval  eta 7m00s",
		"       CNN2                 epoch 31/35  train loss 0.1000 acc 97.00%  test loss 0.2000 acc 92.04%   100.0s +1.0s eval  eta 3m48s",
		// An epoch trained beside another run says so.
		"       CNN2                 epoch 32/35  train loss 0.1000 acc 97.00%  test loss 0.2000 acc 91.00%    10.0s +1.0s eval (2 runs at once)  eta 2m05s",
		// Without validation images the best epoch is chosen on test.
		"done   CNN2 (run CNN2-20260301-120000) 3 epochs in 2.1 min, best 92.04% (epoch 31, chosen on test)",
		"start  model5 (run m5) params 0, 40 epochs: 35 ep, batch 256, Adam lr 0.001, train 0 / test 0",
		"failed model5: out of memory at layer 3",
		"start  all_cnn (run x) params 0, 5 epochs: 35 ep, batch 256, Adam lr 0.001, train 0 / test 0",
		"start  CNN2 (run i) params 0, improved+lr0.004+batch64 recipe, 3 epochs, batch 64, Adam lr 0.004, cosine lr (warm-up 1 ep), flips, train 0 / test 0",
		"       all_cnn              epoch 1/5  train loss 0.0000 acc  0.00%  test loss 0.0000 acc 50.00%     0.0s +0.0s eval",
		"       all_cnn              epoch 2/5  train loss 0.0000 acc  0.00%  test loss 0.0000 acc 50.00%     0.0s +0.0s eval",
		"       all_cnn              epoch 3/5  train loss 0.0000 acc  0.00%  test loss 0.0000 acc 50.00%     0.0s +0.0s eval",
		"cancelled all_cnn after 3 epochs",
		"cancelled reduced_all_cnn_wide after 0 epochs",
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), b.String())
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q", i, lines[i], want[i])
		}
	}
}

// A run with validation images: each epoch shows their accuracy, and the
// best epoch is the one they choose, reported with its test accuracy.
func TestPlainValidation(t *testing.T) {
	var b bytes.Buffer
	p := NewPlain(&b)
	p.Handle(trainer.RunStarted{ID: "v", Model: "CNN2", Epochs: 3, TrainSize: 55000, ValSize: 5000, TestSize: 10000})
	for i, acc := range [][2]float64{{0.90, 0.91}, {0.92, 0.90}, {0.91, 0.93}} { // validation, test
		p.Handle(trainer.EpochEnd{ID: "v", Epochs: 3, Stats: trainer.EpochStats{Epoch: i + 1, TrainSeconds: 60, ValAcc: acc[0], TestAcc: acc[1]}})
	}
	p.Handle(trainer.RunFinished{ID: "v", Status: trainer.StatusDone})
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if !strings.Contains(lines[2], "test loss 0.0000 acc 90.00%  val acc 92.00%") || !strings.HasSuffix(lines[2], "eval  eta 1m00s") {
		t.Errorf("epoch 2: %q", lines[2])
	}
	if !strings.HasSuffix(lines[0], ", train 55000 / val 5000 / test 10000") {
		t.Errorf("first line: %q", lines[0])
	}
	if want := "done   CNN2 (run v) 3 epochs in 3.0 min, best 90.00% (epoch 2, chosen on validation)"; lines[4] != want {
		t.Errorf("last line %q, want %q", lines[4], want)
	}
}

func TestPlainMinimumWidth(t *testing.T) {
	var b bytes.Buffer
	p := NewPlain(&b)
	p.Handle(trainer.RunStarted{ID: "a", Model: "CNN2", Epochs: 2})
	p.Handle(trainer.EpochEnd{ID: "a", Epochs: 2, Stats: trainer.EpochStats{Epoch: 1}})
	line := strings.Split(b.String(), "\n")[1]
	if !strings.HasPrefix(line, "       CNN2            epoch 1/2 ") {
		t.Errorf("model column not padded to 15: %q", line)
	}
}

func TestPlainSummary(t *testing.T) {
	var b bytes.Buffer
	p := NewPlain(&b)
	runs := []*results.Run{
		{ID: "r1", Model: "CNN2", Status: "done", Params: 211950, Epochs: []trainer.EpochStats{{Epoch: 1, TrainSeconds: 28, TestAcc: 0.92}}},
		{ID: "r2", Model: "model5", Status: "cancelled", Epochs: []trainer.EpochStats{}},
	}
	p.Summary(runs)
	var table bytes.Buffer
	results.WriteTable(&table, results.Rows(runs), "md")
	if b.String() != "\n"+table.String() {
		t.Errorf("summary:\n%q\nwant blank line + table:\n%q", b.String(), table.String())
	}
	if !strings.Contains(b.String(), "| r1 | CNN2 | seed | 0 | done | 211,950 |") {
		t.Errorf("summary lacks the run row:\n%s", b.String())
	}
}

// A resumed run's last line counts the epochs of its earlier processes too,
// and says how many this one trained, none if the run was killed after its
// last epoch was saved.
func TestPlainResumed(t *testing.T) {
	var b bytes.Buffer
	p := NewPlain(&b)
	hist := []trainer.EpochStats{{Epoch: 1, ValAcc: 0.90, TestAcc: 0.89}, {Epoch: 2, ValAcc: 0.93, TestAcc: 0.91}}
	p.Handle(trainer.RunStarted{ID: "r", Model: "CNN2", Epochs: 3, ValSize: 500, Resumed: true, History: hist})
	p.Handle(trainer.EpochEnd{ID: "r", Epochs: 3, Stats: trainer.EpochStats{Epoch: 3, TrainSeconds: 90, ValAcc: 0.92, TestAcc: 0.92}})
	p.Handle(trainer.RunFinished{ID: "r", Status: trainer.StatusDone})
	p.Handle(trainer.RunStarted{ID: "k", Model: "CNN2", Epochs: 1, Resumed: true, History: hist[:1]})
	p.Handle(trainer.RunFinished{ID: "k", Status: trainer.StatusDone})
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	want := []string{
		"done   CNN2 (run r) 3 epochs (1 in this process, 1.5 min), best 91.00% (epoch 2, chosen on validation)",
		"done   CNN2 (run k) 1 epoch (none in this process), best 89.00% (epoch 1, chosen on test)",
	}
	if len(lines) != 5 || lines[2] != want[0] || lines[4] != want[1] {
		t.Errorf("got\n%s\nwant last lines\n%s", b.String(), strings.Join(want, "\n"))
	}
}
