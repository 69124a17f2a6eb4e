package tui

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"fmnist/results"
	"fmnist/trainer"
)

func TestMain(m *testing.M) {
	// Stable goldens: no colour codes, whatever the terminal running tests.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// fakeCtrl records what the dashboard asks of its controller.
type fakeCtrl struct {
	mu        sync.Mutex
	started   []string // "model/epochs"
	cancelled []string
	active    int
	startErr  error
	cancelOK  bool
	evals     []string // "run/epoch" asked for
}

func (f *fakeCtrl) Models() []ModelInfo {
	return []ModelInfo{
		{Name: "CNN2", Title: "CNN2 + BatchNorm + Skip", Params: 211950, Epochs: 35, Recipe: "35 ep, batch 256, Adam lr 0.001", Layers: fixLayers},
		{Name: "CNN2_dropout", Title: "CNN2 + BatchNorm + Skip + Dropout", Params: 440910, Epochs: 50, Recipe: "50 ep, batch 256, Adam lr 0.001"},
		{Name: "reduced_all_cnn", Title: "Reduced All-CNN", Params: 139634, Epochs: 40, Recipe: "40 ep, batch 64, SGD lr 0.01 momentum 0.9 Nesterov decay 1e-06"},
		{Name: "model5", Title: "Model 5", Params: 192218, Epochs: 40, Recipe: "10 ep, batch 256, Adam lr 0.01; then 30 ep, batch 1024, Adam lr 0.001"},
	}
}

func (f *fakeCtrl) Start(model string, epochs int) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return "", f.startErr
	}
	f.started = append(f.started, fmt.Sprintf("%s/%d", model, epochs))
	return fmt.Sprintf("%s-new-%d", model, len(f.started)), nil
}

func (f *fakeCtrl) Cancel(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
	return f.cancelOK
}

func (f *fakeCtrl) Active() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active
}

func (f *fakeCtrl) BestEval(id string, epoch int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.evals = append(f.evals, fmt.Sprintf("%s/%d", id, epoch))
}

// keyMsg turns a key name into the message Bubble Tea would send.
func keyMsg(k string) tea.KeyMsg {
	types := map[string]tea.KeyType{
		"tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab, "enter": tea.KeyEnter, "esc": tea.KeyEsc,
		"up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight,
		"ctrl+c": tea.KeyCtrlC, "backspace": tea.KeyBackspace, "pgdown": tea.KeyPgDown, "pgup": tea.KeyPgUp,
		"home": tea.KeyHome, "end": tea.KeyEnd, "space": tea.KeySpace,
	}
	if t, ok := types[k]; ok {
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// newTestModel is a dashboard of the fixture runs at w x h.
func newTestModel(t *testing.T, ctrl Controller, w, h int) *Model {
	t.Helper()
	m := New(Options{RunsDir: "runs", Runs: fixDiskRuns(), Now: fixNow, Controller: ctrl, Frame: -1, System: fixSys, SysEvery: -1})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(eventsMsg(fixEvents()))
	return m
}

// press sends keys and returns the command of the last one.
func press(m *Model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		_, cmd = m.Update(keyMsg(k))
	}
	return cmd
}

// isQuit reports whether cmd (or a command it batches) quits.
func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	msg := cmd()
	if _, ok := msg.(tea.QuitMsg); ok {
		return true
	}
	if b, ok := msg.(tea.BatchMsg); ok {
		for _, c := range b {
			if isQuit(c) {
				return true
			}
		}
	}
	return false
}

