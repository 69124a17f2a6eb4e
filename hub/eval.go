package hub

import (
	"context"
	"runtime/debug"
	"sync"

	"fmnist/results"
	"fmnist/trainer"
)

// The evaluation of runs' best models, for the Focus view: a run's best
// model is evaluated on the test set whenever its best epoch improves (from
// the weights the EpochEnd event carries), or on request for a run whose
// model is on disk (Hub.RequestEval). Evaluations run in one goroutine of
// their own, one at a time, started when there is one to do; a run has at
// most one waiting, the newest. The event drain only queues them: training
// never waits for an evaluation. Results go to the subscribers that take
// them (EvalSubscriber) and the latest of each run stays in the hub for
// those that join later (Join).

// EvalSubscriber is a Subscriber that also takes the evaluations of runs'
// best models. While none is subscribed, best epochs are not evaluated (a
// headless printer shows none): only requests are.
type EvalSubscriber interface {
	Subscriber
	// Evaluated hands on an evaluation. It is called with the hub's lock
	// held, never at the same time as Push or Notify, and must not block.
	Evaluated(*results.BestEval)
}

// evalJob is one evaluation to do: run's best model of epoch epoch, from a
// checkpoint's weights on test, or (cp nil) from runsDir/run/best.
type evalJob struct {
	run   string
	epoch int
	cp    *trainer.Checkpoint
	test  *trainer.Dataset
}

// evaluator is the queue of evaluations and its goroutine's state.
type evaluator struct {
	mu      sync.Mutex
	order   []string // runs with a job waiting, oldest first
	pending map[string]evalJob
	running string // the run being evaluated ("" none)
	busy    bool   // the goroutine runs
	closed  bool   // the hub is finishing: no more evaluations
	done    sync.WaitGroup

	// test is the test set loaded for evaluations from disk, kept for the
	// next; only the goroutine touches it.
	test *trainer.Dataset
}

// wantsEvals reports whether a subscriber takes evaluations. h.mu is held.
func (h *Hub) wantsEvals() bool {
	for s := range h.subs {
		if _, ok := s.(EvalSubscriber); ok {
			return true
		}
	}
	return false
}

// bestImproved queues the evaluation of e's run when its epoch became the
// run's best. h.mu is held (the drain).
func (h *Hub) bestImproved(e trainer.EpochEnd) {
	if e.Checkpoint == nil || e.Checkpoint.State == nil || !h.wantsEvals() {
		return
	}
	if r := h.rec.Run(e.ID); r == nil || r.BestEpoch != e.Stats.Epoch {
		return
	}
	job := evalJob{run: e.ID, epoch: e.Stats.Epoch, cp: e.Checkpoint}
	if t := h.test.Load(); t != nil && t.N >= e.Checkpoint.TestSize {
		job.test = results.FirstImages(t, e.Checkpoint.TestSize)
	} else {
		job.cp = nil // trained on other data: evaluate the saved model
	}
	h.schedule(job)
}

// RequestEval asks for the evaluation of run id's best model, epoch epoch
// as the caller knows it, from the model saved on disk. Nothing is done
// when the hub holds that evaluation already (without an error: a failed
// one is tried again) or one of the run is waiting or under way; the
// result goes to every EvalSubscriber. It returns at once.
func (h *Hub) RequestEval(id string, epoch int) {
	h.mu.Lock()
	have := h.evals[id]
	h.mu.Unlock()
	if have != nil && have.Epoch == epoch && have.Err == "" {
		return
	}
	h.ev.mu.Lock()
	_, waiting := h.ev.pending[id]
	busy := h.ev.running == id
	h.ev.mu.Unlock()
	if waiting || busy || h.ctx.Err() != nil {
		return
	}
	h.schedule(evalJob{run: id, epoch: epoch})
}

// schedule queues job, replacing the job of its run still waiting, and
// starts the goroutine if it is not running.
func (h *Hub) schedule(job evalJob) {
	ev := &h.ev
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if ev.closed {
		return
	}
	if ev.pending == nil {
		ev.pending = map[string]evalJob{}
	}
	if _, ok := ev.pending[job.run]; !ok {
		ev.order = append(ev.order, job.run)
	}
	ev.pending[job.run] = job
	if !ev.busy {
		ev.busy = true
		ev.done.Add(1)
		go h.evalLoop()
	}
}

// evalLoop does the queued evaluations one after the other and ends when
// there are none left (or the hub is finishing).
func (h *Hub) evalLoop() {
	ev := &h.ev
	defer ev.done.Done()
	for {
		ev.mu.Lock()
		if len(ev.order) == 0 || h.ctx.Err() != nil {
			ev.order, ev.pending = nil, nil
			ev.busy, ev.running = false, ""
			ev.mu.Unlock()
			return
		}
		run := ev.order[0]
		ev.order = ev.order[1:]
		job := ev.pending[run]
		delete(ev.pending, run)
		ev.running = run
		ev.mu.Unlock()

		be := h.evalFn(h.ctx, job)
		// The model's evaluation graph (173 MB for CNN2 at the trainer's
		// batch of 500) is garbage now: handed back to the system at once,
		// the dashboard of two 3-epoch CNN2 runs peaked at 1.66 GB
		// resident, against 2.4 GB left to the collector (1.38 GB without
		// evaluations), and trained as fast.
		if be != nil && be.N > 0 {
			debug.FreeOSMemory()
		}
		if be == nil || h.ctx.Err() != nil {
			continue // cancelled, not failed
		}
		h.mu.Lock()
		h.evals[be.Run] = be
		for s := range h.subs {
			if es, ok := s.(EvalSubscriber); ok {
				es.Evaluated(be)
			}
		}
		h.mu.Unlock()
		ev.mu.Lock()
		ev.running = ""
		ev.mu.Unlock()
	}
}

// stop refuses further evaluations and waits for the goroutine to end
// (the hub's context is cancelled first).
func (ev *evaluator) stop() {
	ev.mu.Lock()
	ev.closed = true
	ev.mu.Unlock()
	ev.done.Wait()
}

// evaluate does job (Hub.evalFn, which tests replace).
func (h *Hub) evaluate(ctx context.Context, job evalJob) *results.BestEval {
	if job.cp == nil {
		return results.EvaluateSavedBest(ctx, h.set.RunsDir, job.run, h.testImages)
	}
	be := &results.BestEval{Run: job.run, Epoch: job.epoch, Model: job.cp.Model}
	if results.IsDetection(job.cp.Model) {
		be.Note = results.DetectionNote
		return be
	}
	m, err := results.ModelFromCheckpoint(job.cp)
	if err == nil {
		var out *results.BestEval
		if out, err = results.EvaluateBest(ctx, job.run, job.epoch, m, job.test); err == nil {
			return out
		}
	}
	be.Err = err.Error()
	return be
}

// testImages is the first n test images (0: all) for an evaluation from
// disk: the data set the hub trains on when it has enough, else the one
// loaded by Settings.LoadTest (kept for the next evaluation).
func (h *Hub) testImages(n int) (*trainer.Dataset, error) {
	for _, t := range []*trainer.Dataset{h.test.Load(), h.ev.test} {
		if t != nil && n > 0 && t.N >= n {
			return t, nil
		}
	}
	if h.set.LoadTest == nil {
		return nil, errNoData
	}
	t, err := h.set.LoadTest(n)
	if err != nil {
		return nil, err
	}
	h.ev.test = t
	return t, nil
}
