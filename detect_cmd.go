package main

// The detector's commands: detect (label fashion items in a video),
// synth-video (a test video with ground truth) and record (from a camera).

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"fmnist/archs"
	"fmnist/detector"
	"fmnist/results"
	"fmnist/trainer"
	"fmnist/tui"

	tea "github.com/charmbracelet/bubbletea"
)

// detectModel loads the model --model names (a run directory, run ID, model
// directory, or "best" in runsDir): the one place the detector depends on
// the results package's loader.
func detectModel(arg, runsDir string) (*archs.Model, *results.ModelDoc, string, error) {
	modelDir := ""
	if arg == "best" {
		_, runDir, err := results.BestDetRun(runsDir)
		if err != nil {
			return nil, nil, "", err
		}
		modelDir = filepath.Join(runDir, results.BestDir)
	} else {
		var err error
		if modelDir, _, err = results.ModelDir(arg, runsDir, false); err != nil {
			return nil, nil, "", err
		}
	}
	m, doc, err := results.LoadModel(modelDir)
	if err != nil {
		return nil, nil, "", err
	}
	return m, doc, modelDir, nil
}

func detectCmd(fs *flag.FlagSet) runFunc {
	in := fs.String("in", "", "input video")
	out := fs.String("out", "", "output video with labelled boxes (MJPG .avi; .mp4 gets mp4v)")
	model := fs.String("model", "best", "RUN_DIR, RUN_ID, MODEL_DIR, or best: the best detection model in --runs (else the run with the highest test accuracy)")
	runsDir := runsFlag(fs)
	def := detector.DefaultConfig()
	threshold := fs.Float64("threshold", def.Threshold, "keep a label when its top softmax probability is above this (a detection model: the one chosen on validation scenes)")
	mode := fs.String("mode", "single", "selective search: single, fast or quality")
	jsonOut := fs.String("json", "", "write per-frame boxes, stage times and the summary to this JSON file")
	truthFile := fs.String("truth", "", "ground truth (from synth-video): report precision, recall and mean IoU")
	headless := fs.Bool("headless", false, "plain progress lines and a summary, even on a terminal (off a terminal output is always plain)")
	seedPipe := fs.Bool("seed-pipeline", false, "the seed's pipeline: crops stretched, 0-255 values, no inversion, no NMS")
	propSide := fs.Int("proposal-side", def.ProposalSide, fmt.Sprintf("run selective search on the frame scaled down to this longer side (0: full size; a detection model: %d)", detector.DetProposalSide))
	maxAspect := fs.Float64("max-aspect", def.MaxAspect, fmt.Sprintf("drop proposals whose w/h or h/w exceeds this (the seed's %g; a detection model: %g)", detector.SeedMaxAspect, detector.DetMaxAspect))
	minContrast := fs.Float64("min-contrast", def.MinContrast, fmt.Sprintf("skip crops whose brightest level is less than this many grey levels above their border (ours only; a detection model: %d)", detector.DetMinContrast))
	noMerge := fs.Bool("no-merge", false, "skip the seed's near-duplicate merging (ours only; NMS still removes duplicates; a detection model: on)")
	minArea := fs.Float64("min-area", 0, "drop proposals smaller than this fraction of the frame (0: the seed's 0.65%; a detection model: 0.2%)")
	refine := fs.Bool("refine", false, "fit each box to the item in it (a detection model: on)")
	score := fs.String("score", "", "a detection model's score: item (1 - P(background)) or class (the label's probability); default item")
	relabel := fs.Bool("relabel", false, "classify each refined box again: its label, and the geometric mean of both scores as its score (needs --refine; a detection model: as chosen on its validation scenes)")
	vote := fs.Bool("vote", false, "label each box by the vote of the crops over it, and of the frames before and after (a detection model: on)")
	temporal := fs.Bool("temporal", false, "keep a detection only if the frame before or after confirms it, or it is very sure (a detection model: on)")
	fillGaps := fs.Bool("fill-gaps", false, "with --temporal, an item detected in the frames before and after a frame but not in it is detected there too")
	return func(_ []string, stdout, stderr io.Writer) error {
		if *in == "" || *out == "" {
			return exitError{2, errors.New("detect: --in and --out are required")}
		}
		m, err := detector.ParseMode(*mode)
		if err != nil {
			return exitError{2, fmt.Errorf("detect: --mode: %v", err)}
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if *score != "" && *score != "item" && *score != "class" {
			return exitError{2, fmt.Errorf("detect: --score must be item or class, got %q", *score)}
		}
		if err := checkDetectFlags(*threshold, *minArea, *maxAspect, *minContrast, *propSide); err != nil {
			return exitError{2, fmt.Errorf("detect: %v", err)}
		}
		for _, p := range [][2]string{{"in", "out"}, {"in", "json"}, {"in", "truth"}, {"out", "json"}, {"truth", "out"}, {"truth", "json"}} {
			a, b := fs.Lookup(p[0]).Value.String(), fs.Lookup(p[1]).Value.String()
			if detector.SamePath(a, b) {
				return exitError{2, fmt.Errorf("detect: --%s and --%s name the same file %s", p[0], p[1], a)}
			}
		}
		var truth *detector.Truth
		if *truthFile != "" {
			if truth, err = detector.ReadTruth(*truthFile); err != nil {
				return fmt.Errorf("detect: %v", err)
			}
		}
		if *jsonOut != "" {
			if err := detector.CheckWritable(*jsonOut, "JSON file"); err != nil {
				return fmt.Errorf("detect: %v", err)
			}
		}
		if err := detector.CheckInput(*in); err != nil { // before the slower model load
			return fmt.Errorf("detect: %v", err)
		}
		mdl, doc, modelDir, err := detectModel(*model, *runsDir)
		if err != nil {
			return fmt.Errorf("detect: model: %v", err)
		}
		// A detection model has its own defaults; flags given override them.
		cfg := def
		if doc.Detection != nil {
			cfg = detector.DetDefaultConfig()
			cfg.Threshold = doc.Detection.Threshold
			if r := doc.Detection.Relabel; r != nil {
				cfg.Relabel = *r
			}
		}
		cfg.In, cfg.Out, cfg.Mode, cfg.SeedPipeline, cfg.Model = *in, *out, m, *seedPipe, mdl
		cfg.Names = trainer.ClassNames[:]
		cfg.Truth = truth
		for name, apply := range map[string]func(){
			"threshold": func() { cfg.Threshold = *threshold }, "proposal-side": func() { cfg.ProposalSide = *propSide },
			"max-aspect": func() { cfg.MaxAspect = *maxAspect }, "no-merge": func() { cfg.NoMerge = *noMerge },
			"min-contrast": func() { cfg.MinContrast = *minContrast }, "min-area": func() { cfg.MinArea = *minArea },
			"refine": func() { cfg.Refine = *refine }, "relabel": func() { cfg.Relabel = *relabel }, "temporal": func() { cfg.Temporal = *temporal },
			"fill-gaps": func() { cfg.FillGaps = *fillGaps },
			"score":     func() { cfg.Objectness = *score == "item" }, "vote": func() { cfg.Vote = *vote },
		} {
			if set[name] {
				apply()
			}
		}
		if set["relabel"] && cfg.Relabel && !cfg.Refine {
			return exitError{2, errors.New("detect: --relabel classifies refined boxes: it needs --refine")}
		}
		if set["fill-gaps"] && cfg.FillGaps && !cfg.Temporal {
			return exitError{2, errors.New("detect: --fill-gaps fills the gaps between confirmed frames: it needs --temporal")}
		}
		if set["score"] && detector.BackgroundClass(mdl) < 0 {
			return exitError{2, fmt.Errorf("detect: --score is for detection models; %s is a ten-class model (its score is the label's probability)", modelDir)}
		}
		job, err := detector.Open(cfg)
		if err != nil {
			return fmt.Errorf("detect: %v", err)
		}
		ctx, stop := signalContext()
		defer stop()
		report := &detector.Report{Model: modelDir, Threshold: cfg.Threshold}
		var sum detector.Summary
		cancelled := false
		if !*headless && isTerminal(stdout) {
			if sum, cancelled, err = detectView(ctx, job, cfg.In, modelDir, report, stdout.(*os.File)); err != nil {
				return fmt.Errorf("detect: %v", err)
			}
		} else {
			plain := &detector.Plain{W: stdout, Every: 10}
			for ev := range job.Run(ctx) {
				report.Add(ev)
				plain.Handle(ev)
				if s, ok := ev.(detector.Summary); ok {
					sum = s
				}
			}
			cancelled = ctx.Err() != nil
		}
		if *jsonOut != "" {
			if report.Frames == nil {
				report.Frames = []detector.FrameDone{}
			}
			b, err := json.MarshalIndent(report, "", " ")
			if err != nil {
				return err
			}
			if err := results.WriteFileAtomic(*jsonOut, append(b, '\n'), 0o644); err != nil {
				return fmt.Errorf("detect: %v", err)
			}
		}
		// The summary printed leaves out sum.Err: it is said once, here.
		if cancelled && !sum.VideoWritten {
			return errCancelled(fmt.Sprintf("detect: %s (no video written to %s)", sum.Err, cfg.Out))
		}
		if cancelled {
			return errCancelled(fmt.Sprintf("detect: %s (the video of the frames done is written to %s)", cmp.Or(sum.Err, "cancelled"), cfg.Out))
		}
		if sum.Err != "" && !sum.VideoWritten {
			return fmt.Errorf("detect: %s (no video written to %s)", sum.Err, cfg.Out)
		}
		if sum.Err != "" {
			return fmt.Errorf("detect: %s (the video is written to %s)", sum.Err, cfg.Out)
		}
		return nil
	}
}

// checkDetectFlags checks detect's numeric flags (negated comparisons
// refuse NaN too), naming the flag at fault.
func checkDetectFlags(threshold, minArea, maxAspect, minContrast float64, propSide int) error {
	switch {
	case !(threshold >= 0 && threshold < 1):
		return fmt.Errorf("--threshold must be in [0, 1), got %g", threshold)
	case !(minArea >= 0 && minArea < 1):
		return fmt.Errorf("--min-area must be in [0, 1), got %g", minArea)
	case !(maxAspect >= 1):
		return fmt.Errorf("--max-aspect must be at least 1 (a box's w/h or h/w is never below 1), got %g", maxAspect)
	case !(minContrast >= 0) || math.IsInf(minContrast, 1):
		return fmt.Errorf("--min-contrast must be a number of grey levels, 0 or more, got %g", minContrast)
	case propSide < 0:
		return fmt.Errorf("--proposal-side must be 0 (full size) or more, got %d", propSide)
	}
	return nil
}

// detectView runs job under the terminal's detector view (tui.DetectView),
// adding every event to report, and prints the summary once the view has
// closed. q in the view before the end cancels the job; the view then waits
// for the job's Summary. It returns the Summary and whether the job was
// cancelled (by q or a signal).
func detectView(ctx context.Context, job *detector.Job, in, modelDir string, report *detector.Report, out *os.File) (detector.Summary, bool, error) {
	total := 0
	if n, _, _, err := detector.CountFrames(in); err == nil {
		total = n
	}
	jobCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	uiCh := make(chan detector.Event, 64)
	uiGone := make(chan struct{})
	var sum detector.Summary
	var cancelled bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(uiCh)
		for ev := range job.Run(jobCtx) {
			report.Add(ev)
			if s, ok := ev.(detector.Summary); ok {
				sum = s
			}
			select {
			case uiCh <- ev:
			case <-uiGone:
			}
		}
		cancelled = jobCtx.Err() != nil
	}()
	v := tui.NewDetectView(tui.DetectOptions{In: in, Model: modelDir, Total: total, Events: uiCh, Cancel: cancel})
	p := tea.NewProgram(v, tea.WithAltScreen(), tea.WithOutput(out), tea.WithContext(ctx), tea.WithFPS(20))
	_, uiErr := p.Run()
	if uiErr != nil && ctx.Err() == nil && !errors.Is(uiErr, tea.ErrProgramKilled) {
		cancel() // the view failed: stop the job rather than run it blind
	}
	close(uiGone)
	<-done
	detector.WriteSummary(out, sum)
	if uiErr != nil && ctx.Err() == nil {
		return sum, cancelled, uiErr
	}
	return sum, cancelled, nil
}

