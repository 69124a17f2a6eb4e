package tui

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"fmnist/results"
	"fmnist/trainer"
)

// view is one of the dashboard's four views.
type view int

const (
	viewRuns view = iota
	viewTable
	viewFocus
	viewCompare
	numViews
)

var viewNames = [numViews]string{"Runs", "Table", "Focus", "Compare"}

// statusTTL is how long a status message stays in the footer.
const statusTTL = 10 * time.Second

// DefaultFrame is how often progress reports are delivered while runs
// train: once a second. Every wake-up of the dashboard while a run trains
// costs training time out of proportion to the work done: the trainer splits
// each op over all cores and waits for the slowest part, and a goroutine
// that becomes runnable while the trainer's goroutines are in OpenBLAS takes
// a P from one of them. Measured on 2 cores (training seconds per epoch,
// dashboard against headless): a bare 60 Hz ticker in the process +8%;
// Bubble Tea's renderer at its 60 frames a second with progress 10 times a
// second +8%, at 10 frames with progress 4 times a second +3.8%; Screen
// (which draws only when something changed) with progress once a second
// +1.0%. Events other than progress are delivered at once.
const DefaultFrame = time.Second

// Options configure a dashboard.
type Options struct {
	RunsDir string         // where run records live (shown, refreshed, exported to)
	Runs    []*results.Run // records read from RunsDir at start
	// Live are the runs of this process so far, as the hub had folded
	// them when the Feed subscribed; the Feed's events continue them.
	Live       []LiveRun
	Feed       *Feed      // this process's events; nil: none
	Controller Controller // starts and cancels runs; nil: n and x are unavailable
	// Refresh re-reads RunsDir this often, for runs of other processes;
	// 0 never does.
	Refresh time.Duration
	// Frame is the least time between two deliveries of progress reports
	// (default DefaultFrame); other events are delivered at once. Negative:
	// no pause at all (tests).
	Frame    time.Duration
	Now      func() time.Time   // clock (default time.Now)
	Renderer *lipgloss.Renderer // default: lipgloss's default renderer
	View     string             // initial view: "runs" (default), "table", "focus" or "compare"
	// Shared: the runs belong to a server that outlives this dashboard (an
	// SSH session of `fmnist serve`): quitting never asks to cancel them.
	Shared bool
	// ReadOnly: n, x and e (which writes into RunsDir) are refused with a
	// status line (a read-only server).
	ReadOnly bool
	// Evals are the evaluations of runs' best models the hub had made when
	// the Feed subscribed; the Feed brings the later ones.
	Evals []*results.BestEval
	// System measures the process for the title bar (default: ProcSampler,
	// none where there is no /proc). SysEvery is how often it is sampled,
	// with the training speed for the sparkline (default one second;
	// negative: never, tests send sysTickMsg).
	System   SysSampler
	SysEvery time.Duration
}

// Model is the dashboard, a Bubble Tea model.
type Model struct {
	c     *common
	opts  Options
	ctrl  Controller
	feed  *Feed
	frame time.Duration

	view, back view
	runs       *runsView
	table      *tableView
	focus      *focusView
	compare    *compareView
	help       *helpView
	showHelp   bool
	newRun     *newRunDialog
	confirm    *confirmDialog

	// The system line (sysline.go): the latest sample, the training speeds
	// of the last minute, one per sysTickMsg.
	sys     SysSampler
	sysLast SysSample
	speeds  []float64
	// asked is, per run, the best epoch whose evaluation was asked of the
	// controller.
	asked map[string]int

	status     string
	statusBad  bool
	statusSeq  int
	userMoved  bool   // the user picked a run: new runs no longer take the selection
	wantSelect string // a run started from the dialog, selected when it shows up
	feedDone   bool
	quitting   bool
	cancelling bool // quit was confirmed with runs active
}

