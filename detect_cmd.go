package main

// The detector's commands: detect (label fashion items in a video),
// synth-video (a test video with ground truth) and record (from a camera).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"fmnist/archs"
	"fmnist/detector"
	"fmnist/results"
	"fmnist/trainer"
	"fmnist/tui"

	tea "github.com/charmbracelet/bubbletea"
)

const detectUsage = `  fmnist detect --in VIDEO --out OUT.avi [--model RUN_DIR|best] [--runs DIR] [--threshold 0.9]
               [--mode single|fast|quality] [--json FILE] [--truth FILE] [--headless] [--seed-pipeline]
                                           label fashion items in a video (selective search + the model)
  fmnist synth-video --out VIDEO --truth TRUTH.json [--frames N] [--size WxH] [--seed N]
                                           a test video of Fashion-MNIST test items, with ground truth
  fmnist record --camera N --frames 40 --out FILE
                                           record from a camera (MJPG, 10 fps), as the seed did
`

// detectModel loads the model --model names (a run directory, run ID, model
// directory, or "best" in runsDir): the one place the detector depends on
// the results package's loader.
func detectModel(arg, runsDir string) (*archs.Model, string, error) {
	modelDir := ""
	if arg == "best" {
		_, runDir, err := results.BestRun(runsDir)
		if err != nil {
			return nil, "", err
		}
		modelDir = filepath.Join(runDir, results.BestDir)
	} else {
		var err error
		if modelDir, _, err = results.ModelDir(arg, runsDir, false); err != nil {
			return nil, "", err
		}
	}
	m, _, err := results.LoadModel(modelDir)
	if err != nil {
		return nil, "", err
	}
	return m, modelDir, nil
}

