package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"fmnist/archs"
	"fmnist/results"
	"fmnist/trainer"
)

// Worker takes jobs from the queue and trains them, Slots at a time.
type Worker struct {
	NC      *nats.Conn
	JS      jetstream.JetStream
	Name    string // shown with its runs
	DataDir string
	Slots   int
	// Log, if set, gets a line per job taken and ended.
	Log func(format string, args ...any)
	// ResumeAnywhere lets this worker resume runs whose last checkpoint was
	// made on another kind of machine (another OpenBLAS kernel or core
	// count: other rounding); the run's record then lists both.
	ResumeAnywhere bool

	ackWait time.Duration // the queue's
	// The cluster's stores, opened once by Run.
	checkpoints     jetstream.ObjectStore
	leases, cancels jetstream.KeyValue
	events          jetstream.Stream
	// pauseUntil (unix nanoseconds): after leaving a job it lacks the data
	// for, the worker takes no job until then, so that the job's next
	// delivery goes to another worker rather than back to this one.
	pauseUntil atomic.Int64

	mu   sync.Mutex
	data map[[2]int][2]*trainer.Dataset // by (limit train, limit test)
}

func (w *Worker) logf(format string, args ...any) {
	if w.Log != nil {
		w.Log(format, args...)
	}
}

// Run takes jobs until ctx ends. A job whose run fails or is cancelled is
// not retried; a worker that dies leaves its job to be redelivered, and the
// next worker resumes it from its last checkpoint.
func (w *Worker) Run(ctx context.Context) error {
	cons, err := w.JS.Consumer(ctx, JobsStream, workersConsumer)
	if err != nil {
		return fmt.Errorf("jobs: %v", err)
	}
	w.ackWait = AckWait
	if a := cons.CachedInfo().Config.AckWait; a > 0 {
		w.ackWait = a // the cluster's, set by its first client
	}
	if w.checkpoints, err = w.JS.ObjectStore(ctx, CheckpointBucket); err != nil {
		return fmt.Errorf("checkpoints: %v", err)
	}
	if w.leases, err = w.JS.KeyValue(ctx, LeaseBucket); err != nil {
		return fmt.Errorf("leases: %v", err)
	}
	if w.cancels, err = w.JS.KeyValue(ctx, CancelBucket); err != nil {
		return fmt.Errorf("cancels: %v", err)
	}
	if w.events, err = w.JS.Stream(ctx, EventsStream); err != nil {
		return fmt.Errorf("events: %v", err)
	}
	slots := max(1, w.Slots)
	var wg sync.WaitGroup
	sem := make(chan struct{}, slots)
	defer wg.Wait()
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		if d := time.Until(time.Unix(0, w.pauseUntil.Load())); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				<-sem
				return nil
			}
		}
		msgs, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			<-sem
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, nats.ErrConnectionClosed) {
				return err
			}
			time.Sleep(200 * time.Millisecond)
			continue
		}
		got := false
		for msg := range msgs.Messages() {
			got = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				w.handle(ctx, msg)
			}()
		}
		if !got {
			<-sem
		}
	}
}