// New returns a dashboard showing opts.Runs and whatever opts.Feed brings.
func New(opts Options) *Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	frame := opts.Frame
	if frame == 0 {
		frame = DefaultFrame
	}
	keys := newKeyMap()
	keys.readOnly = opts.ReadOnly
	c := &common{styles: NewStyles(opts.Renderer), keys: keys, now: opts.Now, store: newStore(), runsDir: opts.RunsDir,
		evals: map[string]*results.BestEval{}, canEval: opts.Controller != nil}
	for _, e := range opts.Evals {
		c.evals[e.Run] = e
	}
	c.store.mergeDisk(opts.Runs)
	for _, l := range opts.Live {
		c.store.adopt(l)
	}
	if n := c.store.len(); n > 0 {
		c.selected = c.store.list()[n-1].ID // the newest
	}
	m := &Model{c: c, opts: opts, ctrl: opts.Controller, feed: opts.Feed, frame: frame, sys: opts.System, asked: map[string]int{}}
	if m.sys == nil {
		m.sys = ProcSampler()
	}
	if m.opts.SysEvery == 0 {
		m.opts.SysEvery = time.Second
	}
	if m.sys != nil {
		m.sysLast = m.sys() // the memory at once; the CPU from the next sample
	}
	m.runs = &runsView{c: c}
	m.table = newTableView(c)
	m.focus = newFocusView(c)
	m.compare = newCompareView(c)
	m.help = &helpView{c: c}
	if m.ctrl != nil {
		for _, mi := range m.ctrl.Models() {
			m.focus.models[mi.Name] = mi
		}
	}
	switch opts.View {
	case "table":
		m.view = viewTable
	case "focus":
		m.view = viewFocus
	case "compare":
		m.view = viewCompare
	}
	return m
}

// Init starts listening to the feed and the refresh timer.
func (m *Model) Init() tea.Cmd {
	var cmds []tea.Cmd
	if m.feed != nil {
		cmds = append(cmds, m.feed.wait(0))
	}
	if m.opts.Refresh > 0 {
		cmds = append(cmds, tea.Tick(m.opts.Refresh, func(time.Time) tea.Msg { return refreshTickMsg{} }))
	}
	cmds = append(cmds, m.sysTick(), m.askEval())
	return tea.Batch(cmds...)
}

// sysTick waits for the next system sample.
func (m *Model) sysTick() tea.Cmd {
	if m.opts.SysEvery < 0 {
		return nil
	}
	return tea.Tick(m.opts.SysEvery, func(time.Time) tea.Msg { return sysTickMsg{} })
}

// askEval asks the controller, off the event loop, for the evaluation of
// the best model of the run the Focus view shows, when it has none of that
// epoch and has not asked for it yet (the hub evaluates the best epochs of
// its own runs by itself; it does nothing twice).
func (m *Model) askEval() tea.Cmd {
	if m.view != viewFocus || m.showHelp || m.ctrl == nil {
		return nil
	}
	r := m.c.selectedRun()
	if r == nil || r.BestEpoch == 0 {
		return nil
	}
	if e := m.c.evals[r.ID]; (e != nil && e.Epoch >= r.BestEpoch) || m.asked[r.ID] == r.BestEpoch {
		return nil
	}
	m.asked[r.ID] = r.BestEpoch
	ctrl, id, epoch := m.ctrl, r.ID, r.BestEpoch
	return func() tea.Msg {
		ctrl.BestEval(id, epoch)
		return nil
	}
}

// CancelsRuns reports whether the user quit with runs active and confirmed
// that they be cancelled.
func (m *Model) CancelsRuns() bool { return m.cancelling }

// Selected is the ID of the selected run.
func (m *Model) Selected() string { return m.c.selected }

// active is the number of queued and running runs of this process.
func (m *Model) active() int {
	if m.ctrl != nil {
		return m.ctrl.Active()
	}
	return m.c.store.active()
}

func (m *Model) setStatus(text string, bad bool) tea.Cmd {
	m.status, m.statusBad = text, bad
	m.statusSeq++
	seq := m.statusSeq
	return tea.Tick(statusTTL, func(time.Time) tea.Msg { return clearStatusMsg{seq} })
}

// nextDelivery waits a frame, then for the next events.
func (m *Model) nextDelivery() tea.Cmd {
	if m.feed == nil || m.feedDone {
		return nil
	}
	return m.feed.wait(m.frame)
}

func loadRunsCmd(dir string) tea.Cmd {
	return func() tea.Msg {
		runs, _, err := results.LoadRuns(dir)
		return diskRunsMsg{runs: runs, err: err}
	}
}

// Update handles a message; then, if the Focus view shows a run without
// the evaluation of its best model, it asks for one.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := m.update(msg)
	if ask := m.askEval(); ask != nil {
		cmd = tea.Batch(cmd, ask)
	}
	return m, cmd
}