func TestViewSwitching(t *testing.T) {
	m := newTestModel(t, nil, 80, 24)
	if m.view != viewRuns {
		t.Fatalf("starts in view %d", m.view)
	}
	press(m, "tab")
	if m.view != viewTable || !strings.Contains(m.View(), "[Table]") {
		t.Fatalf("tab: view %d", m.view)
	}
	press(m, "tab")
	if m.view != viewFocus || !strings.Contains(m.View(), "[Focus]") {
		t.Fatalf("tab tab: view %d", m.view)
	}
	press(m, "tab")
	if m.view != viewCompare || !strings.Contains(m.View(), "[Compare]") {
		t.Fatalf("tab x3: view %d", m.view)
	}
	press(m, "tab")
	if m.view != viewRuns {
		t.Fatalf("tab x4: view %d", m.view)
	}
	press(m, "shift+tab")
	if m.view != viewCompare {
		t.Fatalf("shift+tab: view %d", m.view)
	}
	press(m, "shift+tab")
	if m.view != viewFocus {
		t.Fatalf("shift+tab x2: view %d", m.view)
	}
	press(m, "esc") // back to where Focus was entered from
	if m.view != viewCompare {
		t.Fatalf("esc from Focus: view %d", m.view)
	}
	press(m, "tab", "tab", "enter")
	if m.view != viewFocus {
		t.Fatalf("enter in Table: view %d", m.view)
	}
	press(m, "esc")
	if m.view != viewTable {
		t.Fatalf("esc: back to %d, want Table", m.view)
	}
	press(m, "?")
	if !m.showHelp || !strings.Contains(m.View(), "fmnist dashboard — keys") {
		t.Fatal("? does not show help")
	}
	press(m, "tab") // ignored while help shows
	if m.view != viewTable || !m.showHelp {
		t.Fatal("tab changed view under help")
	}
	press(m, "esc")
	if m.showHelp {
		t.Fatal("esc does not close help")
	}
}

func TestSelectionFollowsTrainingThenUser(t *testing.T) {
	m := newTestModel(t, nil, 80, 24)
	// CNN2 (first queued) was selected, then model5 started after it ended.
	if got := m.Selected(); got != "model5-20260301-120000" {
		t.Fatalf("selected %q, want the run in training", got)
	}
	press(m, "left")
	if got := m.Selected(); got != "CNN2-20260301-120000" {
		t.Fatalf("left: selected %q", got)
	}
	// Once the user picked a run, new runs do not take the selection.
	m.Update(eventsMsg{trainer.RunFinished{ID: "model5-20260301-120000", Status: "done"},
		trainer.RunStarted{ID: "reduced_all_cnn-20260301-120000", Model: "reduced_all_cnn", Epochs: 3}})
	if got := m.Selected(); got != "CNN2-20260301-120000" {
		t.Fatalf("after a new run started: selected %q", got)
	}
	press(m, "home")
	if got := m.Selected(); got != "CNN2_dropout-20260301-090000" {
		t.Fatalf("home: %q", got)
	}
	press(m, "end")
	if got := m.Selected(); got != "reduced_all_cnn-20260301-120000" {
		t.Fatalf("end: %q", got)
	}
	press(m, "right") // at the end: stays
	if got := m.Selected(); got != "reduced_all_cnn-20260301-120000" {
		t.Fatalf("right at end: %q", got)
	}
}

func TestRunsGridNavigation(t *testing.T) {
	m := newTestModel(t, nil, 160, 48) // five runs: 3 across, 2 rows (filled evenly)
	press(m, "home")
	press(m, "down")
	if i := m.c.selectedIndex(); i != 3 {
		t.Fatalf("down from 0 in a 3-wide grid: index %d", i)
	}
	press(m, "up", "right", "right")
	if i := m.c.selectedIndex(); i != 2 {
		t.Fatalf("up, right, right: index %d", i)
	}
	press(m, "l", "h", "j")
	if i := m.c.selectedIndex(); i != 4 { // j from 2 clamps to the last run
		t.Fatalf("l h j: index %d", i)
	}
	m2 := newTestModel(t, nil, 80, 24) // 2 across, 1 row: scrolls
	press(m2, "home")
	if m2.runs.offset != 0 || !strings.Contains(m2.View(), "CNN2_dropout") {
		t.Fatal("home: first row not shown")
	}
	press(m2, "down", "down")
	if m2.runs.offset != 2 || !strings.Contains(m2.View(), "reduced_all_cnn") {
		t.Fatalf("down down: offset %d", m2.runs.offset)
	}
	if !strings.Contains(m2.View(), "runs 5-5/5") {
		t.Errorf("footer does not tell the position:\n%s", m2.View())
	}
}

