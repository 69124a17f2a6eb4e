package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"fmnist/results"
	"fmnist/trainer"
	"fmnist/trainer/trainertest"
)

// newKey returns a fresh client key.
func newKey(t *testing.T) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testServer starts a server on 127.0.0.1:0 that lets key in.
func testServer(t *testing.T, readOnly bool, keys ...gossh.Signer) (*server, string) {
	t.Helper()
	return testServerData(t, readOnly, nil, nil, keys...)
}

// testServerData is testServer whose runs train on train and test.
func testServerData(t *testing.T, readOnly bool, train, test *trainer.Dataset, keys ...gossh.Signer) (*server, string) {
	t.Helper()
	dir := t.TempDir()
	var ak bytes.Buffer
	for _, k := range keys {
		ak.Write(gossh.MarshalAuthorizedKey(k.PublicKey()))
	}
	akPath := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(akPath, ak.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(dir, "runs")
	os.MkdirAll(runs, 0o755)
	cfg := serveConfig{listen: "127.0.0.1:0", authorizedKeys: akPath, hostKey: filepath.Join(dir, "host_key"), readOnly: readOnly,
		set: dashSettings{runsDir: runs, train: train, test: test, seed: 7, parallel: 1}}
	s, err := newServer(cfg, &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	s.start(context.Background())
	t.Cleanup(func() { s.stop() })
	return s, s.ln.Addr().String()
}

// syncBuffer is a log that tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func clientConfig(auth ...gossh.AuthMethod) *gossh.ClientConfig {
	return &gossh.ClientConfig{User: "tester", Auth: auth, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second}
}

// sshSession is a client session with a terminal: out collects what the
// server drew; the terminal answers the background-colour query like a
// real one.
type sshSession struct {
	client *gossh.Client
	sess   *gossh.Session
	in     interface{ Write([]byte) (int, error) }
	out    *syncBuffer
	done   chan struct{}
}

func dial(t *testing.T, addr string, key gossh.Signer) *sshSession {
	t.Helper()
	return dialTerm(t, addr, key, "xterm-256color")
}

func dialTerm(t *testing.T, addr string, key gossh.Signer, term string) *sshSession {
	t.Helper()
	c, err := gossh.Dial("tcp", addr, clientConfig(gossh.PublicKeys(key)))
	if err != nil {
		t.Fatal(err)
	}
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty(term, 30, 110, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	in, _ := sess.StdinPipe()
	stdout, _ := sess.StdoutPipe()
	s := &sshSession{client: c, sess: sess, in: in, out: &syncBuffer{}, done: make(chan struct{})}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		buf := make([]byte, 32<<10)
		answered := false
		for {
			n, err := stdout.Read(buf)
			if n > 0 {
				s.out.Write(buf[:n])
				if !answered && strings.Contains(s.out.String(), "\x1b]11;?") {
					answered = true
					in.Write([]byte("\x1b]11;rgb:0000/0000/0000\x07\x1b[?62;22c"))
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return s
}

func (s *sshSession) close() {
	s.sess.Close()
	s.client.Close()
	<-s.done
}

func (s *sshSession) waitFor(t *testing.T, d time.Duration, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		out := s.out.String()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(out, w)
		}
		if ok {
			return out
		}
		if time.Now().After(deadline) {
			plain := ansi.Strip(out)
			t.Fatalf("screen lacks %q after %v; the last of it:\n%s", want, d, plain[max(0, len(plain)-2000):])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeShowsDashboard(t *testing.T) {
	key := newKey(t)
	srv, addr := testServer(t, true, key)
	s := dial(t, addr, key)
	defer s.close()
	s.waitFor(t, 10*time.Second, "fmnist", "Runs", "Table", "Focus", "0 runs")
	// Read-only: n is refused with a status line.
	s.in.Write([]byte("n"))
	s.waitFor(t, 5*time.Second, "read-only: starting runs is disabled")
	s.in.Write([]byte("e"))
	s.waitFor(t, 5*time.Second, "read-only: exporting is disabled")
	log := srv.log.(*syncBuffer).String()
	if !strings.Contains(log, "accepted key SHA256:") || !strings.Contains(log, "session opened") {
		t.Errorf("log:\n%s", log)
	}
	// Each session has its own colours and size.
	if !strings.Contains(s.out.String(), "\x1b[38;5;") {
		t.Error("an xterm-256color session got no 256-colour codes")
	}
	plain := dialTerm(t, addr, key, "dumb")
	out := plain.waitFor(t, 10*time.Second, "fmnist", "[Runs]", "Table", "Focus")
	if strings.Contains(out, "\x1b[38;") || strings.Contains(out, "\x1b[48;") || strings.Contains(out, "\x1b[1m") {
		t.Errorf("a dumb terminal got colours: %q", out)
	}
	plain.sess.WindowChange(10, 40)
	plain.waitFor(t, 5*time.Second, "terminal too small (need 80x24")
	plain.close()
	if strings.Contains(s.out.String(), "too small") {
		t.Error("a resize of one session reached another")
	}
	// q ends the session, and only it.
	s.in.Write([]byte("q"))
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("q did not end the session")
	}
	for deadline := time.Now().Add(5 * time.Second); srv.sessionCount() != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("session still registered")
		}
	}
}

func TestServeRefusesOthers(t *testing.T) {
	key := newKey(t)
	srv, addr := testServer(t, false, key)
	cases := map[string]gossh.AuthMethod{
		"unknown key":          gossh.PublicKeys(newKey(t)),
		"password":             gossh.Password("hunter2"),
		"keyboard-interactive": gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return nil, nil }),
	}
	for name, auth := range cases {
		_, err := gossh.Dial("tcp", addr, clientConfig(auth))
		if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
			t.Errorf("%s: err %v", name, err)
		}
		t.Logf("%s refused: %v", name, err)
	}
	if _, err := gossh.Dial("tcp", addr, clientConfig()); err == nil {
		t.Error("no-auth client accepted")
	}
	log := srv.log.(*syncBuffer).String()
	if !strings.Contains(log, "refused key SHA256:") || !strings.Contains(log, "refused connection from 127.0.0.1") {
		t.Errorf("log:\n%s", log)
	}
	t.Logf("server log:\n%s", log)
}