func (m *Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.width, m.c.height = msg.Width, msg.Height
		return m, nil
	case eventsMsg:
		return m, tea.Batch(m.applyEvents(msg), m.nextDelivery())
	case noticesMsg:
		var cmd tea.Cmd
		for _, n := range msg {
			cmd = m.setStatus(n.Text, n.Error)
		}
		return m, tea.Batch(cmd, m.nextDelivery())
	case evalsMsg:
		for _, e := range msg {
			m.c.evals[e.Run] = e
		}
		return m, m.nextDelivery()
	case sysTickMsg:
		m.sample()
		return m, m.sysTick()
	case feedClosedMsg:
		m.feedDone = true
		return m, nil
	case refreshTickMsg:
		return m, loadRunsCmd(m.opts.RunsDir)
	case diskRunsMsg:
		if msg.err == nil {
			m.c.store.mergeDisk(msg.runs)
			if m.c.selectedRun() == nil {
				m.c.selectIndex(m.c.store.len() - 1)
			}
		}
		return m, tea.Tick(m.opts.Refresh, func(time.Time) tea.Msg { return refreshTickMsg{} })
	case startedMsg:
		if msg.err != nil {
			return m, m.setStatus(fmt.Sprintf("could not start %s: %v", msg.model, msg.err), true)
		}
		m.wantSelect = msg.id
		m.selectWanted()
		return m, m.setStatus(fmt.Sprintf("queued %s as run %s", msg.model, msg.id), false)
	case exportedMsg:
		if msg.err != nil {
			return m, m.setStatus("export failed: "+msg.err.Error(), true)
		}
		return m, m.setStatus("exported "+msg.md+" and "+msg.csv, false)
	case clearStatusMsg:
		if msg.seq == m.statusSeq {
			m.status = ""
		}
		return m, nil
	case tea.KeyMsg:
		return m.handleKey(msg)
	}
	return m, nil
}

// applyEvents folds a delivery of events into the runs.
func (m *Model) applyEvents(evs []trainer.Event) tea.Cmd {
	var cmd tea.Cmd
	// Runs were active before this delivery, or became active in it (a
	// short run may queue, start and finish within one delivery).
	wasActive := m.c.store.active() > 0
	for _, ev := range evs {
		switch ev.(type) {
		case trainer.RunQueued, trainer.RunStarted:
			wasActive = true
		}
		switch e := ev.(type) {
		case trainer.RunQueued:
			if cur := m.c.selectedRun(); !m.userMoved && (cur == nil || !cur.Owned) {
				m.c.selected = e.ID
			}
		case trainer.RunStarted:
			// Until the user picks a run, follow the one training.
			if cur := m.c.selectedRun(); !m.userMoved && (cur == nil || !cur.Owned || cur.Status != trainer.StatusRunning) {
				m.c.selected = e.ID
			}
		case trainer.RunFinished:
			if r := m.c.store.get(e.ID); r != nil && e.Status == trainer.StatusFailed {
				msg := strings.Join(strings.Fields(e.Err), " ")
				cmd = m.setStatus(fmt.Sprintf("%s failed: %s", r.Model, msg), true)
			}
		}
		m.c.store.apply(ev)
	}
	m.selectWanted()
	// A question about cancelling a run follows the run: its line stays
	// true, and it goes once the run has ended.
	if d := m.confirm; d != nil && d.kind == confirmCancel {
		if r := m.c.store.get(d.runID); r != nil && r.active() {
			d.text = cancelQuestion(r)
		} else if r != nil {
			m.confirm = nil
			if cmd == nil {
				cmd = m.nothingToCancel(r)
			}
		}
	}
	if wasActive && m.c.store.active() == 0 && cmd == nil {
		cmd = m.setStatus("all runs finished · q quits", false)
	}
	return cmd
}

func (m *Model) selectWanted() {
	if m.wantSelect != "" && m.c.store.get(m.wantSelect) != nil {
		m.c.selected = m.wantSelect
		m.wantSelect = ""
		m.runs.scrollToSelection()
	}
}

func (m *Model) setView(v view) {
	if v == viewFocus && m.view != viewFocus {
		m.back = m.view
		m.focus.top()
	}
	m.view = v
}

