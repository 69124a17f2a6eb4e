package main

// `fmnist serve`: one long-lived process trains, and anyone whose public key
// is authorised opens the same live dashboard over SSH. The hub owns the
// training; each session subscribes its own tui.Feed to it, starting from
// the hub's snapshot of the runs, and Push never blocks, so a slow session
// never slows training. A session is a chain of wish middlewares:
// our lifecycle (shutdown, the log, the subscription), activeterm (a
// terminal is required) and wish's bubbletea program handler around the
// same dashboard program the terminal runs.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/charmbracelet/wish/activeterm"
	bm "github.com/charmbracelet/wish/bubbletea"
	"github.com/muesli/termenv"
	gossh "golang.org/x/crypto/ssh"

	"fmnist/cluster"
	"fmnist/results"
	"fmnist/tui"
)

// serveConfig are the settings of an SSH dashboard server.
type serveConfig struct {
	listen         string
	authorizedKeys string
	hostKey        string
	readOnly       bool
	set            dashSettings
	refresh        time.Duration // re-read the runs directory (0: never)
}

// defaultHostKey is where the server's host key is kept unless --host-key
// says otherwise: ~/.config/fmnist/ssh_host_ed25519.
func defaultHostKey() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ".fmnist_ssh_host_ed25519"
	}
	return filepath.Join(dir, "fmnist", "ssh_host_ed25519")
}

func defaultAuthorizedKeys() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return "authorized_keys"
	}
	return filepath.Join(home, ".ssh", "authorized_keys")
}

// loadAuthorizedKeys reads an authorized_keys file; it fails if the file
// holds no key.
func loadAuthorizedKeys(path string) ([]gossh.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %v", unwrapPathErr(err))
	}
	var keys []gossh.PublicKey
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("authorized keys %s line %d: %v", path, n+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no authorized keys in %s (add at least one public key, one per line)", path)
	}
	return keys, nil
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}

// server is a running `fmnist serve`.
type server struct {
	cfg serveConfig
	log io.Writer
	d   *dashboard
	ssh *ssh.Server
	ln  net.Listener

	// keys are the authorized keys, read again (like sshd does) when the
	// file's size or modification time changes; keysErr is set while the file
	// cannot be read or parsed, and then every key is refused.
	keysMu   sync.Mutex
	keys     []gossh.PublicKey
	keysStat os.FileInfo
	keysErr  error

	mu    sync.Mutex
	feeds map[*tui.Feed]bool // the live sessions' feeds

	logMu     sync.Mutex
	stopping  chan struct{} // closed when the server shuts down
	stopOnce  sync.Once
	cancelled bool // set by stop
	// activeAtStop is the number of runs active when stop began.
	activeAtStop int
	sessions     sync.WaitGroup
}

// newServer checks the keys, creates (or reads) the host key and starts
// listening; nothing trains yet.
func newServer(cfg serveConfig, logw io.Writer) (*server, error) {
	keys, err := loadAuthorizedKeys(cfg.authorizedKeys)
	if err != nil {
		return nil, err
	}
	fi, _ := os.Stat(cfg.authorizedKeys)
	if err := os.MkdirAll(filepath.Dir(cfg.hostKey), 0o700); err != nil {
		return nil, fmt.Errorf("host key: %v", err)
	}
	s := &server{cfg: cfg, log: logw, keys: keys, keysStat: fi, feeds: map[*tui.Feed]bool{}, stopping: make(chan struct{})}
	srv, err := wish.NewServer(
		wish.WithHostKeyPath(cfg.hostKey),
		wish.WithPublicKeyAuth(s.authorize),
		// The last runs first.
		wish.WithMiddleware(
			bm.MiddlewareWithProgramHandler(s.program, termenv.Ascii),
			activeterm.Middleware(),
			s.lifecycle,
		),
		func(srv *ssh.Server) error {
			srv.ConnectionFailedCallback = func(c net.Conn, err error) {
				s.logf("refused connection from %s: %v", c.RemoteAddr(), err)
			}
			return nil
		},
	)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %v", cfg.hostKey, err)
	}
	if fi, err := os.Stat(cfg.hostKey); err == nil && fi.Mode().Perm()&0o077 != 0 {
		s.logf("warning: host key %s is readable by others (mode %v); chmod 600 it", cfg.hostKey, fi.Mode().Perm())
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return nil, err
	}
	s.ssh, s.ln = srv, ln
	return s, nil
}

