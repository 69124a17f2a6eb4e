// Command fmnist trains and compares small convolutional networks on
// Fashion-MNIST from the terminal. This file is the command line only:
// subcommands, flags and terminal detection; the work lives in the packages.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"fmnist/archs"
	"fmnist/results"
	"fmnist/trainer"
	"fmnist/tui"
)

const usage = `fmnist — train and compare small CNNs on Fashion-MNIST

Usage:
  fmnist archs [--format text|json]        the six architectures, parameters and recipes
  fmnist train [flags]                     train models with the seed's recipes
  fmnist table [--runs DIR] [--format md|csv|json] [-o FILE]
                                           compare recorded runs
  fmnist bench [--models ...] [--limit-train N] [--json]
                                           training and inference speed per model
` + resultsUsage + detectUsage + serveUsage + `
Run 'fmnist COMMAND -h' for a command's flags.
`

// exitError carries an exit code through to main.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	code := 1
	var ee exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if ee.err != errSilent {
		fmt.Fprintf(os.Stderr, "fmnist: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	}
	os.Exit(code)
}

// errSilent ends the program with a code and no further message.
var errSilent = errors.New("")

func run(args []string, stdout, stderr io.Writer) error {
	if isDashboardArgs(args) {
		return cmdDashboard(args, stdout, stderr) // `fmnist [--runs DIR]`: the dashboard (usage without a terminal)
	}
	switch args[0] {
	case "archs":
		return cmdArchs(args[1:], stdout)
	case "train":
		return cmdTrain(args[1:], stdout, stderr)
	case "table":
		return cmdTable(args[1:], stdout)
	case "bench":
		return cmdBench(args[1:], stdout)
	case "eval":
		return cmdEval(args[1:], stdout)
	case "predict":
		return cmdPredict(args[1:], stdout)
	case "report":
		return cmdReport(args[1:], stdout, stderr)
	case "detect":
		return cmdDetect(args[1:], stdout, stderr)
	case "synth-video":
		return cmdSynthVideo(args[1:], stdout)
	case "record":
		return cmdRecord(args[1:], stdout)
	case "serve":
		return cmdServe(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return exitError{2, fmt.Errorf("unknown command %q (want archs, train, table, bench, eval, predict, report, detect, synth-video, record or serve; see 'fmnist help')", args[0])}
}

// parseFlags parses a subcommand's flags; -h prints them and ends cleanly.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintf(stdout, "Usage of fmnist %s:\n", fs.Name())
			fs.PrintDefaults()
			return exitError{0, errSilent}
		}
		return exitError{2, fmt.Errorf("%s: %v", fs.Name(), err)}
	}
	if fs.NArg() > 0 {
		return exitError{2, fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

func cmdArchs(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("archs", flag.ContinueOnError)
	format := fs.String("format", "text", "output format: text or json")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	type archJSON struct {
		Name   string       `json:"name"`
		Title  string       `json:"title"`
		Params int          `json:"params"`
		InSeed bool         `json:"in_seed_list"`
		Recipe archs.Recipe `json:"recipe"`
		Layers []string     `json:"layers"`
	}
	var list []archJSON
	for _, s := range archs.Specs() {
		m, err := archs.New(s.Name, 1)
		if err != nil {
			return err
		}
		list = append(list, archJSON{s.Name, s.Title, m.ParamCount(), s.Seed, s.Recipe, m.Layers})
	}
	switch *format {
	case "json":
		b, _ := json.MarshalIndent(list, "", "  ")
		_, err := fmt.Fprintf(stdout, "%s\n", b)
		return err
	case "text":
		for _, a := range list {
			fmt.Fprintf(stdout, "%s — %s\n  parameters %s (Keras count)\n  recipe     %s\n", a.Name, a.Title, results.Thousands(a.Params), a.Recipe)
			fmt.Fprintf(stdout, "  %-26s %-22s %-12s %9s\n", "layer", "settings", "output", "params")
			for _, l := range a.Layers {
				fmt.Fprintf(stdout, "  %s\n", l)
			}
			fmt.Fprintln(stdout)
		}
		return nil
	}
	return exitError{2, fmt.Errorf("archs: unknown --format %q (want text or json)", *format)}
}

// defaultModels are the five of the seed's own list.
func defaultModels() []string {
	var n []string
	for _, s := range archs.Specs() {
		if s.Seed {
			n = append(n, s.Name)
		}
	}
	return n
}

func cmdTrain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	models := fs.String("models", strings.Join(defaultModels(), ","), "comma-separated models, or 'all' for all six; CNN2_det is a detection model (ten classes and background)")
	epochs := fs.Int("epochs", 0, "epochs per run (default: each recipe's own; model5's two phases shrink proportionally)")
	limitTrain := fs.Int("limit-train", 0, "use only the first N training images (default: all 60,000)")
	limitTest := fs.Int("limit-test", 0, "use only the first N test images (default: all 10,000)")
	data := fs.String("data", "", "Fashion-MNIST directory (default: $FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist)")
	runsDir := fs.String("runs", "runs", "directory of run records")
	seed := fs.Int64("seed", 1, "random seed for weights, dropout and shuffling")
	parallel := fs.Int("parallel", 1, "runs trained at once")
	headless := fs.Bool("headless", false, "plain line output instead of the dashboard (always so when stdout is not a terminal)")
	resume := fs.String("resume", "", "continue run `RUN_ID` (cancelled or crashed) from its last finished epoch, with its own settings")
	detFrames := fs.Int("det-frames", 1500, "detection models (CNN2_det): frames of synthetic training scenes (mining, validation and plain images scale with it)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *resume != "" {
		return cmdResume(fs, *resume, *runsDir, *data, !*headless && isTerminal(stdout), stdout, stderr)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, v := range map[string]int{"epochs": *epochs, "limit-train": *limitTrain, "limit-test": *limitTest, "parallel": *parallel, "det-frames": *detFrames} {
		if set[name] && v <= 0 {
			return exitError{2, fmt.Errorf("train: --%s must be a positive number, got %d", name, v)}
		}
	}
	names, err := parseModels(*models)
	if err != nil {
		return exitError{2, fmt.Errorf("train: --models: %v", err)}
	}
	train, test, err := trainer.Load(*data, *limitTrain, *limitTest)
	if err != nil {
		return err
	}
	if *limitTrain == 0 {
		keepTrainFile(*data, train) // detection runs make their scenes from it
	}
	if err := results.CheckWritable(*runsDir); err != nil {
		return err
	}
	now, taken := time.Now(), map[string]bool{}
	jobs := make([]trainer.Job, len(names))
	for i, n := range names {
		id := results.NewRunID(*runsDir, n, now, taken)
		taken[id] = true
		jobs[i] = trainer.Job{ID: id, Model: n, Epochs: *epochs, Seed: *seed}
		if isDetModel(n) {
			if jobs[i].Data, err = detData(*runsDir, id, *data, *seed, *detFrames, false); err != nil {
				return err
			}
		}
	}

	if !*headless && isTerminal(stdout) {
		set := dashSettings{runsDir: *runsDir, dataDir: *data, limitTrain: *limitTrain, limitTest: *limitTest, seed: *seed, parallel: *parallel}
		return runDashboard(set, train, test, jobs, stdout, stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rec := results.NewRecorder(*runsDir)
	plain := tui.NewPlain(stdout)
	failed, recErr := 0, error(nil)
	for ev := range trainer.Start(ctx, trainer.Config{Train: train, Test: test, Parallel: *parallel}, jobs) {
		if err := rec.Handle(ev); err != nil && recErr == nil {
			recErr = err
			fmt.Fprintf(stderr, "fmnist: recording runs: %v\n", err)
		}
		plain.Handle(ev)
		if f, ok := ev.(trainer.RunFinished); ok && f.Status == trainer.StatusFailed {
			failed++
		}
	}
	var runs []*results.Run
	for _, j := range jobs {
		if r := rec.Run(j.ID); r != nil {
			runs = append(runs, r)
		}
	}
	plain.Summary(runs)
	switch {
	case ctx.Err() != nil:
		return exitError{130, errors.New("cancelled; finished epochs are kept in " + *runsDir)}
	case recErr != nil:
		return recErr
	case failed > 0:
		return fmt.Errorf("%d of %d runs failed", failed, len(jobs))
	}
	return nil
}

func parseModels(s string) ([]string, error) {
	if strings.EqualFold(strings.TrimSpace(s), "all") {
		return archs.Names(), nil
	}
	var out []string
	seen := map[string]bool{}
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		spec, err := archs.Lookup(n)
		if err != nil {
			return nil, err
		}
		if !seen[spec.Name] {
			seen[spec.Name] = true
			out = append(out, spec.Name)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no model named")
	}
	return out, nil
}

func cmdTable(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	runsDir := fs.String("runs", "runs", "directory of run records")
	format := fs.String("format", "md", "md, csv or json")
	out := fs.String("o", "", "write to this file instead of standard output")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	runs, err := loadRuns(*runsDir, os.Stderr)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := results.WriteTable(&buf, results.Rows(runs), *format); err != nil {
		return exitError{2, fmt.Errorf("table: %v", err)}
	}
	if *out == "" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	return results.WriteFileAtomic(*out, buf.Bytes(), 0o644)
}

// loadRuns loads every run record in runsDir, telling stderr about the ones
// it has to skip.
func loadRuns(runsDir string, stderr io.Writer) ([]*results.Run, error) {
	runs, bad, err := results.LoadRuns(runsDir)
	for _, e := range bad {
		fmt.Fprintf(stderr, "fmnist: skipping %v\n", e)
	}
	return runs, err
}
