package trainer

import (
	"context"
	"testing"
	"time"
)

func loadSlice(t *testing.T, nTrain, nTest int) (*Dataset, *Dataset) {
	t.Helper()
	tr, te, err := Load(DefaultDataDir(), nTrain, nTest)
	if err != nil {
		t.Fatalf("loading Fashion-MNIST (installed by the test command): %v", err)
	}
	return tr, te
}

// trainCollect runs one job synchronously and returns its epoch stats.
func trainCollect(t *testing.T, tr, te *Dataset, job Job) ([]EpochStats, string, error) {
	t.Helper()
	var eps []EpochStats
	status, err := Train(context.Background(), tr, te, job, func(e Event) {
		if ee, ok := e.(EpochEnd); ok {
			eps = append(eps, ee.Stats)
		}
	})
	return eps, status, err
}

func TestCNN2Converges(t *testing.T) {
	tr, te := loadSlice(t, 6000, 2000)
	t0 := time.Now()
	eps, status, err := trainCollect(t, tr, te, Job{ID: "t", Model: "CNN2", Epochs: 3, Seed: 1})
	if err != nil || status != StatusDone {
		t.Fatalf("status %s, err %v", status, err)
	}
	for _, e := range eps {
		t.Logf("epoch %d: train loss %.4f acc %.4f, test loss %.4f acc %.4f (%.1fs + %.1fs)", e.Epoch, e.TrainLoss, e.TrainAcc, e.TestLoss, e.TestAcc, e.TrainSeconds, e.EvalSeconds)
	}
	t.Logf("total %v", time.Since(t0))
	if len(eps) != 3 {
		t.Fatalf("%d epochs, want 3", len(eps))
	}
	if acc := eps[2].TestAcc; acc < 0.72 {
		t.Errorf("CNN2 test accuracy after 3 epochs on 6000 images: %.4f, want >= 0.72", acc)
	}
	if eps[2].TrainLoss >= eps[0].TrainLoss {
		t.Errorf("train loss did not fall: %.4f -> %.4f", eps[0].TrainLoss, eps[2].TrainLoss)
	}
}
