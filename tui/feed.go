package tui

import (
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"fmnist/trainer"
)

// Notice is a line for the dashboard's status bar that travels with the
// events, for example a failure to save a run record. It satisfies
// trainer.Event so that it can share the Feed; consumers that do not know it
// ignore it.
type Notice struct {
	ID    string // the run it is about, if any
	Text  string
	Error bool
}

// Run is the run ID the notice is about.
func (n Notice) Run() string { return n.ID }

// Feed hands trainer events from the goroutine that drains the trainer to the
// dashboard. Push never blocks on the dashboard: events wait in a queue in
// which each run keeps at most one BatchProgress (the latest) between its
// other events, so a burst of progress reports costs no memory and no time,
// while RunQueued, RunStarted, EpochEnd, RunFinished and Notice events are
// all delivered, in the order they were pushed. The dashboard takes
// everything queued at once, at most once per frame.
type Feed struct {
	mu      sync.Mutex
	queue   []trainer.Event
	pending map[string]int // run ID -> index in queue of its BatchProgress
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
	if _, ok := ev.(trainer.BatchProgress); !ok {
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
// and returns them all as one eventsMsg.
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
			select {
			case <-f.ready:
			case <-f.done:
				if evs := f.Drain(); len(evs) > 0 {
					return eventsMsg(evs)
				}
				return feedClosedMsg{}
			}
			if evs := f.Drain(); len(evs) > 0 {
				return eventsMsg(evs)
			}
		}
	}
}
