package tui

import (
	"testing"
	"time"

	"fmnist/results"
	"fmnist/trainer"
)

func TestStoreBuildsRecordsLikeTheRecorder(t *testing.T) {
	dir := t.TempDir()
	rec := results.NewRecorder(dir)
	s := newStore()
	for _, ev := range fixEvents() {
		if err := rec.Handle(ev); err != nil {
			t.Fatal(err)
		}
		s.apply(ev)
	}
	for _, id := range []string{"CNN2-20260301-120000", "model5-20260301-120000"} {
		want, got := rec.Run(id), s.get(id)
		if got == nil || want == nil {
			t.Fatalf("%s: recorder %v, store %v", id, want, got)
		}
		if got.Status != want.Status || len(got.Epochs) != len(want.Epochs) || got.BestEpoch != want.BestEpoch ||
			got.BestTestAcc != want.BestTestAcc || got.EpochsPlanned != want.EpochsPlanned || got.Params != want.Params ||
			got.Recipe.String() != want.Recipe.String() || !got.StartedAt.Equal(want.StartedAt) {
			t.Errorf("%s: store %+v\nrecorder %+v", id, got.Run, *want)
		}
	}
	// The queued run has no record but is shown.
	if r := s.get("reduced_all_cnn-20260301-120000"); r == nil || r.Status != trainer.StatusQueued || !r.Owned {
		t.Errorf("queued run: %+v", r)
	}
	if s.active() != 2 {
		t.Errorf("active %d, want 2", s.active())
	}
	// model5's progress is kept; CNN2's was cleared by its epochs' ends.
	if s.get("model5-20260301-120000").Progress == nil || s.get("CNN2-20260301-120000").Progress != nil {
		t.Error("progress not tracked per run")
	}
}

func TestStoreOrderAndTakeOver(t *testing.T) {
	s := newStore()
	s.mergeDisk(fixDiskRuns())
	s.apply(trainer.RunQueued{ID: "b", Model: "CNN2", Index: 1})
	s.apply(trainer.RunQueued{ID: "a", Model: "CNN2", Index: 0})
	var ids []string
	for _, r := range s.list() {
		ids = append(ids, r.ID)
	}
	want := []string{"CNN2_dropout-20260301-090000", "all_cnn-20260301-100000", "a", "b"}
	if len(ids) != 4 || ids[0] != want[0] || ids[1] != want[1] || ids[2] != want[2] || ids[3] != want[3] {
		t.Fatalf("order %v, want %v", ids, want)
	}
	// The record of a run of ours read from disk before its events got
	// here: the events take over and the epoch is not counted twice.
	t0 := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	disk := &results.Run{ID: "c", Model: "CNN2", Status: "running", StartedAt: t0, EpochsPlanned: 3,
		Epochs: []trainer.EpochStats{{Epoch: 1, TestAcc: 0.5}}}
	s.mergeDisk(append(fixDiskRuns(), disk))
	if r := s.get("c"); r == nil || r.Owned {
		t.Fatal("disk record not shown as foreign")
	}
	s.apply(trainer.EpochEnd{ID: "c", Epochs: 3, Stats: trainer.EpochStats{Epoch: 1, TestAcc: 0.5}})
	s.apply(trainer.EpochEnd{ID: "c", Epochs: 3, Stats: trainer.EpochStats{Epoch: 2, TestAcc: 0.7}})
	r := s.get("c")
	if !r.Owned || len(r.Epochs) != 2 || r.BestEpoch != 2 || r.BestTestAcc != 0.7 {
		t.Fatalf("after take-over: owned %v, %d epochs, best %v at %d", r.Owned, len(r.Epochs), r.BestTestAcc, r.BestEpoch)
	}
	// A later refresh does not replace it.
	s.mergeDisk(append(fixDiskRuns(), disk))
	if len(s.get("c").Epochs) != 2 {
		t.Fatal("refresh replaced a run of this process")
	}
	// Stale progress (of a finished epoch) is ignored; progress of unknown
	// or foreign runs too.
	if s.apply(trainer.BatchProgress{ID: "c", Epoch: 2, Batch: 5, Batches: 10}) {
		t.Error("stale progress applied")
	}
	if s.apply(trainer.BatchProgress{ID: "nope", Epoch: 1}) || s.apply(trainer.BatchProgress{ID: "all_cnn-20260301-100000", Epoch: 9}) {
		t.Error("progress of an unknown or foreign run applied")
	}
	if !s.apply(trainer.BatchProgress{ID: "c", Epoch: 3, Batch: 5, Batches: 10}) || s.get("c").Progress.Batch != 5 {
		t.Error("progress not applied")
	}
	s.apply(trainer.RunFinished{ID: "c", Status: trainer.StatusCancelled})
	if r := s.get("c"); r.Status != trainer.StatusCancelled || r.Progress != nil || r.FinishedAt == nil || r.active() {
		t.Errorf("after RunFinished: %+v", r)
	}
	if s.apply(trainer.RunFinished{ID: "never-queued", Status: "cancelled"}) {
		t.Error("RunFinished of an unknown run applied")
	}
}

func TestStoreChartCacheInvalidated(t *testing.T) {
	s := newStore()
	s.apply(trainer.RunStarted{ID: "a", Model: "CNN2", Epochs: 3})
	st := NewStyles(nil)
	r := s.get("a")
	before := r.chart(st, chartAcc, 30, 8)
	if r.chart(st, chartAcc, 30, 8) != before || len(r.charts) != 1 {
		t.Fatal("chart not cached")
	}
	s.apply(trainer.EpochEnd{ID: "a", Epochs: 3, Stats: fixEpoch(1, 0.5, 10)})
	s.apply(trainer.EpochEnd{ID: "a", Epochs: 3, Stats: fixEpoch(2, 0.5, 10)})
	if r.chart(st, chartAcc, 30, 8) == before {
		t.Fatal("chart not redrawn after new epochs")
	}
}

