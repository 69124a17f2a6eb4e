package main

// The commands that use what runs leave behind: eval and predict (reload a
// saved model), report (charts and a Markdown report), and train --resume
// (continue a run from its checkpoint).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"
	"github.com/muesli/termenv"

	"fmnist/archs"
	"fmnist/results"
	"fmnist/trainer"
	"fmnist/tui"
)

// loadModelArg loads the model --model names: "best" is the best model of
// the run with the highest best test accuracy in runsDir.
func loadModelArg(arg, runsDir string, final bool) (*archs.Model, *results.ModelDoc, string, *results.Run, error) {
	var modelDir, runDir string
	var err error
	if arg == "best" {
		if _, runDir, err = results.BestRun(runsDir); err != nil {
			return nil, nil, "", nil, err
		}
		modelDir = filepath.Join(runDir, results.BestDir)
		if final {
			modelDir = filepath.Join(runDir, results.FinalDir)
		}
	} else if modelDir, runDir, err = results.ModelDir(arg, runsDir, final); err != nil {
		return nil, nil, "", nil, err
	}
	m, doc, err := results.LoadModel(modelDir)
	if err != nil {
		return nil, nil, "", nil, err
	}
	if doc.Detection != nil {
		return nil, nil, "", nil, fmt.Errorf("%s is a detection model (ten classes and background, trained on scene crops): use it with fmnist detect", modelDir)
	}
	var run *results.Run
	if runDir != "" {
		run, _ = results.LoadRun(runDir)
	}
	return m, doc, modelDir, run, nil
}