func TestFocusEnterEsc(t *testing.T) {
	m := newTestModel(t, nil, 80, 24)
	press(m, "home", "enter")
	if m.view != viewFocus || !strings.Contains(m.View(), "CNN2_dropout-20260301-090000") {
		t.Fatalf("enter: view %d\n%s", m.view, m.View())
	}
	press(m, "down", "down")
	if m.focus.scroll() != 2 || !strings.Contains(m.View(), "lines 3-24/") {
		t.Fatalf("scroll %d after two downs\n%s", m.focus.scroll(), m.View())
	}
	press(m, "right")
	if !strings.Contains(m.View(), "all_cnn-20260301-100000") || m.focus.scroll() != 0 {
		t.Fatal("right in Focus does not show the next run from its top")
	}
	press(m, "esc")
	if m.view != viewRuns || m.Selected() != "all_cnn-20260301-100000" {
		t.Fatalf("esc: view %d selected %s", m.view, m.Selected())
	}
}

func TestQuitConfirmation(t *testing.T) {
	ctrl := &fakeCtrl{active: 2}
	m := newTestModel(t, ctrl, 80, 24)
	if cmd := press(m, "q"); isQuit(cmd) {
		t.Fatal("q quit at once with runs active")
	}
	if m.confirm == nil || !strings.Contains(m.View(), "2 runs are still active") {
		t.Fatalf("no confirmation:\n%s", m.View())
	}
	if cmd := press(m, "n"); isQuit(cmd) || m.confirm != nil {
		t.Fatal("n did not dismiss the confirmation")
	}
	press(m, "ctrl+c")
	if m.confirm == nil {
		t.Fatal("ctrl+c with runs active did not ask")
	}
	if cmd := press(m, "y"); !isQuit(cmd) {
		t.Fatal("y did not quit")
	}
	if !m.CancelsRuns() {
		t.Error("quitting with runs active does not report cancelling them")
	}

	// ctrl+c twice quits too.
	m = newTestModel(t, ctrl, 80, 24)
	press(m, "ctrl+c")
	if cmd := press(m, "ctrl+c"); !isQuit(cmd) {
		t.Fatal("ctrl+c twice did not quit")
	}

	// No active run: q quits at once and cancels nothing.
	m = newTestModel(t, &fakeCtrl{}, 80, 24)
	if cmd := press(m, "q"); !isQuit(cmd) || m.CancelsRuns() {
		t.Fatal("q with no active run: no immediate quit")
	}
	if m.View() != "" {
		t.Error("view not cleared on quit")
	}

	// Without a controller, the runs of this process count.
	m = newTestModel(t, nil, 80, 24)
	if cmd := press(m, "q"); isQuit(cmd) || m.confirm == nil {
		t.Fatal("q with model5 and reduced_all_cnn active (no controller) did not ask")
	}
}

func TestCancelGoesThroughController(t *testing.T) {
	ctrl := &fakeCtrl{active: 2, cancelOK: true}
	m := newTestModel(t, ctrl, 80, 24)
	// model5 is selected and running.
	press(m, "x")
	if m.confirm == nil || !strings.Contains(m.View(), "Cancel model5-20260301-120000") {
		t.Fatalf("x: no confirmation\n%s", m.View())
	}
	press(m, "esc")
	if len(ctrl.cancelled) != 0 {
		t.Fatal("esc cancelled the run")
	}
	press(m, "x", "y")
	if len(ctrl.cancelled) != 1 || ctrl.cancelled[0] != "model5-20260301-120000" {
		t.Fatalf("cancelled %v", ctrl.cancelled)
	}
	if !strings.Contains(m.View(), "cancelling model5-20260301-120000") {
		t.Errorf("status does not say cancelling:\n%s", m.View())
	}
	// Finished and foreign runs cannot be cancelled: no dialog, a message.
	press(m, "home", "x")
	if m.confirm != nil || len(ctrl.cancelled) != 1 || !strings.Contains(m.View(), "nothing to cancel") {
		t.Fatalf("x on a finished run:\n%s", m.View())
	}
	// The controller no longer knows the run.
	ctrl.cancelOK = false
	press(m, "end", "x", "enter")
	if len(ctrl.cancelled) != 2 || !strings.Contains(m.View(), "no longer active") {
		t.Fatalf("cancel refused: %v\n%s", ctrl.cancelled, m.View())
	}
	// No controller: x says so.
	m = newTestModel(t, nil, 80, 24)
	press(m, "x")
	if m.confirm != nil || !strings.Contains(m.View(), "not available") {
		t.Fatal("x without a controller")
	}
}

