package tui

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"fmnist/results"
	"fmnist/trainer"
)

func bp(id string, epoch, batch int) trainer.BatchProgress {
	return trainer.BatchProgress{ID: id, Epoch: epoch, Epochs: 3, Batch: batch, Batches: 10000, Loss: 1 / float64(batch), Acc: float64(batch) / 10000, ImagesPerSec: float64(batch)}
}

func TestFeedCoalescesProgressKeepsOrder(t *testing.T) {
	f := NewFeed()
	f.Push(trainer.RunQueued{ID: "a"})
	f.Push(trainer.RunStarted{ID: "a"})
	f.Push(bp("a", 1, 1))
	f.Push(bp("b", 1, 1))
	f.Push(bp("a", 1, 2))
	f.Push(bp("a", 1, 3)) // replaces a's batch 2, keeps its place before b's
	f.Push(trainer.EpochEnd{ID: "a", Stats: trainer.EpochStats{Epoch: 1}})
	f.Push(bp("a", 2, 1)) // after the epoch's end: a new place
	f.Push(bp("b", 1, 2))
	f.Notify(Notice{Text: "hi"}) // beside the events, not among them
	got := f.Drain()
	want := []string{"RunQueued a", "RunStarted a", "BatchProgress a 1/3", "BatchProgress b 1/2", "EpochEnd a", "BatchProgress a 2/1"}
	var s []string
	for _, ev := range got {
		switch e := ev.(type) {
		case trainer.BatchProgress:
			s = append(s, fmt.Sprintf("BatchProgress %s %d/%d", e.ID, e.Epoch, e.Batch))
		default:
			s = append(s, strings.TrimPrefix(fmt.Sprintf("%T %s", ev, ev.Run()), "trainer."))
		}
	}
	if strings.Join(s, "; ") != strings.Join(want, "; ") {
		t.Fatalf("drained\n %s\nwant\n %s", strings.Join(s, "; "), strings.Join(want, "; "))
	}
	if f.Len() != 0 || len(f.Drain()) != 0 {
		t.Fatal("queue not empty after Drain")
	}
	if ns := f.takeNotices(); len(ns) != 1 || ns[0].Text != "hi" || f.hasAside() {
		t.Fatalf("notices %v", ns)
	}
	pushed, coalesced := f.Stats()
	if pushed != 9 || coalesced != 3 {
		t.Errorf("stats %d pushed %d coalesced, want 9 and 3", pushed, coalesced)
	}
}

// A notice queued behind events is delivered after them, by the same wait.
func TestFeedNoticeAfterEvents(t *testing.T) {
	f := NewFeed()
	f.Push(trainer.RunQueued{ID: "a"})
	f.Notify(Notice{Text: "disk full", Error: true})
	wait := f.wait(0)
	if msg, ok := wait().(eventsMsg); !ok || len(msg) != 1 {
		t.Fatalf("first delivery %#v, want the event", msg)
	}
	if msg, ok := wait().(noticesMsg); !ok || len(msg) != 1 || msg[0].Text != "disk full" {
		t.Fatalf("second delivery %#v, want the notice", msg)
	}
	f.Close()
	if msg := wait(); msg != (feedClosedMsg{}) {
		t.Fatalf("after Close: %#v", msg)
	}
}

