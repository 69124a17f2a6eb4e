package hub

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fmnist/archs"
	"fmnist/results"
	"fmnist/trainer"
	"fmnist/trainer/trainertest"
)

// evalCollector is a subscriber that takes evaluations too.
type evalCollector struct {
	*collector
	evals chan *results.BestEval
}

func newEvalCollector() *evalCollector {
	return &evalCollector{collector: newCollector(), evals: make(chan *results.BestEval, 100)}
}

func (c *evalCollector) Evaluated(e *results.BestEval) { c.evals <- e }

// waitEval waits for an evaluation of run id of epoch epoch (0: any).
func waitEval(t *testing.T, c *evalCollector, id string, epoch int) *results.BestEval {
	t.Helper()
	deadline := time.After(120 * time.Second)
	for {
		select {
		case e := <-c.evals:
			if e.Run == id && (epoch == 0 || e.Epoch == epoch) {
				return e
			}
		case <-deadline:
			t.Fatalf("no evaluation of %s epoch %d", id, epoch)
			return nil
		}
	}
}

// TestBestEvalAfterBestEpoch: after a run's best epoch improves, the hub
// evaluates that epoch's weights on its test set and hands the result to
// the subscribers that take evaluations; one that joins later finds the
// latest in its snapshot. The result is the saved best model's evaluation
// (results.Evaluate's confusion matrix), with at most 24 mistakes and 3
// correct images a class, each with its pixels.
func TestBestEvalAfterBestEpoch(t *testing.T) {
	train, test := trainertest.Load(t, 512, 200)
	runs := t.TempDir()
	h := New(context.Background(), Settings{RunsDir: runs, Train: train, Test: test, Parallel: 1, Seed: 4})
	first := newEvalCollector()
	h.Subscribe(first)
	ids, err := h.Submit(trainer.Job{Model: "CNN2", Epochs: 2})
	if err != nil {
		t.Fatal(err)
	}
	id := ids[0]
	var rec *results.Run
	for deadline := time.Now().Add(5 * time.Minute); rec == nil || rec.Status != trainer.StatusDone; {
		time.Sleep(50 * time.Millisecond)
		if rs := h.Runs(); len(rs) == 1 {
			rec = rs[0]
		}
		if rec != nil && rec.Status == trainer.StatusFailed {
			t.Fatalf("the run failed: %s", rec.Error)
		}
		if time.Now().After(deadline) {
			t.Fatal("the run did not finish in 5 minutes")
		}
	}
	e := waitEval(t, first, id, rec.BestEpoch)
	late := newEvalCollector()
	snap := h.Join(late)
	h.Finish(false)

	if len(snap.Evals) != 1 || snap.Evals[0] != e {
		t.Errorf("the late subscriber's snapshot has evaluations %v, want the one of epoch %d", snap.Evals, e.Epoch)
	}
	m, doc, err := results.LoadModel(filepath.Join(runs, id, results.BestDir))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Source.Epoch != e.Epoch {
		t.Errorf("evaluated epoch %d, the saved best model is of epoch %d", e.Epoch, doc.Source.Epoch)
	}
	want, err := results.Evaluate(context.Background(), m, test)
	if err != nil {
		t.Fatal(err)
	}
	if e.Confusion != want.Confusion || e.N != 200 || e.Correct != want.Correct || e.Err != "" {
		t.Errorf("evaluation %d/%d %v %q, Evaluate of the saved model %d/%d %v", e.Correct, e.N, e.Confusion, e.Err, want.Correct, want.N, want.Confusion)
	}
	if n := min(24, len(want.Mistakes)); len(e.Mistakes) != n {
		t.Errorf("%d mistakes kept, want %d", len(e.Mistakes), n)
	}
	for i, mk := range e.Mistakes {
		if w := want.Mistakes[i]; mk.Index != w.Index || mk.True != w.True || mk.Pred != w.Pred || mk.Prob != w.Prob || len(mk.Pixels) != trainer.Pixels {
			t.Errorf("mistake %d: %+v, want %+v with %d pixels", i, mk, w, trainer.Pixels)
		}
		if p := mk.Pixels[400]; float32(p)/255 != test.Images[mk.Index*trainer.Pixels+400] {
			t.Errorf("mistake %d: pixel 400 is %d, the image's %v", i, p, test.Images[mk.Index*trainer.Pixels+400])
		}
	}
	perClass := map[int]int{}
	for _, x := range e.Right {
		perClass[x.True]++
		if x.Pred != x.True || int(test.Labels[x.Index]) != x.True || len(x.Pixels) != trainer.Pixels {
			t.Errorf("correct example %+v", x)
		}
	}
	for c, n := range perClass {
		if n > 3 {
			t.Errorf("%d correct examples of class %d", n, c)
		}
	}
}

// A hub whose subscribers take no evaluations (a headless printer) makes
// none: training pays for nothing it does not show.
func TestNoEvalWithoutEvalSubscriber(t *testing.T) {
	h, events := newFakeHub(t)
	h.evalFn = func(context.Context, evalJob) *results.BestEval {
		t.Error("evaluated with no subscriber taking evaluations")
		return nil
	}
	c := newCollector()
	h.Subscribe(c)
	feedRun(events, "CNN2-x", 3)
	close(events)
	h.WaitAttached()
	h.Finish(false)
}