// TestServeRereadsAuthorizedKeys: a key added to the file gets in and a key
// removed from it is refused, at the next login and without a restart; a
// broken file refuses everyone until it is fixed.
func TestServeRereadsAuthorizedKeys(t *testing.T) {
	a, b := newKey(t), newKey(t)
	srv, addr := testServer(t, false, a)
	login := func(k gossh.Signer) error {
		c, err := gossh.Dial("tcp", addr, clientConfig(gossh.PublicKeys(k)))
		if err == nil {
			c.Close()
		}
		return err
	}
	write := func(content []byte) {
		t.Helper()
		// A new size or modification time is what tells the server the file
		// changed; step the time so that a fast rewrite is seen too.
		if err := os.WriteFile(srv.cfg.authorizedKeys, content, 0o600); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Duration(len(content)+1) * time.Second)
		os.Chtimes(srv.cfg.authorizedKeys, later, later)
	}
	if login(a) != nil || login(b) == nil {
		t.Fatalf("at start: a %v, b %v", login(a), login(b))
	}
	write(append(gossh.MarshalAuthorizedKey(a.PublicKey()), gossh.MarshalAuthorizedKey(b.PublicKey())...))
	if err := login(b); err != nil {
		t.Errorf("b added: %v", err)
	}
	write(gossh.MarshalAuthorizedKey(b.PublicKey()))
	if login(a) == nil {
		t.Error("a removed, still let in")
	}
	if err := login(b); err != nil {
		t.Errorf("b kept: %v", err)
	}
	write([]byte("ssh-ed25519 not-base64!\n"))
	if login(b) == nil {
		t.Error("broken file: b let in")
	}
	write(gossh.MarshalAuthorizedKey(b.PublicKey()))
	if err := login(b); err != nil {
		t.Errorf("file fixed: %v", err)
	}
	log := srv.log.(*syncBuffer).String()
	if !strings.Contains(log, "refusing every key until it is fixed") || !strings.Contains(log, "read "+srv.cfg.authorizedKeys+" again: 1 authorized key") {
		t.Errorf("log:\n%s", log)
	}
}

