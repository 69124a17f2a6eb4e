package tui

import (
	"reflect"
	"sort"

	"fmnist/results"
	"fmnist/trainer"
)

// runState is what the dashboard knows of one run: its record (as on disk,
// or folded from this process's events by results.Run.Apply, the fold the
// Recorder uses too) and the live progress of the epoch being trained.
type runState struct {
	results.Run

	// Progress is the latest BatchProgress of the epoch in training, nil
	// between epochs and when the run is not training.
	Progress *trainer.BatchProgress
	// Owned runs are fed by this process's events; the others are records
	// read from the runs directory and are shown as they are there.
	Owned bool
	// Index orders owned runs: the order in which they were queued.
	Index int

	version int               // bumped whenever Epochs change
	charts  map[string]string // rendered charts for this version

	panelKey, panel string // the last panel rendered, and what it showed
}

// done is the number of finished epochs.
func (r *runState) done() int { return len(r.Epochs) }

// active reports whether the run is queued or running in this process.
func (r *runState) active() bool {
	return r.Owned && (r.Status == trainer.StatusQueued || r.Status == trainer.StatusRunning)
}

// planned is the epoch count the run is meant to reach, at least what it did.
func (r *runState) planned() int {
	return max(r.EpochsPlanned, r.done())
}

func (r *runState) touch() {
	r.version++
	r.charts = nil
}

// store holds every run the dashboard shows, in display order: records read
// from disk by start time, then the runs of this process in the order they
// were queued.
type store struct {
	byID  map[string]*runState
	order []*runState
	next  int // next Index for runs first seen through an event other than RunQueued
}

func newStore() *store { return &store{byID: map[string]*runState{}} }

func (s *store) list() []*runState { return s.order }
func (s *store) len() int          { return len(s.order) }

func (s *store) get(id string) *runState { return s.byID[id] }

// indexOf is the display position of run id, or -1.
func (s *store) indexOf(id string) int {
	for i, r := range s.order {
		if r.ID == id {
			return i
		}
	}
	return -1
}

// active counts the runs of this process that are queued or running.
func (s *store) active() int {
	n := 0
	for _, r := range s.order {
		if r.active() {
			n++
		}
	}
	return n
}

func (s *store) sort() {
	s.order = s.order[:0]
	for _, r := range s.byID {
		s.order = append(s.order, r)
	}
	sort.SliceStable(s.order, func(i, j int) bool {
		a, b := s.order[i], s.order[j]
		if a.Owned != b.Owned {
			return !a.Owned
		}
		if a.Owned {
			return a.Index < b.Index
		}
		if !a.StartedAt.Equal(b.StartedAt) {
			return a.StartedAt.Before(b.StartedAt)
		}
		return a.ID < b.ID
	})
}

// own returns the state of run id for an event of this process, creating it
// or taking over a record that was read from disk.
func (s *store) own(id, model string, index int) *runState {
	r := s.byID[id]
	if r == nil {
		r = &runState{Run: results.Run{ID: id, Model: model, Status: trainer.StatusQueued, Epochs: []trainer.EpochStats{}}}
		s.byID[id] = r
	}
	if !r.Owned {
		r.Owned = true
		if index < 0 {
			index = s.next
		}
		r.Index = index
		s.next = max(s.next, index+1)
		s.sort()
	}
	if model != "" {
		r.Model = model
	}
	return r
}

// LiveRun is a run of this process that the dashboard joins under way: its
// record as folded so far, its place in the queue and the progress of the
// epoch in training.
type LiveRun struct {
	Run      results.Run
	Index    int
	Progress *trainer.BatchProgress
}

// adopt takes l as a run of this process, as if its events so far had been
// applied.
func (s *store) adopt(l LiveRun) {
	r := s.own(l.Run.ID, l.Run.Model, l.Index)
	r.Run = l.Run
	if r.Epochs == nil {
		r.Epochs = []trainer.EpochStats{}
	}
	r.Progress = nil
	if p := l.Progress; p != nil && r.Status == trainer.StatusRunning && p.Epoch > r.done() {
		cp := *p
		r.Progress = &cp
	}
	r.touch()
}

// apply folds one event into the store: the record's part by the records'
// own fold (results.Run.Apply), then what only the dashboard keeps (which
// runs this process owns, the progress of the epoch in training). It
// reports whether anything shown changed.
func (s *store) apply(ev trainer.Event) bool {
	switch e := ev.(type) {
	case trainer.RunQueued:
		r := s.own(e.ID, e.Model, e.Index)
		r.Apply(e)
		return true
	case trainer.RunStarted:
		r := s.own(e.ID, e.Model, -1)
		r.Apply(e)
		r.Progress = nil
		r.touch()
		return true
	case trainer.BatchProgress:
		r := s.byID[e.ID]
		if r == nil || !r.Owned || r.Status != trainer.StatusRunning {
			return false
		}
		if e.Epoch <= r.done() {
			return false // stale: that epoch is already finished
		}
		p := e
		r.Progress = &p
		if e.Epochs > 0 {
			r.EpochsPlanned = e.Epochs
		}
		return true
	case trainer.EpochEnd:
		r := s.byID[e.ID]
		if r == nil {
			r = s.own(e.ID, "", -1)
			r.Status = trainer.StatusRunning
		} else if !r.Owned {
			s.own(e.ID, "", -1)
		}
		// The record may already hold this epoch if it was read from disk
		// after the recorder saved it and before the event got here: Apply
		// replaces it.
		r.Apply(e)
		if r.Progress != nil && r.Progress.Epoch <= e.Stats.Epoch {
			r.Progress = nil
		}
		r.touch()
		return true
	case trainer.RunFinished:
		r := s.byID[e.ID]
		if r == nil {
			return false
		}
		if !r.Owned {
			s.own(e.ID, "", -1)
		}
		r.Apply(e)
		r.Progress = nil
		r.touch()
		return true
	}
	return false
}

// mergeDisk replaces the records not owned by this process with the ones
// read from disk: new runs appear, changed ones are updated, deleted ones go.
// Runs of this process are never replaced by their records.
func (s *store) mergeDisk(runs []*results.Run) {
	seen := map[string]bool{}
	for _, d := range runs {
		if d == nil || d.ID == "" {
			continue
		}
		seen[d.ID] = true
		r := s.byID[d.ID]
		if r != nil && r.Owned {
			continue
		}
		if r == nil {
			r = &runState{}
			s.byID[d.ID] = r
		} else if sameRecord(&r.Run, d) {
			continue
		}
		r.Run = *d
		if r.Epochs == nil {
			r.Epochs = []trainer.EpochStats{}
		}
		r.touch()
	}
	for id, r := range s.byID {
		if !r.Owned && !seen[id] {
			delete(s.byID, id)
		}
	}
	s.sort()
}

// sameRecord is a cheap check that a record read again did not change.
func sameRecord(a, b *results.Run) bool {
	if a.Status != b.Status || len(a.Epochs) != len(b.Epochs) || a.EpochsPlanned != b.EpochsPlanned ||
		a.Model != b.Model || a.Params != b.Params || !a.StartedAt.Equal(b.StartedAt) || a.Error != b.Error {
		return false
	}
	if (a.FinishedAt == nil) != (b.FinishedAt == nil) {
		return false
	}
	if n := len(a.Epochs); n > 0 && !reflect.DeepEqual(a.Epochs[n-1], b.Epochs[n-1]) {
		return false
	}
	return true
}

// records returns the runs as records, for tables.
func records(rs []*runState) []*results.Run {
	out := make([]*results.Run, len(rs))
	for i, r := range rs {
		run := r.Run
		out[i] = &run
	}
	return out
}
