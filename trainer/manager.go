package trainer

import (
	"context"
	"sync"
	"time"
)

// Manager runs training jobs submitted at any time, at most Config.Parallel
// at once, in the order they were submitted, and streams all their events on
// one channel. Runs can be cancelled one by one or all together.
//
// The events channel is buffered; its consumer must keep draining it (a slow
// consumer should coalesce BatchProgress events rather than block).
type Manager struct {
	cfg    Config
	ctx    context.Context
	events chan Event

	mu      sync.Mutex
	queue   []Job
	running int
	cancels map[string]context.CancelFunc
	peak    map[string]int // per running run: the most running at once since its last epoch ended
	index   int
	closed  bool
	idle    *sync.Cond
	pending sync.WaitGroup // finish events being sent outside the lock
}

// NewManager returns a manager whose runs all end when ctx is cancelled.
func NewManager(ctx context.Context, cfg Config) *Manager {
	if cfg.Parallel < 1 {
		cfg.Parallel = 1
	}
	m := &Manager{cfg: cfg, ctx: ctx, events: make(chan Event, 1024), cancels: map[string]context.CancelFunc{}, peak: map[string]int{}}
	m.idle = sync.NewCond(&m.mu)
	go func() {
		<-ctx.Done()
		m.mu.Lock()
		q := m.queue
		m.queue = nil
		m.pending.Add(len(q))
		m.dispatchLocked()
		m.mu.Unlock()
		for _, j := range q {
			m.finish(j.ID, StatusCancelled, nil)
			m.pending.Done()
		}
	}()
	return m
}

// Events is the stream of every run's events.
func (m *Manager) Events() <-chan Event { return m.events }

// Submit queues jobs; each starts as soon as a slot is free.
func (m *Manager) Submit(jobs ...Job) {
	m.mu.Lock()
	for _, j := range jobs {
		m.events <- RunQueued{ID: j.ID, Model: j.Model, Index: m.index, Epochs: j.PlannedEpochs()}
		m.index++
		if m.ctx.Err() != nil {
			m.finish(j.ID, StatusCancelled, nil)
			continue
		}
		m.queue = append(m.queue, j)
	}
	m.dispatchLocked()
	m.mu.Unlock()
}

// dispatchLocked starts queued jobs while there are free slots.
func (m *Manager) dispatchLocked() {
	for m.running < m.cfg.Parallel && len(m.queue) > 0 && m.ctx.Err() == nil {
		j := m.queue[0]
		m.queue = m.queue[1:]
		ctx, cancel := context.WithCancel(m.ctx)
		m.cancels[j.ID] = cancel
		m.running++
		for id := range m.cancels {
			m.peak[id] = max(m.peak[id], m.running)
		}
		go m.run(ctx, j)
	}
	if m.running == 0 && len(m.queue) == 0 {
		m.idle.Broadcast()
	}
}

func (m *Manager) run(ctx context.Context, j Job) {
	// Whether an epoch shared the cores with other runs: the most running
	// since the last epoch's end; the next one starts from those there are.
	j.concurrent = func() int {
		m.mu.Lock()
		defer m.mu.Unlock()
		p := m.peak[j.ID]
		m.peak[j.ID] = m.running
		return p
	}
	status, err := Train(ctx, m.cfg.Train, m.cfg.Test, j, func(e Event) { m.events <- e })
	m.finish(j.ID, status, err)
	m.mu.Lock()
	m.cancels[j.ID]()
	delete(m.cancels, j.ID)
	delete(m.peak, j.ID)
	m.running--
	m.dispatchLocked()
	m.mu.Unlock()
}

func (m *Manager) finish(id, status string, err error) {
	fin := RunFinished{ID: id, Status: status, Time: time.Now()}
	if err != nil {
		fin.Err = err.Error()
	}
	m.events <- fin
}

// Cancel cancels a queued or running run; it reports whether the run was found.
func (m *Manager) Cancel(id string) bool {
	m.mu.Lock()
	if c, ok := m.cancels[id]; ok {
		m.mu.Unlock()
		c()
		return true
	}
	for i, j := range m.queue {
		if j.ID == id {
			m.queue = append(m.queue[:i:i], m.queue[i+1:]...)
			m.pending.Add(1)
			m.dispatchLocked()
			m.mu.Unlock()
			m.finish(id, StatusCancelled, nil)
			m.pending.Done()
			return true
		}
	}
	m.mu.Unlock()
	return false
}

// Active is the number of queued and running runs.
func (m *Manager) Active() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running + len(m.queue)
}

// CloseWhenIdle waits until no run is queued or running, then closes the
// events channel. Submit must not be called after it returns.
func (m *Manager) CloseWhenIdle() {
	m.mu.Lock()
	for m.running > 0 || len(m.queue) > 0 {
		m.idle.Wait()
	}
	m.closed = true
	m.mu.Unlock()
	m.pending.Wait()
	close(m.events)
}
