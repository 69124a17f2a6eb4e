package trainer

import (
	"context"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func collect(ch <-chan Event) []Event {
	var evs []Event
	for e := range ch {
		evs = append(evs, e)
	}
	return evs
}

func TestEventOrderWithQueuedRuns(t *testing.T) {
	tr, te := loadSlice(t, 600, 200)
	jobs := []Job{{ID: "a", Model: "CNN2", Epochs: 2, Seed: 1}, {ID: "b", Model: "reduced_all_cnn", Epochs: 1, Seed: 1}}
	evs := collect(Start(context.Background(), Config{Train: tr, Test: te, Parallel: 1}, jobs))

	// Both runs are queued first, in order; with one slot, b starts only after a ends.
	var kinds []string
	epochs := map[string][]int{}
	for _, e := range evs {
		switch ev := e.(type) {
		case RunQueued:
			kinds = append(kinds, "queued "+ev.ID)
		case RunStarted:
			kinds = append(kinds, "started "+ev.ID)
			if ev.Params == 0 || ev.Epochs == 0 || ev.TrainSize != 600 || ev.TestSize != 200 {
				t.Errorf("RunStarted %+v lacks figures", ev)
			}
		case EpochEnd:
			epochs[ev.ID] = append(epochs[ev.ID], ev.Stats.Epoch)
			if ev.Stats.TrainSeconds <= 0 || ev.Stats.EvalSeconds <= 0 || ev.Stats.TestAcc <= 0 {
				t.Errorf("EpochEnd %+v lacks figures", ev.Stats)
			}
		case RunFinished:
			kinds = append(kinds, "finished "+ev.ID+" "+ev.Status)
		case BatchProgress:
			if ev.Batch < 1 || ev.Batch > ev.Batches || ev.ImagesPerSec <= 0 {
				t.Errorf("bad progress %+v", ev)
			}
		}
	}
	want := []string{"queued a", "queued b", "started a", "finished a done", "started b", "finished b done"}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("event order %v, want %v", kinds, want)
	}
	if !reflect.DeepEqual(epochs["a"], []int{1, 2}) || !reflect.DeepEqual(epochs["b"], []int{1}) {
		t.Fatalf("epochs %v", epochs)
	}
	// The last progress event of an epoch comes before its EpochEnd and reports every batch.
	var last BatchProgress
	for _, e := range evs {
		if p, ok := e.(BatchProgress); ok && p.ID == "a" {
			last = p
		}
		if ee, ok := e.(EpochEnd); ok && ee.ID == "a" && ee.Stats.Epoch == 2 {
			if last.Epoch != 2 || last.Batch != last.Batches || last.Batches != 3 { // 600 images, batch 256
				t.Fatalf("last progress before epoch end: %+v", last)
			}
		}
	}
}

func TestSameSeedSameMetrics(t *testing.T) {
	tr, te := loadSlice(t, 512, 200)
	run := func(seed int64) []EpochStats {
		eps, status, err := trainCollect(t, tr, te, Job{ID: "d", Model: "CNN2_dropout", Epochs: 2, Seed: seed})
		if err != nil || status != StatusDone {
			t.Fatalf("status %s err %v", status, err)
		}
		for i := range eps {
			eps[i].TrainSeconds, eps[i].EvalSeconds = 0, 0
		}
		return eps
	}
	a, b := run(7), run(7)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different metrics:\n%+v\n%+v", a, b)
	}
	if c := run(8); reflect.DeepEqual(a, c) {
		t.Fatalf("different seeds gave identical metrics %+v", c)
	}
}