func synthVideoCmd(fs *flag.FlagSet) runFunc {
	out := fs.String("out", "", "output video (MJPG .avi, 10 fps)")
	truthPath := fs.String("truth", "", "ground-truth JSON file")
	frames := fs.Int("frames", 100, "number of frames")
	size := fs.String("size", "320x240", "frame size WxH")
	seed := fs.Int64("seed", 1, "random seed")
	data := dataFlag(fs)
	split := fs.String("split", detector.SplitTest, "where the items come from: test (the test file), train (the training file's first 55,000) or val (its last 5,000)")
	return func(_ []string, stdout, _ io.Writer) error {
		if *out == "" || *truthPath == "" {
			return exitError{2, errors.New("synth-video: --out and --truth are required")}
		}
		if !strings.EqualFold(filepath.Ext(*out), ".avi") {
			return exitError{2, fmt.Errorf("synth-video: --out must be an .avi file (MJPG), got %s", *out)}
		}
		if _, _, err := detector.SplitRange(*split, 60000); err != nil {
			return exitError{2, fmt.Errorf("synth-video: --split: %v", err)}
		}
		if *frames <= 0 || *frames > 100000 {
			return exitError{2, fmt.Errorf("synth-video: --frames must be 1 to 100000, got %d", *frames)}
		}
		w, h, err := parseSize(*size)
		if err != nil {
			return exitError{2, fmt.Errorf("synth-video: --size: %v", err)}
		}
		if detector.SamePath(*out, *truthPath) {
			return exitError{2, fmt.Errorf("synth-video: --out and --truth name the same file %s", *out)}
		}
		if err := detector.CheckWritable(*truthPath, "truth file"); err != nil {
			return fmt.Errorf("synth-video: %v", err)
		}
		dir := *data
		if dir == "" {
			dir = trainer.DefaultDataDir()
		}
		src, err := detector.LoadSplit(dir, *split)
		if err != nil {
			return err
		}
		vw, err := detector.OpenWriter(*out, w, h, 10)
		if err != nil {
			return fmt.Errorf("synth-video: %v", err)
		}
		defer vw.Abort() // on an error or Ctrl-C: files already at --out and --truth stay as they were
		ctx, stop := signalContext()
		defer stop()
		cfg := src.SynthConfig(*frames, w, h, *seed)
		truth, err := detector.Synthesize(cfg, func(_ int, bgr []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return vw.WriteBytes(bgr)
		})
		if ctx.Err() != nil {
			return errCancelled("synth-video: cancelled; nothing written")
		}
		if err != nil {
			return fmt.Errorf("synth-video: %v", err)
		}
		b, err := json.MarshalIndent(truth, "", " ")
		if err != nil {
			return err
		}
		if err := results.WriteFileAtomic(*truthPath, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("synth-video: %v", err)
		}
		if err := vw.Close(); err != nil {
			return fmt.Errorf("synth-video: %v", err)
		}
		items := 0
		for _, f := range truth.Frames {
			items += len(f.Items)
		}
		fmt.Fprintf(stdout, "wrote %s (%d frames, %dx%d, MJPG 10 fps) and %s (%d items)\n", *out, *frames, w, h, *truthPath, items)
		return nil
	}
}

