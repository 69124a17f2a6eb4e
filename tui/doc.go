// Package tui renders training and detection events: the Bubble Tea dashboard
// and, for headless use, plain line output. It only consumes events and run
// records; it imports no training internals, and it never trains: runs are
// started and cancelled through a Controller.
//
// The dashboard, one concern per file:
//
//	model.go       Model: the root Bubble Tea model, messages, keys, layout
//	screen.go      Screen, RunScreen: draws changed lines as soon as they change
//	feed.go        Feed: hands events over without blocking the trainer,
//	               coalescing progress reports
//	store.go       the runs shown: records from disk and this process's events
//	runsview.go    Runs view: a grid of panels (panel.go), one per run
//	tableview.go   Table view: every run against the seed study, sortable
//	focusview.go   Focus view: one run, large charts, history, recipe, layers
//	chart.go       per-epoch accuracy and loss charts (ntcharts)
//	newrun.go, confirm.go, help.go   dialogs and the help screen
//	export.go      the table as Markdown and CSV in the runs directory
//	common.go, styles.go, keys.go    shared state, styles, key bindings
//	plain.go       Plain: headless line output
package tui