func TestRecordsAreCopies(t *testing.T) {
	s := newStore()
	s.mergeDisk(fixDiskRuns())
	recs := records(s.list())
	recs[0].Status = "changed"
	if s.list()[0].Status == "changed" {
		t.Fatal("records shares the runs")
	}
}

// A resumed run shows the epochs of its checkpoint, whether or not its
// record was read from disk.
func TestStoreResumedRunHistory(t *testing.T) {
	s := newStore()
	h := []trainer.EpochStats{fixEpoch(1, 0.5, 10), fixEpoch(2, 0.5, 10), fixEpoch(3, 0.5, 10)}
	t0 := time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC)
	s.apply(trainer.RunQueued{ID: "r", Model: "CNN2"})
	s.apply(trainer.RunStarted{ID: "r", Model: "CNN2", Epochs: 5, Time: t0, Resumed: true, History: h})
	r := s.get("r")
	if r.done() != 3 || r.BestEpoch != 3 || r.Status != trainer.StatusRunning || !r.StartedAt.Equal(t0) {
		t.Fatalf("resumed without a record: %d epochs, best %d, %s, %v", r.done(), r.BestEpoch, r.Status, r.StartedAt)
	}
	h[0].TestAcc = 0 // the event's slice is not shared
	if r.Epochs[0].TestAcc == 0 {
		t.Error("history shared with the event")
	}
	// With the record on disk (one epoch behind the checkpoint): the
	// checkpoint's history wins, the record's start stays.
	old := fixDiskRuns()[1]
	s.mergeDisk([]*results.Run{old})
	s.apply(trainer.RunQueued{ID: old.ID, Model: "all_cnn"})
	s.apply(trainer.RunStarted{ID: old.ID, Model: "all_cnn", Epochs: 40, Time: t0, Resumed: true,
		History: append(append([]trainer.EpochStats{}, old.Epochs...), fixEpoch(2, 0.2, 560))})
	if r := s.get(old.ID); r.done() != 2 || !r.StartedAt.Equal(old.StartedAt) {
		t.Fatalf("resumed with a record: %d epochs, started %v", r.done(), r.StartedAt)
	}
}

// A run that continues an earlier one keeps the epochs of its record.
func TestStoreResumedRunKeepsHistory(t *testing.T) {
	s := newStore()
	old := fixDiskRuns()[1] // all_cnn, failed after 1 epoch
	s.mergeDisk([]*results.Run{old})
	s.apply(trainer.RunQueued{ID: old.ID, Model: "all_cnn"})
	s.apply(trainer.RunStarted{ID: old.ID, Model: "all_cnn", Epochs: 40, Time: old.StartedAt.Add(time.Hour)})
	r := s.get(old.ID)
	if len(r.Epochs) != 1 || r.Status != trainer.StatusRunning || !r.StartedAt.Equal(old.StartedAt) || r.FinishedAt != nil || r.Error != "" {
		t.Fatalf("resumed: %d epochs, status %s, started %v, error %q", len(r.Epochs), r.Status, r.StartedAt, r.Error)
	}
	s.apply(trainer.EpochEnd{ID: old.ID, Epochs: 40, Stats: fixEpoch(2, 0.2, 560)})
	if r.done() != 2 || r.Epochs[1].Epoch != 2 {
		t.Fatalf("after epoch 2: %+v", r.Epochs)
	}
}

// A dashboard that joins under way (an SSH session) adopts the hub's
// snapshot of a run and folds the later events on top of it, to the record
// a dashboard there from the start has.
func TestStoreAdoptsSnapshot(t *testing.T) {
	evs := fixEvents()
	whole := newStore()
	for _, ev := range evs {
		whole.apply(ev)
	}
	// The snapshot: the Recorder's records after model5's first epoch
	// (CNN2 done, reduced_all_cnn still queued).
	rec := results.NewRecorder(t.TempDir())
	half := 0
	for i, ev := range evs {
		rec.Handle(ev)
		if e, ok := ev.(trainer.EpochEnd); ok && e.ID == "model5-20260301-120000" {
			half = i + 1
			break
		}
	}
	late := newStore()
	for i, id := range []string{"CNN2-20260301-120000", "model5-20260301-120000", "reduced_all_cnn-20260301-120000"} {
		l := LiveRun{Run: results.Run{ID: id, Status: trainer.StatusQueued}, Index: i}
		if r := rec.Run(id); r != nil {
			l.Run = *r
		}
		late.adopt(l)
	}
	for _, ev := range evs[half:] {
		late.apply(ev)
	}
	if late.active() != whole.active() || late.len() != whole.len() {
		t.Errorf("joined late: %d runs, %d active; from the start %d, %d", late.len(), late.active(), whole.len(), whole.active())
	}
	for _, id := range []string{"CNN2-20260301-120000", "model5-20260301-120000", "reduced_all_cnn-20260301-120000"} {
		a, b := whole.get(id), late.get(id)
		if b == nil || !b.Owned || a.Status != b.Status || len(a.Epochs) != len(b.Epochs) || a.BestEpoch != b.BestEpoch || a.BestTestAcc != b.BestTestAcc {
			t.Errorf("%s: joined late %+v\nfrom the start %+v", id, b, a)
		}
	}
}
