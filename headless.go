package main

import (
	"context"
	"fmt"
	"io"

	"fmnist/results"
	"fmnist/trainer"
	"fmnist/tui"
)

// runHeadless trains jobs without the dashboard: every event is recorded in
// runsDir, then printed as plain lines; a summary table ends the output. Its
// error is the command's exit status: cancelled (130), the recorder's first
// error, or the failed runs. `fmnist train` and `fmnist train --resume` both
// end here.
func runHeadless(cfg trainer.Config, jobs []trainer.Job, runsDir string, stdout, stderr io.Writer) error {
	ctx, stop := signalContext()
	defer stop()
	return trainHeadless(ctx, cfg, jobs, runsDir, stdout, stderr)
}

func trainHeadless(ctx context.Context, cfg trainer.Config, jobs []trainer.Job, runsDir string, stdout, stderr io.Writer) error {
	rec := results.NewRecorder(runsDir)
	plain := tui.NewPlain(stdout)
	var recErr error
	var failed []trainer.RunFinished
	for ev := range trainer.Start(ctx, cfg, jobs) {
		if err := rec.Handle(ev); err != nil && recErr == nil {
			recErr = err
			fmt.Fprintf(stderr, "fmnist: recording runs: %v\n", err)
		}
		plain.Handle(ev)
		if f, ok := ev.(trainer.RunFinished); ok && f.Status == trainer.StatusFailed {
			failed = append(failed, f)
		}
	}
	var runs []*results.Run
	for _, j := range jobs {
		if r := rec.Run(j.ID); r != nil {
			runs = append(runs, r)
		}
	}
	plain.Summary(runs)
	switch {
	case ctx.Err() != nil:
		return errRunsCancelled(runsDir)
	case recErr != nil:
		return recErr
	case len(failed) == 1 && len(jobs) == 1:
		return fmt.Errorf("run %s failed: %v", failed[0].ID, failed[0].Err)
	case len(failed) > 0:
		return fmt.Errorf("%d of %d runs failed", len(failed), len(jobs))
	}
	return nil
}
