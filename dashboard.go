package main

// The dashboard's wiring: a hub (which owns the runs), the local dashboard's
// feed subscribed to it, the tui.Controller the dashboard starts and cancels
// runs through, and the exit status of every command whose runs a hub
// trained (outcome).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/mattn/go-isatty"
	"github.com/nats-io/nats.go/jetstream"

	"fmnist/archs"
	"fmnist/cluster"
	"fmnist/hub"
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
	train, test           *trainer.Dataset // loaded already (else loaded from dataDir for the first run)
	nats                  natsConn         // a cluster whose runs the hub records and shows too (url "": none)
	js                    jetstream.JetStream
	limitTrain, limitTest int
	seed                  int64
	val                   int          // validation images held out (trainer.Job.Val)
	recipe                recipeChoice // trainer.Job.Recipe and Set
	parallel              int
}

// dashboard is the tui.Controller of a dashboard session (local or over
// SSH): it starts and cancels runs through the hub, which owns them.
type dashboard struct {
	hub *hub.Hub
	// feed is the local dashboard's subscription (nil for a server, whose
	// sessions subscribe on their own).
	feed *tui.Feed

	// val and recipe are those of runs started here (trainer.Job).
	val    int
	recipe recipeChoice

	mu     sync.Mutex
	models []tui.ModelInfo
}

// newDashboard returns the hub of a dashboard session, with the local
// dashboard's feed subscribed to it before any event.
func newDashboard(ctx context.Context, set dashSettings) *dashboard {
	d := newController(ctx, set)
	d.feed = tui.NewFeed()
	d.hub.Subscribe(feedSub{d.feed})
	return d
}

// newController returns a controller over a new hub for set.
func newController(ctx context.Context, set dashSettings) *dashboard {
	hs := hub.Settings{RunsDir: set.runsDir, Parallel: set.parallel, Seed: set.seed, Train: set.train, Test: set.test,
		Load: func() (*trainer.Dataset, *trainer.Dataset, error) {
			return trainer.Load(set.dataDir, set.limitTrain, set.limitTest)
		},
		LoadTest: func(n int) (*trainer.Dataset, error) {
			_, test, err := trainer.Load(set.dataDir, 1, n)
			return test, err
		}}
	if set.js != nil {
		hs.CancelRemote = func(id string) bool { return cluster.Cancel(ctx, set.js, id) == nil }
	}
	return &dashboard{hub: hub.New(ctx, hs), val: set.val, recipe: set.recipe}
}

// joinCluster connects set to its cluster (--nats), if any, and returns a
// function that feeds the cluster's events to a hub, and one that
// disconnects.
func joinCluster(ctx context.Context, set *dashSettings) (attach func(*hub.Hub) error, closeFn func(), err error) {
	if set.nats.url == "" {
		return func(*hub.Hub) error { return nil }, func() {}, nil
	}
	nc, js, err := cluster.Connect(ctx, set.nats.url, set.nats.auth, "fmnist dashboard")
	if err != nil {
		return nil, nil, err
	}
	set.js = js
	return func(h *hub.Hub) error {
		evs, err := cluster.Events(ctx, js, nil)
		if err != nil {
			return err
		}
		h.Attach(evs)
		return nil
	}, nc.Close, nil
}

// feedSub subscribes a dashboard's Feed to the hub: events (Push),
// notices (Notify) and the evaluations of best models (Evaluated, which
// makes it a hub.EvalSubscriber).
type feedSub struct{ *tui.Feed }

func (f feedSub) Notify(n hub.Notice) {
	f.Feed.Notify(tui.Notice{ID: n.Run, Text: n.Text, Error: n.Error})
}