// A question about cancelling a run follows the run: it says what the run is
// doing now, and goes, cancelling nothing, once the run has ended.
func TestCancelQuestionFollowsTheRun(t *testing.T) {
	ctrl := &fakeCtrl{active: 2, cancelOK: true}
	m := newTestModel(t, ctrl, 100, 30)
	const id = "reduced_all_cnn-20260301-120000" // queued
	press(m, "end", "x")
	if m.confirm == nil || !strings.Contains(m.View(), id) || !strings.Contains(m.View(), "queued") {
		t.Fatalf("x on the queued run:\n%s", m.View())
	}
	m.Update(eventsMsg{trainer.RunStarted{ID: id, Model: "reduced_all_cnn", Params: 139634, Recipe: fixRecipe(3, 64), Epochs: 3,
		TrainSize: 60000, TestSize: 10000, Seed: 4, Time: fixT0}, trainer.EpochEnd{ID: id, Epochs: 3, Stats: fixEpoch(1, 0.5, 30)}})
	if m.confirm == nil || strings.Contains(m.confirm.text, "queued") || !strings.Contains(m.confirm.text, "1/3") {
		t.Fatalf("the question did not follow the run: %q", m.confirm.text)
	}
	m.Update(eventsMsg{trainer.RunFinished{ID: id, Status: trainer.StatusDone, Time: fixT0.Add(time.Minute)}})
	if m.confirm != nil || !strings.Contains(m.View(), id+" is done; nothing to cancel") {
		t.Fatalf("the question outlived the run:\n%s", m.View())
	}
	press(m, "y")
	if len(ctrl.cancelled) != 0 {
		t.Errorf("cancelled %v after the run ended", ctrl.cancelled)
	}
}

// A run cancelled while it waited in the queue never started: its card
// names no seed (it has none yet) and no recipe.
func TestQueuedRunCancelledHasNoSeed(t *testing.T) {
	m := newTestModel(t, nil, 120, 40)
	m.Update(eventsMsg{trainer.RunFinished{ID: "reduced_all_cnn-20260301-120000", Status: trainer.StatusCancelled, Time: fixT0}})
	v := m.View()
	if !strings.Contains(v, "cancelled") || strings.Contains(v, "seed 0") {
		t.Errorf("a run cancelled in the queue:\n%s", v)
	}
}