func evalCmd(fs *flag.FlagSet) runFunc {
	model := fs.String("model", "", "run directory, run ID (in --runs), model directory, or 'best'")
	runsDir := runsFlag(fs)
	data := dataFlag(fs)
	limitTest := fs.Int("limit-test", 0, "use the first N images of the split (default: as many as the run used)")
	final := fs.Bool("final", false, "the run's final model instead of its best")
	asJSON := fs.Bool("json", false, "print the evaluation as JSON")
	mirror := fs.Bool("mirror", false, "average each image's prediction with its mirror image's (test-time augmentation, for models trained with flips)")
	split := fs.String("split", "test", "the images to evaluate on: test, or the run's own train (the images it trained on) or val (its validation images, held out by its seed)")
	return func(_ []string, stdout, _ io.Writer) error {
		if *model == "" {
			return exitError{2, errors.New("eval: --model is required (a run directory, a run ID, a model directory or 'best')")}
		}
		if *limitTest < 0 {
			return exitError{2, fmt.Errorf("eval: --limit-test must be a positive number, got %d", *limitTest)}
		}
		if *split != "test" && *split != "train" && *split != "val" {
			return exitError{2, fmt.Errorf("eval: --split must be test, train or val, got %q", *split)}
		}
		m, doc, modelDir, run, err := loadModelArg(*model, *runsDir, *final)
		if err != nil {
			return err
		}
		src := doc.Source
		dir := *data
		if dir == "" {
			dir = trainer.DefaultDataDir()
		}
		test, about, err := evalImages(m, src, *split, dir, *limitTest)
		if err != nil {
			return err
		}
		ctx, stop := signalContext()
		defer stop()
		evaluate := results.Evaluate
		if *mirror {
			evaluate = results.EvaluateMirrored
		}
		ev, err := evaluate(ctx, m, test)
		if err != nil {
			return fmt.Errorf("eval: %v", err)
		}

		// What the run recorded for this epoch, on the same slice: test or
		// validation images. Its training accuracy was measured with
		// dropout and augmentation on, so it is not comparable.
		recorded, size := src.TestAcc, src.TestSize
		if *split == "val" {
			recorded, size = src.ValAcc, src.ValSize
		}
		if run != nil && src.Epoch >= 1 && src.Epoch <= len(run.Epochs) && run.Epochs[src.Epoch-1].Epoch == src.Epoch {
			if e := run.Epochs[src.Epoch-1]; *split == "val" {
				recorded = e.ValAcc
			} else {
				recorded = e.TestAcc
			}
		}
		haveRecord := src.Epoch > 0 && *split != "train"
		sameSlice := haveRecord && test.N == size
		match := sameSlice && !*mirror && ev.Accuracy() == recorded

		if *asJSON {
			type class struct {
				Class    string   `json:"class"`
				Images   int      `json:"images"`
				Correct  int      `json:"correct"`
				Accuracy *float64 `json:"accuracy"`
			}
			out := struct {
				ModelDir     string                                      `json:"model_dir"`
				Architecture string                                      `json:"architecture"`
				Run          string                                      `json:"run"`
				Kind         string                                      `json:"kind"`
				Epoch        int                                         `json:"epoch"`
				TestImages   int                                         `json:"test_images"`
				Correct      int                                         `json:"correct"`
				Accuracy     float64                                     `json:"accuracy"`
				Loss         float64                                     `json:"loss"`
				Recorded     *float64                                    `json:"recorded_accuracy"`
				Matches      bool                                        `json:"matches_record"`
				Mirrored     bool                                        `json:"mirrored,omitempty"`
				Split        string                                      `json:"split"`
				PerClass     []class                                     `json:"per_class"`
				Confusion    [trainer.NumClasses][trainer.NumClasses]int `json:"confusion"`
			}{ModelDir: modelDir, Architecture: doc.Architecture, Run: src.Run, Kind: src.Kind, Epoch: src.Epoch,
				TestImages: ev.N, Correct: ev.Correct, Accuracy: ev.Accuracy(), Loss: ev.Loss, Matches: match, Mirrored: *mirror, Split: *split, Confusion: ev.Confusion}
			if sameSlice {
				out.Recorded = &recorded
			}
			for c, name := range doc.Classes {
				cl := class{Class: name, Images: ev.ClassCount(c), Correct: ev.Confusion[c][c]}
				if a := ev.ClassAccuracy(c); !math.IsNaN(a) {
					cl.Accuracy = &a
				}
				out.PerClass = append(out.PerClass, cl)
			}
			b, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "%s\n", b)
			return err
		}

		// The model, then where it is: a path does not share its line.
		fmt.Fprintf(stdout, "model      %s", doc.Architecture)
		if src.Epoch > 0 {
			fmt.Fprintf(stdout, ", run %s, %s epoch %d", src.Run, src.Kind, src.Epoch)
		}
		fmt.Fprintf(stdout, "\nfrom       %s\n%s\n", modelDir, about)
		fmt.Fprintf(stdout, "accuracy   %s (%d of %d), loss %.4f", results.Percent(ev.Accuracy()), ev.Correct, ev.N, ev.Loss)
		if *mirror {
			fmt.Fprintf(stdout, ", each image averaged with its mirror image")
		}
		fmt.Fprintln(stdout)
		if *mirror && src.Recipe != "" && !strings.Contains(src.Recipe, "flips") {
			fmt.Fprintf(stdout, "note       this model did not train on mirror images (%s): averaging with them may lower its accuracy\n", src.Recipe)
		}
		switch {
		case *mirror && sameSlice:
			fmt.Fprintf(stdout, "recorded   %s for epoch %d on the same images, without mirror averaging (%+.2f points)\n",
				results.Percent(recorded), src.Epoch, 100*(ev.Accuracy()-recorded))
		case *split == "train":
			fmt.Fprintf(stdout, "recorded   — (training accuracy was measured with dropout and augmentation on)\n")
		case !haveRecord:
			fmt.Fprintf(stdout, "recorded   — (the model file does not say)\n")
		case !sameSlice:
			fmt.Fprintf(stdout, "recorded   %s on %d %s images (a different slice: not comparable)\n", results.Percent(recorded), size, *split)
		case match:
			fmt.Fprintf(stdout, "recorded   %s for epoch %d on the same images: identical\n", results.Percent(recorded), src.Epoch)
		default:
			fmt.Fprintf(stdout, "recorded   %s for epoch %d on the same images: DIFFERENT (%v vs %v)\n", results.Percent(recorded), src.Epoch, ev.Accuracy(), recorded)
		}
		if f, ok := stdout.(*os.File); ok && isTerminal(stdout) {
			width := 80
			if w, _, err := term.GetSize(f.Fd()); err == nil && w > 0 {
				width = w
			}
			writeEvalTerminal(stdout, ev, test, doc.Classes, termenv.NewOutput(f).EnvColorProfile(), width)
			return nil
		}
		ev.WriteConfusion(stdout, doc.Classes)
		return nil
	}
}

