package main

// The dashboard's wiring: a trainer.Manager (created when the first run is
// started), the goroutine that drains its events into the run records and
// then into the dashboard, and the tui.Controller the dashboard starts and
// cancels runs through.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/mattn/go-isatty"

	"fmnist/archs"
	"fmnist/results"
	"fmnist/trainer"
	"fmnist/tui"
)

// isTerminal reports whether w is a terminal (the dashboard needs one).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// isDashboardArgs reports whether args (no subcommand, only flags) ask for
// the dashboard: `fmnist` or `fmnist --runs DIR`.
func isDashboardArgs(args []string) bool {
	if len(args) == 0 {
		return true
	}
	a := args[0]
	return strings.HasPrefix(a, "-") && a != "-h" && a != "-help" && a != "--help"
}

// dashSettings are what runs started from the dashboard use.
type dashSettings struct {
	runsDir               string
	dataDir               string
	limitTrain, limitTest int
	seed                  int64
	parallel              int
}

// dashboard owns the training side of a dashboard session. It implements
// tui.Controller.
type dashboard struct {
	set    dashSettings
	ctx    context.Context
	cancel context.CancelFunc
	feed   *tui.Feed
	rec    *results.Recorder
	// push hands each recorded event on (default feed.Push; the SSH server
	// fans events out to its sessions). Called only from the drain goroutine.
	push func(trainer.Event)

	// load loads the data set for the first run started from the dashboard;
	// nil when it was given.
	load        func() (train, test *trainer.Dataset, err error)
	train, test *trainer.Dataset

	mu      sync.Mutex // serialises starting runs (which may load the data set)
	mgr     atomic.Pointer[trainer.Manager]
	closed  atomic.Bool // the dashboard has gone: no more runs
	taken   map[string]bool
	started []string // run IDs submitted, in order
	models  []tui.ModelInfo

	drained chan struct{} // closed when the drain goroutine ends
	// Written by the drain goroutine, read after drained is closed.
	failed int
	recErr error
}

func newDashboard(ctx context.Context, set dashSettings) *dashboard {
	ctx, cancel := context.WithCancel(ctx)
	d := &dashboard{set: set, ctx: ctx, cancel: cancel, feed: tui.NewFeed(), rec: results.NewRecorder(set.runsDir),
		taken: map[string]bool{}, drained: make(chan struct{})}
	d.push = d.feed.Push
	d.load = func() (*trainer.Dataset, *trainer.Dataset, error) {
		return trainer.Load(set.dataDir, set.limitTrain, set.limitTest)
	}
	return d
}

// managerLocked returns the manager, creating it (and loading the data set
// if needed) on first use. d.mu must be held.
func (d *dashboard) managerLocked() (*trainer.Manager, error) {
	if d.closed.Load() {
		return nil, errClosing
	}
	if m := d.mgr.Load(); m != nil {
		return m, nil
	}
	if d.train == nil {
		train, test, err := d.load()
		if err != nil {
			return nil, err
		}
		d.train, d.test = train, test
	}
	if err := results.CheckWritable(d.set.runsDir); err != nil {
		return nil, err
	}
	m := trainer.NewManager(d.ctx, trainer.Config{Train: d.train, Test: d.test, Parallel: d.set.parallel})
	go d.drain(m)
	d.mgr.Store(m)
	return m, nil
}

var errClosing = errors.New("the dashboard is closing")

// drain records every event on disk first, then hands it to the dashboard
// without ever waiting for it (the Feed coalesces progress reports).
func (d *dashboard) drain(mgr *trainer.Manager) {
	defer close(d.drained)
	for ev := range mgr.Events() {
		if err := d.rec.Handle(ev); err != nil {
			if d.recErr == nil {
				d.recErr = err
			}
			d.push(tui.Notice{ID: ev.Run(), Text: "recording runs: " + err.Error(), Error: true})
		}
		if f, ok := ev.(trainer.RunFinished); ok && f.Status == trainer.StatusFailed {
			d.failed++
		}
		d.push(ev)
	}
}

// submit queues jobs with fresh run IDs (filled in when empty).
func (d *dashboard) submit(jobs ...trainer.Job) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	mgr, err := d.managerLocked()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	ids := make([]string, len(jobs))
	for i := range jobs {
		if jobs[i].ID == "" {
			jobs[i].ID = results.NewRunID(d.set.runsDir, jobs[i].Model, now, d.taken)
		}
		if jobs[i].Seed == 0 {
			jobs[i].Seed = d.set.seed
		}
		d.taken[jobs[i].ID] = true
		ids[i] = jobs[i].ID
	}
	if d.closed.Load() { // quit while the data set was loading
		return nil, errClosing
	}
	d.started = append(d.started, ids...)
	mgr.Submit(jobs...)
	return ids, nil
}

// Models lists the six architectures (tui.Controller).
func (d *dashboard) Models() []tui.ModelInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.models == nil {
		for _, s := range archs.Specs() {
			mi := tui.ModelInfo{Name: s.Name, Title: s.Title, Epochs: s.Recipe.Epochs(), Recipe: s.Recipe.String()}
			if m, err := archs.New(s.Name, 1); err == nil {
				mi.Params, mi.Layers = m.ParamCount(), m.Layers
			}
			d.models = append(d.models, mi)
		}
	}
	return d.models
}

