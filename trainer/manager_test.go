package trainer

import (
	"context"
	"testing"
)

func TestManagerCancelsOneRunAndKeepsOthers(t *testing.T) {
	tr, te := loadSlice(t, 2048, 100)
	m := NewManager(context.Background(), Config{Train: tr, Test: te, Parallel: 1})
	m.Submit(Job{ID: "a", Model: "CNN2", Epochs: 20, Seed: 1}, Job{ID: "b", Model: "CNN2", Epochs: 20, Seed: 1}, Job{ID: "c", Model: "CNN2", Epochs: 1, Seed: 1})
	if n := m.Active(); n != 3 {
		t.Fatalf("Active() = %d, want 3", n)
	}
	go m.CloseWhenIdle()
	fin := map[string]string{}
	var order []string
	cancelled := false
	for e := range m.Events() {
		switch ev := e.(type) {
		case BatchProgress:
			// Progress is reported at most ten times a second: act on the first.
			if ev.ID == "a" && !cancelled {
				cancelled = true
				if !m.Cancel("b") || !m.Cancel("a") {
					t.Error("Cancel did not find a queued or a running run")
				}
				if m.Cancel("nope") {
					t.Error("Cancel found an unknown run")
				}
			}
		case RunStarted:
			order = append(order, ev.ID)
		case RunFinished:
			fin[ev.ID] = ev.Status
		}
	}
	if fin["a"] != StatusCancelled || fin["b"] != StatusCancelled || fin["c"] != StatusDone {
		t.Fatalf("statuses %v", fin)
	}
	if len(order) != 2 || order[0] != "a" || order[1] != "c" {
		t.Fatalf("started %v, want [a c] (b was cancelled while queued)", order)
	}
}
