package main

import (
	"context"
	"fmt"
	"io"

	"fmnist/hub"
	"fmnist/trainer"
	"fmnist/tui"
)

// runHeadless trains jobs without the dashboard: the hub records every
// event in the runs directory, then the printer prints it as a plain line;
// a summary table ends the output. Its error is the command's exit status
// (outcome). `fmnist train` and `fmnist train --resume` both end here.
func runHeadless(set dashSettings, jobs []trainer.Job, stdout, stderr io.Writer) error {
	ctx, stop := signalContext()
	defer stop()
	return trainHeadless(ctx, set, jobs, stdout, stderr)
}

func trainHeadless(ctx context.Context, set dashSettings, jobs []trainer.Job, stdout, stderr io.Writer) error {
	h := newController(ctx, set).hub
	h.Subscribe(&printer{plain: tui.NewPlain(stdout), stderr: stderr})
	if _, err := h.Submit(jobs...); err != nil {
		return err
	}
	h.Finish(false) // the runs end, or ctx cancels them
	if runs := h.Runs(); len(runs) > 0 {
		tui.NewPlain(stdout).Summary(runs)
	}
	var stopped error
	if ctx.Err() != nil {
		stopped = errRunsCancelled(set.runsDir)
	}
	return outcome(h, stopped)
}

// printer is the headless subscriber: a plain line per event, and the
// first record that could not be saved on stderr as it happens.
type printer struct {
	plain  *tui.Plain
	stderr io.Writer
	warned bool
}

func (p *printer) Push(ev trainer.Event) { p.plain.Handle(ev) }

func (p *printer) Notify(n hub.Notice) {
	if !p.warned {
		p.warned = true
		fmt.Fprintf(p.stderr, "fmnist: %s\n", n.Text)
	}
}
