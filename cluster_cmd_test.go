package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	gossh "golang.org/x/crypto/ssh"

	"fmnist/cluster"
	"fmnist/hub"
	"fmnist/results"
	"fmnist/safetensors"
	"fmnist/trainer"
	"fmnist/trainer/trainertest"
)

// TestClusterSweepSurvivesSIGKILL: an embedded server, three `fmnist
// worker` processes and `fmnist sweep` of 2 models x 2 seeds on small
// slices; the worker of one run is killed (SIGKILL) after that run's first
// epoch. Every run ends done, each epoch once; the killed run says it was
// resumed; every figure and the final weights equal `fmnist train` of the
// same jobs.
func TestClusterSweepSurvivesSIGKILL(t *testing.T) {
	ctx, url, js := clusterForWorkers(t, 5*time.Second)
	runs := t.TempDir()
	h := hub.New(ctx, hub.Settings{RunsDir: runs})
	workerOf := map[string]string{}
	var mu sync.Mutex
	evs, err := cluster.Events(ctx, js, func(run, worker string) {
		mu.Lock()
		workerOf[run] = worker
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	h.Attach(evs)
	watch, err := cluster.Events(ctx, js, nil)
	if err != nil {
		t.Fatal(err)
	}

	procs := map[string]*exec.Cmd{}
	logs := map[string]*syncBuffer{} // read while the workers write
	for _, name := range []string{"w1", "w2", "w3"} {
		cmd := exec.Command(bin, "worker", "--nats", url, "--name", name)
		logs[name] = &syncBuffer{}
		cmd.Stderr = logs[name]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[name] = cmd
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
	}
	args := []string{"--models", "CNN2,CNN3_dropout", "--seeds", "1-2", "--epochs", "3", "--limit-train", "1024", "--limit-test", "200"}
	out, stderr, code := fmnist(t, append([]string{"sweep", "--nats", url}, args...)...)
	if code != 0 || strings.Count(out, "queued  ") != 4 {
		t.Fatalf("sweep: exit %d\n%s%s", code, out, stderr)
	}
	if out, _, code := fmnist(t, append([]string{"sweep", "--nats", url}, args...)...); code != 0 || !strings.Contains(out, "0 of 4 runs queued") {
		t.Fatalf("the same sweep again: exit %d\n%s", code, out)
	}

	killed := ""
	done := map[string]bool{}
	deadline := time.After(180 * time.Second)
	for len(done) < 4 {
		select {
		case ev := <-watch:
			switch e := ev.(type) {
			case trainer.EpochEnd:
				mu.Lock()
				w := workerOf[e.ID]
				mu.Unlock()
				if killed == "" && e.Stats.Epoch == 1 && w != "" {
					name := strings.Fields(w)[0]
					if p := procs[name]; p != nil {
						p.Process.Signal(syscall.SIGKILL)
						killed = e.ID
					}
				}
			case trainer.RunFinished:
				if e.Status == trainer.StatusDone {
					done[e.ID] = true
				}
			}
		case <-deadline:
			t.Fatalf("runs done after 180 s: %v (killed the worker of %s)\n%s", done, killed, workerLogs(logs))
		}
	}
	for caught := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n := 0
		for _, r := range h.Runs() {
			if r.Status == trainer.StatusDone {
				n++
			}
		}
		if n == 4 {
			break
		}
		if time.Now().After(caught) {
			t.Fatalf("the hub recorded %d of 4 runs done", n)
		}
	}
	if err := h.Outcome().RecordErr; err != nil {
		t.Fatalf("hub: %v", err)
	}

	// The same jobs with fmnist train.
	ref := t.TempDir()
	for _, m := range []string{"CNN2", "CNN3_dropout"} {
		for _, seed := range []string{"1", "2"} {
			if _, errOut, code := fmnist(t, "train", "--models", m, "--seed", seed, "--epochs", "3", "--limit-train", "1024", "--limit-test", "200", "--runs", filepath.Join(ref, m+seed), "--headless"); code != 0 {
				t.Fatalf("train: %s", errOut)
			}
		}
	}
	for _, m := range []string{"CNN2", "CNN3_dropout"} {
		for _, seed := range []int64{1, 2} {
			id := cluster.SweepID(m, seed, 3, 1024, 200) + cluster.SweepSuffix(1024/12, "") // --val: a twelfth of --limit-train
			got, err := results.LoadRun(filepath.Join(runs, id))
			if err != nil {
				t.Fatal(err)
			}
			refs, _, _ := results.LoadRuns(filepath.Join(ref, fmt.Sprint(m, seed)))
			if len(refs) != 1 {
				t.Fatalf("reference runs of %s %d: %d", m, seed, len(refs))
			}
			want := refs[0]
			if got.Status != trainer.StatusDone || len(got.Epochs) != 3 {
				t.Errorf("%s: %s, %d epochs", id, got.Status, len(got.Epochs))
				continue
			}
			for e := range got.Epochs {
				g, w := got.Epochs[e], want.Epochs[e]
				if g.Epoch != e+1 || g.TrainLoss != w.TrainLoss || g.TrainAcc != w.TrainAcc || g.TestLoss != w.TestLoss || g.TestAcc != w.TestAcc {
					t.Errorf("%s epoch %d: cluster %+v, fmnist train %+v", id, e+1, g, w)
				}
			}
			// The killed worker's run was resumed. (Another may have been
			// too: on a loaded machine a heartbeat can come later than the
			// short deadline of this test, and the run then moves on, as it
			// should.)
			if id == killed && len(got.ResumedAt) == 0 {
				t.Errorf("%s, the killed worker's run, does not say it was resumed", id)
			}
			// The weights, byte for byte (the files' metadata name the runs).
			a, errA := safetensors.ReadFile(filepath.Join(runs, id, "final", "model.safetensors"))
			b, errB := safetensors.ReadFile(filepath.Join(ref, fmt.Sprint(m, seed), want.ID, "final", "model.safetensors"))
			if errA != nil || errB != nil || len(a.Tensors) == 0 || len(a.Tensors) != len(b.Tensors) {
				t.Fatalf("%s: final models %v, %v", id, errA, errB)
			}
			for i := range a.Tensors {
				if a.Tensors[i].Name != b.Tensors[i].Name || !bytes.Equal(a.Tensors[i].Data, b.Tensors[i].Data) {
					t.Errorf("%s: final weights %s differ from fmnist train's", id, a.Tensors[i].Name)
				}
			}
		}
	}
	if killed == "" {
		t.Fatal("no worker was killed")
	}
}

// clusterForWorkers starts a server for worker processes, after the data
// set check, with ackWait as its deadline (set by this first client; the
// workers follow it), and connects to it: the test's context, the URL and
// the connection's JetStream.
func clusterForWorkers(t *testing.T, ackWait time.Duration) (context.Context, string, jetstream.JetStream) {
	t.Helper()
	trainertest.NeedData(t)
	old := cluster.AckWait
	cluster.AckWait = ackWait
	t.Cleanup(func() { cluster.AckWait = old })
	s, err := cluster.StartServer(cluster.ServerConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	nc, js, err := cluster.Connect(ctx, s.ClientURL(), cluster.Auth{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return ctx, s.ClientURL(), js
}

func workerLogs(logs map[string]*syncBuffer) string {
	var b strings.Builder
	for name, l := range logs {
		fmt.Fprintf(&b, "--- %s\n%s", name, l.String())
	}
	return b.String()
}

// Bad input to the cluster's commands: one line, non-zero exit, nothing
// queued.
func TestClusterCommandsBadInput(t *testing.T) {
	s, err := cluster.StartServer(cluster.ServerConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	url := s.ClientURL()
	dir := t.TempDir()
	pw, file := filepath.Join(dir, "pw"), filepath.Join(dir, "file")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	os.WriteFile(file, []byte("not a directory\n"), 0o600)
	missing := filepath.Join(dir, "missing")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		// Files the flags name that cannot be read: exit 1.
		{[]string{"worker", "--nats", url, "--nats-user", "u", "--nats-password-file", missing}, 1, "nats password: " + missing + ": no such file"},
		{[]string{"sweep", "--nats", url, "--nats-user", "u", "--nats-password-file", missing, "--models", "CNN2"}, 1, "nats password"},
		{[]string{"worker", "--nats", url, "--data", missing}, 1, "does not exist"},
		{[]string{"sync", "--nats", url, "--runs", file}, 1, "runs directory " + file},
		// A password without its user would be ignored: refused.
		{[]string{"worker", "--nats", url, "--nats-password-file", pw}, 2, "--nats-password-file needs --nats-user"},
		{[]string{"serve", "--nats-nkeys", pw, "--authorized-keys", "/dev/null", "--runs", filepath.Join(dir, "runs")}, 2, "--nats-nkeys needs --nats-listen"},
		{[]string{"sweep", "--nats", url, "--models", "CNN9"}, 2, `unknown model "CNN9"`},
		{[]string{"sweep", "--nats", url, "--models", "CNN2", "--seeds", "5-1"}, 2, "--seeds"},
		{[]string{"sweep", "--nats", url}, 2, "--models is required"},
		{[]string{"sweep", "--nats", url, "--models", "CNN2_det"}, 2, "train it with fmnist train"},
		{[]string{"sweep", "--models", "CNN2"}, 2, "--nats URL is required"},
		{[]string{"sweep", "--nats", "nats://127.0.0.1:1", "--models", "CNN2"}, 1, "no servers available"},
		{[]string{"worker", "--nats", url, "--slots", "0"}, 2, "--slots must be at least 1"},
		{[]string{"worker", "--nats", url, "--nats-user", "u"}, 2, "--nats-user needs --nats-password-file"},
		{[]string{"sync", "--nats", "nats://127.0.0.1:1"}, 1, "no servers available"},
		{[]string{"serve", "--nats-listen", "0.0.0.0:0", "--authorized-keys", "/dev/null"}, 1, ""},
	} {
		_, stderr, code := fmnist(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "goroutine") {
			t.Errorf("%v: exit %d, %q", c.args, code, stderr)
		}
	}
	// serve without its SSH keys starts no NATS server (it would keep its
	// streams under RUNS/.nats).
	runs := filepath.Join(dir, "runs2")
	if _, stderr, code := fmnist(t, "serve", "--nats-listen", "127.0.0.1:0", "--authorized-keys", missing, "--runs", runs); code != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("serve without its authorized keys: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(runs, ".nats")); err == nil {
		t.Error("serve started its NATS server before finding its authorized keys missing")
	}
	nc, js, err := cluster.Connect(context.Background(), url, cluster.Auth{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	st, _ := js.Stream(context.Background(), cluster.JobsStream)
	if info, err := st.Info(context.Background()); err != nil || info.State.Msgs != 0 {
		t.Errorf("jobs queued by bad sweeps: %v", err)
	}
}

// serve's line for workers names an address they can reach and the
// credentials they need.
func TestWorkerHint(t *testing.T) {
	host, _ := os.Hostname()
	for _, c := range []struct {
		listen string
		auth   cluster.Auth
		nkeys  bool
		want   string
	}{
		{"127.0.0.1:4222", cluster.Auth{}, false, "fmnist worker --nats nats://127.0.0.1:4222"},
		{"0.0.0.0:4222", cluster.Auth{User: "fmnist", Password: "x"}, false, "fmnist worker --nats nats://" + host + ":4222 --nats-user fmnist --nats-password-file FILE"},
		{"[::]:4222", cluster.Auth{NKeySeedFile: "s"}, true, "fmnist worker --nats nats://" + host + ":4222 --nats-nkey FILE"},
	} {
		if got := workerHint(c.listen, c.auth, c.nkeys); got != c.want {
			t.Errorf("%s: %q, want %q", c.listen, got, c.want)
		}
	}
}

// TestClusterWorkerStoppedPastDeadline: a worker process stopped (SIGSTOP)
// past its job's deadline loses the run to another worker; continued
// (SIGCONT), it gives the run up and publishes nothing more for it. The run
// ends done once, resumed, with each epoch once.
func TestClusterWorkerStoppedPastDeadline(t *testing.T) {
	ctx, url, js := clusterForWorkers(t, 3*time.Second)
	var mu sync.Mutex
	var starts []string
	evs, err := cluster.Events(ctx, js, func(run, worker string) {
		mu.Lock()
		starts = append(starts, strings.Fields(worker)[0])
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	start := func(name string) (*exec.Cmd, *syncBuffer) {
		cmd := exec.Command(bin, "worker", "--nats", url, "--name", name)
		log := &syncBuffer{} // read while the worker writes
		cmd.Stderr = log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Signal(syscall.SIGCONT); cmd.Process.Kill(); cmd.Wait() })
		return cmd, log
	}
	first, firstLog := start("first")
	if _, stderr, code := fmnist(t, "sweep", "--nats", url, "--models", "CNN2", "--seeds", "4", "--epochs", "4", "--limit-train", "4096", "--limit-test", "200"); code != 0 {
		t.Fatalf("sweep: %s", stderr)
	}
	epochs := map[int]int{}
	var second *exec.Cmd
	deadline := time.After(120 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-evs:
			switch e := ev.(type) {
			case trainer.EpochEnd:
				epochs[e.Stats.Epoch]++
				if second == nil && e.Stats.Epoch == 1 {
					first.Process.Signal(syscall.SIGSTOP)
					second, _ = start("second")
					// Past the job's deadline and the lease's life.
					time.AfterFunc(4*cluster.AckWait, func() { first.Process.Signal(syscall.SIGCONT) })
				}
			case trainer.RunFinished:
				if e.Status != trainer.StatusDone {
					t.Fatalf("run ended %s", e.Status)
				}
				done = true
			}
		case <-deadline:
			t.Fatalf("not done in 120 s; first worker:\n%s", firstLog.String())
		}
	}
	// The first worker, continued, gives the run up.
	for wait := time.Now().Add(20 * time.Second); !strings.Contains(firstLog.String(), "lost the run's lease"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(wait) {
			t.Fatalf("the stopped worker, continued, did not give the run up:\n%s", firstLog.String())
		}
	}
	time.Sleep(cluster.AckWait) // anything it would still publish
	for len(evs) > 0 {
		if ev := <-evs; ev != nil {
			if _, ok := ev.(trainer.BatchProgress); !ok {
				t.Errorf("after the run ended: %#v", ev)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(starts) != 2 || starts[0] != "first" || starts[1] != "second" {
		t.Errorf("starts by %v, want first then second", starts)
	}
	for e := 1; e <= 4; e++ {
		if epochs[e] != 1 {
			t.Errorf("epoch %d announced %d times", e, epochs[e])
		}
	}
}

// serve --nats-listen on port 0 names the port it took, and the worker
// command it prints reaches the server.
func TestServePrintsWorkerCommand(t *testing.T) {
	trainertest.NeedData(t)
	key := newKey(t)
	dir := t.TempDir()
	ak := filepath.Join(dir, "authorized_keys")
	os.WriteFile(ak, gossh.MarshalAuthorizedKey(key.PublicKey()), 0o600)
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--authorized-keys", ak,
		"--host-key", filepath.Join(dir, "hk"), "--runs", filepath.Join(dir, "runs"))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	re := regexp.MustCompile(`NATS with JetStream on 127\.0\.0\.1:([1-9][0-9]*) \(workers: fmnist worker --nats (nats://127\.0\.0\.1:([0-9]+))\)`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil; time.Sleep(20 * time.Millisecond) {
		m = re.FindStringSubmatch(stderr.String())
		if m == nil && time.Now().After(deadline) {
			t.Fatalf("no worker command: %s", stderr.String())
		}
	}
	if m[1] != m[3] {
		t.Errorf("listening on port %s, the workers told port %s", m[1], m[3])
	}
	out, errOut, code := fmnist(t, "sweep", "--nats", m[2], "--models", "CNN2", "--epochs", "1", "--limit-train", "64", "--limit-test", "64")
	if code != 0 || !strings.Contains(out, "1 of 1 runs queued") {
		t.Errorf("sweep to the printed address: exit %d\n%s%s", code, out, errOut)
	}
}
