package tui

// ModelInfo describes an architecture that can be trained, for the new-run
// dialog and the Focus view of runs that have not started yet.
type ModelInfo struct {
	Name   string
	Title  string   // a one-line description
	Params int      // Keras-style parameter count
	Epochs int      // the recipe's own epoch count
	Recipe string   // one-line recipe, e.g. "35 ep, batch 256, Adam lr 0.001"
	Layers []string // one line per layer
}

// Controller starts and cancels training runs on behalf of the dashboard.
// The dashboard never trains by itself: everything it shows of a run comes
// back as trainer events through a Feed.
//
// Start may be slow (it may have to load the data set first); the dashboard
// calls it from a command, off its event loop. The other methods must be
// quick.
type Controller interface {
	// Models lists the architectures that Start accepts.
	Models() []ModelInfo
	// Start queues a run of model for epochs epochs (0: the recipe's own)
	// and returns its run ID.
	Start(model string, epochs int) (string, error)
	// Cancel cancels a queued or running run; false if it is neither.
	Cancel(id string) bool
	// Active is the number of queued and running runs.
	Active() int
	// BestEval asks for the evaluation of run runID's best model, epoch
	// epoch as the dashboard knows it (the Focus view shows it). It returns
	// at once; the evaluation comes back through the Feed (Feed.Evaluated),
	// to every dashboard, as do the evaluations of this process's runs after
	// each new best epoch.
	BestEval(runID string, epoch int)
}
