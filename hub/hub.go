// Package hub owns the live runs of one process. It runs the trainer's
// Manager, hands every event to the results.Recorder (which folds it into
// the run record with results.Run.Apply and saves it) and then to every
// subscriber: the terminal dashboard, each SSH session, the headless
// printer. A subscriber joins with a snapshot of the runs so far (their
// records as folded and the latest progress) and gets the live events from
// there on; model weights stay in the hub (EpochEnd reaches subscribers
// without its checkpoint). The hub also evaluates runs' best models for the
// subscribers that show them (eval.go), beside the events.
package hub

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"fmnist/results"
	"fmnist/trainer"
)

// Subscriber takes the hub's events. Push and Notify are called from the
// hub's one goroutine, in order, and must not block for long: a dashboard
// queues (tui.Feed), a headless printer writes a line.
type Subscriber interface {
	// Push hands on a recorded event.
	Push(trainer.Event)
	// Notify reports a problem of the hub's own (a record that could not
	// be saved), apart from the training events.
	Notify(Notice)
}

// Notice is a message of the hub's own about run Run (if any).
type Notice struct {
	Run   string
	Text  string
	Error bool
}

// Settings are what the hub's runs are trained on and where they are kept.
type Settings struct {
	RunsDir string
	// Train and Test are the data set; when Train is nil, Load is called
	// when the first run is submitted.
	Train, Test *trainer.Dataset
	Load        func() (train, test *trainer.Dataset, err error)
	// LoadTest loads the first n test images (0: all), for evaluating a
	// saved model when the hub has not loaded the data set (nil: such
	// evaluations fail).
	LoadTest func(n int) (*trainer.Dataset, error)
	Parallel int
	Seed     int64 // of jobs that give none
	// CancelRemote, if set, cancels a run that this process does not
	// train (a cluster's).
	CancelRemote func(id string) bool
}

// Live is a run of this process as a subscriber first sees it.
type Live struct {
	Run      results.Run            // its record so far (Status queued before it starts)
	Index    int                    // its place in the order runs were queued
	Progress *trainer.BatchProgress // the epoch in training, if any
}

// Hub owns the runs of one process. Its methods are safe for concurrent use.
type Hub struct {
	set    Settings
	ctx    context.Context
	cancel context.CancelFunc

	submitMu sync.Mutex // serialises Submit (which may load the data set)
	mgr      atomic.Pointer[trainer.Manager]
	closed   atomic.Bool
	taken    map[string]bool

	// Held by the drain goroutine while it records and hands on an event,
	// and by Subscribe: a subscriber misses nothing and gets nothing twice.
	mu       sync.Mutex
	rec      *results.Recorder
	subs     map[Subscriber]bool
	queued   []trainer.RunQueued // this process's runs, in queue order
	progress map[string]trainer.BatchProgress
	failed   []trainer.RunFinished
	recErr   error
	evals    map[string]*results.BestEval // the latest evaluation of each run's best model

	test   atomic.Pointer[trainer.Dataset] // the test set runs train with, once loaded
	ev     evaluator
	evalFn func(context.Context, evalJob) *results.BestEval

	drained  chan struct{} // closed when the drain goroutine ends
	attached sync.WaitGroup
}

// ErrClosing is Submit's error once Finish has begun.
var ErrClosing = errors.New("the dashboard is closing")

// New returns a hub whose runs all end when ctx is cancelled. Nothing
// trains, and no data set is loaded, until the first Submit.
func New(ctx context.Context, set Settings) *Hub {
	ctx, cancel := context.WithCancel(ctx)
	h := &Hub{set: set, ctx: ctx, cancel: cancel, taken: map[string]bool{}, rec: results.NewRecorder(set.RunsDir),
		subs: map[Subscriber]bool{}, progress: map[string]trainer.BatchProgress{}, evals: map[string]*results.BestEval{},
		drained: make(chan struct{})}
	h.evalFn = h.evaluate
	if set.Test != nil {
		h.test.Store(set.Test)
	}
	return h
}

// errNoData: an evaluation from disk without a way to load the test set.
var errNoData = errors.New("no data set to evaluate on")

// managerLocked returns the manager, creating it (and loading the data set
// if needed) on first use. h.submitMu must be held.
func (h *Hub) managerLocked() (*trainer.Manager, error) {
	if h.closed.Load() {
		return nil, ErrClosing
	}
	if m := h.mgr.Load(); m != nil {
		return m, nil
	}
	if h.set.Train == nil {
		if h.set.Load == nil {
			return nil, errors.New("no data set")
		}
		train, test, err := h.set.Load()
		if err != nil {
			return nil, err
		}
		h.set.Train, h.set.Test = train, test
		h.test.Store(test)
	}
	if err := results.CheckWritable(h.set.RunsDir); err != nil {
		return nil, err
	}
	m := trainer.NewManager(h.ctx, trainer.Config{Train: h.set.Train, Test: h.set.Test, Parallel: h.set.Parallel})
	go h.drain(m)
	h.mgr.Store(m)
	return m, nil
}

// Submit queues jobs, giving those without one a fresh run ID and the
// hub's seed, and returns their IDs.
func (h *Hub) Submit(jobs ...trainer.Job) ([]string, error) {
	h.submitMu.Lock()
	defer h.submitMu.Unlock()
	mgr, err := h.managerLocked()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	ids := make([]string, len(jobs))
	for i := range jobs {
		if jobs[i].ID == "" {
			jobs[i].ID = results.NewRunID(h.set.RunsDir, jobs[i].Model, now, h.taken)
		}
		if jobs[i].Seed == 0 {
			jobs[i].Seed = h.set.Seed
		}
		h.taken[jobs[i].ID] = true
		ids[i] = jobs[i].ID
	}
	if h.closed.Load() { // Finish began while the data set was loading
		for _, id := range ids {
			results.ReleaseRunID(h.set.RunsDir, id)
		}
		return nil, ErrClosing
	}
	mgr.Submit(jobs...)
	return ids, nil
}

