package tui

import (
	"fmnist/results"
	"fmnist/trainer"
)

// eventsMsg carries the events taken from the Feed in one go.
type eventsMsg []trainer.Event

// noticesMsg carries the notices taken from the Feed in one go.
type noticesMsg []Notice

// evalsMsg carries evaluations of runs' best models taken from the Feed.
type evalsMsg []*results.BestEval

// sysTickMsg: time to sample the process's CPU and memory use and the
// training speed (systemLine).
type sysTickMsg struct{}

// feedClosedMsg: the Feed was closed; no more events will come.
type feedClosedMsg struct{}

// refreshTickMsg: time to re-read the runs directory.
type refreshTickMsg struct{}

// diskRunsMsg carries the records read from the runs directory.
type diskRunsMsg struct {
	runs []*results.Run
	err  error
}

// startedMsg: the controller queued a run (or failed to).
type startedMsg struct {
	model string
	id    string
	err   error
}

// exportedMsg: the table was written to disk (or not).
type exportedMsg struct {
	md, csv string
	err     error
}

// clearStatusMsg clears the status line if it still shows message seq.
type clearStatusMsg struct{ seq int }