func TestCancelStopsWithinABatch(t *testing.T) {
	tr, te := loadSlice(t, 6000, 200)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	jobs := []Job{{ID: "a", Model: "CNN3_dropout", Epochs: 5, Seed: 1}, {ID: "b", Model: "CNN2", Seed: 1}}
	ch := Start(ctx, Config{Train: tr, Test: te}, jobs)
	var fin []RunFinished
	progress, after := 0, 0
	for e := range ch {
		switch ev := e.(type) {
		case BatchProgress:
			progress++
			if progress == 3 {
				cancel()
			} else if progress > 3 {
				after++
			}
		case RunFinished:
			fin = append(fin, ev)
		case EpochEnd:
			t.Errorf("an epoch ended after cancelling: %+v", ev)
		}
	}
	// The batch under way when cancel came may still report; no other.
	if after > 1 {
		t.Errorf("%d batches reported progress after cancelling, want at most 1", after)
	}
	if len(fin) != 2 || fin[0].Status != StatusCancelled || fin[1].Status != StatusCancelled {
		t.Fatalf("finished events %+v, want both cancelled", fin)
	}
}

func TestFailedRunDoesNotStopOthers(t *testing.T) {
	tr, te := loadSlice(t, 300, 100)
	jobs := []Job{{ID: "bad", Model: "no_such_model", Seed: 1}, {ID: "good", Model: "CNN2", Epochs: 1, Seed: 1}}
	status := map[string]RunFinished{}
	for e := range Start(context.Background(), Config{Train: tr, Test: te, Parallel: 2}, jobs) {
		if f, ok := e.(RunFinished); ok {
			status[f.ID] = f
		}
	}
	if status["bad"].Status != StatusFailed || !strings.Contains(status["bad"].Err, "unknown model") {
		t.Errorf("bad run: %+v", status["bad"])
	}
	if status["good"].Status != StatusDone {
		t.Errorf("good run: %+v", status["good"])
	}
}

func TestNonFiniteLossFailsTheRun(t *testing.T) {
	tr, te := loadSlice(t, 300, 100)
	poisoned := &Dataset{Images: slices.Clone(tr.Floats()), Labels: tr.Labels, N: tr.N}
	for i := range poisoned.Images {
		poisoned.Images[i] = float32(math.Inf(1))
	}
	eps, status, err := trainCollect(t, poisoned, te, Job{ID: "n", Model: "CNN2", Epochs: 2, Seed: 1})
	if status != StatusFailed || err == nil || !strings.Contains(err.Error(), "not finite") {
		t.Fatalf("status %s, err %v; want failed with a non-finite loss", status, err)
	}
	if len(eps) != 0 {
		t.Fatalf("epochs recorded after a non-finite loss: %+v", eps)
	}
}

// Epochs trained beside another run of the Manager say so
// (EpochStats.Concurrent, also in the checkpoint's history); alone, they
// do not.
func TestEpochsSayWhenTheyShared(t *testing.T) {
	tr, te := loadSlice(t, 600, 100)
	for _, parallel := range []int{1, 2} {
		jobs := []Job{{ID: "a", Model: "CNN2", Epochs: 2, Seed: 1}, {ID: "b", Model: "CNN2", Epochs: 2, Seed: 2}}
		first := map[string]int{}
		for _, e := range collect(Start(context.Background(), Config{Train: tr, Test: te, Parallel: parallel}, jobs)) {
			ee, ok := e.(EpochEnd)
			if !ok {
				continue
			}
			if ee.Stats.Epoch == 1 {
				first[ee.ID] = ee.Stats.Concurrent
			}
			if h := ee.Checkpoint.History; h[len(h)-1].Concurrent != ee.Stats.Concurrent {
				t.Errorf("parallel %d: %s epoch %d: checkpoint history says %d, the event %d", parallel, ee.ID, ee.Stats.Epoch, h[len(h)-1].Concurrent, ee.Stats.Concurrent)
			}
			if parallel == 1 && ee.Stats.Concurrent != 0 {
				t.Errorf("one at a time: %s epoch %d says %d runs at once", ee.ID, ee.Stats.Epoch, ee.Stats.Concurrent)
			}
		}
		// Side by side, both first epochs overlap.
		if parallel == 2 && (first["a"] != 2 || first["b"] != 2) {
			t.Errorf("two at once: first epochs say %v, want 2 each", first)
		}
	}
}