// Cancel cancels a queued or running run, here or (Settings.CancelRemote)
// wherever it trains; it reports whether it was found.
func (h *Hub) Cancel(id string) bool {
	if mgr := h.mgr.Load(); mgr != nil && mgr.Cancel(id) {
		return true
	}
	return h.set.CancelRemote != nil && h.set.CancelRemote(id)
}

// Active counts the queued and running runs.
func (h *Hub) Active() int {
	if mgr := h.mgr.Load(); mgr != nil {
		return mgr.Active()
	}
	return 0
}

// drain records every event of the Manager.
func (h *Hub) drain(mgr *trainer.Manager) {
	defer close(h.drained)
	h.consume(mgr.Events())
}

// Attach records and hands on the events of runs trained elsewhere (by a
// cluster's workers) as it does those of its own Manager, until events is
// closed. Wait returns when it is.
func (h *Hub) Attach(events <-chan trainer.Event) {
	h.attached.Add(1)
	go func() {
		defer h.attached.Done()
		h.consume(events)
	}()
}

// WaitAttached waits until every attached stream has been closed and
// consumed.
func (h *Hub) WaitAttached() { h.attached.Wait() }

// consume records every event on disk first, then hands it on.
func (h *Hub) consume(events <-chan trainer.Event) {
	for ev := range events {
		h.mu.Lock()
		if err := h.rec.Handle(ev); err != nil {
			if h.recErr == nil {
				h.recErr = err
			}
			for s := range h.subs {
				s.Notify(Notice{Run: ev.Run(), Text: "recording runs: " + err.Error(), Error: true})
			}
		}
		switch e := ev.(type) {
		case trainer.RunQueued:
			h.queued = append(h.queued, e)
		case trainer.BatchProgress:
			h.progress[e.ID] = e
		case trainer.EpochEnd:
			delete(h.progress, e.ID)
			h.bestImproved(e)
			e.Checkpoint = nil // saved by the recorder; subscribers show figures
			ev = e
		case trainer.RunFinished:
			delete(h.progress, e.ID)
			if e.Status == trainer.StatusFailed {
				h.failed = append(h.failed, e)
			}
		}
		for s := range h.subs {
			s.Push(ev)
		}
		h.mu.Unlock()
	}
}

// Snapshot is what a subscriber joins with: the runs of this process so
// far, in queue order, and the latest evaluation of each run's best model
// that the hub made.
type Snapshot struct {
	Runs  []Live
	Evals []*results.BestEval
}

// Subscribe registers s and returns the runs of this process so far, in
// queue order; s then gets every later event, until Unsubscribe.
func (h *Hub) Subscribe(s Subscriber) []Live { return h.Join(s).Runs }

// Join is Subscribe, with the evaluations made so far (by run ID): s gets
// every later one if it is an EvalSubscriber.
func (h *Hub) Join(s Subscriber) Snapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[s] = true
	var out Snapshot
	for _, q := range h.queued {
		l := Live{Run: results.Run{ID: q.ID, Model: q.Model, Status: trainer.StatusQueued, EpochsPlanned: q.Epochs,
			Epochs: []trainer.EpochStats{}}, Index: q.Index}
		if r := h.rec.Run(q.ID); r != nil {
			l.Run = *r
		}
		if p, ok := h.progress[q.ID]; ok {
			l.Progress = &p
		}
		out.Runs = append(out.Runs, l)
	}
	for _, e := range h.evals {
		out.Evals = append(out.Evals, e)
	}
	sort.Slice(out.Evals, func(i, j int) bool { return out.Evals[i].Run < out.Evals[j].Run })
	return out
}

// Unsubscribe stops handing events to s.
func (h *Hub) Unsubscribe(s Subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// Finish ends the hub: no more runs are accepted; the runs still active
// are cancelled if cancel is set, else they are waited for; it returns when
// every event is recorded and handed on, and reports whether runs were
// cancelled.
func (h *Hub) Finish(cancel bool) (cancelled bool) {
	h.closed.Store(true)
	h.submitMu.Lock() // a Submit under way finishes (and sees closed)
	mgr := h.mgr.Load()
	h.submitMu.Unlock()
	if mgr == nil {
		h.cancel()
		h.ev.stop()
		return false
	}
	if cancel && mgr.Active() > 0 {
		cancelled = true
		h.cancel()
	}
	mgr.CloseWhenIdle()
	<-h.drained
	h.cancel()
	h.ev.stop() // an evaluation under way stops at its next batch
	return cancelled
}

// Runs returns the records of the runs of this process that started, in
// the order they were queued.
func (h *Hub) Runs() []*results.Run {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*results.Run
	for _, q := range h.queued {
		if r := h.rec.Run(q.ID); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// Outcome is how the runs of this process went, once Finish has returned.
type Outcome struct {
	Queued    int                   // runs submitted
	Failed    []trainer.RunFinished // runs that failed
	RecordErr error                 // the first record that could not be saved
}

// Outcome reports how the runs went.
func (h *Hub) Outcome() Outcome {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Outcome{Queued: len(h.queued), Failed: append([]trainer.RunFinished(nil), h.failed...), RecordErr: h.recErr}
}