// handle trains one job to its end (or until ctx ends: the job is then left
// unacknowledged, for another worker to resume).
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	var j Job
	if err := json.Unmarshal(msg.Data(), &j); err != nil || j.ID == "" {
		w.logf("dropped a job that is not one: %v", err)
		msg.Term()
		return
	}
	// The run's lease: one worker at a time trains a run. A lease is kept
	// alive with its revision; a worker whose update fails (the lease
	// expired and another worker took the run) gives the run up.
	leases := w.leases
	rev0, err := leases.Create(ctx, j.ID, []byte(w.Name))
	if err != nil {
		// Another worker holds it (alive, or dead and not yet expired).
		msg.NakWithDelay(w.ackWait / 10)
		return
	}
	if w.finished(ctx, j.ID) {
		// Delivered again (queued by an older sweep once the server had
		// forgotten its ID): its record is complete, and neither training
		// it again nor a cancel left for it may rewrite that. So this is
		// checked before the cancels.
		w.logf("%s: done already", j.ID)
		leases.Delete(context.Background(), j.ID, jetstream.LastRevision(rev0))
		msg.Ack()
		return
	}
	if _, err := w.cancels.Get(ctx, j.ID); err == nil {
		// Cancelled while it waited in the queue.
		w.publishEvent(ctx, trainer.RunFinished{ID: j.ID, Status: trainer.StatusCancelled, Time: time.Now()})
		w.logf("%s: cancelled before it started", j.ID)
		leases.Delete(context.Background(), j.ID, jetstream.LastRevision(rev0))
		msg.Term()
		return
	}
	w.logf("took %s (%s, seed %d)", j.ID, j.Model, j.Seed)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lost atomic.Bool
	var rev atomic.Uint64 // the lease's revision as this worker last wrote it
	rev.Store(rev0)
	// holds checks the lease is still this worker's, right before what
	// must not be done twice: storing a checkpoint, announcing an epoch or
	// the end.
	holds := func() bool {
		if lost.Load() {
			return false
		}
		e, err := leases.Get(ctx, j.ID)
		if err != nil || e.Revision() != rev.Load() {
			if ctx.Err() == nil {
				w.logf("%s: lost the run's lease: giving it up", j.ID)
			}
			lost.Store(true)
			cancel()
			return false
		}
		return true
	}
	// Tell the server the job is alive, whatever the training is doing
	// (loading data, a long epoch), until it ends.
	beat := make(chan struct{})
	var beats sync.WaitGroup
	beats.Add(1)
	defer func() {
		close(beat)
		beats.Wait()
		if !lost.Load() {
			leases.Delete(context.Background(), j.ID, jetstream.LastRevision(rev.Load()))
		}
	}()
	go func() {
		defer beats.Done()
		t := time.NewTicker(w.ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r, err := leases.Update(ctx, j.ID, []byte(w.Name), rev.Load())
				if err != nil {
					if ctx.Err() == nil {
						w.logf("%s: lost the run's lease (%v): giving it up", j.ID, err)
					}
					lost.Store(true)
					cancel()
					return
				}
				rev.Store(r)
				msg.InProgress()
			case <-beat:
				return
			}
		}
	}()
	train, test, err := w.dataset(j.LimitTrain, j.LimitTest)
	if err == nil {
		if th, tt := trainer.DataHash(train), trainer.DataHash(test); j.TrainHash != "" && (th != j.TrainHash || tt != j.TestHash) {
			err = fmt.Errorf("this worker's data set differs from the job's (training fingerprint %s, want %s)", short(th), short(j.TrainHash))
		}
	}
	if err != nil {
		// Another worker may have the right data: leave the job to it,
		// and take none for a while, so that it is the other's to take.
		w.logf("%s: %v", j.ID, err)
		msg.NakWithDelay(time.Second)
		w.pauseUntil.Store(time.Now().Add(dataPause).UnixNano())
		return
	}
	job := trainer.Job{ID: j.ID, Model: j.Model, Epochs: j.Epochs, Seed: j.Seed, Val: j.Val, Recipe: j.Recipe, Set: j.Set}
	cp, made, err := w.lastCheckpoint(ctx, j.ID)
	if made != "" && made != Machine() && !w.ResumeAnywhere {
		w.logf("%s: its checkpoint was made on %s, this worker is %s: left to a worker like that (or one started with --resume-anywhere)", j.ID, made, Machine())
		msg.NakWithDelay(w.ackWait)
		return
	}
	if err == nil {
		if err := trainer.CheckResume(cp, job, train, test); err != nil {
			w.publishEvent(ctx, trainer.RunFinished{ID: j.ID, Status: trainer.StatusFailed, Err: "resume: " + err.Error(), Time: time.Now()})
			msg.Term()
			return
		}
		job.Resume = cp
		w.logf("%s: resuming after epoch %d", j.ID, cp.Epoch)
	}

	sub, err := w.NC.Subscribe(CancelPrefix+j.ID, func(*nats.Msg) { cancel() })
	if err == nil {
		defer sub.Unsubscribe()
	}
	status := ""
	for ev := range trainer.Start(runCtx, trainer.Config{Train: train, Test: test, Parallel: 1}, []trainer.Job{job}) {
		if lost.Load() {
			continue // another worker has the run now: publish nothing more
		}
		if _, ok := ev.(trainer.RunQueued); ok {
			continue // queued by the sweep, not by this worker
		}
		if e, ok := ev.(trainer.RunStarted); ok {
			e.Worker = w.Name + " (" + Machine() + ")"
			ev = e
		}
		switch ev.(type) {
		case trainer.EpochEnd, trainer.RunFinished:
			if !holds() {
				continue
			}
		}
		if e, ok := ev.(trainer.EpochEnd); ok && e.Checkpoint != nil {
			// The checkpoint first: an epoch announced is an epoch that
			// can be resumed from.
			if err := w.putCheckpoint(ctx, e.Checkpoint); err != nil {
				w.logf("%s: checkpoint of epoch %d: %v", j.ID, e.Stats.Epoch, err)
			}
		}
		if f, ok := ev.(trainer.RunFinished); ok {
			status = f.Status
			if f.Status == trainer.StatusCancelled && ctx.Err() != nil {
				// This worker is stopping, the run is not: another
				// worker resumes it from its last checkpoint.
				msg.Nak()
				return
			}
		}
		w.publishEvent(ctx, ev)
	}
	if lost.Load() {
		return // the job is another worker's now
	}
	w.logf("%s: %s", j.ID, status)
	if status == trainer.StatusDone {
		msg.Ack()
	} else {
		msg.Term() // failed or cancelled: not retried
	}
}

