package tui

import (
	"math"
	"testing"
	"time"

	"fmnist/trainer"
)

func TestMetrics(t *testing.T) {
	s := fixStore()
	m5 := s.get("model5-20260301-120000")
	// Two epochs of 40.15 s + 4 s on average; 6 planned; 30/59 of the 3rd done.
	per := m5.secondsPerEpoch()
	if math.Abs(per-44.15) > 0.01 {
		t.Errorf("seconds per epoch %v", per)
	}
	if eta, want := m5.eta(), (6-2-30.0/59)*per; math.Abs(eta-want) > 1e-9 {
		t.Errorf("eta %v, want %v", eta, want)
	}
	if f := m5.runFraction(); math.Abs(f-(2+30.0/59)/6) > 1e-9 {
		t.Errorf("run fraction %v", f)
	}
	if ips := m5.imagesPerSec(); ips != 1450 {
		t.Errorf("live img/s %v", ips)
	}
	cnn2 := s.get("CNN2-20260301-120000")
	if ips := cnn2.imagesPerSec(); math.Abs(ips-60000*5/cnn2.totalSeconds()*(cnn2.totalSeconds()/93.1)) > 1 {
		t.Errorf("mean img/s %v", ips)
	}
	if !math.IsNaN(cnn2.eta()) {
		t.Error("eta of a finished run")
	}
	if el := cnn2.elapsed(fixNow()); el != 120 {
		t.Errorf("elapsed of a finished run %v", el)
	}
	if el := m5.elapsed(fixT0.Add(10 * time.Minute)); el != 480 {
		t.Errorf("elapsed of a running run %v", el)
	}
	// Before the first epoch, the speed of the epoch under way.
	r := &runState{Owned: true}
	r.Status, r.TrainSize, r.EpochsPlanned = trainer.StatusRunning, 60000, 3
	r.Progress = &trainer.BatchProgress{Epoch: 1, Batch: 50, Batches: 100, ImagesPerSec: 3000}
	if per := r.secondsPerEpoch(); per != 20 {
		t.Errorf("per epoch from speed %v", per)
	}
	if eta := r.eta(); eta != 50 {
		t.Errorf("eta from speed %v", eta)
	}
	if !math.IsNaN((&runState{}).elapsed(fixNow())) || !math.IsNaN((&runState{}).imagesPerSec()) {
		t.Error("unknowns are not NaN")
	}
}