func (s *server) logf(format string, args ...any) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.log, "%s fmnist serve: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// currentKeys returns the authorized keys, reading the file again if it has
// changed since it was last read.
func (s *server) currentKeys() ([]gossh.PublicKey, error) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	fi, err := os.Stat(s.cfg.authorizedKeys)
	changed := err != nil || s.keysStat == nil || fi.Size() != s.keysStat.Size() || !fi.ModTime().Equal(s.keysStat.ModTime())
	if !changed {
		return s.keys, s.keysErr
	}
	keys, err := loadAuthorizedKeys(s.cfg.authorizedKeys)
	if err != nil {
		if s.keysErr == nil || s.keysErr.Error() != err.Error() {
			s.logf("%v; refusing every key until it is fixed", err)
		}
		s.keys, s.keysStat, s.keysErr = nil, nil, err
		return nil, err
	}
	if s.keysErr != nil || s.keysStat != nil {
		s.logf("read %s again: %s", s.cfg.authorizedKeys, count(len(keys), "authorized key"))
	}
	s.keys, s.keysStat, s.keysErr = keys, fi, nil
	return keys, nil
}

// authorize accepts the keys of the authorized-keys file and nothing else.
// The file is read again when it changes, so adding or removing a key takes
// effect at the next login, without restarting the server.
func (s *server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	fp := gossh.FingerprintSHA256(key)
	keys, err := s.currentKeys()
	if err != nil {
		s.logf("refused key %s for user %q from %s: %v", fp, ctx.User(), ctx.RemoteAddr(), err)
		return false
	}
	for _, k := range keys {
		if ssh.KeysEqual(key, k) {
			s.logf("accepted key %s for user %q from %s", fp, ctx.User(), ctx.RemoteAddr())
			return true
		}
	}
	s.logf("refused key %s for user %q from %s: not authorized", fp, ctx.User(), ctx.RemoteAddr())
	return false
}

// join subscribes a new session's feed to the hub and returns the runs of
// this process so far and the evaluations of best models made so far.
func (s *server) join(f *tui.Feed) ([]tui.LiveRun, []*results.BestEval) {
	s.mu.Lock()
	s.feeds[f] = true
	s.mu.Unlock()
	return subscribe(s.d.hub, f)
}

func (s *server) leave(f *tui.Feed) {
	s.d.hub.Unsubscribe(feedSub{f})
	s.mu.Lock()
	delete(s.feeds, f)
	s.mu.Unlock()
	f.Close()
}

// sessionCount is the number of live sessions.
func (s *server) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.feeds)
}

// readOnlyController lists the models but starts and cancels nothing.
type readOnlyController struct{ d *dashboard }

func (c readOnlyController) Models() []tui.ModelInfo { return c.d.Models() }
func (c readOnlyController) Start(string, int) (string, error) {
	return "", errors.New("read-only server")
}
func (c readOnlyController) Cancel(string) bool { return false }
func (c readOnlyController) Active() int        { return c.d.Active() }

// BestEval is allowed: evaluating a saved model changes nothing.
func (c readOnlyController) BestEval(id string, epoch int) { c.d.BestEval(id, epoch) }

// sessionState is what the lifecycle middleware and the program handler
// of one session share (through the session's context).
type sessionState struct {
	feed   *tui.Feed
	mu     sync.Mutex
	screen *tui.Screen
	prog   *tea.Program
	// stopped: the server is shutting down (the program was told to quit).
	stopped bool
}

type sessionKey struct{}

// stop makes the session's program quit, now or as soon as it exists.
func (st *sessionState) stop() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.stopped = true
	if st.prog != nil {
		st.prog.Quit()
	}
}

// lifecycle is the middleware around a session's dashboard: it turns
// sessions away while the server stops, subscribes the session to the hub,
// tells the session when the server stops, restores its screen and logs
// who came, for how long and why they left. It never touches training.
func (s *server) lifecycle(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		s.sessions.Add(1)
		defer s.sessions.Done()
		who := fmt.Sprintf("user %q from %s", sess.User(), sess.RemoteAddr())
		if k := sess.PublicKey(); k != nil {
			who = fmt.Sprintf("key %s, %s", gossh.FingerprintSHA256(k), who)
		}
		select {
		case <-s.stopping:
			fmt.Fprintln(sess, "fmnist serve is shutting down")
			sess.Exit(1)
			return
		default:
		}
		pty, _, ok := sess.Pty()
		if !ok {
			s.logf("session refused (no terminal): %s", who)
			next(sess) // activeterm says so and ends it
			return
		}
		s.logf("session opened: %s (%dx%d %s)", who, pty.Window.Width, pty.Window.Height, pty.Term)
		start := time.Now()
		st := &sessionState{feed: tui.NewFeed()}
		defer s.leave(st.feed)
		sess.Context().SetValue(sessionKey{}, st)
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-s.stopping:
				st.stop()
			case <-done:
			}
		}()

		next(sess) // the dashboard, until it quits

		st.mu.Lock()
		stopped, screen := st.stopped, st.screen
		st.mu.Unlock()
		if screen != nil {
			screen.Close()
		}
		reason := "quit"
		switch {
		case stopped:
			reason = "server shutting down"
			if n := s.activeAtStop; n > 0 {
				fmt.Fprintf(sess, "fmnist serve is shutting down: %s cancelled; finished epochs are kept in %s\r\n", count(n, "active run"), s.cfg.set.runsDir)
			} else {
				fmt.Fprintf(sess, "fmnist serve is shutting down.\r\n")
			}
			sess.Exit(0)
		case sess.Context().Err() != nil:
			reason = "connection closed"
		default:
			sess.Exit(0)
		}
		s.logf("session closed: %s after %s (%s)", who, time.Since(start).Round(time.Second), reason)
	}
}