func TestNewRunThroughController(t *testing.T) {
	ctrl := &fakeCtrl{}
	m := newTestModel(t, ctrl, 80, 24)
	press(m, "n")
	if m.newRun == nil {
		t.Fatal("n: no dialog")
	}
	v := m.View()
	for _, want := range []string{"New run", "CNN2_dropout", "440,910", "recipe", "epochs"} {
		if !strings.Contains(v, want) {
			t.Errorf("dialog lacks %q:\n%s", want, v)
		}
	}
	// model5 is the selected run's model: it is preselected with its 40 epochs.
	if !strings.Contains(v, "> model5") || !strings.Contains(v, "epochs 40") {
		t.Errorf("model5 not preselected:\n%s", v)
	}
	press(m, "up", "3", "enter")
	if m.newRun != nil {
		t.Fatal("enter did not close the dialog")
	}
	if len(ctrl.started) != 0 {
		t.Fatal("Start called on the event loop, not in a command")
	}
	m2 := newTestModel(t, ctrl, 80, 24)
	press(m2, "n", "up")
	_, cmd := m2.Update(keyMsg("enter"))
	runCmds(m2, cmd)
	if len(ctrl.started) != 1 || ctrl.started[0] != "reduced_all_cnn/40" {
		t.Fatalf("started %v, want reduced_all_cnn/40", ctrl.started)
	}
	if !strings.Contains(m2.View(), "queued reduced_all_cnn as run reduced_all_cnn-new-1") {
		t.Errorf("no status after start:\n%s", m2.View())
	}
	// The new run is selected when its first event arrives.
	m2.Update(eventsMsg{trainer.RunQueued{ID: "reduced_all_cnn-new-1", Model: "reduced_all_cnn", Index: 3}})
	if m2.Selected() != "reduced_all_cnn-new-1" {
		t.Errorf("new run not selected: %q", m2.Selected())
	}
	// Start errors reach the status line.
	ctrl.startErr = errors.New("no data set in /nowhere")
	press(m2, "n")
	_, cmd = m2.Update(keyMsg("enter"))
	runCmds(m2, cmd)
	if !strings.Contains(m2.View(), "could not start") || !strings.Contains(m2.View(), "no data set") {
		t.Errorf("start error not shown:\n%s", m2.View())
	}
	// Without a controller n says so.
	m3 := newTestModel(t, nil, 80, 24)
	press(m3, "n")
	if m3.newRun != nil || !strings.Contains(m3.View(), "not available") {
		t.Error("n without a controller")
	}
}

// runCmds runs cmd's messages through m, skipping timers.
func runCmds(m *Model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	select {
	case msg := <-done:
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				runCmds(m, c)
			}
			return
		}
		m.Update(msg)
	case <-time.After(time.Second): // a timer or a wait for events: skip it (the others take microseconds, under -race and load too)
	}
}

func TestTooSmall(t *testing.T) {
	m := newTestModel(t, nil, 79, 24)
	if got := m.View(); got != "terminal too small (need 80x24, have 79x24)" {
		t.Fatalf("view %q", got)
	}
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 23})
	if got := m.View(); got != "terminal too small (need 80x24, have 100x23)" {
		t.Fatalf("view %q", got)
	}
	// Keys other than quit do nothing meanwhile.
	press(m, "tab")
	if m.view != viewRuns {
		t.Fatal("tab acted on a too-small terminal")
	}
	m.Update(tea.WindowSizeMsg{Width: 30, Height: 5})
	if got := m.View(); cellWidth(got) > 30 || strings.Contains(got, "\n") {
		t.Fatalf("too-small line not cut to the width: %q", got)
	}
}

// TestViewFitsTerminal: every line of every view is exactly as wide as the
// terminal and there are exactly as many lines as rows, at several sizes,
// so nothing wraps or scrolls.
func TestViewFitsTerminal(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {81, 25}, {100, 30}, {120, 40}, {160, 48}, {200, 60}} {
		for _, keys := range [][]string{nil, {"tab"}, {"tab", "tab"}, {"shift+tab"}, {"space", "shift+tab"}, {"?"}, {"n"}, {"x"}, {"tab", "tab", "G"}} {
			m := newTestModel(t, &fakeCtrl{active: 1}, sz[0], sz[1])
			press(m, keys...)
			lines := strings.Split(m.View(), "\n")
			if len(lines) != sz[1] {
				t.Errorf("%dx%d %v: %d lines", sz[0], sz[1], keys, len(lines))
			}
			for i, l := range lines {
				if w := cellWidth(l); w != sz[0] {
					t.Errorf("%dx%d %v: line %d is %d wide: %q", sz[0], sz[1], keys, i, w, l)
					break
				}
			}
		}
	}
}

func TestResizeRedraws(t *testing.T) {
	m := newTestModel(t, nil, 80, 24)
	small := m.View()
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
	big := m.View()
	if strings.Count(big, "\n") != 47 || big == small {
		t.Fatal("resize did not redraw at the new size")
	}
	// Five runs: three panels across at 160 columns (rows of 3 and 2, not
	// 4 and 1), two at 80.
	if n := strings.Count(strings.Split(big, "\n")[1], "╮") + strings.Count(strings.Split(big, "\n")[1], "┓"); n != 3 {
		t.Errorf("%d panels across at 160 columns", n)
	}
	if n := strings.Count(strings.Split(small, "\n")[1], "╮") + strings.Count(strings.Split(small, "\n")[1], "┓"); n != 2 {
		t.Errorf("%d panels across at 80 columns", n)
	}
}

