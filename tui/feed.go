package tui

import (
	"slices"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"fmnist/results"
	"fmnist/trainer"
)

// Notice is a line for the dashboard's status bar from the process that
// feeds it (for example a run record that could not be saved). It travels
// beside the training events (Feed.Notify), not among them.
type Notice struct {
	ID    string // the run it is about, if any
	Text  string
	Error bool
}

// Feed hands trainer events from the goroutine that drains the trainer to the
// dashboard. Push never blocks on the dashboard: events wait in a queue in
// which each run keeps at most one BatchProgress (the latest) between its
// other events, so a burst of progress reports costs no memory and no time,
// while RunQueued, RunStarted, EpochEnd and RunFinished events are all
// delivered, in the order they were pushed. Notices and evaluations of best
// models (Evaluated) wait in queues of their own and are delivered after the
// events pushed before them. The dashboard takes everything queued at once,
// at most once per frame.
type Feed struct {
	mu      sync.Mutex
	queue   []trainer.Event
	pending map[string]int // run ID -> index in queue of its BatchProgress
	notices []Notice
	evals   []*results.BestEval
	closed  bool

	ready  chan struct{} // holds a token when the queue may be non-empty
	urgent chan struct{} // holds a token when an event other than progress is queued
	done   chan struct{} // closed by Close

	pushed, coalesced uint64
}

// NewFeed returns an empty, open Feed.
func NewFeed() *Feed {
	return &Feed{pending: map[string]int{}, ready: make(chan struct{}, 1), urgent: make(chan struct{}, 1), done: make(chan struct{})}
}

// Push queues ev; it never blocks for longer than a Drain takes to swap a
// slice. Events pushed after Close are dropped.
func (f *Feed) Push(ev trainer.Event) {
	if ev == nil {
		return
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.pushed++
	if bp, ok := ev.(trainer.BatchProgress); ok {
		if i, ok := f.pending[bp.ID]; ok {
			f.queue[i] = bp // newer progress of the same epoch stretch
			f.coalesced++
			f.mu.Unlock()
			return
		}
		f.pending[bp.ID] = len(f.queue)
	} else {
		// Later progress of this run must come after this event.
		delete(f.pending, ev.Run())
	}
	f.queue = append(f.queue, ev)
	f.mu.Unlock()
	_, progress := ev.(trainer.BatchProgress)
	f.signal(!progress)
}

// Notify queues a notice for the status bar; like Push, it never blocks.
func (f *Feed) Notify(n Notice) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.notices = append(f.notices, n)
	f.mu.Unlock()
	f.signal(true)
}

// Evaluated queues the evaluation of a run's best model (the hub's, beside
// the trainer's events); like Push, it never blocks. Of a run's
// evaluations still queued only the latest is kept.
func (f *Feed) Evaluated(e *results.BestEval) {
	if e == nil {
		return
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.evals = slices.DeleteFunc(f.evals, func(x *results.BestEval) bool { return x.Run == e.Run })
	f.evals = append(f.evals, e)
	f.mu.Unlock()
	f.signal(true)
}

// signal wakes a dashboard waiting for events (at once if urgent).
func (f *Feed) signal(urgent bool) {
	if urgent {
		select {
		case f.urgent <- struct{}{}:
		default:
		}
	}
	select {
	case f.ready <- struct{}{}:
	default:
	}
}

// takeNotices removes and returns the queued notices.
func (f *Feed) takeNotices() []Notice {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.notices
	f.notices = nil
	return n
}

// takeEvals removes and returns the queued evaluations.
func (f *Feed) takeEvals() []*results.BestEval {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.evals
	f.evals = nil
	return e
}

// hasAside reports whether notices or evaluations are queued.
func (f *Feed) hasAside() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.notices) > 0 || len(f.evals) > 0
}

// Drain removes and returns every queued event, oldest first.
func (f *Feed) Drain() []trainer.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.queue
	f.queue = nil
	clear(f.pending)
	select {
	case <-f.urgent: // delivered now
	default:
	}
	return q
}

// Len is the number of queued events.
func (f *Feed) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queue)
}

// Stats reports how many events were pushed and how many of them replaced
// an undelivered BatchProgress.
func (f *Feed) Stats() (pushed, coalesced uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pushed, f.coalesced
}

// Close stops the Feed: later pushes are dropped and a dashboard waiting for
// events gets feedClosedMsg. Close may be called more than once.
func (f *Feed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.done)
	}
}

// wait is a command that first lets pause pass (the frame interval:
// progress reports queue up and coalesce meanwhile; any other event cuts the
// pause short), then blocks until events are queued (or the Feed is closed)
// and returns them all as one eventsMsg, or the notices queued as one
// noticesMsg, or the evaluations queued as one evalsMsg.
func (f *Feed) wait(pause time.Duration) tea.Cmd {
	return func() tea.Msg {
		if pause > 0 {
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-f.urgent:
			case <-f.done:
			}
			t.Stop()
		}
		for {
			closed := false
			select {
			case <-f.ready:
			case <-f.done:
				closed = true
			}
			// Events first: a notice or an evaluation comes after the
			// events pushed before it.
			if evs := f.Drain(); len(evs) > 0 {
				if f.hasAside() {
					f.signal(true)
				}
				return eventsMsg(evs)
			}
			if ns := f.takeNotices(); len(ns) > 0 {
				if f.hasAside() {
					f.signal(true)
				}
				return noticesMsg(ns)
			}
			if es := f.takeEvals(); len(es) > 0 {
				return evalsMsg(es)
			}
			if closed {
				return feedClosedMsg{}
			}
		}
	}
}