// TestFeedBurstNeverBlocks: with nobody draining, 10,000 progress reports of
// each of two runs are pushed at once and take one queue slot per run.
func TestFeedBurstNeverBlocks(t *testing.T) {
	f := NewFeed()
	f.Push(trainer.RunStarted{ID: "a"})
	done := make(chan struct{})
	go func() {
		for i := 1; i <= 10000; i++ {
			f.Push(bp("a", 1, i))
			f.Push(bp("b", 1, i))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("producer blocked with no consumer")
	}
	if n := f.Len(); n != 3 {
		t.Fatalf("queue holds %d events, want 3", n)
	}
	evs := f.Drain()
	if last := evs[1].(trainer.BatchProgress); last.ID != "a" || last.Batch != 10000 {
		t.Errorf("a's progress %+v, want the latest", last)
	}
	if last := evs[2].(trainer.BatchProgress); last.ID != "b" || last.Batch != 10000 {
		t.Errorf("b's progress %+v, want the latest", last)
	}
}

func TestFeedCloseAndWait(t *testing.T) {
	f := NewFeed()
	cmd := f.wait(0)
	got := make(chan tea.Msg, 1)
	go func() { got <- cmd() }()
	time.Sleep(10 * time.Millisecond)
	f.Push(trainer.RunQueued{ID: "a"})
	select {
	case msg := <-got:
		if evs, ok := msg.(eventsMsg); !ok || len(evs) != 1 {
			t.Fatalf("wait returned %#v", msg)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("wait did not return after a push")
	}
	go func() { got <- f.wait(time.Hour)() }() // Close cuts the pause short
	f.Close()
	f.Close() // twice is fine
	select {
	case msg := <-got:
		if _, ok := msg.(feedClosedMsg); !ok {
			t.Fatalf("after Close: %#v", msg)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("wait did not return after Close")
	}
	f.Push(trainer.RunQueued{ID: "b"})
	if f.Len() != 0 {
		t.Error("push after Close was queued")
	}
	f.Push(nil)
}

// TestFeedBurstThroughDashboard: a running dashboard fed by a producer that
// pushes 10,000 progress reports as fast as it can; the dashboard ends on
// the latest figures. Run with -race.
func TestFeedBurstThroughDashboard(t *testing.T) {
	f := NewFeed()
	m := New(Options{RunsDir: "runs", Feed: f, Now: fixNow, Frame: 5 * time.Millisecond})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
	id := "CNN2-x"
	f.Push(trainer.RunQueued{ID: id, Model: "CNN2"})
	f.Push(trainer.RunStarted{ID: id, Model: "CNN2", Epochs: 3, TrainSize: 60000})
	// That pushing never blocks is TestFeedBurstNeverBlocks'; this one is
	// about the dashboard ending on the latest figures.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= 10000; i++ {
			f.Push(trainer.BatchProgress{ID: id, Epoch: 1, Epochs: 3, Batch: i, Batches: 10000, ImagesPerSec: 1234})
		}
		f.Notify(Notice{Text: "burst over"})
	}()
	wg.Wait()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("burst over")) },
		teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
	tm.Send(tea.QuitMsg{})
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	r := fm.c.store.get(id)
	if r == nil || r.Progress == nil || r.Progress.Batch != 10000 {
		t.Fatalf("dashboard ended on %+v, want batch 10000", r.Progress)
	}
	if !strings.Contains(fm.View(), "batch 10000/10000") && !strings.Contains(fm.View(), "100%") {
		t.Errorf("screen does not show the latest progress:\n%s", fm.View())
	}
	pushed, coalesced := f.Stats()
	t.Logf("pushed %d, coalesced %d", pushed, coalesced)
	if coalesced == 0 {
		t.Error("nothing was coalesced")
	}
}

// Progress waits for the frame; any other event is delivered at once.
func TestFeedUrgentEventsCutThePause(t *testing.T) {
	f := NewFeed()
	got := make(chan tea.Msg, 1)
	go func() { got <- f.wait(time.Hour)() }()
	f.Push(bp("a", 1, 1))
	select {
	case msg := <-got:
		t.Fatalf("progress delivered before the frame: %#v", msg)
	case <-time.After(50 * time.Millisecond):
	}
	f.Push(trainer.EpochEnd{ID: "a", Stats: trainer.EpochStats{Epoch: 1}})
	select {
	case msg := <-got:
		if evs, ok := msg.(eventsMsg); !ok || len(evs) != 2 {
			t.Fatalf("got %#v, want the progress and the epoch's end", msg)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("an epoch's end waited for the frame")
	}
	// The token of a delivered event does not cut the next pause short.
	go func() { got <- f.wait(time.Hour)() }()
	f.Push(bp("a", 2, 1))
	select {
	case msg := <-got:
		t.Fatalf("stale urgency: %#v", msg)
	case <-time.After(50 * time.Millisecond):
	}
	f.Close()
	<-got
}

// Evaluations travel beside the events, like notices: after the events
// pushed before them, at once (not after a frame's pause), only a run's
// latest when several wait, and none after Close.
func TestFeedEvaluations(t *testing.T) {
	f := NewFeed()
	f.Push(trainer.RunQueued{ID: "a"})
	f.Evaluated(&results.BestEval{Run: "a", Epoch: 1})
	f.Evaluated(&results.BestEval{Run: "b", Epoch: 3})
	f.Evaluated(&results.BestEval{Run: "a", Epoch: 2})
	f.Notify(Notice{Text: "hi"})
	wait := f.wait(time.Hour) // an evaluation cuts the pause short
	if msg, ok := wait().(eventsMsg); !ok || len(msg) != 1 {
		t.Fatalf("first delivery %#v, want the event", msg)
	}
	if msg, ok := wait().(noticesMsg); !ok || len(msg) != 1 {
		t.Fatalf("second delivery %#v, want the notice", msg)
	}
	msg, ok := wait().(evalsMsg)
	if !ok || len(msg) != 2 || msg[0].Run != "b" || msg[1].Run != "a" || msg[1].Epoch != 2 {
		t.Fatalf("third delivery %#v, want b's evaluation and a's latest", msg)
	}
	f.Close()
	f.Evaluated(&results.BestEval{Run: "c"})
	if msg := wait(); msg != (feedClosedMsg{}) {
		t.Fatalf("after Close: %#v", msg)
	}
}
