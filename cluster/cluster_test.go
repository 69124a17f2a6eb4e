package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"fmnist/hub"
	"fmnist/results"
	"fmnist/trainer"
	"fmnist/trainer/trainertest"
)

// testCluster sets the cluster's ack wait (restored after the test),
// starts a server and connects to it: the test's context (cancelled after
// it), the server's URL and the connection.
func testCluster(t *testing.T, ackWait time.Duration) (context.Context, string, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	old := AckWait
	AckWait = ackWait
	t.Cleanup(func() { AckWait = old })
	url := startCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	nc, js, err := Connect(ctx, url, Auth{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return ctx, url, nc, js
}

// startCluster starts an embedded server on loopback and returns its URL.
func startCluster(t *testing.T) string {
	t.Helper()
	s, err := StartServer(ServerConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

// loggedWorker is a one-slot worker and what it has logged so far, one
// line per entry.
func loggedWorker(nc *nats.Conn, js jetstream.JetStream, name, dataDir string) (*Worker, func() string) {
	var mu sync.Mutex
	var log []string
	w := &Worker{NC: nc, JS: js, Name: name, DataDir: dataDir, Slots: 1, Log: func(f string, a ...any) {
		mu.Lock()
		log = append(log, fmt.Sprintf(f, a...))
		mu.Unlock()
	}}
	return w, func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(log, "\n")
	}
}

func TestServerRefusesOpenListenWithoutPassword(t *testing.T) {
	_, err := StartServer(ServerConfig{Listen: "0.0.0.0:0", StoreDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "beyond loopback") {
		t.Fatalf("0.0.0.0 without credentials: %v", err)
	}
	s, err := StartServer(ServerConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	if _, _, err := Connect(context.Background(), s.ClientURL(), Auth{User: "u", Password: "wrong"}, "test"); err == nil {
		t.Error("a wrong password was accepted")
	}
	nc, _, err := Connect(context.Background(), s.ClientURL(), Auth{User: "u", Password: "p"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}

// A server of nkeys lets in the holders of their seeds and no one else;
// it may listen beyond loopback.
func TestServerNKeys(t *testing.T) {
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := user.PublicKey()
	seed, _ := user.Seed()
	other, _ := nkeys.CreateUser()
	otherSeed, _ := other.Seed()
	dir := t.TempDir()
	seedFile, otherFile := filepath.Join(dir, "me.nk"), filepath.Join(dir, "other.nk")
	os.WriteFile(seedFile, seed, 0o600)
	os.WriteFile(otherFile, otherSeed, 0o600)
	if _, err := StartServer(ServerConfig{Listen: "0.0.0.0:0", StoreDir: t.TempDir(), NKeys: []string{"not-a-key"}}); err == nil {
		t.Error("a server with a bad nkey started")
	}
	s, err := StartServer(ServerConfig{Listen: "0.0.0.0:0", StoreDir: t.TempDir(), NKeys: []string{pub}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	url := fmt.Sprintf("nats://127.0.0.1:%d", s.Addr().(*net.TCPAddr).Port)
	for name, auth := range map[string]Auth{"no key": {}, "another key": {NKeySeedFile: otherFile}, "a password": {User: "u", Password: "p"}} {
		if nc, _, err := Connect(context.Background(), url, auth, "test"); err == nil {
			nc.Close()
			t.Errorf("%s let in", name)
		}
	}
	nc, _, err := Connect(context.Background(), url, Auth{NKeySeedFile: seedFile}, "test")
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}

func TestEventWireRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)
	for _, ev := range []trainer.Event{
		trainer.RunQueued{ID: "a", Model: "CNN2", Index: 3},
		trainer.RunStarted{ID: "a", Model: "CNN2", Params: 5, Epochs: 2, Seed: 1, Time: now, Resumed: true, History: []trainer.EpochStats{{Epoch: 1, TestAcc: 0.5}}},
		trainer.BatchProgress{ID: "a", Epoch: 1, Batch: 3, Loss: 0.25},
		trainer.EpochEnd{ID: "a", Epochs: 2, Stats: trainer.EpochStats{Epoch: 1, TestAcc: 0.75, Extra: map[string]float64{"x": 1}}},
		trainer.RunFinished{ID: "a", Status: "done", Time: now},
	} {
		data, err := EncodeEvent(ev, "w1")
		if err != nil {
			t.Fatal(err)
		}
		got, worker, err := DecodeEvent(data)
		if err != nil || worker != "w1" || !reflect.DeepEqual(got, ev) {
			t.Errorf("%T: got %#v (%s, %v)", ev, got, worker, err)
		}
	}
	if _, _, err := DecodeEvent([]byte(`{"type":"Nope","event":{}}`)); err == nil {
		t.Error("unknown type decoded")
	}
}

// TestSweepOnWorkers: a 2-model x 2-seed sweep queued twice (the second adds
// nothing) on three workers; one worker stops after the first epoch of its
// first run, whose job then goes to another worker, which resumes it. The
// hub records every run done, each epoch once, with the same figures and
// weights as plain local training of the same jobs.
func TestSweepOnWorkers(t *testing.T) {
	trainertest.NeedData(t)
	limitTrain, limitTest, epochs := 1024, 200, 3
	if testing.Short() { // the race detector's run
		limitTrain, limitTest, epochs = 512, 100, 2
	}
	old := AckWait
	AckWait = 3 * time.Second
	defer func() { AckWait = old }()
	url := startCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var jobs []Job
	for _, m := range []string{"CNN2", "CNN3_dropout"} {
		for _, seed := range []int64{1, 2} {
			jobs = append(jobs, Job{ID: SweepID(m, seed, epochs, limitTrain, limitTest), Model: m, Epochs: epochs, Seed: seed, LimitTrain: limitTrain, LimitTest: limitTest})
		}
	}
	nc, js, err := Connect(ctx, url, Auth{}, "sweep")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	added, err := Queue(ctx, js, jobs)
	if err != nil || len(added) != 4 {
		t.Fatalf("queued %v, %v", added, err)
	}
	if again, err := Queue(ctx, js, jobs); err != nil || len(again) != 0 {
		t.Fatalf("the same sweep again queued %v, %v", again, err)
	}

	// The hub: every event recorded in runs.
	runs := t.TempDir()
	h := hub.New(ctx, hub.Settings{RunsDir: runs})
	evs, err := Events(ctx, js, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Attach(evs)

	// Three workers; the first stops after its first epoch.
	var wg sync.WaitGroup
	stopFirst, stop1 := context.WithCancel(ctx)
	defer stop1()
	for i := range 3 {
		wc, wjs, err := Connect(ctx, url, Auth{}, "worker")
		if err != nil {
			t.Fatal(err)
		}
		defer wc.Close()
		wctx := ctx
		if i == 0 {
			wctx = stopFirst
		}
		w := &Worker{NC: wc, JS: wjs, Name: "w" + string(rune('1'+i)), Slots: 1}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Run(wctx)
		}()
	}
	// Stop worker 1 when one of its runs has finished an epoch.
	watch, err := Events(ctx, js, nil)
	if err != nil {
		t.Fatal(err)
	}
	workerOf := map[string]string{}
	var mu sync.Mutex
	watchW, err := Events(ctx, js, func(run, worker string) {
		mu.Lock()
		workerOf[run] = worker
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range watchW {
		}
	}()
	stopped := ""
	deadline := time.After(120 * time.Second)
	done := map[string]bool{}
	for len(done) < len(jobs) {
		select {
		case ev := <-watch:
			switch e := ev.(type) {
			case trainer.EpochEnd:
				mu.Lock()
				w := workerOf[e.ID]
				mu.Unlock()
				if stopped == "" && w == "w1" && e.Stats.Epoch == 1 {
					stopped = e.ID
					stop1()
				}
			case trainer.RunFinished:
				if e.Status == trainer.StatusDone {
					done[e.ID] = true
				}
			}
		case <-deadline:
			t.Fatalf("runs done after 120 s: %v (stopped %q)", done, stopped)
		}
	}
	// The hub catches up with the events on its own.
	for caught := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n := 0
		for _, r := range h.Runs() {
			if r.Status == trainer.StatusDone {
				n++
			}
		}
		if n == len(jobs) {
			break
		}
		if time.Now().After(caught) {
			t.Fatalf("the hub recorded %d of %d runs done", n, len(jobs))
		}
	}
	cancel()
	wg.Wait()
	h.WaitAttached()
	if stopped == "" {
		t.Fatal("worker 1 never finished an epoch")
	}
	if err := h.Outcome().RecordErr; err != nil {
		t.Errorf("the hub could not record: %v", err)
	}

	// The same jobs trained here, plainly.
	train, test, err := trainer.Load("", limitTrain, limitTest)
	if err != nil {
		t.Fatal(err)
	}
	ref := t.TempDir()
	rec := results.NewRecorder(ref)
	var local []trainer.Job
	for _, j := range jobs {
		local = append(local, trainer.Job{ID: j.ID, Model: j.Model, Epochs: j.Epochs, Seed: j.Seed})
	}
	for ev := range trainer.Start(context.Background(), trainer.Config{Train: train, Test: test, Parallel: 2}, local) {
		if err := rec.Handle(ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, j := range jobs {
		got, err := results.LoadRun(filepath.Join(runs, j.ID))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := results.LoadRun(filepath.Join(ref, j.ID))
		if got.Status != trainer.StatusDone || len(got.Epochs) != epochs {
			t.Errorf("%s: %s with %d epochs", j.ID, got.Status, len(got.Epochs))
			continue
		}
		for e := range got.Epochs {
			g, w := got.Epochs[e], want.Epochs[e]
			if g.Epoch != e+1 || g.TrainLoss != w.TrainLoss || g.TestLoss != w.TestLoss || g.TestAcc != w.TestAcc {
				t.Errorf("%s epoch %d: cluster %+v, local %+v", j.ID, e+1, g, w)
			}
		}
		// The stopped worker's run was resumed on another. (Another run may
		// have moved too: on a loaded machine a heartbeat can come later
		// than this test's short deadline.) Every start is recorded.
		if j.ID == stopped && len(got.ResumedAt) == 0 {
			t.Errorf("%s, the stopped worker's run, does not say it was resumed", j.ID)
		}
		if len(got.Workers) != 1+len(got.ResumedAt) || !strings.Contains(got.Workers[0], Machine()) {
			t.Errorf("%s: workers %q for %d resumptions, want them on %s", j.ID, got.Workers, len(got.ResumedAt), Machine())
		}
		a, errA := os.ReadFile(filepath.Join(runs, j.ID, "final", "model.safetensors"))
		b, errB := os.ReadFile(filepath.Join(ref, j.ID, "final", "model.safetensors"))
		if errA != nil || errB != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: final weights differ from local training (%v, %v)", j.ID, errA, errB)
		}
	}
}

// TestLostLeaseGivesRunUp: when a worker's lease on its run is taken (it
// was stopped past its deadline and another worker took the run), the
// worker publishes nothing more for that run; once the lease is free the
// job is taken again and the run resumed to the end.
func TestLostLeaseGivesRunUp(t *testing.T) {
	trainertest.NeedData(t)
	ctx, _, nc, js := testCluster(t, 3*time.Second)
	n := 4096
	if testing.Short() { // the race detector's run
		n = 1024
	}
	job := Job{ID: SweepID("CNN2", 3, 4, n, 200), Model: "CNN2", Epochs: 4, Seed: 3, LimitTrain: n, LimitTest: 200}
	if _, err := Queue(ctx, js, []Job{job}); err != nil {
		t.Fatal(err)
	}
	evs, err := Events(ctx, js, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, log := loggedWorker(nc, js, "w", "")
	go w.Run(ctx)
	kv, err := js.KeyValue(ctx, LeaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	var stolenAt time.Time
	afterTheft, starts := 0, 0
	deadline := time.After(120 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-evs:
			switch e := ev.(type) {
			case trainer.RunStarted:
				starts++
			case trainer.EpochEnd:
				if stolenAt.IsZero() && e.Stats.Epoch == 1 {
					thiefRev, err := kv.Put(ctx, job.ID, []byte("thief"))
					if err != nil {
						t.Fatal(err)
					}
					stolenAt = time.Now()
					// Give the lease back after the worker has noticed,
					// as a worker does: only if it is still the thief's.
					// The bucket's TTL may have expired it first and the
					// worker retaken the run; deleting that lease would
					// rob the worker a second time.
					go func() {
						time.Sleep(AckWait * 9 / 10)
						kv.Delete(ctx, job.ID, jetstream.LastRevision(thiefRev))
					}()
				}
			case trainer.RunFinished:
				if e.Status != trainer.StatusDone {
					t.Fatalf("run ended %s", e.Status)
				}
				done = true
			}
			// The worker checks its lease every second; by the time the
			// thief gives the lease back it must have given the run up.
			// (A tighter window flaked on a loaded machine.)
			if !stolenAt.IsZero() && starts == 1 && time.Since(stolenAt) > AckWait*9/10 {
				afterTheft++ // published by the robbed worker after it should have noticed
			}
		case <-deadline:
			t.Fatal("the run did not finish in 120 s")
		}
	}
	joined := log()
	if !strings.Contains(joined, "lost the run's lease") || !strings.Contains(joined, "resuming after epoch") {
		t.Errorf("worker log:\n%s", joined)
	}
	if starts != 2 || afterTheft > 0 {
		t.Errorf("%d starts, %d events from the robbed worker after it should have given up", starts, afterTheft)
	}
}

// A run checkpointed on another kind of machine is not resumed here (other
// rounding), unless the worker is told it may.
func TestResumeOnOtherMachineRefused(t *testing.T) {
	trainertest.NeedData(t)
	ctx, _, nc, js := testCluster(t, AckWait)
	job := Job{ID: SweepID("CNN2", 1, 2, 512, 100), Model: "CNN2", Epochs: 2, Seed: 1, LimitTrain: 512, LimitTest: 100}
	obs, err := js.ObjectStore(ctx, CheckpointBucket)
	if err != nil {
		t.Fatal(err)
	}
	meta := jetstream.ObjectMeta{Name: checkpointName(job.ID, 1), Metadata: map[string]string{"machine": "OpenBLAS Alien, 64 cores"}}
	if _, err := obs.Put(ctx, meta, strings.NewReader("not read")); err != nil {
		t.Fatal(err)
	}
	if _, err := Queue(ctx, js, []Job{job}); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 10)
	w := &Worker{NC: nc, JS: js, Name: "w", Slots: 1, Log: func(f string, a ...any) {
		select {
		case logs <- fmt.Sprintf(f, a...):
		default:
		}
	}}
	go w.Run(ctx)
	var said []string
	for found := false; !found; {
		select {
		case l := <-logs:
			said = append(said, l)
			found = strings.Contains(l, "made on OpenBLAS Alien, 64 cores") && strings.Contains(l, Machine())
		case <-time.After(20 * time.Second):
			t.Fatalf("the worker did not refuse in 20 s: %q", said)
		}
	}
	st, err := js.Stream(ctx, EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := st.Info(ctx)
	if info.State.Msgs != 1 { // the sweep's RunQueued only
		t.Errorf("%d events published, want only RunQueued", info.State.Msgs)
	}
}

// The NATS server restarted on the same storage in the middle of a sweep:
// the workers reconnect, the queue and the checkpoints are still there, and
// every run ends done.
func TestServerRestartMidSweep(t *testing.T) {
	trainertest.NeedData(t)
	if testing.Short() {
		t.Skip("the race detector's run: the sweep tests cover the same code")
	}
	old := AckWait
	AckWait = 3 * time.Second
	defer func() { AckWait = old }()
	store := t.TempDir()
	s, err := StartServer(ServerConfig{Listen: "127.0.0.1:0", StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr().String()
	url := s.ClientURL()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nc, js, err := Connect(ctx, url, Auth{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var jobs []Job
	for seed := int64(1); seed <= 3; seed++ {
		jobs = append(jobs, Job{ID: SweepID("CNN2", seed, 3, 1024, 100), Model: "CNN2", Epochs: 3, Seed: seed, LimitTrain: 1024, LimitTest: 100})
	}
	if _, err := Queue(ctx, js, jobs); err != nil {
		t.Fatal(err)
	}
	wc, wjs, err := Connect(ctx, url, Auth{}, "worker")
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	go (&Worker{NC: wc, JS: wjs, Name: "w", Slots: 1}).Run(ctx)
	// Stop the server after the first epoch anywhere, start it again.
	evs, err := Events(ctx, js, nil)
	if err != nil {
		t.Fatal(err)
	}
	for ev := range evs {
		if _, ok := ev.(trainer.EpochEnd); ok {
			break
		}
	}
	// restart stops a server and starts another on the same port and storage.
	restart := func(s *server.Server) *server.Server {
		s.Shutdown()
		s.WaitForShutdown()
		s2, err := StartServer(ServerConfig{Listen: addr, StoreDir: store})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s2.Shutdown)
		return s2
	}
	s2 := restart(s)
	// A hub started afterwards on the restarted server sees every run done.
	hc, hjs, err := Connect(ctx, url, Auth{}, "hub")
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	runs := t.TempDir()
	h := hub.New(ctx, hub.Settings{RunsDir: runs})
	hevs, err := Events(ctx, hjs, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Attach(hevs)
	for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		n := 0
		for _, r := range h.Runs() {
			if r.Status == trainer.StatusDone && len(r.Epochs) == 3 {
				n++
			}
		}
		if n == len(jobs) {
			break
		}
		if time.Now().After(deadline) {
			for _, r := range h.Runs() {
				t.Logf("%s %s %d epochs", r.ID, r.Status, len(r.Epochs))
			}
			t.Fatalf("%d of %d runs done 120 s after the restart", n, len(jobs))
		}
	}
	// The jobs have left the work queue; restarted again, the server has
	// forgotten their message IDs: queuing the sweep again still adds
	// nothing (the events stream remembers the runs).
	restart(s2)
	qc, qjs, err := Connect(ctx, url, Auth{}, "sweep")
	if err != nil {
		t.Fatal(err)
	}
	defer qc.Close()
	if again, err := Queue(ctx, qjs, jobs); err != nil || len(again) != 0 {
		t.Errorf("queued again after the restart: %v %v", again, err)
	}
}

// A run cancelled from a dashboard (Cancel) stops on its worker, is
// recorded cancelled, and is not retried.
func TestCancelRemoteRun(t *testing.T) {
	trainertest.NeedData(t)
	// Short, for the quiet wait at the end, but not so short that a
	// heartbeat late on a loaded machine (one a third of it) would hand
	// the job out again and count as a retry.
	ctx, _, nc, js := testCluster(t, 5*time.Second)
	job := Job{ID: SweepID("CNN2", 1, 50, 1024, 100), Model: "CNN2", Epochs: 50, Seed: 1, LimitTrain: 1024, LimitTest: 100}
	// A second job waits in the queue (one worker, one slot) and is
	// cancelled there: it ends cancelled without ever starting.
	waiting := Job{ID: SweepID("CNN2", 2, 50, 1024, 100), Model: "CNN2", Epochs: 50, Seed: 2, LimitTrain: 1024, LimitTest: 100}
	if _, err := Queue(ctx, js, []Job{job, waiting}); err != nil {
		t.Fatal(err)
	}
	if err := Cancel(ctx, js, waiting.ID); err != nil {
		t.Fatal(err)
	}
	evs, err := Events(ctx, js, nil)
	if err != nil {
		t.Fatal(err)
	}
	go (&Worker{NC: nc, JS: js, Name: "w", Slots: 1}).Run(ctx)
	starts, finished, waitingEnded := 0, "", false
	deadline := time.After(60 * time.Second)
	for finished == "" || !waitingEnded {
		select {
		case ev := <-evs:
			switch e := ev.(type) {
			case trainer.RunStarted:
				if e.ID == waiting.ID {
					t.Fatalf("the run cancelled in the queue started")
				}
				starts++
			case trainer.EpochEnd:
				if e.Stats.Epoch == 1 {
					if err := Cancel(ctx, js, job.ID); err != nil {
						t.Fatal(err)
					}
				}
			case trainer.RunFinished:
				if e.ID == waiting.ID {
					if e.Status != trainer.StatusCancelled {
						t.Fatalf("the run cancelled in the queue ended %s", e.Status)
					}
					waitingEnded = true
					continue
				}
				finished = e.Status
			}
		case <-deadline:
			t.Fatal("the run did not end in 60 s")
		}
	}
	if finished != trainer.StatusCancelled {
		t.Fatalf("run ended %s", finished)
	}
	// Not retried: no new start for twice the ack wait (a progress report
	// sent before the end may still arrive: they are live, not ordered).
	for quiet := time.After(2 * AckWait); ; {
		select {
		case ev := <-evs:
			if _, ok := ev.(trainer.BatchProgress); !ok {
				t.Fatalf("after cancelling: %#v", ev)
			}
			continue
		case <-quiet:
		}
		break
	}
	if starts != 1 {
		t.Errorf("%d starts", starts)
	}
}

// A sweep's run IDs tell recipes apart and stay subject tokens (no dots).
func TestSweepSuffixNamesTheRecipe(t *testing.T) {
	for _, c := range []struct {
		val   int
		label string
		want  string
	}{
		{0, "", ""}, {0, "seed", ""}, {5000, "seed", "-val5000"}, {5000, "improved", "-val5000-improved"},
		{0, "improved+lr0.004+noflip", "-improved+lr0p004+noflip"},
	} {
		if got := SweepSuffix(c.val, c.label); got != c.want {
			t.Errorf("SweepSuffix(%d, %q) = %q, want %q", c.val, c.label, got, c.want)
		}
	}
}

// tinyJobQueued starts a cluster, queues one tiny job (CNN2, seed, one
// epoch on 512 images) and returns it with the stream of the cluster's
// events.
func tinyJobQueued(t *testing.T, seed int64) (context.Context, *nats.Conn, jetstream.JetStream, Job, <-chan trainer.Event) {
	t.Helper()
	trainertest.NeedData(t)
	ctx, _, nc, js := testCluster(t, 3*time.Second)
	job := Job{ID: SweepID("CNN2", seed, 1, 512, 100), Model: "CNN2", Epochs: 1, Seed: seed, LimitTrain: 512, LimitTest: 100}
	if _, err := Queue(ctx, js, []Job{job}); err != nil {
		t.Fatal(err)
	}
	evs, err := Events(ctx, js, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, nc, js, job, evs
}

// A job whose run has ended done, delivered again (queued by a sweep from
// before the server kept any memory of it), is acknowledged unstarted: the
// run's record is not rewritten.
func TestDoneJobQueuedAgainIsNotTrained(t *testing.T) {
	ctx, nc, js, job, evs := tinyJobQueued(t, 1)
	w, log := loggedWorker(nc, js, "w", "")
	go w.Run(ctx)
	for deadline := time.After(60 * time.Second); ; {
		select {
		case ev := <-evs:
			if f, ok := ev.(trainer.RunFinished); !ok {
				continue
			} else if f.Status != trainer.StatusDone {
				t.Fatalf("run ended %s: %s", f.Status, f.Err)
			}
		case <-deadline:
			t.Fatal("the run did not end in 60 s")
		}
		break
	}
	// The job again, past the queue's deduplication.
	data, _ := json.Marshal(job)
	if _, err := js.Publish(ctx, JobsSubject, data); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		joined := log()
		if strings.Contains(joined, job.ID+": done already") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job delivered again was not left alone; worker log:\n%s", joined)
		}
	}
	select {
	case ev := <-evs:
		t.Errorf("the done run got another event: %T %+v", ev, ev)
	case <-time.After(500 * time.Millisecond):
	}
	info, err := js.Stream(ctx, JobsStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 0 {
		t.Errorf("%d jobs left in the queue", n)
	}
}

// A worker without the job's data leaves it, and lets a worker that has
// the data take it, rather than taking it back again and again.
func TestWorkerWithoutTheDataLeavesTheJob(t *testing.T) {
	ctx, nc, js, job, evs := tinyJobQueued(t, 2)
	bad, log := loggedWorker(nc, js, "bad", t.TempDir())
	left := func() int { return strings.Count(log(), job.ID+": fashion-mnist") } // times it left the job
	go bad.Run(ctx)
	// The bad worker has taken the job and left it before the good one asks.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if left() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker without data did not take the job")
		}
	}
	gc, gjs, err := Connect(ctx, nc.ConnectedUrl(), Auth{}, "good")
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	go (&Worker{NC: gc, JS: gjs, Name: "good", Slots: 1}).Run(ctx)
	deadline := time.After(60 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-evs:
			switch e := ev.(type) {
			case trainer.RunStarted:
				if !strings.HasPrefix(e.Worker, "good") {
					t.Errorf("started by %q", e.Worker)
				}
			case trainer.RunFinished:
				if e.Status != trainer.StatusDone {
					t.Fatalf("run ended %s: %s", e.Status, e.Err)
				}
				done = true
			}
		case <-deadline:
			t.Fatal("the worker with the data did not finish the job in 60 s")
		}
	}
	if n := left(); n > 2 {
		t.Errorf("the worker without data took the job %d times", n)
	}
}
