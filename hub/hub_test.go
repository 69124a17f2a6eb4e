package hub

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"fmnist/results"
	"fmnist/trainer"
	"fmnist/trainer/trainertest"
)

// collector is a subscriber that keeps what it is given.
type collector struct {
	mu      sync.Mutex
	events  []trainer.Event
	notices []Notice
	epochs  chan int // the epoch of each EpochEnd, without blocking
}

func newCollector() *collector { return &collector{epochs: make(chan int, 100)} }

func (c *collector) Push(ev trainer.Event) {
	c.mu.Lock()
	c.events = append(c.events, ev)
	c.mu.Unlock()
	if e, ok := ev.(trainer.EpochEnd); ok {
		select {
		case c.epochs <- e.Stats.Epoch:
		default:
		}
	}
}

func (c *collector) Notify(n Notice) {
	c.mu.Lock()
	c.notices = append(c.notices, n)
	c.mu.Unlock()
}

func (c *collector) taken() []trainer.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]trainer.Event(nil), c.events...)
}

// TestSubscribeSnapshotThenLive: a subscriber that joins while a run trains
// gets the run as recorded so far and then the rest of its events, with
// nothing missed and nothing twice: its snapshot and events fold into the
// same record as the disk's and as a subscriber's that was there from the
// start. No event reaching a subscriber carries the model's weights.
func TestSubscribeSnapshotThenLive(t *testing.T) {
	train, test := trainertest.Load(t, 512, 100)
	runs := t.TempDir()
	h := New(context.Background(), Settings{RunsDir: runs, Train: train, Test: test, Parallel: 1, Seed: 4})
	first := newCollector()
	if snap := h.Subscribe(first); len(snap) != 0 {
		t.Fatalf("snapshot of a new hub: %v", snap)
	}
	ids, err := h.Submit(trainer.Job{Model: "CNN2", Epochs: 3})
	if err != nil {
		t.Fatal(err)
	}
	id := ids[0]
	select {
	case <-first.epochs:
	case <-time.After(60 * time.Second):
		t.Fatal("no epoch in 60 s")
	}
	late := newCollector()
	snap := h.Subscribe(late)
	if h.Finish(false) {
		t.Error("Finish(false) cancelled runs")
	}
	if len(snap) != 1 || snap[0].Run.ID != id || snap[0].Run.Status != trainer.StatusRunning || len(snap[0].Run.Epochs) < 1 {
		t.Fatalf("snapshot during the first epochs: %+v", snap)
	}
	fold := func(r results.Run, evs []trainer.Event) results.Run {
		for _, ev := range evs {
			if e, ok := ev.(trainer.EpochEnd); ok && e.Checkpoint != nil {
				t.Errorf("epoch %d reached a subscriber with its checkpoint", e.Stats.Epoch)
			}
			r.Apply(ev)
		}
		return r
	}
	fromStart := fold(results.Run{}, first.taken())
	joined := fold(snap[0].Run, late.taken())
	disk, err := results.LoadRun(filepath.Join(runs, id))
	if err != nil {
		t.Fatal(err)
	}
	if len(disk.Epochs) != 3 || disk.Status != trainer.StatusDone {
		t.Fatalf("disk record: %d epochs, %s", len(disk.Epochs), disk.Status)
	}
	for name, r := range map[string]results.Run{"from the start": fromStart, "joined late": joined} {
		if r.Status != disk.Status || !reflect.DeepEqual(epochFigures(r.Epochs), epochFigures(disk.Epochs)) {
			t.Errorf("subscriber %s folds to %s %v, the disk has %s %v", name, r.Status, epochFigures(r.Epochs), disk.Status, epochFigures(disk.Epochs))
		}
	}
	if n := len(late.taken()); n >= len(first.taken()) {
		t.Errorf("the late subscriber got %d events, the first %d: the snapshot did not replace the past", n, len(first.taken()))
	}
	if rs := h.Runs(); len(rs) != 1 || rs[0].ID != id {
		t.Errorf("Runs %v", rs)
	}
	if o := h.Outcome(); o.Queued != 1 || len(o.Failed) != 0 || o.RecordErr != nil {
		t.Errorf("outcome %+v", o)
	}
	if _, err := h.Submit(trainer.Job{Model: "CNN2", Epochs: 1}); err != ErrClosing {
		t.Errorf("Submit after Finish: %v", err)
	}
}

// epochFigures are the figures of each epoch a record keeps (JSON loses
// the monotonic clock of times, so they are left out).
func epochFigures(es []trainer.EpochStats) [][4]float64 {
	var out [][4]float64
	for _, e := range es {
		out = append(out, [4]float64{float64(e.Epoch), e.TrainLoss, e.TestLoss, e.TestAcc})
	}
	return out
}

// A record that cannot be saved reaches every subscriber as a notice, not
// as an event, and is the hub's outcome.
func TestRecordErrorIsNotice(t *testing.T) {
	train, test := trainertest.Load(t, 256, 50)
	runs := t.TempDir()
	h := New(context.Background(), Settings{RunsDir: runs, Train: train, Test: test, Parallel: 1, Seed: 4})
	c := newCollector()
	h.Subscribe(c)
	// A file where the run's directory would go: its record cannot be saved.
	id := "CNN2-unsaveable"
	if err := os.WriteFile(filepath.Join(runs, id), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Submit(trainer.Job{ID: id, Model: "CNN2", Epochs: 1}); err != nil {
		t.Fatal(err)
	}
	h.Finish(false)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.notices) == 0 || !c.notices[0].Error || c.notices[0].Run != id {
		t.Fatalf("notices %+v", c.notices)
	}
	if h.Outcome().RecordErr == nil {
		t.Error("no record error in the outcome")
	}
	finished := false
	for _, ev := range c.events {
		if f, ok := ev.(trainer.RunFinished); ok && f.ID == id {
			finished = true
		}
	}
	if !finished {
		t.Error("the run's events stopped at the record error")
	}
}
