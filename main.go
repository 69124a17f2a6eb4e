// Command fmnist trains and compares small convolutional networks on
// Fashion-MNIST from the terminal: a live dashboard (also served over SSH to
// any number of viewers), headless training, the records and reports of the
// runs, saved models to evaluate and predict with, and a detector that
// labels fashion items in videos.
//
// The command line is declared once, in the command table of commands.go:
// each command's name, synopsis, summary, flags and run function, from which
// dispatch, the usage, every command's -h and the bash completion script are
// made. This file holds main (how errors become one line and an exit status)
// and the archs, train and table commands; the others are in bench_cmd.go,
// results_cmd.go (eval, predict, report, train --resume), detect_cmd.go
// (detect, synth-video, record), serve_cmd.go (serve) and dashboard.go (the
// dashboard, fmnist with no command); headless.go is training without the
// dashboard, for train and train --resume. These files parse flags and call
// the packages, where the work lives: archs (the models), trainer (data and
// training), hub (the live runs: training, recording, subscribers), results
// (records, saved models, reports), tui (the dashboard's views) and detector.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"

	"fmnist/archs"
	"fmnist/detector"
	"fmnist/results"
	"fmnist/trainer"
	"fmnist/tui"
)

// exitError carries an exit status through to main: 2 for a bad command
// line, exitCancelled (130) for a cancelled command; other errors exit 1.
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

