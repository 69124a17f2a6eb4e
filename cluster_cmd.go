package main

// The commands of runs spread over many machines (package cluster): worker,
// sweep and sync, and the --nats flags of the dashboard and serve.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nkeys"

	"fmnist/cluster"
	"fmnist/hub"
	"fmnist/results"
	"fmnist/trainer"
)

// natsConn is how to reach a cluster's NATS server (url "": no cluster).
type natsConn struct {
	url  string
	auth cluster.Auth
}

// natsFlags declares how to reach a NATS server: --nats URL, and
// --nats-user and --nats-password-file or --nats-nkey; the function
// returned reads them once parsed.
func natsFlags(fs *flag.FlagSet) func() (natsConn, error) {
	url := fs.String("nats", "", "NATS server of the cluster (nats://host:4222)")
	user := fs.String("nats-user", "", "NATS user, if the server wants one")
	pwFile := fs.String("nats-password-file", "", "file holding the NATS user's password")
	seed := fs.String("nats-nkey", "", "file holding this user's NATS nkey seed (SU...), if the server wants nkeys")
	return func() (natsConn, error) {
		c := natsConn{url: *url, auth: cluster.Auth{User: *user, NKeySeedFile: *seed}}
		if *pwFile != "" && *user == "" {
			return c, errors.New("--nats-password-file needs --nats-user")
		}
		if *pwFile != "" {
			b, err := os.ReadFile(*pwFile)
			if err != nil {
				// A missing file, not a wrong flag: exit 1 (flagError).
				return c, exitError{1, fmt.Errorf("nats password: %v", unwrapPathErr(err))}
			}
			c.auth.Password = strings.TrimSpace(string(b))
		}
		if c.auth.User != "" && c.auth.Password == "" {
			return c, errors.New("--nats-user needs --nats-password-file")
		}
		if c.auth.User != "" && *seed != "" {
			return c, errors.New("--nats-user or --nats-nkey, not both")
		}
		return c, nil
	}
}

// flagError is err from reading command cmd's flags, with the command
// named: exit 2, but for a file the flags name that cannot be read (exit 1).
func flagError(cmd string, err error) error {
	code := 2
	var ee exitError
	if errors.As(err, &ee) {
		code, err = ee.code, ee.err
	}
	if cmd != "" {
		err = fmt.Errorf("%s: %v", cmd, err)
	}
	return exitError{code, err}
}

// readNKeys reads a file of public user nkeys (U...), one per line.
func readNKeys(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nats nkeys: %v", unwrapPathErr(err))
	}
	var keys []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			keys = append(keys, l)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("nats nkeys: no key in %s", path)
	}
	return keys, nil
}

// workerCmd is `fmnist worker`.
func workerCmd(fs *flag.FlagSet) runFunc {
	conn := natsFlags(fs)
	data := dataFlag(fs)
	slots := fs.Int("slots", 1, "runs trained at once")
	host, _ := os.Hostname()
	name := fs.String("name", host, "this worker's name, shown with its runs")
	anywhere := fs.Bool("resume-anywhere", false, "resume runs checkpointed on another kind of machine (OpenBLAS kernel, cores): their figures then mix two roundings")
	return func(_ []string, stdout, stderr io.Writer) error {
		c, err := conn()
		if err != nil {
			return flagError("worker", err)
		}
		if c.url == "" {
			return exitError{2, errors.New("worker: --nats URL is required")}
		}
		if *slots < 1 {
			return exitError{2, fmt.Errorf("worker: --slots must be at least 1, got %d", *slots)}
		}
		// A worker without the data set would take jobs only to leave
		// them: it does not start (a worker whose data differs from a
		// job's leaves that job to another).
		if _, _, err := trainer.Load(*data, 1, 1); err != nil {
			return fmt.Errorf("worker: %v", err)
		}
		ctx, stop := signalContext()
		defer stop()
		nc, js, err := cluster.Connect(ctx, c.url, c.auth, "fmnist worker "+*name)
		if err != nil {
			return err
		}
		defer nc.Close()
		logf := func(format string, args ...any) {
			fmt.Fprintf(stderr, "%s fmnist worker %s: %s\n", time.Now().Format("15:04:05"), *name, fmt.Sprintf(format, args...))
		}
		logf("taking jobs from %s, %d at a time", c.url, *slots)
		w := &cluster.Worker{NC: nc, JS: js, Name: *name, DataDir: *data, Slots: *slots, Log: logf, ResumeAnywhere: *anywhere}
		if err := w.Run(ctx); err != nil {
			return fmt.Errorf("worker: %v", err)
		}
		logf("stopped; runs in training are left to other workers, from their last checkpoint")
		return nil
	}
}