// dataPause is how long a worker that left a job for its data takes no job.
var dataPause = 10 * time.Second

// finished reports whether run id has ended done, by its last event.
func (w *Worker) finished(ctx context.Context, id string) bool {
	m, err := w.events.GetLastMsgForSubject(ctx, EventsPrefix+id)
	if err != nil {
		return false
	}
	ev, _, err := DecodeEvent(m.Data)
	f, ok := ev.(trainer.RunFinished)
	return err == nil && ok && f.Status == trainer.StatusDone
}

func (w *Worker) publishEvent(ctx context.Context, ev trainer.Event) {
	data, err := EncodeEvent(ev, w.Name)
	if err != nil {
		w.logf("%s: %v", ev.Run(), err)
		return
	}
	if _, ok := ev.(trainer.BatchProgress); ok {
		w.NC.Publish(ProgressPrefix+ev.Run(), data) // live only
		return
	}
	if _, err := w.JS.Publish(ctx, EventsPrefix+ev.Run(), data); err != nil {
		w.logf("%s: publishing: %v", ev.Run(), err)
	}
}

func (w *Worker) dataset(limitTrain, limitTest int) (*trainer.Dataset, *trainer.Dataset, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := [2]int{limitTrain, limitTest}
	if d, ok := w.data[key]; ok {
		return d[0], d[1], nil
	}
	train, test, err := trainer.Load(w.DataDir, limitTrain, limitTest)
	if err != nil {
		return nil, nil, err
	}
	if w.data == nil {
		w.data = map[[2]int][2]*trainer.Dataset{}
	}
	w.data[key] = [2]*trainer.Dataset{train, test}
	return train, test, nil
}

func (w *Worker) putCheckpoint(ctx context.Context, cp *trainer.Checkpoint) error {
	obs := w.checkpoints
	data, err := results.EncodeCheckpoint(cp)
	if err != nil {
		return err
	}
	meta := jetstream.ObjectMeta{Name: checkpointName(cp.Run, cp.Epoch), Metadata: map[string]string{"machine": Machine()}}
	if _, err := obs.Put(ctx, meta, bytes.NewReader(data)); err != nil {
		return err
	}
	// Keep the two newest: the hub may still be reading the one before.
	if cp.Epoch > 2 {
		obs.Delete(ctx, checkpointName(cp.Run, cp.Epoch-2))
	}
	return nil
}

// lastCheckpoint is the newest checkpoint of run in the bucket, and the
// machine that made it.
func (w *Worker) lastCheckpoint(ctx context.Context, run string) (*trainer.Checkpoint, string, error) {
	obs := w.checkpoints
	infos, err := obs.List(ctx)
	if err != nil {
		return nil, "", errNoCheckpoint
	}
	made := map[string]string{}
	var names []string
	for _, in := range infos {
		if strings.HasPrefix(in.Name, run+"/") && !in.Deleted {
			names = append(names, in.Name)
			made[in.Name] = in.Metadata["machine"]
		}
	}
	if len(names) == 0 {
		return nil, "", errNoCheckpoint
	}
	sort.Strings(names)
	last := names[len(names)-1]
	data, err := obs.GetBytes(ctx, last)
	if err != nil {
		return nil, "", err
	}
	cp, err := results.DecodeCheckpoint(data)
	return cp, made[last], err
}

// Machine is what decides a run's rounding here: the OpenBLAS kernel and
// the number of cores the work is split over.
func Machine() string {
	return fmt.Sprintf("OpenBLAS %s, %d cores", archs.BLASCore(), runtime.GOMAXPROCS(0))
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
