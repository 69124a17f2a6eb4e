// Package tui renders training and detection events: the Bubble Tea dashboard,
// the detector's view and, for headless use, plain line output. It only
// consumes events and run records; it imports no training internals, and it
// never trains: runs are started and cancelled through a Controller.
//
// One concern per file:
//
//	model.go       Model: the root Bubble Tea model: views, dialogs, key
//	               dispatch, header and footer
//	msgs.go        the messages the dashboard sends itself
//	screen.go      Screen, RunScreen: draws changed lines as soon as they change
//	feed.go        Feed: a hub subscription; hands events over without
//	               blocking the trainer, coalescing progress reports, and
//	               Notices (the hub's own messages) and evaluations of best
//	               models on queues of their own
//	controller.go  Controller and ModelInfo: what starts and cancels runs
//	store.go       the runs shown: records from disk, the hub's snapshot
//	               (LiveRun) and this process's events (folded by
//	               results.Run.Apply)
//	metrics.go     figures derived from a run: progress, speed, ETA
//	sysline.go     the title bar's system line: the process's CPU and memory
//	               (/proc, sampled once a second), images/s of the last
//	               minute as a sparkline, the ETA of every queued run
//	runsview.go    Runs view: a grid of panels (panel.go), one per run
//	tableview.go   Table view: every run against the seed study, sortable
//	focusview.go   Focus view: one run, large charts, history, recipe, layers,
//	               scrolled in a bubbles viewport
//	evalview.go    the Focus view's section on the run's best model: heatmap,
//	               per-class bars, most confident mistakes (or correct
//	               examples) as images; the evaluations come from the hub
//	               through the Feed (or on request, Controller.BestEval)
//	compareview.go Compare view: the marked runs' curves (or each model's best
//	               run's) overlaid, one colour and line pattern each, a legend
//	chart.go       per-epoch accuracy and loss charts (ntcharts), a group's
//	               mean ± sd, several runs on one chart
//	halfblock.go   Gray, RGB, ScaleGray, ScaleRGB, HalfBlocks, HalfBlocksRGB:
//	               grey and colour images in half blocks
//	heatmap.go     Heatmap, ClassBars: the confusion matrix and per-class accuracy
//	newrun.go, confirm.go   the new-run form and the yes/no questions
//	help.go        the help screen and the footer's key help
//	keys.go        the key table (keyMap): every key binding, with the
//	               footers, hints and help screens built from it
//	export.go      the table as Markdown and CSV in the runs directory
//	common.go, styles.go    shared state, width helpers; styles per renderer
//	detectview.go  DetectView: the detector's full-screen view, with a
//	               picture of the latest frame written (its thumbnail)
//	plain.go       Plain: headless line output
//
// # Keys
//
// Every key is a bubbles key.Binding of the table in keys.go. Views and
// dialogs dispatch with key.Matches on its bindings, never on key names, and
// the footer of each view, the dialogs' hint lines and the help screens are
// generated from the same bindings, so that they cannot disagree.
//
// # Why a renderer of its own
//
// The dashboard runs in the process that trains, on the same cores. Bubble
// Tea's standard renderer wakes up at a fixed frame rate whether or not
// anything changed, and every wake-up of a goroutine while the trainer's
// goroutines are in OpenBLAS costs training time out of proportion to the
// work done (see DefaultFrame). Measured on 2 cores, training seconds per
// epoch against headless: a bare 60 Hz ticker in the process +8%; Bubble
// Tea's renderer at 60 frames a second with progress 10 times a second +8%,
// at 10 frames with progress 4 times a second +3.8%; Screen, which draws the
// changed lines once, right after the update that changed them, and sleeps
// otherwise, with progress once a second +1.0%. The README gives the
// dashboard's cost as +2.2% training time against headless (5 alternating
// pairs of CNN2 runs).
package tui