// evalImages loads the images `eval --split` names, the first limit of them
// (0: as many as the run used), and says what they are in a header line.
// The run's training and validation images are rebuilt as training made
// them: the first train+val images of the training files, the validation
// ones drawn by the run's seed.
func evalImages(m *archs.Model, src results.SourceDoc, split, dir string, limit int) (*trainer.Dataset, string, error) {
	if split == "test" {
		if limit == 0 {
			limit = src.TestSize
		}
		_, test, err := trainer.Load(dir, 1, limit)
		if err != nil {
			return nil, "", err
		}
		return test, fmt.Sprintf("test set   %d images (the first %d of %s)", test.N, test.N, dir), nil
	}
	switch {
	case m.Spec.Detection:
		return nil, "", fmt.Errorf("eval: %s trained on crops of synthetic scenes, not on Fashion-MNIST's training images: only --split test applies", m.Spec.Name)
	case src.TrainSize == 0:
		return nil, "", errors.New("eval: the model file does not say which images its run trained on: only --split test applies")
	case split == "val" && src.ValSize == 0:
		return nil, "", fmt.Errorf("eval: run %s held out no validation images (it chose its epoch on the test set): use --split train or test", src.Run)
	}
	all, _, err := trainer.Load(dir, src.TrainSize+src.ValSize, 1)
	if err != nil {
		return nil, "", err
	}
	if all.N != src.TrainSize+src.ValSize {
		return nil, "", fmt.Errorf("eval: %s has %d training images, run %s used %d", dir, all.N, src.Run, src.TrainSize+src.ValSize)
	}
	train, val := all, (*trainer.Dataset)(nil)
	if src.ValSize > 0 {
		if train, val, err = trainer.SplitVal(all, src.ValSize, src.Seed); err != nil {
			return nil, "", fmt.Errorf("eval: %v", err)
		}
	}
	set := train
	if split == "val" {
		set = val
	}
	if limit > 0 && limit < set.N {
		set = set.Slice(0, limit)
	}
	var about string
	switch {
	case split == "val":
		about = fmt.Sprintf("val set    %d of the %d validation images of run %s (held out of the first %d of %s by seed %d)", set.N, src.ValSize, src.Run, all.N, dir, src.Seed)
	case src.ValSize > 0:
		about = fmt.Sprintf("train set  %d of the %d images run %s trained on (the first %d of %s, less its %d validation images)", set.N, src.TrainSize, src.Run, all.N, dir, src.ValSize)
	default:
		about = fmt.Sprintf("train set  %d of the %d images run %s trained on (the first %d of %s)", set.N, src.TrainSize, src.Run, all.N, dir)
	}
	return set, about, nil
}