// program is the bubbletea middleware's program handler: the dashboard on
// the session's terminal, fed by the hub through the session's feed.
func (s *server) program(sess ssh.Session) *tea.Program {
	st, _ := sess.Context().Value(sessionKey{}).(*sessionState)
	if st == nil {
		return nil
	}
	pty, _, _ := sess.Pty()
	past, _, err := results.LoadRuns(s.cfg.set.runsDir)
	if err != nil {
		past = nil
	}
	live, evals := s.join(st.feed)
	var ctrl tui.Controller = s.d
	if s.cfg.readOnly {
		ctrl = readOnlyController{s.d}
	}
	m := tui.New(tui.Options{RunsDir: s.cfg.set.runsDir, Runs: past, Live: live, Evals: evals, Feed: st.feed, Controller: ctrl,
		Refresh: s.cfg.refresh, Renderer: bm.MakeRenderer(sess), Shared: true, ReadOnly: s.cfg.readOnly})
	screen := tui.NewScreen(m, sess)
	// The screen draws by itself (tui.Screen): no renderer of Bubble Tea's.
	p := tea.NewProgram(screen, tea.WithoutRenderer(), tea.WithInput(sess), tea.WithOutput(sess), tea.WithoutSignalHandler())
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stopped {
		return nil
	}
	screen.Open()
	st.screen, st.prog = screen, p
	// Without a renderer Bubble Tea does not ask for the size; the
	// middleware sends the later changes.
	go p.Send(tea.WindowSizeMsg{Width: pty.Window.Width, Height: pty.Window.Height})
	return p
}

// start creates the hub and serves SSH connections in the background.
func (s *server) start(ctx context.Context) <-chan error {
	s.d = newController(ctx, s.cfg.set)
	errc := make(chan error, 1)
	go func() {
		err := s.ssh.Serve(s.ln)
		if errors.Is(err, ssh.ErrServerClosed) {
			err = nil
		}
		errc <- err
	}()
	return errc
}

// stop tells every session the server is going, cancels the runs still
// active (recorded as cancelled), waits for the records and closes the
// connections. It reports whether runs were cancelled. Calls after the
// first wait for it and report the same.
func (s *server) stop() bool {
	s.stopOnce.Do(func() { s.cancelled = s.stopNow() })
	return s.cancelled
}

func (s *server) stopNow() bool {
	s.activeAtStop = s.d.Active()
	close(s.stopping) // sessions say goodbye and end
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	s.ssh.Shutdown(expired) // closes the listener at once; no new sessions
	cancelled := s.d.finish(true)
	waited := make(chan struct{})
	go func() { s.sessions.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
	}
	s.ssh.Close() // the connections left
	return cancelled
}