func (m *Model) handleKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.c.keys
	if m.c.tooSmall() {
		if key.Matches(msg, k.Quit) {
			return m.quit()
		}
		return m, nil
	}
	if m.confirm != nil {
		done, yes := m.confirm.update(msg)
		if !done {
			return m, nil
		}
		d := m.confirm
		m.confirm = nil
		if !yes {
			return m, nil
		}
		if d.kind == confirmQuit {
			m.cancelling = m.active() > 0
			m.quitting = true
			return m, tea.Quit
		}
		return m, m.cancelRun(d.runID)
	}
	if m.newRun != nil {
		done, req := m.newRun.update(msg)
		if done {
			m.newRun = nil
			if req != nil {
				return m, m.startCmd(*req)
			}
		}
		return m, nil
	}
	if m.showHelp {
		switch {
		case key.Matches(msg, k.Quit):
			return m.quit()
		case key.Matches(msg, k.Help, k.Back):
			m.showHelp = false
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Help):
		m.showHelp = true
	case key.Matches(msg, k.NextView):
		m.setView((m.view + 1) % numViews)
	case key.Matches(msg, k.PrevView):
		m.setView((m.view + numViews - 1) % numViews)
	case key.Matches(msg, k.New):
		return m, m.openNewRun()
	case key.Matches(msg, k.Cancel):
		return m, m.askCancel()
	case key.Matches(msg, k.Export):
		return m, m.export()
	case key.Matches(msg, k.Focus) && (m.view == viewRuns || m.view == viewTable): // where the selection shows
		if m.c.selectedRun() != nil {
			m.setView(viewFocus)
		}
	case key.Matches(msg, k.Back):
		if m.view == viewFocus {
			m.view = m.back
		}
	case key.Matches(msg, k.Mark) && (m.view == viewRuns || m.view == viewTable):
		return m, m.mark()
	default:
		before := m.c.selected
		var cmd tea.Cmd
		switch m.view {
		case viewRuns:
			cmd = m.runs.update(msg)
		case viewTable:
			cmd = m.table.update(msg)
		case viewFocus:
			cmd = m.focus.update(msg)
		case viewCompare:
			cmd = m.compare.update(msg)
		}
		if m.c.selected != before {
			m.userMoved = true
		}
		return m, cmd
	}
	return m, nil
}

// mark marks the selected run to compare, or unmarks it. The grouped
// table has no runs to mark, only groups.
func (m *Model) mark() tea.Cmd {
	if m.view == viewTable && m.table.grouped {
		return m.setStatus("marks are per run: "+hintLabel(m.c.keys.Group)+" shows one row per run", true)
	}
	if m.c.selectedRun() == nil {
		return m.setStatus("no run selected", true)
	}
	m.c.toggleMark(m.c.selected)
	return nil
}

// quit quits at once when no run is active, else asks first.
func (m *Model) quit() (tea.Model, tea.Cmd) {
	n := m.active()
	if n == 0 || m.opts.Shared {
		m.quitting = true
		return m, tea.Quit
	}
	text := "1 run is still active. Quit and cancel it?"
	if n > 1 {
		text = fmt.Sprintf("%d runs are still active. Quit and cancel them?", n)
	}
	m.confirm = &confirmDialog{c: m.c, kind: confirmQuit, text: text + " Finished epochs are kept."}
	m.newRun = nil
	m.showHelp = false
	return m, nil
}

func (m *Model) openNewRun() tea.Cmd {
	if m.opts.ReadOnly {
		return m.setStatus("read-only: starting runs is disabled on this server", true)
	}
	if m.ctrl == nil {
		return m.setStatus("starting runs is not available here", true)
	}
	cur := ""
	if r := m.c.selectedRun(); r != nil {
		cur = r.Model
	}
	m.newRun = newNewRunDialog(m.c, m.ctrl.Models(), cur)
	return nil
}

func (m *Model) startCmd(req startRequest) tea.Cmd {
	ctrl := m.ctrl
	return tea.Batch(m.setStatus(fmt.Sprintf("starting %s for %s…", req.model, plural(req.epochs, "epoch")), false),
		func() tea.Msg {
			id, err := ctrl.Start(req.model, req.epochs)
			return startedMsg{model: req.model, id: id, err: err}
		})
}

func (m *Model) askCancel() tea.Cmd {
	r := m.c.selectedRun()
	switch {
	case r == nil:
		return m.setStatus("no run selected", true)
	case m.opts.ReadOnly:
		return m.setStatus("read-only: cancelling runs is disabled on this server", true)
	case m.ctrl == nil:
		return m.setStatus("cancelling runs is not available here", true)
	case !r.Owned && r.Status == trainer.StatusRunning:
		return m.setStatus(r.ID+" is not running in this dashboard; it is shown as it is on disk", true)
	case !r.active():
		return m.nothingToCancel(r)
	}
	m.confirm = &confirmDialog{c: m.c, kind: confirmCancel, runID: r.ID, text: cancelQuestion(r)}
	return nil
}