// sweepCmd is `fmnist sweep`: the grid of models x seeds, queued.
func sweepCmd(fs *flag.FlagSet) runFunc {
	conn := natsFlags(fs)
	models := fs.String("models", "", "models, comma-separated, or all")
	seeds := fs.String("seeds", "1", "seeds: a list (1,2,5) or a range (1-5)")
	epochs := fs.Int("epochs", 0, "epochs of every run (0: each recipe's own)")
	limitTrain := fs.Int("limit-train", 0, "train on the first N training images (0: all)")
	limitTest := fs.Int("limit-test", 0, "evaluate on the first N test images (0: all)")
	valRecipe := valRecipeFlags(fs)
	data := dataFlag(fs)
	return func(_ []string, stdout, stderr io.Writer) error {
		c, err := conn()
		if err != nil {
			return flagError("sweep", err)
		}
		if c.url == "" {
			return exitError{2, errors.New("sweep: --nats URL is required")}
		}
		if strings.TrimSpace(*models) == "" {
			return exitError{2, errors.New("sweep: --models is required (e.g. CNN2,model5 or all)")}
		}
		names, err := parseModels(*models)
		if err != nil {
			return exitError{2, fmt.Errorf("sweep: %v", err)}
		}
		for _, n := range names {
			if isDetModel(n) {
				return exitError{2, fmt.Errorf("sweep: %s trains on detector scenes made where it trains; train it with fmnist train", n)}
			}
		}
		ss, err := parseSeeds(*seeds)
		if err != nil {
			return exitError{2, fmt.Errorf("sweep: %v", err)}
		}
		if *epochs < 0 || *limitTrain < 0 || *limitTest < 0 {
			return exitError{2, errors.New("sweep: --epochs, --limit-train and --limit-test must not be negative")}
		}
		valN, recipe, err := valRecipe(*limitTrain, *epochs, names)
		if err != nil {
			return exitError{2, fmt.Errorf("sweep: %v", err)}
		}
		var jobs []cluster.Job
		for _, m := range names {
			for _, s := range ss {
				jobs = append(jobs, cluster.Job{ID: cluster.SweepID(m, s, *epochs, *limitTrain, *limitTest) + cluster.SweepSuffix(valN, recipe.Label()),
					Model: m, Epochs: *epochs, Seed: s, LimitTrain: *limitTrain, LimitTest: *limitTest, Val: valN, Recipe: recipe.Name, Set: recipe.Set})
			}
		}
		// The data's fingerprints, when this machine has the data set:
		// workers with other data refuse the jobs.
		if train, test, err := trainer.Load(*data, *limitTrain, *limitTest); err == nil {
			for i := range jobs {
				jobs[i].TrainHash, jobs[i].TestHash = trainer.DataHash(train), trainer.DataHash(test)
			}
		}
		ctx, stop := signalContext()
		defer stop()
		nc, js, err := cluster.Connect(ctx, c.url, c.auth, "fmnist sweep")
		if err != nil {
			return err
		}
		defer nc.Close()
		added, err := cluster.Queue(ctx, js, jobs)
		isNew := map[string]bool{}
		for _, id := range added {
			isNew[id] = true
		}
		for _, j := range jobs {
			if isNew[j.ID] {
				fmt.Fprintf(stdout, "queued  %s\n", j.ID)
			} else if err == nil {
				fmt.Fprintf(stdout, "already %s\n", j.ID)
			}
		}
		if err != nil {
			return fmt.Errorf("sweep: %v (%d of %d queued)", err, len(added), len(jobs))
		}
		fmt.Fprintf(stdout, "%d of %d runs queued (the others were already)\n", len(added), len(jobs))
		return nil
	}
}

// parseSeeds is --seeds: "1-5" or "1,2,7".
func parseSeeds(s string) ([]int64, error) {
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		a, err1 := strconv.ParseInt(lo, 10, 64)
		b, err2 := strconv.ParseInt(hi, 10, 64)
		if err1 != nil || err2 != nil || a < 1 || b < a || b-a >= 1000 {
			return nil, fmt.Errorf("--seeds %q: want a range like 1-5 (at most 1000 seeds, from 1)", s)
		}
		var out []int64
		for v := a; v <= b; v++ {
			out = append(out, v)
		}
		return out, nil
	}
	var out []int64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("--seeds %q: want positive numbers like 1,2,5 or a range like 1-5", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// syncCmd is `fmnist sync`: the cluster's run records and model files into
// a local runs directory, up to now.
func syncCmd(fs *flag.FlagSet) runFunc {
	conn := natsFlags(fs)
	runsDir := runsFlag(fs)
	return func(_ []string, stdout, stderr io.Writer) error {
		c, err := conn()
		if err != nil {
			return flagError("sync", err)
		}
		if c.url == "" {
			return exitError{2, errors.New("sync: --nats URL is required")}
		}
		if err := results.CheckWritable(*runsDir); err != nil {
			return fmt.Errorf("sync: %v", err)
		}
		ctx, stop := signalContext()
		defer stop()
		nc, js, err := cluster.Connect(ctx, c.url, c.auth, "fmnist sync")
		if err != nil {
			return err
		}
		defer nc.Close()
		h := hub.New(ctx, hub.Settings{RunsDir: *runsDir})
		evs, err := cluster.EventsUntilNow(ctx, js)
		if err != nil {
			return fmt.Errorf("sync: %v", err)
		}
		h.Attach(evs)
		h.WaitAttached()
		summarise(h, stdout, stderr)
		if err := h.Outcome().RecordErr; err != nil {
			return err
		}
		fmt.Fprintf(stdout, "synced into %s\n", filepath.Clean(*runsDir))
		return nil
	}
}

// natsKeyCmd is `fmnist nats-key`: a new NATS user nkey, its seed written
// to a file only its owner reads, its public key printed (for the hub's
// --nats-nkeys file).
func natsKeyCmd(fs *flag.FlagSet) runFunc {
	out := fs.String("o", "", "file to write the seed to (created, mode 0600; never overwritten)")
	return func(_ []string, stdout, stderr io.Writer) error {
		if *out == "" {
			return exitError{2, errors.New("nats-key: -o FILE is required")}
		}
		kp, err := nkeys.CreateUser()
		if err != nil {
			return fmt.Errorf("nats-key: %v", err)
		}
		seed, _ := kp.Seed()
		pub, _ := kp.PublicKey()
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("nats-key: %v", unwrapPathErr(err))
		}
		if _, err := f.Write(append(seed, '\n')); err != nil {
			f.Close()
			os.Remove(*out)
			return fmt.Errorf("nats-key: %v", err)
		}
		if err := f.Close(); err != nil {
			os.Remove(*out)
			return fmt.Errorf("nats-key: %v", err)
		}
		fmt.Fprintln(stdout, pub)
		return nil
	}
}