// serveCmd is `fmnist serve`.
func serveCmd(fs *flag.FlagSet) runFunc {
	listen := fs.String("listen", "127.0.0.1:23234", "address to listen on (loopback by default)")
	authKeys := fs.String("authorized-keys", defaultAuthorizedKeys(), "public keys allowed in, OpenSSH authorized_keys format")
	hostKey := fs.String("host-key", defaultHostKey(), "the server's ed25519 host key, created (mode 0600) if missing")
	settings := dashFlags(fs)
	readOnly := fs.Bool("read-only", false, "sessions watch only: no starting (n) or cancelling (x) runs")
	natsListen := fs.String("nats-listen", "", "also run the cluster's NATS server (JetStream, kept in RUNS/.nats) on this address, e.g. 127.0.0.1:4222")
	natsNKeys := fs.String("nats-nkeys", "", "with --nats-listen: a file of the public nkeys (U...) let in, one per line (or --nats-user and --nats-password-file)")
	return func(_ []string, stdout, stderr io.Writer) error {
		set, err := settings()
		if err != nil {
			return flagError("serve", err)
		}
		if err := results.CheckWritable(set.runsDir); err != nil {
			return err
		}
		if *natsNKeys != "" && *natsListen == "" {
			return exitError{2, errors.New("serve: --nats-nkeys needs --nats-listen")}
		}
		// The SSH side's keys before the NATS server starts.
		if _, err := loadAuthorizedKeys(*authKeys); err != nil {
			return fmt.Errorf("serve: %v", err)
		}
		if *natsListen != "" {
			keys, err := readNKeys(*natsNKeys)
			if err != nil {
				return fmt.Errorf("serve: %v", err)
			}
			if len(keys) > 0 && set.nats.auth.NKeySeedFile == "" && set.nats.url == "" {
				return exitError{2, errors.New("serve: with --nats-nkeys, give this process's own seed with --nats-nkey (its key among them)")}
			}
			ns, err := cluster.StartServer(cluster.ServerConfig{Listen: *natsListen, StoreDir: filepath.Join(set.runsDir, ".nats"),
				User: set.nats.auth.User, Password: set.nats.auth.Password, NKeys: keys})
			if err != nil {
				return fmt.Errorf("serve: %v", err)
			}
			defer ns.Shutdown()
			if set.nats.url == "" {
				set.nats.url = ns.ClientURL()
			}
			host, _, _ := net.SplitHostPort(*natsListen)
			addr := net.JoinHostPort(host, portOf(ns.Addr())) // the port taken, for port 0
			fmt.Fprintf(stderr, "%s fmnist serve: NATS with JetStream on %s (workers: %s)\n", time.Now().Format("15:04:05"), addr,
				workerHint(addr, set.nats.auth, len(keys) > 0))
		}
		attach, disconnect, err := joinCluster(context.Background(), &set)
		if err != nil {
			return fmt.Errorf("serve: %v", err)
		}
		defer disconnect()
		cfg := serveConfig{listen: *listen, authorizedKeys: *authKeys, hostKey: *hostKey, readOnly: *readOnly, refresh: 5 * time.Second, set: set}
		s, err := newServer(cfg, stderr)
		if err != nil {
			return fmt.Errorf("serve: %v", err)
		}
		sigCtx, stopSig := signalContext()
		defer stopSig()
		nkeys := len(s.keys) // before start: no login reads the file yet
		errc := s.start(context.Background())
		if err := attach(s.d.hub); err != nil {
			s.stop()
			return fmt.Errorf("serve: %v", err)
		}
		mode := ""
		if cfg.readOnly {
			mode = ", read-only"
		}
		s.logf("listening on %s (host key %s, %s from %s%s); ssh -p %s %s",
			s.ln.Addr(), cfg.hostKey, count(nkeys, "authorized key"), cfg.authorizedKeys, mode, portOf(s.ln.Addr()), hostOf(s.ln.Addr()))
		var serveErr error
		select {
		case <-sigCtx.Done():
			s.logf("stopping: %s open, %s active", count(s.sessionCount(), "session"), count(s.d.Active(), "run"))
		case serveErr = <-errc:
		}
		cancelled := s.stop()
		summarise(s.d.hub, stdout, stderr)
		if serveErr != nil {
			return fmt.Errorf("serve: %v", serveErr)
		}
		var stopped error
		if cancelled {
			stopped = errCancelled("stopped; active runs cancelled, finished epochs are kept in " + cfg.set.runsDir)
		}
		if err := outcome(s.d.hub, stopped); err != nil {
			return err
		}
		s.logf("stopped")
		return nil
	}
}

// workerHint is the command a worker elsewhere runs to join the NATS
// server listening on listen: an address it can reach (this machine's name
// for 0.0.0.0 or ::) and the credentials' flags, with FILE for the files.
func workerHint(listen string, auth cluster.Auth, nkeys bool) string {
	host, port, _ := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		}
	}
	hint := "fmnist worker --nats nats://" + net.JoinHostPort(host, port)
	switch {
	case nkeys:
		hint += " --nats-nkey FILE"
	case auth.User != "":
		hint += " --nats-user " + auth.User + " --nats-password-file FILE"
	}
	return hint
}

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

func hostOf(a net.Addr) string {
	h, _, _ := net.SplitHostPort(a.String())
	return h
}

// count is "1 run", "2 runs".
func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