func TestServeNeedsAuthorizedKeys(t *testing.T) {
	dir := t.TempDir()
	ak := filepath.Join(dir, "authorized_keys")
	os.WriteFile(ak, []byte("# nobody yet\n\n"), 0o600)
	_, stderr, code := fmnist(t, "serve", "--authorized-keys", ak, "--host-key", filepath.Join(dir, "hk"), "--runs", filepath.Join(dir, "runs"), "--listen", "127.0.0.1:0")
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "no authorized keys in") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = fmnist(t, "serve", "--authorized-keys", filepath.Join(dir, "missing"), "--host-key", filepath.Join(dir, "hk"), "--runs", filepath.Join(dir, "runs"))
	if code != 1 || !strings.Contains(stderr, "no such file") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	t.Logf("refusals: %s", stderr)
}

func TestServeHostKeyKept(t *testing.T) {
	key := newKey(t)
	dir := t.TempDir()
	ak := filepath.Join(dir, "authorized_keys")
	os.WriteFile(ak, gossh.MarshalAuthorizedKey(key.PublicKey()), 0o600)
	hk := filepath.Join(dir, "sub", "host_key")
	var seen []string
	for i := 0; i < 2; i++ {
		cfg := serveConfig{listen: "127.0.0.1:0", authorizedKeys: ak, hostKey: hk, set: dashSettings{runsDir: dir}}
		s, err := newServer(cfg, &syncBuffer{})
		if err != nil {
			t.Fatal(err)
		}
		s.start(context.Background())
		var got gossh.PublicKey
		cc := clientConfig(gossh.PublicKeys(key))
		cc.HostKeyCallback = func(_ string, _ net.Addr, k gossh.PublicKey) error { got = k; return nil }
		c, err := gossh.Dial("tcp", s.ln.Addr().String(), cc)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		s.stop()
		seen = append(seen, gossh.FingerprintSHA256(got))
		fi, err := os.Stat(hk)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("host key %v %v", fi.Mode(), err)
		}
	}
	if seen[0] != seen[1] || !strings.HasPrefix(seen[0], "SHA256:") {
		t.Errorf("host key changed across restarts: %v", seen)
	}
}

// epochsWithoutTime is a run's epochs with the timings zeroed.
func epochsWithoutTime(t *testing.T, dir, id string) []trainer.EpochStats {
	t.Helper()
	r, err := results.LoadRun(filepath.Join(dir, id))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != trainer.StatusDone {
		t.Fatalf("run %s is %s", id, r.Status)
	}
	for i := range r.Epochs {
		r.Epochs[i].TrainSeconds, r.Epochs[i].EvalSeconds = 0, 0
	}
	return r.Epochs
}