func cmdDetect(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("detect", flag.ContinueOnError)
	in := fs.String("in", "", "input video")
	out := fs.String("out", "", "output video with labelled boxes (MJPG .avi; .mp4 gets mp4v)")
	model := fs.String("model", "best", "RUN_DIR, RUN_ID, MODEL_DIR, or best: the run with the highest test accuracy in --runs")
	runsDir := fs.String("runs", "runs", "directory of run records")
	def := detector.DefaultConfig()
	threshold := fs.Float64("threshold", def.Threshold, "keep a label when its top softmax probability is above this")
	mode := fs.String("mode", "single", "selective search: single, fast or quality")
	jsonOut := fs.String("json", "", "write per-frame boxes, stage times and the summary to this JSON file")
	truthFile := fs.String("truth", "", "ground truth (from synth-video): report precision, recall and mean IoU")
	headless := fs.Bool("headless", false, "plain progress lines and a summary, even on a terminal (off a terminal output is always plain)")
	seedPipe := fs.Bool("seed-pipeline", false, "the seed's pipeline: crops stretched, 0-255 values, no inversion, no NMS")
	propSide := fs.Int("proposal-side", def.ProposalSide, "run selective search on the frame scaled down to this longer side (0: full size)")
	maxAspect := fs.Float64("max-aspect", def.MaxAspect, "drop proposals whose w/h or h/w exceeds this (the seed's 1.2)")
	minContrast := fs.Float64("min-contrast", def.MinContrast, "skip crops whose brightest level is less than this many grey levels above their border (ours only)")
	noMerge := fs.Bool("no-merge", false, "skip the seed's near-duplicate merging (ours only; NMS still removes duplicates)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return exitError{2, errors.New("detect: --in and --out are required")}
	}
	m, err := detector.ParseMode(*mode)
	if err != nil {
		return exitError{2, fmt.Errorf("detect: --mode: %v", err)}
	}
	cfg := def
	cfg.In, cfg.Out, cfg.Mode, cfg.SeedPipeline = *in, *out, m, *seedPipe
	cfg.Threshold, cfg.ProposalSide, cfg.MaxAspect, cfg.NoMerge, cfg.MinContrast = *threshold, *propSide, *maxAspect, *noMerge, *minContrast
	cfg.Names = trainer.ClassNames[:]
	if *truthFile != "" {
		if cfg.Truth, err = detector.ReadTruth(*truthFile); err != nil {
			return fmt.Errorf("detect: %v", err)
		}
	}
	if *jsonOut != "" {
		if err := detector.CheckWritable(*jsonOut, "JSON file"); err != nil {
			return fmt.Errorf("detect: %v", err)
		}
	}
	if err := detector.CheckInput(cfg.In); err != nil { // before the slower model load
		return fmt.Errorf("detect: %v", err)
	}
	var modelDir string
	if cfg.Model, modelDir, err = detectModel(*model, *runsDir); err != nil {
		return fmt.Errorf("detect: model: %v", err)
	}
	job, err := detector.Open(cfg)
	if err != nil {
		return fmt.Errorf("detect: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
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
	if cancelled {
		return exitError{130, errors.New("detect: cancelled")}
	}
	if sum.Err != "" {
		return fmt.Errorf("detect: %s", sum.Err)
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

func cmdSynthVideo(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("synth-video", flag.ContinueOnError)
	out := fs.String("out", "", "output video (MJPG .avi, 10 fps)")
	truthPath := fs.String("truth", "", "ground-truth JSON file")
	frames := fs.Int("frames", 100, "number of frames")
	size := fs.String("size", "320x240", "frame size WxH")
	seed := fs.Int64("seed", 1, "random seed")
	data := fs.String("data", "", "Fashion-MNIST directory (default: $FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *out == "" || *truthPath == "" {
		return exitError{2, errors.New("synth-video: --out and --truth are required")}
	}
	if *frames <= 0 || *frames > 100000 {
		return exitError{2, fmt.Errorf("synth-video: --frames must be 1 to 100000, got %d", *frames)}
	}
	w, h, err := parseSize(*size)
	if err != nil {
		return exitError{2, fmt.Errorf("synth-video: --size: %v", err)}
	}
	if err := detector.CheckWritable(*truthPath, "truth file"); err != nil {
		return fmt.Errorf("synth-video: %v", err)
	}
	dir := *data
	if dir == "" {
		dir = trainer.DefaultDataDir()
	}
	_, test, err := trainer.Load(dir, 1, 0) // the test split only matters: items are never training images
	if err != nil {
		return err
	}
	vw, err := detector.OpenWriter(*out, w, h, 10)
	if err != nil {
		return fmt.Errorf("synth-video: %v", err)
	}
	defer vw.Close()
	truth, err := detector.Synthesize(detector.SynthConfig{
		Frames: *frames, W: w, H: h, Seed: *seed,
		Images: test.Images, Labels: test.Labels, N: test.N,
		Source: "Fashion-MNIST test split (t10k), " + dir, Names: trainer.ClassNames[:],
	}, func(_ int, bgr []byte) error { return vw.WriteBytes(bgr) })
	if err != nil {
		return fmt.Errorf("synth-video: %v", err)
	}
	if err := vw.Close(); err != nil {
		return fmt.Errorf("synth-video: %v", err)
	}
	b, err := json.MarshalIndent(truth, "", " ")
	if err != nil {
		return err
	}
	if err := results.WriteFileAtomic(*truthPath, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("synth-video: %v", err)
	}
	items := 0
	for _, f := range truth.Frames {
		items += len(f.Items)
	}
	fmt.Fprintf(stdout, "wrote %s (%d frames, %dx%d, MJPG 10 fps) and %s (%d items)\n", *out, *frames, w, h, *truthPath, items)
	return nil
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

func cmdRecord(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	camera := fs.Int("camera", 0, "camera index")
	frames := fs.Int("frames", 40, "frames to record")
	out := fs.String("out", "output.avi", "output video (MJPG .avi, 10 fps)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := detector.Record(*camera, *frames, *out, nil); err != nil {
		return fmt.Errorf("record: %v", err)
	}
	fmt.Fprintf(stdout, "recorded %s\n", *out)
	return nil
}