// newFakeHub is a hub whose events come from a channel (as a cluster's
// would), with a test set of 100 blank images.
func newFakeHub(t *testing.T) (*Hub, chan trainer.Event) {
	t.Helper()
	test := &trainer.Dataset{Images: make([]float32, 100*trainer.Pixels), Labels: make([]uint8, 100), N: 100}
	h := New(context.Background(), Settings{RunsDir: t.TempDir(), Test: test})
	events := make(chan trainer.Event, 100)
	h.Attach(events)
	return h, events
}

// feedRun sends a run's events: started, n epochs each better than the
// last (each carrying a checkpoint), finished.
func feedRun(events chan<- trainer.Event, id string, n int) {
	events <- trainer.RunStarted{ID: id, Model: "CNN2", Epochs: n, TestSize: 100, Time: time.Now()}
	for e := 1; e <= n; e++ {
		events <- trainer.EpochEnd{ID: id, Epochs: n, Stats: trainer.EpochStats{Epoch: e, TestAcc: 0.5 + 0.1*float64(e)},
			Checkpoint: &trainer.Checkpoint{Run: id, Model: "CNN2", Epoch: e, TestSize: 100, State: &archs.Snapshot{}}}
	}
	events <- trainer.RunFinished{ID: id, Status: trainer.StatusDone, Time: time.Now()}
}

// TestEvalOffTheDrain: evaluations never hold up the events. While an
// evaluation is under way (a fake that waits to be let go), the later
// epochs and the run's end reach the subscriber; the best epochs that came
// meanwhile leave one evaluation waiting, the newest; once let go, the hub
// does it and hands it on. A request for a run whose evaluation waits or is
// under way adds nothing.
func TestEvalOffTheDrain(t *testing.T) {
	h, events := newFakeHub(t)
	started := make(chan evalJob, 10)
	release := make(chan struct{})
	h.evalFn = func(_ context.Context, j evalJob) *results.BestEval {
		started <- j
		<-release
		return &results.BestEval{Run: j.run, Epoch: j.epoch, N: 100}
	}
	c := newEvalCollector()
	h.Subscribe(c)
	feedRun(events, "CNN2-a", 4)

	first := <-started
	if first.epoch != 1 || first.cp == nil || first.test == nil || first.test.N != 100 {
		t.Fatalf("first evaluation %+v", first)
	}
	// The drain goes on while the evaluation waits: every event arrives.
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := c.taken()
		if len(evs) > 0 {
			if f, ok := evs[len(evs)-1].(trainer.RunFinished); ok && f.ID == "CNN2-a" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("events stopped while an evaluation was under way: %d arrived", len(evs))
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.RequestEval("CNN2-a", 4) // waiting already: nothing more
	h.ev.mu.Lock()
	waiting := append([]string(nil), h.ev.order...)
	job := h.ev.pending["CNN2-a"]
	h.ev.mu.Unlock()
	if len(waiting) != 1 || job.epoch != 4 {
		t.Errorf("waiting %v with epoch %d, want the run once with its newest best, 4", waiting, job.epoch)
	}
	close(release)
	if e := waitEval(t, c, "CNN2-a", 1); e.N != 100 {
		t.Errorf("first evaluation delivered %+v", e)
	}
	if second := <-started; second.epoch != 4 {
		t.Errorf("then epoch %d evaluated, want 4 (2 and 3 replaced)", second.epoch)
	}
	waitEval(t, c, "CNN2-a", 4)
	close(events)
	h.WaitAttached()
	h.Finish(false)
	select {
	case j := <-started:
		t.Errorf("an evaluation too many: %+v", j)
	default:
	}
	if snap := h.Join(newEvalCollector()); len(snap.Evals) != 1 || snap.Evals[0].Epoch != 4 {
		t.Errorf("snapshot evaluations %+v", snap.Evals)
	}
}

// RequestEval evaluates a saved model; a run without one gets its error,
// and a hub that cannot load the data set says so.
func TestRequestEvalFromDisk(t *testing.T) {
	runs := t.TempDir()
	h := New(context.Background(), Settings{RunsDir: runs})
	c := newEvalCollector()
	h.Subscribe(c)
	h.RequestEval("CNN2-nothing", 3)
	if e := waitEval(t, c, "CNN2-nothing", 0); !strings.Contains(e.Err, "no saved best model") {
		t.Errorf("evaluation of a run without a model: %+v", e)
	}
	m, err := archs.New("CNN2", 1)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := m.Tensors()
	if err != nil {
		t.Fatal(err)
	}
	if err := results.SaveModel(filepath.Join(runs, "CNN2-saved", results.BestDir), "CNN2", ts, results.SourceDoc{Run: "CNN2-saved", Kind: "best", Epoch: 2, TestSize: 50}); err != nil {
		t.Fatal(err)
	}
	h.RequestEval("CNN2-saved", 2)
	if e := waitEval(t, c, "CNN2-saved", 0); e.Err != errNoData.Error() || e.Epoch != 2 {
		t.Errorf("evaluation without a data set: %+v", e)
	}
	h.Finish(false)
}