func parseSize(s string) (int, int, error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	w, err1 := strconv.Atoi(a)
	h, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%q is not WxH", s)
	}
	if w < 64 || h < 64 || w > 4096 || h > 4096 {
		return 0, 0, fmt.Errorf("%dx%d: each side must be 64 to 4096", w, h)
	}
	return w, h, nil
}

func recordCmd(fs *flag.FlagSet) runFunc {
	camera := fs.Int("camera", 0, "camera index")
	frames := fs.Int("frames", 40, "frames to record")
	out := fs.String("out", "output.avi", "output video (MJPG .avi, 10 fps)")
	return func(_ []string, stdout, _ io.Writer) error {
		ctx, stop := signalContext()
		defer stop()
		n, err := detector.Record(ctx, *camera, *frames, *out, nil)
		if err != nil {
			if _, ok := err.(detector.ArgumentError); ok {
				return exitError{2, fmt.Errorf("record: %v", err)}
			}
			return fmt.Errorf("record: %v", err)
		}
		if ctx.Err() != nil {
			if n == 0 {
				return errCancelled("record: cancelled before the first frame; nothing written")
			}
			return errCancelled(fmt.Sprintf("record: cancelled; the %d frames recorded are in %s", n, *out))
		}
		fmt.Fprintf(stdout, "recorded %s (%d frames)\n", *out, n)
		return nil
	}
}