// nothingToCancel says that run r has ended.
func (m *Model) nothingToCancel(r *runState) tea.Cmd {
	return m.setStatus(fmt.Sprintf("%s is %s; nothing to cancel", r.ID, r.Status), true)
}

// cancelQuestion asks whether to cancel run r, as it is now.
func cancelQuestion(r *runState) string {
	return fmt.Sprintf("Cancel %s (%s, %s)? Finished epochs are kept.", r.ID, r.Model, epochLine(r))
}

func (m *Model) cancelRun(id string) tea.Cmd {
	// The run may have ended while the question was asked.
	if r := m.c.store.get(id); r != nil && !r.active() {
		return m.nothingToCancel(r)
	}
	if m.ctrl.Cancel(id) {
		return m.setStatus("cancelling "+id, false)
	}
	return m.setStatus(id+" is no longer active", true)
}

func (m *Model) export() tea.Cmd {
	if m.opts.ReadOnly {
		return m.setStatus("read-only: exporting is disabled on this server", true)
	}
	if len(m.table.rows()) == 0 {
		return m.setStatus("no runs to export", true)
	}
	dir := m.opts.RunsDir
	if dir == "" {
		dir = "."
	}
	// Rendered now, written off the event loop.
	var md, csv bytes.Buffer
	if err := m.table.write(&md, "md"); err != nil {
		return m.setStatus("export: "+err.Error(), true)
	}
	m.table.write(&csv, "csv")
	return exportCmd(dir, func(w io.Writer, format string) error {
		if format == "md" {
			_, err := w.Write(md.Bytes())
			return err
		}
		_, err := w.Write(csv.Bytes())
		return err
	}, m.c.now())
}

// View draws the dashboard.
func (m *Model) View() string {
	c := m.c
	w, h := c.width, c.height
	if w <= 0 || h <= 0 || m.quitting {
		return ""
	}
	if c.tooSmall() {
		return truncate(fmt.Sprintf("terminal too small (need %dx%d, have %dx%d)", minWidth, minHeight, w, h), w)
	}
	var body string
	switch {
	case m.showHelp:
		body = m.help.view()
	case m.view == viewTable:
		body = m.table.view()
	case m.view == viewFocus:
		body = m.focus.view()
	case m.view == viewCompare:
		body = m.compare.view()
	default:
		body = m.runs.view()
	}
	if m.newRun != nil {
		body = overlay(body, m.newRun.view(), w)
	}
	if m.confirm != nil {
		body = overlay(body, m.confirm.view(), w)
	}
	return m.header() + "\n" + fit(body, w, c.bodyHeight()) + "\n" + m.footer()
}

func (m *Model) header() string {
	st, w := m.c.styles, m.c.width
	var tabs []string
	for i, name := range viewNames {
		switch {
		case view(i) == m.view && st.NoColor:
			tabs = append(tabs, "["+name+"]")
		case view(i) == m.view:
			tabs = append(tabs, st.TabActive.Render(" "+name+" "))
		default:
			tabs = append(tabs, " "+st.Tab.Render(name)+" ")
		}
	}
	left := st.Accent.Render("fmnist") + "  " + strings.Join(tabs, " ")
	right := m.headerRight(w - cellWidth(left) - 1)
	return spread(left, st.Dim.Render(right), w)
}

func (m *Model) footer() string {
	st, w := m.c.styles, m.c.width
	right := ""
	switch {
	case m.showHelp, m.newRun != nil, m.confirm != nil:
	case m.view == viewRuns:
		right = m.runs.position()
	case m.view == viewFocus:
		right = m.focus.position()
	}
	right = st.Dim.Render(right)
	lw := w - cellWidth(right) - 2 // two cells between, as between the hints
	if right == "" {
		lw = w
	}
	var left string
	switch {
	case m.status != "" && m.statusBad:
		left = st.Bad.Render(truncate(m.status, lw))
	case m.status != "":
		left = truncate(m.status, lw)
	default:
		left = m.help.short(m.view, lw)
	}
	if right == "" {
		return padRight(left, w)
	}
	return spread(left, right, w)
}