// subscribe joins f to the hub: the runs so far become the dashboard's
// own, with the evaluations made so far, then the live events follow.
func subscribe(h *hub.Hub, f *tui.Feed) ([]tui.LiveRun, []*results.BestEval) {
	snap := h.Join(feedSub{f})
	var out []tui.LiveRun
	for _, l := range snap.Runs {
		out = append(out, tui.LiveRun{Run: l.Run, Index: l.Index, Progress: l.Progress})
	}
	return out, snap.Evals
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
	job := trainer.Job{Model: spec.Name, Epochs: epochs, Val: d.val, Recipe: d.recipe.Name, Set: d.recipe.Set}
	if spec.Detection {
		job.Val, job.Recipe, job.Set = 0, "", nil
	}
	ids, err := d.hub.Submit(job)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// Cancel cancels a queued or running run (tui.Controller). It does not
// wait for a run being started.
func (d *dashboard) Cancel(id string) bool { return d.hub.Cancel(id) }

// Active counts queued and running runs (tui.Controller).
func (d *dashboard) Active() int { return d.hub.Active() }

// BestEval asks the hub to evaluate a run's saved best model
// (tui.Controller); the result comes through the feeds.
func (d *dashboard) BestEval(id string, epoch int) { d.hub.RequestEval(id, epoch) }

// finish ends the session once the dashboard is gone: it cancels the runs
// still active if cancel is set, waits for every run to end and its events
// to be recorded, and reports whether runs were cancelled.
func (d *dashboard) finish(cancel bool) (cancelled bool) {
	cancelled = d.hub.Finish(cancel)
	if d.feed != nil {
		d.feed.Close()
	}
	return cancelled
}

// runs returns the records of the runs of this session that started.
func (d *dashboard) runs() []*results.Run { return d.hub.Runs() }

// outcome is the exit status of a command whose runs the hub trained:
// cancelled (130), the first record that could not be saved, or the runs
// that failed. The dashboard, `fmnist serve` and headless training all end
// here.
func outcome(h *hub.Hub, cancelled error) error {
	o := h.Outcome()
	switch {
	case cancelled != nil:
		return cancelled
	case o.RecordErr != nil:
		return o.RecordErr
	case len(o.Failed) == 1 && o.Queued == 1:
		return fmt.Errorf("run %s failed: %v", o.Failed[0].ID, o.Failed[0].Err)
	case len(o.Failed) > 0:
		return fmt.Errorf("%d of %d runs failed", len(o.Failed), o.Queued)
	}
	return nil
}

// runDashboard shows the dashboard until the user quits, with jobs (if any)
// training, then ends the session: runs still active are cancelled (exit
// status 130), the session's runs are summarised on stdout.
func runDashboard(set dashSettings, jobs []trainer.Job, stdout, stderr io.Writer) error {
	past, bad, err := results.LoadRuns(set.runsDir)
	if err != nil {
		return err
	}
	// SIGHUP too: a closed terminal (a dropped SSH connection) cancels the
	// runs cleanly, recorded as cancelled, like Ctrl-C.
	sigCtx, stop := signalContext(syscall.SIGHUP)
	defer stop()
	attach, disconnect, err := joinCluster(sigCtx, &set)
	if err != nil {
		return err
	}
	defer disconnect()
	d := newDashboard(sigCtx, set)
	if err := attach(d.hub); err != nil {
		return err
	}
	// The model list (six models built to count their parameters) and the
	// terminal's background are settled before training starts: done
	// meanwhile, they slowed the first epoch of a 2-epoch run by 15%.
	d.Models()
	lipgloss.HasDarkBackground()
	if len(jobs) > 0 {
		if _, err := d.hub.Submit(jobs...); err != nil {
			return err
		}
	}
	m := tui.New(tui.Options{RunsDir: set.runsDir, Runs: past, Feed: d.feed, Controller: d, Refresh: 5 * time.Second})
	out, _ := stdout.(*os.File) // a terminal: checked by the callers
	uiErr := tui.RunScreen(sigCtx, m, out)
	interrupted := sigCtx.Err() != nil || errors.Is(uiErr, tea.ErrInterrupted) || errors.Is(uiErr, tea.ErrProgramKilled)
	cancelled := d.finish(true)

	for _, e := range bad {
		fmt.Fprintf(stderr, "fmnist: skipped %v\n", e)
	}
	summarise(d.hub, stdout, stderr)
	if uiErr != nil && !interrupted {
		return fmt.Errorf("dashboard: %v", uiErr)
	}
	var stopped error
	if cancelled || interrupted {
		stopped = errRunsCancelled(set.runsDir)
	}
	return outcome(d.hub, stopped)
}

// summarise ends a session's output: the first record that could not be
// saved (on stderr), then a table of the session's runs.
func summarise(h *hub.Hub, stdout, stderr io.Writer) {
	if err := h.Outcome().RecordErr; err != nil {
		fmt.Fprintf(stderr, "fmnist: recording runs: %v\n", err)
	}
	if runs := h.Runs(); len(runs) > 0 {
		tui.NewPlain(stdout).Summary(runs)
	}
}

// dashboardCmd is `fmnist` with no command: the dashboard on the runs
// directory, from which runs can be started. (Without a terminal and without
// arguments, run prints the usage instead, as before the dashboard existed.)
func dashboardCmd(fs *flag.FlagSet) runFunc {
	settings := dashFlags(fs)
	return func(_ []string, stdout, stderr io.Writer) error {
		set, err := settings()
		if err != nil {
			return flagError("", err)
		}
		if !isTerminal(stdout) {
			return exitError{2, errors.New("the dashboard needs a terminal (see 'fmnist help')")}
		}
		return runDashboard(set, nil, stdout, stderr)
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
	valRecipe := valRecipeFlags(fs)
	parallel := fs.Int("parallel", 1, "runs trained at once")
	conn := natsFlags(fs)
	return func() (dashSettings, error) {
		nc, err := conn()
		if err != nil {
			return dashSettings{}, err
		}
		valN, recipe, err := valRecipe(*limitTrain, 0, archs.Names())
		if err != nil {
			return dashSettings{}, err
		}
		for name, v := range map[string]int{"limit-train": *limitTrain, "limit-test": *limitTest, "parallel": *parallel} {
			if v < 0 || (name == "parallel" && v == 0) {
				return dashSettings{}, fmt.Errorf("--%s must be a positive number, got %d", name, v)
			}
		}
		return dashSettings{runsDir: *runsDir, dataDir: *data, limitTrain: *limitTrain, limitTest: *limitTest, seed: *seed,
			val: valN, recipe: recipe, parallel: *parallel, nats: nc}, nil
	}
}