func archsCmd(fs *flag.FlagSet) runFunc {
	format := fs.String("format", "text", "output format: text or json")
	return func(_ []string, stdout, _ io.Writer) error {
		type archJSON struct {
			Name     string       `json:"name"`
			Title    string       `json:"title"`
			Params   int          `json:"params"`
			InSeed   bool         `json:"in_seed_list"`
			Recipe   archs.Recipe `json:"recipe"`
			Improved archs.Recipe `json:"improved_recipe"`
			Layers   []string     `json:"layers"`
		}
		var list []archJSON
		for _, s := range archs.Specs() {
			m, err := archs.New(s.Name, 1)
			if err != nil {
				return err
			}
			seed, _ := s.RecipeNamed(archs.RecipeSeed)
			imp, err := s.RecipeNamed(archs.RecipeImproved)
			if err != nil {
				return err
			}
			list = append(list, archJSON{s.Name, s.Title, m.ParamCount(), s.Seed, seed, imp, m.Layers})
		}
		switch *format {
		case "json":
			b, _ := json.MarshalIndent(list, "", "  ")
			_, err := fmt.Fprintf(stdout, "%s\n", b)
			return err
		case "text":
			for _, a := range list {
				fmt.Fprintf(stdout, "%s — %s\n  parameters %s (Keras count)\n  recipe     %s\n  improved   %s\n", a.Name, a.Title, results.Thousands(a.Params), a.Recipe, a.Improved)
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

func trainCmd(fs *flag.FlagSet) runFunc {
	models := fs.String("models", strings.Join(defaultModels(), ","), "comma-separated models, or 'all' for all six; CNN2_det is a detection model (ten classes and background)")
	epochs := fs.Int("epochs", 0, "epochs per run (default: each recipe's own; model5's two phases shrink proportionally)")
	limitTrain := fs.Int("limit-train", 0, "use only the first N training images (default: all 60,000)")
	limitTest := fs.Int("limit-test", 0, "use only the first N test images (default: all 10,000)")
	data := dataFlag(fs)
	runsDir := runsFlag(fs)
	seed := fs.Int64("seed", 1, "random seed for weights, dropout, shuffling and the validation images")
	seeds := fs.String("seeds", "", "train each model once per seed: a list (1,2,5) or a range (1-5); replaces --seed")
	repeats := fs.Int("repeats", 0, "train each model N times, seeds --seed, --seed+1, ...")
	valRecipe := valRecipeFlags(fs)
	kerasClip := fs.Bool("keras-clip", false, "clip the softmax's probabilities to [1e-7, 1-1e-7] in the loss, as the seed's Keras 2.2 did")
	parallel := fs.Int("parallel", 1, "runs trained at once")
	headless := fs.Bool("headless", false, "plain line output instead of the dashboard (always so when stdout is not a terminal)")
	resume := fs.String("resume", "", "continue run `RUN_ID` (cancelled or crashed) from its last finished epoch, with its own settings")
	detFrames := fs.Int("det-frames", 3000, "detection models (CNN2_det): frames of synthetic training scenes (mining, validation and plain images scale with it)")
	detPhotos := fs.String("det-photos", detector.DefaultPhotoDir, "detection models (CNN2_det): `DIR` of OpenCV's sample photos, backgrounds of 3 training scenes in 10 (none: drawn textures only)")
	return func(_ []string, stdout, stderr io.Writer) error {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if *resume == "" && set["resume"] {
			return exitError{2, errors.New("train: --resume needs a run ID")}
		}
		if *resume != "" {
			return cmdResume(fs, *resume, *runsDir, *data, !*headless && isTerminal(stdout), stdout, stderr)
		}
		for name, v := range map[string]int{"epochs": *epochs, "limit-train": *limitTrain, "limit-test": *limitTest, "parallel": *parallel, "det-frames": *detFrames, "repeats": *repeats} {
			if set[name] && v <= 0 {
				return exitError{2, fmt.Errorf("train: --%s must be a positive number, got %d", name, v)}
			}
		}
		names, err := parseModels(*models)
		if err != nil {
			return exitError{2, fmt.Errorf("train: --models: %v", err)}
		}
		if !slices.ContainsFunc(names, isDetModel) {
			for _, f := range []string{"det-frames", "det-photos"} {
				if set[f] {
					return exitError{2, fmt.Errorf("train: --%s is for detection models (CNN2_det), not %s", f, strings.Join(names, ", "))}
				}
			}
		}
		runSeeds := []int64{*seed}
		switch {
		case set["seeds"] && set["repeats"]:
			return exitError{2, errors.New("train: --seeds and --repeats: give one of them")}
		case set["seeds"]:
			if runSeeds, err = parseSeeds(*seeds); err != nil {
				return exitError{2, fmt.Errorf("train: %v", err)}
			}
		case set["repeats"]:
			runSeeds = runSeeds[:0]
			for i := range *repeats {
				runSeeds = append(runSeeds, *seed+int64(i))
			}
		}
		valN, recipe, err := valRecipe(*limitTrain, *epochs, names)
		if err != nil {
			return exitError{2, fmt.Errorf("train: %v", err)}
		}
		train, test, err := trainer.Load(*data, *limitTrain, *limitTest)
		if err != nil {
			return err
		}
		if valN >= train.N {
			return exitError{2, fmt.Errorf("train: --val %d leaves none of the %d training images to train on", valN, train.N)}
		}
		if *limitTrain == 0 {
			keepTrainFile(*data, train) // detection runs make their scenes from it
		}
		if err := results.CheckWritable(*runsDir); err != nil {
			return err
		}
		now, taken := time.Now(), map[string]bool{}
		defer results.ReleaseRunIDs() // the claims of runs that never got to start
		var jobs []trainer.Job
		for _, n := range names {
			for _, s := range runSeeds {
				id := results.NewRunID(*runsDir, n, now, taken)
				taken[id] = true
				job := trainer.Job{ID: id, Model: n, Epochs: *epochs, Seed: s, Val: valN, Recipe: recipe.Name, Set: recipe.Set, KerasClip: *kerasClip}
				if isDetModel(n) {
					// Scenes are its data; its validation scenes choose its best epoch.
					job.Val, job.Recipe, job.Set = 0, "", nil
					if job.Data, err = detData(*runsDir, id, *data, s, *detFrames, photoDir(*detPhotos), false); err != nil {
						return err
					}
				}
				jobs = append(jobs, job)
			}
		}

		ds := dashSettings{runsDir: *runsDir, dataDir: *data, train: train, test: test, limitTrain: *limitTrain, limitTest: *limitTest,
			seed: *seed, val: valN, recipe: recipe, parallel: *parallel}
		if !*headless && isTerminal(stdout) {
			return runDashboard(ds, jobs, stdout, stderr)
		}
		return runHeadless(ds, jobs, stdout, stderr)
	}
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

func tableCmd(fs *flag.FlagSet) runFunc {
	runsDir := runsFlag(fs)
	format := fs.String("format", "", "md, text (aligned columns), csv or json (default: text on a terminal, else md)")
	out := fs.String("o", "", "write to this file instead of standard output")
	runsOnly := fs.Bool("runs-only", false, "one row per run instead of one per group of runs (same model, recipe and data; mean ± sd over seeds)")
	return func(_ []string, stdout, stderr io.Writer) error {
		if *format == "" {
			*format = "md"
			if *out == "" && isTerminal(stdout) {
				*format = "text"
			}
		}
		if err := results.WriteGroups(io.Discard, nil, *format); err != nil {
			return exitError{2, fmt.Errorf("table: %v", err)}
		}
		// An empty directory gives an empty table; a missing one is
		// more likely a mistyped --runs than an empty result.
		if _, err := os.Stat(*runsDir); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("table: no runs directory %s (train writes its runs there; --runs names another)", *runsDir)
		}
		if fi, err := os.Stat(*out); *out != "" && err == nil && fi.IsDir() {
			return exitError{2, fmt.Errorf("table: -o %s is a directory", *out)}
		}
		runs, err := loadRuns(*runsDir, stderr)
		if err != nil {
			return err
		}
		// Text is the Markdown table aligned, on a terminal as wide as the
		// terminal (the least needed columns left out).
		mdFormat := *format
		if mdFormat == "text" {
			mdFormat = "md"
		}
		var buf bytes.Buffer
		write := func() error { return results.WriteGroups(&buf, results.Groups(runs), mdFormat) }
		if *runsOnly {
			write = func() error { return results.WriteTable(&buf, results.Rows(runs), mdFormat) }
		}
		if err := write(); err != nil {
			return exitError{2, fmt.Errorf("table: %v", err)}
		}
		if *format == "text" {
			width := 0
			if f, ok := stdout.(*os.File); ok && *out == "" && isTerminal(stdout) {
				width, _, _ = term.GetSize(f.Fd())
			}
			var text bytes.Buffer
			dropped, err := results.WriteText(&text, buf.String(), width)
			if err != nil {
				return err
			}
			if len(dropped) > 0 {
				note := fmt.Sprintf("(left out for the terminal's width: %s; --format md has every column)", strings.Join(dropped, ", "))
				fmt.Fprintln(&text, wrapWords(note, width))
			}
			buf = text
		}
		if *out != "" {
			return results.WriteFileAtomic(*out, buf.Bytes(), 0o644)
		}
		_, err = stdout.Write(buf.Bytes())
		return err
	}
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

// checkRecipe refuses a recipe name that is not seed or improved.
// (Detection models keep their own recipe whatever is asked.)
func checkRecipe(name string) error {
	switch name {
	case archs.RecipeSeed, archs.RecipeImproved:
		return nil
	}
	return fmt.Errorf("--recipe %q: want seed or improved", name)
}

// DefaultVal is the validation images held out of the full training set.
const DefaultVal = 5000

// recipeChoice is the recipe runs train with: a name (trainer.Job.Recipe)
// and the user's changes to it (trainer.Job.Set).
type recipeChoice struct {
	Name string
	Set  []string
}

// Label is what tables will call the runs' recipe (archs.Recipe.Label).
func (c recipeChoice) Label() string { return archs.Recipe{Name: c.Name, Set: c.Set}.Label() }

// check refuses changes that one of the models' recipes cannot take (a
// second phase's rate for a one-phase recipe, a key twice) and returns the
// changes in the form records keep ("lr=4e-3" becomes "lr=0.004").
// Detection models keep their own recipe and are not checked.
//
// With epochs > 0 (--epochs), the changes must also fit the recipe cut to
// that many epochs: model5 with --epochs 1 keeps only its first phase, so
// p2lr would change nothing.
func (c recipeChoice) check(models []string, epochs int) (recipeChoice, error) {
	if len(c.Set) == 0 {
		return c, nil
	}
	for _, m := range models {
		spec, err := archs.Lookup(m)
		if err != nil || spec.Detection {
			continue
		}
		r, err := spec.RecipeFor(c.Name, c.Set)
		if err != nil {
			return c, err
		}
		if epochs > 0 {
			base, _ := spec.RecipeFor(c.Name, nil)
			if _, err := base.WithEpochs(epochs).WithSet(c.Set); err != nil {
				return c, fmt.Errorf("%s with --epochs %d: %v", m, epochs, err)
			}
		}
		c.Set = r.Set
	}
	return c, nil
}

// valRecipeFlags registers --val, --recipe and --set. The function it
// returns, called once the flags are parsed, checks them: the recipe's name
// (checkRecipe), --set against each of the models' recipes
// (recipeChoice.check; with --epochs, the recipe cut to them) and the
// validation set's size for --limit-train
// (resolveVal).
func valRecipeFlags(fs *flag.FlagSet) func(limitTrain, epochs int, models []string) (val int, recipe recipeChoice, err error) {
	val := fs.Int("val", DefaultVal, "hold out N training images (chosen by the seed) to choose the best epoch on; 0 chooses on the test set, the seed's way (default 5,000; with --limit-train, a twelfth of it)")
	recipe := fs.String("recipe", archs.RecipeSeed, "training recipe: seed (the seed's own) or improved (same network and epochs: cosine schedule, label smoothing, weight decay, augmentation)")
	set := fs.String("set", "", "change the recipe: `KEY=VALUE,...` with keys "+archs.SetKeyNames()+" (p2lr and p2batch for a second phase); the runs' recipe label names the changes (improved+lr0.004)")
	return func(limitTrain, epochs int, models []string) (int, recipeChoice, error) {
		if err := checkRecipe(*recipe); err != nil {
			return 0, recipeChoice{}, err
		}
		changes, err := archs.ParseSet(*set)
		if err != nil {
			return 0, recipeChoice{}, err
		}
		choice, err := recipeChoice{*recipe, changes}.check(models, epochs)
		if err != nil {
			return 0, recipeChoice{}, err
		}
		n, err := resolveVal(flagSet(fs, "val"), *val, limitTrain)
		return n, choice, err
	}
}

// resolveVal is the validation set's size: --val as given, else 5,000 of
// the full training set or a twelfth of --limit-train (the same share).
func resolveVal(given bool, val, limitTrain int) (int, error) {
	if val < 0 {
		return 0, fmt.Errorf("--val must not be negative, got %d", val)
	}
	if !given && limitTrain > 0 {
		return min(DefaultVal, limitTrain/12), nil
	}
	if limitTrain > 0 && val >= limitTrain {
		return 0, fmt.Errorf("--val %d leaves none of the %d training images (--limit-train) to train on", val, limitTrain)
	}
	return val, nil
}

// wrapWords breaks s between words into lines of at most width cells
// (tui.Wrap); width <= 0 keeps one line.
func wrapWords(s string, width int) string {
	if width <= 0 {
		return strings.Join(strings.Fields(s), " ")
	}
	return strings.Join(tui.Wrap(s, width), "\n")
}

// flagSet reports whether flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