func TestServeManySessionsDuringTraining(t *testing.T) {
	train, test := trainertest.Load(t, 1024, 200)
	const epochs = 2
	job := trainer.Job{ID: "CNN2-headless", Model: "CNN2", Epochs: epochs, Seed: 5}

	// The reference: a headless run, recorded as `fmnist train` does.
	ref := t.TempDir()
	rec := results.NewRecorder(ref)
	for ev := range trainer.Start(context.Background(), trainer.Config{Train: train, Test: test, Parallel: 1}, []trainer.Job{job}) {
		if err := rec.Handle(ev); err != nil {
			t.Fatal(err)
		}
	}
	want := epochsWithoutTime(t, ref, job.ID)

	runtime.GC()
	base := runtime.NumGoroutine()
	key := newKey(t)
	srv, addr := testServerData(t, false, train, test, key)
	job.ID = "CNN2-served"
	if _, err := srv.d.hub.Submit(job); err != nil {
		t.Fatal(err)
	}
	// Ten sessions come and go while it trains; half stay to the end.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var stayers []*sshSession
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 50 * time.Millisecond)
			s := dial(t, addr, key)
			s.waitFor(t, 20*time.Second, "fmnist", "Runs", "CNN2")
			if i%2 == 0 {
				s.close()
				return
			}
			mu.Lock()
			stayers = append(stayers, s)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	// A late session sees the run already in progress (or done).
	late := dial(t, addr, key)
	late.waitFor(t, 20*time.Second, "CNN2", "1 run")
	late.close()
	deadline := time.Now().Add(5 * time.Minute) // a hang, not a speed: -race on a loaded machine
	for srv.d.Active() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the run did not finish")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, s := range stayers {
		s.waitFor(t, 10*time.Second, "done")
	}
	screen := stayers[0].out.String()
	for _, s := range stayers {
		s.close()
	}
	got := epochsWithoutTime(t, srv.cfg.set.runsDir, job.ID)
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Errorf("served run differs from headless:\n%s\n%s", gb, wb)
	}
	for deadline := time.Now().Add(5 * time.Second); srv.sessionCount() != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still registered", srv.sessionCount())
		}
	}
	t.Logf("last screen bytes of a session: %d; log:\n%s", len(screen), srv.log.(*syncBuffer).String())

	srv.stop()
	// Goroutines come back to the baseline (status-line timers of the
	// sessions' programs may take up to 10 s to fire).
	deadline = time.Now().Add(20 * time.Second)
	for {
		runtime.GC()
		n := runtime.NumGoroutine()
		if n <= base+3 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines %d, baseline %d:\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestServeSIGTERM: the real binary stops cleanly on SIGTERM; the open
// session gets a last line and is closed; no run was active, so exit 0.
func TestServeSIGTERM(t *testing.T) {
	key := newKey(t)
	dir := t.TempDir()
	ak := filepath.Join(dir, "authorized_keys")
	os.WriteFile(ak, gossh.MarshalAuthorizedKey(key.PublicKey()), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--listen", addr, "--authorized-keys", ak, "--host-key", filepath.Join(dir, "hk"), "--runs", filepath.Join(dir, "runs"))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "listening on"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no start: %s", stderr.String())
		}
	}
	s := dial(t, addr, key)
	s.waitFor(t, 10*time.Second, "fmnist", "Runs")
	cmd.Process.Signal(syscall.SIGTERM)
	s.waitFor(t, 10*time.Second, "fmnist serve is shutting down")
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("session not closed")
	}
	err = cmd.Wait()
	if err != nil {
		t.Fatalf("exit: %v; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "session closed") || !strings.Contains(stderr.String(), "server shutting down") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	out := s.out.String()
	t.Logf("last line: %q\nstderr:\n%s", out[strings.LastIndex(out, "fmnist serve is"):], stderr.String())
}

// TestServeStopCancelsRuns: stopping the server with a run training records
// it as cancelled and tells the sessions so.
func TestServeStopCancelsRuns(t *testing.T) {
	train, test := trainertest.Load(t, 1024, 200)
	key := newKey(t)
	srv, addr := testServerData(t, false, train, test, key)
	ids, err := srv.d.hub.Submit(trainer.Job{Model: "CNN2", Epochs: 50, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := dial(t, addr, key)
	s.waitFor(t, 20*time.Second, "epoch 1/50")
	// Quitting a session while the run trains asks nothing and leaves it be.
	q := dial(t, addr, key)
	q.waitFor(t, 10*time.Second, "CNN2", "1 active")
	q.in.Write([]byte("q"))
	select {
	case <-q.done:
	case <-time.After(5 * time.Second):
		t.Fatal("q did not end the session at once")
	}
	q.close()
	if n := srv.d.Active(); n != 1 {
		t.Fatalf("%d runs active after a session quit, want 1", n)
	}
	if !srv.stop() {
		t.Error("stop did not report cancelling")
	}
	s.waitFor(t, 10*time.Second, "1 active run cancelled")
	<-s.done
	r, err := results.LoadRun(filepath.Join(srv.cfg.set.runsDir, ids[0]))
	if err != nil || r.Status != trainer.StatusCancelled {
		t.Fatalf("record %+v %v", r, err)
	}
}

// A session without a terminal is told it needs one, ends with status 1
// and is logged as refused; it never subscribes.
func TestServeNeedsTerminal(t *testing.T) {
	key := newKey(t)
	srv, addr := testServer(t, false, key)
	c, err := gossh.Dial("tcp", addr, clientConfig(gossh.PublicKeys(key)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.CombinedOutput("")
	var exit *gossh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 1 || !strings.Contains(string(out), "PTY") {
		t.Fatalf("no terminal: %q, %v", out, err)
	}
	if log := srv.log.(*syncBuffer).String(); !strings.Contains(log, "session refused (no terminal)") || strings.Contains(log, "session opened") {
		t.Errorf("log:\n%s", log)
	}
	if n := srv.sessionCount(); n != 0 {
		t.Errorf("%d sessions registered", n)
	}
}