// Start queues a run of model (tui.Controller).
func (d *dashboard) Start(model string, epochs int) (string, error) {
	spec, err := archs.Lookup(model)
	if err != nil {
		return "", err
	}
	if epochs == spec.Recipe.Epochs() {
		epochs = 0 // the recipe's own, model5's phases unscaled
	}
	ids, err := d.submit(trainer.Job{Model: spec.Name, Epochs: epochs})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// Cancel cancels a queued or running run (tui.Controller). It does not
// wait for a run being started.
func (d *dashboard) Cancel(id string) bool {
	mgr := d.mgr.Load()
	return mgr != nil && mgr.Cancel(id)
}

// Active counts queued and running runs (tui.Controller).
func (d *dashboard) Active() int {
	if mgr := d.mgr.Load(); mgr != nil {
		return mgr.Active()
	}
	return 0
}

// finish ends the session once the dashboard is gone: it cancels the runs
// still active if cancel is set, waits for every run to end and its events
// to be recorded, and reports whether runs were cancelled.
func (d *dashboard) finish(cancel bool) (cancelled bool) {
	d.closed.Store(true)
	d.mu.Lock() // a Start under way finishes (and sees closed)
	mgr := d.mgr.Load()
	d.mu.Unlock()
	if mgr == nil {
		d.feed.Close()
		d.cancel()
		return false
	}
	if cancel && mgr.Active() > 0 {
		cancelled = true
		d.cancel()
	}
	mgr.CloseWhenIdle()
	<-d.drained
	d.feed.Close()
	d.cancel()
	return cancelled
}

// runs returns the records of the runs of this session that started.
func (d *dashboard) runs() []*results.Run {
	var out []*results.Run
	for _, id := range d.started {
		if r := d.rec.Run(id); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// runDashboard shows the dashboard until the user quits, with jobs (if any)
// training, then ends the session: runs still active are cancelled (exit
// status 130), the session's runs are summarised on stdout.
func runDashboard(set dashSettings, train, test *trainer.Dataset, jobs []trainer.Job, stdout, stderr io.Writer) error {
	past, bad, err := results.LoadRuns(set.runsDir)
	if err != nil {
		return err
	}
	// SIGHUP too: a closed terminal (a dropped SSH connection) cancels the
	// runs cleanly, recorded as cancelled, like Ctrl-C.
	sigCtx, stop := signalContext(syscall.SIGHUP)
	defer stop()
	d := newDashboard(sigCtx, set)
	if train != nil {
		d.train, d.test = train, test
	}
	if len(jobs) > 0 {
		if _, err := d.submit(jobs...); err != nil {
			return err
		}
	}
	// Ask the terminal for its background before the program owns the
	// input, so that colours suit dark and light terminals.
	lipgloss.HasDarkBackground()
	m := tui.New(tui.Options{RunsDir: set.runsDir, Runs: past, Feed: d.feed, Controller: d, Refresh: 5 * time.Second})
	out, _ := stdout.(*os.File) // a terminal: checked by the callers
	uiErr := tui.RunScreen(sigCtx, m, out)
	interrupted := sigCtx.Err() != nil || errors.Is(uiErr, tea.ErrInterrupted) || errors.Is(uiErr, tea.ErrProgramKilled)
	cancelled := d.finish(true)

	for _, e := range bad {
		fmt.Fprintf(stderr, "fmnist: skipped %v\n", e)
	}
	if d.recErr != nil {
		fmt.Fprintf(stderr, "fmnist: recording runs: %v\n", d.recErr)
	}
	if runs := d.runs(); len(runs) > 0 {
		tui.NewPlain(stdout).Summary(runs)
	}
	switch {
	case uiErr != nil && !interrupted:
		return fmt.Errorf("dashboard: %v", uiErr)
	case cancelled || interrupted:
		return errRunsCancelled(set.runsDir)
	case d.recErr != nil:
		return d.recErr
	case d.failed > 0:
		return fmt.Errorf("%d of %d runs failed", d.failed, len(d.started))
	}
	return nil
}

// dashboardCmd is `fmnist` with no command: the dashboard on the runs
// directory, from which runs can be started. (Without a terminal and without
// arguments, run prints the usage instead, as before the dashboard existed.)
func dashboardCmd(fs *flag.FlagSet) runFunc {
	settings := dashFlags(fs)
	return func(_ []string, stdout, stderr io.Writer) error {
		set, err := settings()
		if err != nil {
			return exitError{2, err}
		}
		if !isTerminal(stdout) {
			return exitError{2, errors.New("the dashboard needs a terminal (see 'fmnist help')")}
		}
		return runDashboard(set, nil, nil, nil, stdout, stderr)
	}
}

// dashFlags declares the flags that say where runs are recorded and how runs
// started from a dashboard (local or served) are trained. The function it
// returns reads them once parsed, refusing negative limits and a parallelism
// below 1.
func dashFlags(fs *flag.FlagSet) func() (dashSettings, error) {
	runsDir := runsFlag(fs)
	data := dataFlag(fs) // for runs started here
	limitTrain := fs.Int("limit-train", 0, "runs started here use only the first N training images")
	limitTest := fs.Int("limit-test", 0, "runs started here use only the first N test images")
	seed := fs.Int64("seed", 1, "random seed of runs started here")
	parallel := fs.Int("parallel", 1, "runs trained at once")
	return func() (dashSettings, error) {
		for name, v := range map[string]int{"limit-train": *limitTrain, "limit-test": *limitTest, "parallel": *parallel} {
			if v < 0 || (name == "parallel" && v == 0) {
				return dashSettings{}, fmt.Errorf("--%s must be a positive number, got %d", name, v)
			}
		}
		return dashSettings{runsDir: *runsDir, dataDir: *data, limitTrain: *limitTrain, limitTest: *limitTest, seed: *seed, parallel: *parallel}, nil
	}
}
