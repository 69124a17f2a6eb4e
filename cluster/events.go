package cluster

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"fmnist/results"
	"fmnist/trainer"
)

// Events streams every run's events, from the first ever published, until
// ctx ends, and the live progress reports of the runs in training (those
// are not kept: a dashboard that joins later sees the next one). An
// EpochEnd comes with its checkpoint from the object store when it is still
// there, so that a hub records the run's model files as it does for local
// runs. Workers is called with the worker of each run as it starts (may be
// nil).
func Events(ctx context.Context, js jetstream.JetStream, workers func(run, worker string)) (<-chan trainer.Event, error) {
	kept, err := eventsFrom(ctx, js, workers, nil)
	if err != nil {
		return nil, err
	}
	progress := make(chan trainer.Event, 256)
	sub, err := js.Conn().Subscribe(ProgressPrefix+"*", func(m *nats.Msg) {
		if ev, _, err := DecodeEvent(m.Data); err == nil {
			select {
			case progress <- ev:
			default: // a newer report follows
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("progress: %v", err)
	}
	out := make(chan trainer.Event, 256)
	go func() {
		defer close(out)
		defer sub.Unsubscribe()
		for {
			var ev trainer.Event
			select {
			case e, ok := <-kept:
				if !ok {
					return
				}
				ev = e
			case ev = <-progress:
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// eventsFrom is Events, ending after the event of stream sequence seq when
// last(seq) says so.
func eventsFrom(ctx context.Context, js jetstream.JetStream, workers func(run, worker string), last func(seq uint64) bool) (<-chan trainer.Event, error) {
	cons, err := js.OrderedConsumer(ctx, EventsStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, fmt.Errorf("events: %v", err)
	}
	obs, err := js.ObjectStore(ctx, CheckpointBucket)
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %v", err)
	}
	out := make(chan trainer.Event, 256)
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("events: %v", err)
	}
	go func() {
		<-ctx.Done()
		it.Stop()
	}()
	go func() {
		defer close(out)
		for {
			msg, err := it.Next()
			if err != nil {
				return // stopped
			}
			end := false
			if md, err := msg.Metadata(); err == nil && last != nil && last(md.Sequence.Stream) {
				end = true
			}
			ev, worker, err := DecodeEvent(msg.Data())
			if err != nil {
				if end {
					return
				}
				continue
			}
			switch e := ev.(type) {
			case trainer.RunStarted:
				if workers != nil {
					workers(e.ID, worker)
				}
			case trainer.EpochEnd:
				if data, err := obs.GetBytes(ctx, checkpointName(e.ID, e.Stats.Epoch)); err == nil {
					if cp, err := results.DecodeCheckpoint(data); err == nil {
						e.Checkpoint = cp
						ev = e
					}
				}
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
			if end {
				return
			}
		}
	}()
	return out, nil
}

// Cancel asks the worker training run to cancel it.
// A run still queued is marked, and the worker that takes its job ends it
// as cancelled instead of training it.
func Cancel(ctx context.Context, js jetstream.JetStream, run string) error {
	kv, err := js.KeyValue(ctx, CancelBucket)
	if err != nil {
		return err
	}
	if _, err := kv.Put(ctx, run, nil); err != nil {
		return err
	}
	return js.Conn().Publish(CancelPrefix+run, nil)
}

// EventsUntilNow is Events up to the last event published when it is
// called; the channel is then closed.
func EventsUntilNow(ctx context.Context, js jetstream.JetStream) (<-chan trainer.Event, error) {
	st, err := js.Stream(ctx, EventsStream)
	if err != nil {
		return nil, fmt.Errorf("events: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("events: %v", err)
	}
	last := info.State.LastSeq
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan trainer.Event, 256)
	if info.State.Msgs == 0 {
		cancel()
		close(out)
		return out, nil
	}
	in, err := eventsFrom(ctx, js, nil, func(seq uint64) bool { return seq >= last })
	if err != nil {
		cancel()
		return nil, err
	}
	go func() {
		defer cancel()
		defer close(out)
		for ev := range in {
			out <- ev
		}
	}()
	return out, nil
}