func TestStatusClears(t *testing.T) {
	m := newTestModel(t, nil, 80, 24)
	m.setStatus("hello", false)
	if !strings.Contains(m.View(), "hello") {
		t.Fatal("status not shown")
	}
	m.Update(clearStatusMsg{seq: m.statusSeq - 1}) // an older message's timer
	if !strings.Contains(m.View(), "hello") {
		t.Fatal("status cleared by an older timer")
	}
	m.Update(clearStatusMsg{seq: m.statusSeq})
	if strings.Contains(m.View(), "hello") {
		t.Fatal("status not cleared")
	}
}

func TestNoticeAndFailureInStatus(t *testing.T) {
	m := newTestModel(t, nil, 80, 24)
	m.Update(noticesMsg{Notice{Text: "recording runs: disk full", Error: true}})
	if !strings.Contains(m.View(), "recording runs: disk full") {
		t.Fatal("notice not shown")
	}
	m.Update(eventsMsg{trainer.RunFinished{ID: "model5-20260301-120000", Status: "failed", Err: "epoch 3: loss is not finite"}})
	if !strings.Contains(m.View(), "model5 failed: epoch 3: loss is not finite") {
		t.Fatalf("failure not shown:\n%s", m.View())
	}
}

func TestDiskRefreshKeepsOwnRuns(t *testing.T) {
	m := newTestModel(t, &fakeCtrl{active: 1}, 80, 24)
	disk := fixDiskRuns()
	// The disk now also has a run of another process, and a stale copy of
	// one of ours; the failed run was deleted.
	other := *disk[0]
	other.ID, other.Status, other.FinishedAt = "CNN2-20260301-113000", "running", nil
	ours := *disk[0]
	ours.ID, ours.Model, ours.Epochs = "CNN2-20260301-120000", "CNN2", ours.Epochs[:1]
	_, cmd := m.Update(diskRunsMsg{runs: []*results.Run{disk[0], &other, &ours}})
	if cmd == nil {
		t.Error("no next refresh scheduled")
	}
	if m.c.store.get("all_cnn-20260301-100000") != nil {
		t.Error("deleted record still shown")
	}
	if r := m.c.store.get("CNN2-20260301-113000"); r == nil || r.Owned || r.Status != "running" {
		t.Fatalf("other process's run: %+v", r)
	}
	if r := m.c.store.get("CNN2-20260301-120000"); len(r.Epochs) != 5 || !r.Owned {
		t.Errorf("own run replaced by its record: %d epochs", len(r.Epochs))
	}
	// x on the other process's run refuses.
	m.c.selected = "CNN2-20260301-113000"
	press(m, "x")
	if v := m.View(); m.confirm != nil || !strings.Contains(v, "not running in this dashboard") {
		t.Errorf("x on a foreign run:\n%s", v)
	}
}

func teaSize(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }

// A run that queues, starts and finishes within one delivery still ends
// with "all runs finished".
func TestAllFinishedWithinOneDelivery(t *testing.T) {
	m := New(Options{RunsDir: "runs", Now: fixNow})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	id := "CNN2-20260301-130000"
	m.Update(eventsMsg{
		trainer.RunQueued{ID: id, Model: "CNN2"},
		trainer.RunStarted{ID: id, Model: "CNN2", Epochs: 1},
		trainer.EpochEnd{ID: id, Epochs: 1, Stats: trainer.EpochStats{Epoch: 1, TestAcc: 0.5}},
		trainer.RunFinished{ID: id, Status: trainer.StatusDone},
	})
	if !strings.Contains(m.View(), "all runs finished") {
		t.Fatalf("no end of runs in the status:\n%s", m.View())
	}
}