// detRunSettings are what a detection model's run needs to make its data
// again, kept in its run directory (detdata/settings.json) for resuming.
type detRunSettings struct {
	Seed    int64  `json:"seed"`
	Frames  int    `json:"train_frames"`
	DataDir string `json:"data_dir"`
	// Photos: the directory of background photos, "" for none.
	Photos string `json:"photos"`
}

const detSettingsFile = "settings.json"

var (
	detTrainMu   sync.Mutex
	detTrainFile = map[string]*trainer.Dataset{} // the training file, by directory
)

// detData is the data source of a detection model's run: scenes drawn from
// the training file's train and val splits, sized by frames (training
// frames; mining, validation and plain images scale with it). With resume
// the settings come from the run directory.
func detData(runsDir, id, dataDir string, seed int64, frames int, photos string, resume bool) (*detector.DetData, error) {
	dir := filepath.Join(runsDir, id, "detdata")
	set := detRunSettings{Seed: seed, Frames: frames, DataDir: dataDir, Photos: photos}
	if resume {
		b, err := os.ReadFile(filepath.Join(dir, detSettingsFile))
		if err != nil {
			return nil, fmt.Errorf("detection run %s: %v", id, err)
		}
		if err := json.Unmarshal(b, &set); err != nil || set.Frames <= 0 {
			return nil, fmt.Errorf("detection run %s: %s is damaged", id, filepath.Join(dir, detSettingsFile))
		}
		if dataDir != "" {
			set.DataDir = dataDir
		}
	}
	// The photos first: a bad directory leaves no run directory behind.
	var trainPhotos, valPhotos []*detector.Photo
	if set.Photos != "" {
		var err error
		if trainPhotos, valPhotos, err = detector.LoadPhotos(set.Photos); err != nil {
			return nil, err
		}
	}
	train, err := trainFile(set.DataDir)
	if err != nil {
		return nil, err
	}
	src := "Fashion-MNIST training file"
	trainSplit, err := detector.SplitOf(train, detector.SplitTrain, src)
	if err != nil {
		return nil, err
	}
	valSplit, err := detector.SplitOf(train, detector.SplitVal, src)
	if err != nil {
		return nil, err
	}
	if !resume {
		b, _ := json.MarshalIndent(set, "", " ")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("detection run %s: %v", id, err)
		}
		if err := results.WriteFileAtomic(filepath.Join(dir, detSettingsFile), append(b, '\n'), 0o644); err != nil {
			return nil, err
		}
	}
	d := detector.NewDetData(trainSplit, valSplit, set.Seed, dir)
	d.Photos, d.ValPhotos = trainPhotos, valPhotos
	d.TrainFrames = set.Frames
	d.MineFrames = max(20, set.Frames*2/5)
	d.ValFrames = max(40, set.Frames/4)
	d.Plain = min(trainSplit.N, set.Frames*40)
	d.ItemFrames = set.Frames * 16 / 3
	return d, nil
}

// photoDir is --det-photos: "none" is no photos.
func photoDir(flag string) string {
	if flag == "none" {
		return ""
	}
	return flag
}

// trainFile is the whole training file of dataDir, loaded once.
func trainFile(dataDir string) (*trainer.Dataset, error) {
	detTrainMu.Lock()
	defer detTrainMu.Unlock()
	d := detTrainFile[dataDir]
	if d == nil {
		var err error
		if d, _, err = trainer.Load(dataDir, 0, 1); err != nil {
			return nil, err
		}
	}
	// Scenes are drawn from float images: convert the bytes once, here, so
	// that every detection job's splits share one copy.
	if d.Pix != nil {
		d = &trainer.Dataset{Images: d.Floats(), Labels: d.Labels, N: d.N}
	}
	detTrainFile[dataDir] = d
	return d, nil
}

// keepTrainFile remembers d, the whole training file of dataDir, for trainFile.
func keepTrainFile(dataDir string, d *trainer.Dataset) {
	detTrainMu.Lock()
	defer detTrainMu.Unlock()
	detTrainFile[dataDir] = d
}

// isDetModel says whether name is a detection model.
func isDetModel(name string) bool {
	s, err := archs.Lookup(name)
	return err == nil && s.Detection
}