// writeEvalTerminal writes what `fmnist eval` shows on a terminal after its
// header lines, in at most width columns and colour profile prof: the
// confusion matrix as a heatmap, per-class accuracy as bars, and the most
// confident mistakes (up to 6, as many as fit side by side) as half-block
// images of test's images, each captioned "true → pred" and with the
// probability the model gave its wrong answer.
func writeEvalTerminal(w io.Writer, ev *results.Evaluation, test *trainer.Dataset, classes []string, prof termenv.Profile, width int) {
	name := func(c int) string {
		if c < len(classes) {
			return classes[c]
		}
		return fmt.Sprint(c)
	}
	fmt.Fprintf(w, "confusion matrix (rows: true class, columns: predicted class):\n")
	for _, l := range tui.Heatmap(ev.Confusion, classes, prof, width) {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintf(w, "per-class accuracy:\n")
	for _, l := range tui.ClassBars(ev.Confusion, classes, prof, width) {
		fmt.Fprintln(w, l)
	}
	if len(ev.Mistakes) == 0 {
		fmt.Fprintf(w, "no mistakes\n")
		return
	}

	// 28x28 images are 28 cells by 14 lines; a terminal narrower than one
	// gets one image scaled down to its width.
	const side, gap = trainer.ImageSize, 2
	k, size := min(6, len(ev.Mistakes), (width+gap)/(side+gap)), side
	if k == 0 {
		k, size = 1, max(width, 1)
	}
	fmt.Fprintf(w, "most confident mistakes (%d of %d):\n", k, len(ev.Mistakes))
	images := make([][]string, k)
	captions := make([][2]string, k)
	for i, mk := range ev.Mistakes[:k] {
		pix := make([]float32, trainer.Pixels) // test.Images is nil when the images are bytes (training sets)
		test.Image(mk.Index, pix)
		g := tui.Gray{W: side, H: side, Pix: pix}
		if size != side {
			g = tui.ScaleGray(g, size, size)
		}
		images[i] = tui.HalfBlocks(g, prof)
		captions[i] = [2]string{name(mk.True) + " → " + name(mk.Pred), fmt.Sprintf("%s, image %d", results.Percent(mk.Prob), mk.Index)}
	}
	sep := strings.Repeat(" ", gap)
	for y := range (size + 1) / 2 {
		row := make([]string, k)
		for i := range images {
			row[i] = images[i][y]
		}
		fmt.Fprintln(w, strings.Join(row, sep))
	}
	for line := range 2 {
		row := make([]string, k)
		for i := range captions {
			c := ansi.Truncate(captions[i][line], size, "…")
			row[i] = c + strings.Repeat(" ", size-ansi.StringWidth(c))
		}
		fmt.Fprintln(w, strings.TrimRight(strings.Join(row, sep), " "))
	}
}

func predictCmd(fs *flag.FlagSet) runFunc {
	model := fs.String("model", "", "run directory, run ID (in --runs), model directory, or 'best'")
	runsDir := runsFlag(fs)
	final := fs.Bool("final", false, "the run's final model instead of its best")
	top := fs.Int("top", 1, "print the N most probable classes")
	return func(files []string, stdout, _ io.Writer) error { // flags may come before or after the image files
		if *model == "" {
			return exitError{2, errors.New("predict: --model is required (a run directory, a run ID, a model directory or 'best')")}
		}
		if len(files) == 0 {
			return exitError{2, errors.New("predict: no image files given")}
		}
		if *top < 1 || *top > trainer.NumClasses {
			return exitError{2, fmt.Errorf("predict: --top must be between 1 and %d, got %d", trainer.NumClasses, *top)}
		}
		// Read every image before printing anything.
		images := make([]float32, 0, len(files)*trainer.Pixels)
		for _, f := range files {
			px, err := trainer.ReadImageFile(f)
			if err != nil {
				return err
			}
			images = append(images, px...)
		}
		m, doc, _, _, err := loadModelArg(*model, *runsDir, *final)
		if err != nil {
			return err
		}
		var lines []string
		err = trainer.Predict(context.Background(), m, images, len(files), func(i int, logits []float32) {
			p := results.Softmax(logits)
			order := make([]int, len(p))
			for c := range order {
				order[c] = c
			}
			// Most probable first (stable: lower class index on a tie, as argmax).
			for a := 1; a < len(order); a++ {
				for b := a; b > 0 && p[order[b]] > p[order[b-1]]; b-- {
					order[b], order[b-1] = order[b-1], order[b]
				}
			}
			parts := make([]string, *top)
			for k := range parts {
				parts[k] = fmt.Sprintf("%s %.2f%%", doc.Classes[order[k]], p[order[k]]*100)
			}
			lines = append(lines, fmt.Sprintf("%s: %s\n", files[i], strings.Join(parts, ", ")))
		})
		if err != nil {
			return fmt.Errorf("predict: %v", err)
		}
		for _, l := range lines {
			if _, err := io.WriteString(stdout, l); err != nil {
				return err
			}
		}
		return nil
	}
}

func reportCmd(fs *flag.FlagSet) runFunc {
	runsDir := runsFlag(fs)
	out := fs.String("o", "report", "directory to write report.md and the charts to")
	format := fs.String("format", results.FormatPNG, "chart format: png, svg or pdf")
	data := dataFlag(fs) // McNemar's test of the best models on the test images
	return func(_ []string, stdout, stderr io.Writer) error {
		if results.CheckChartFormat(*format) != nil {
			return exitError{2, fmt.Errorf("report: unknown --format %q (want png, svg or pdf)", *format)}
		}
		runs, err := loadRuns(*runsDir, stderr)
		if err != nil {
			return err
		}
		files, err := results.BuildReport(*runsDir, runs, time.Now(), *format, correctOnTest(*runsDir, *data))
		if err != nil {
			return err
		}
		if err := results.WriteFilesAtomic(*out, files); err != nil {
			return err
		}
		charts, csvNote := 0, ""
		for _, f := range files {
			switch f.Name {
			case results.ReportName:
			case results.EpochsCSV:
				csvNote = ", " + results.EpochsCSV
			default:
				charts++
			}
		}
		fmt.Fprintf(stdout, "wrote %s%s and %d %s charts for %d runs\n", filepath.Join(*out, results.ReportName), csvNote, charts, strings.ToUpper(*format), len(runs))
		return nil
	}
}

// cmdResume is `train --resume RUN_ID`: it continues the run from its
// checkpoint with the run's own model, seed, recipe and data slice, and
// appends to its record: under the dashboard on a terminal, else in plain lines.
func cmdResume(flags *flag.FlagSet, id, runsDir, dataDir string, dashboard bool, stdout, stderr io.Writer) error {
	var conflict []string
	flags.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "models", "epochs", "limit-train", "limit-test", "seed", "seeds", "repeats", "val", "recipe", "set", "keras-clip", "det-frames", "det-photos":
			conflict = append(conflict, "--"+f.Name)
		}
	})
	if len(conflict) > 0 {
		return exitError{2, fmt.Errorf("train: --resume continues a run with its own settings; drop %s", strings.Join(conflict, ", "))}
	}
	runDir := filepath.Join(runsDir, id)
	if strings.ContainsRune(id, filepath.Separator) { // a path to the run directory
		runDir = filepath.Clean(id)
		runsDir, id = filepath.Dir(runDir), filepath.Base(runDir)
	}
	if _, err := os.Stat(filepath.Join(runDir, results.RunFile)); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("resume: no run %q in %s", id, runsDir)
	}
	run, err := results.LoadRun(runDir)
	if err != nil {
		return fmt.Errorf("resume: %v", err)
	}
	if run.Status == trainer.StatusDone {
		return fmt.Errorf("resume: run %s is done (%d of %d epochs); nothing to resume", run.ID, len(run.Epochs), run.EpochsPlanned)
	}
	if run.ID != id {
		return fmt.Errorf("resume: %s records run %q, not %q", filepath.Join(runDir, results.RunFile), run.ID, id)
	}
	unlock, err := results.LockRun(runDir)
	if err != nil {
		return fmt.Errorf("resume: %v", err)
	}
	unlock() // the recorder takes the lock again when the run starts

	cp, err := results.LoadCheckpoint(runDir)
	switch {
	case errors.Is(err, os.ErrNotExist) && len(run.Epochs) == 0:
		// Nothing finished: start over, in the same record.
		cp = &trainer.Checkpoint{Run: run.ID, Model: run.Model, Seed: run.Seed, Recipe: run.Recipe,
			TrainSize: run.TrainSize, ValSize: run.ValSize, TestSize: run.TestSize, History: []trainer.EpochStats{}}
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("resume: run %s has %d finished epochs but no %s to continue from", run.ID, len(run.Epochs), results.CheckpointFile)
	case err != nil:
		return fmt.Errorf("resume: %v", err)
	}
	if cp.Model != run.Model || cp.Seed != run.Seed || !reflect.DeepEqual(cp.Recipe.Phases, run.Recipe.Phases) ||
		cp.TrainSize != run.TrainSize || cp.ValSize != run.ValSize || cp.TestSize != run.TestSize {
		return fmt.Errorf("resume: %s does not match %s (model, seed, recipe or data sizes differ)",
			filepath.Join(runDir, results.CheckpointFile), filepath.Join(runDir, results.RunFile))
	}
	if cp.Epoch > 0 {
		m, err := archs.New(cp.Model, uint64(cp.Seed))
		if err != nil {
			return fmt.Errorf("resume: %v", err)
		}
		if err := m.Restore(cp.State); err != nil {
			return fmt.Errorf("resume: checkpoint %s: %v", filepath.Join(runDir, results.CheckpointFile), err)
		}
	}
	job := trainer.Job{ID: run.ID, Model: run.Model, Seed: run.Seed, Resume: cp}
	var train, test *trainer.Dataset
	if isDetModel(run.Model) {
		// Its data are made again from its settings; Train checks them.
		if job.Data, err = detData(runsDir, run.ID, dataDir, run.Seed, 0, "", true); err != nil {
			return fmt.Errorf("resume: %v", err)
		}
	} else {
		// The validation images were held out of the first TrainSize+ValSize.
		if train, test, err = trainer.Load(dataDir, run.TrainSize+run.ValSize, run.TestSize); err != nil {
			return err
		}
		if err := trainer.CheckResume(cp, job, train, test); err != nil {
			return fmt.Errorf("resume: run %s: %v", run.ID, err)
		}
	}
	if err := results.CheckWritable(runsDir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "resume %s (run %s) after epoch %d of %d", run.Model, run.ID, cp.Epoch, cp.Recipe.Epochs())
	if len(run.Epochs) != cp.Epoch {
		fmt.Fprintf(stdout, " (run.json had %d epochs; the checkpoint's history is kept)", len(run.Epochs))
	}
	fmt.Fprintln(stdout)
	// Runs started from the dashboard get the resumed run's data.
	set := dashSettings{runsDir: runsDir, dataDir: dataDir, train: train, test: test, limitTrain: run.TrainSize + run.ValSize, limitTest: run.TestSize,
		seed: run.Seed, val: run.ValSize, recipe: recipeChoice{run.Recipe.Kind(), run.Recipe.Set}, parallel: 1}
	if dashboard {
		return runDashboard(set, []trainer.Job{job}, stdout, stderr)
	}
	return runHeadless(set, []trainer.Job{job}, stdout, stderr)
}
