package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fmnist/detector"
	"fmnist/results"
)

// TestDetectSyntheticVideo trains CNN2 briefly through the binary, makes a
// synthetic video and runs the whole detector on it: output frame count and
// size, the JSON's fields, precision and recall against the truth, for our
// pipeline and the seed's; then bad inputs through the binary.
func TestDetectSyntheticVideo(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	if _, stderr, code := fmnist(t, "train", "--models", "CNN2", "--epochs", "3", "--limit-train", "12000", "--limit-test", "1000", "--runs", runs, "--headless"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	video, truth := filepath.Join(dir, "syn.avi"), filepath.Join(dir, "syn.json")
	if out, stderr, code := fmnist(t, "synth-video", "--out", video, "--truth", truth, "--frames", "100", "--seed", "1"); code != 0 || !strings.Contains(out, "100 frames") {
		t.Fatalf("synth-video: exit %d: %s%s", code, out, stderr)
	}
	n, w, h, err := detector.CountFrames(video)
	if err != nil || n != 100 || w != 320 || h != 240 {
		t.Fatalf("synthetic video: %d frames %dx%d, %v", n, w, h, err)
	}

	type scores struct {
		Precision, Recall float64
		MeanIoU           float64 `json:"mean_iou"`
	}
	detect := func(name string, extra ...string) (scores, map[string]any, string) {
		t.Helper()
		outVideo, js := filepath.Join(dir, name+".avi"), filepath.Join(dir, name+".json")
		args := append([]string{"detect", "--in", video, "--out", outVideo, "--runs", runs, "--truth", truth, "--json", js, "--headless"}, extra...)
		out, stderr, code := fmnist(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		if got, gw, gh, err := detector.CountFrames(outVideo); err != nil || got != 100 || gw != 320 || gh != 240 {
			t.Fatalf("%s: output has %d frames %dx%d (%v), want 100 at 320x240", name, got, gw, gh, err)
		}
		b, err := os.ReadFile(js)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatalf("%s: JSON: %v", name, err)
		}
		var rep struct {
			Summary struct {
				Metrics struct {
					Overall  scores            `json:"overall"`
					PerClass map[string]scores `json:"per_class"`
				} `json:"metrics"`
			} `json:"summary"`
		}
		json.Unmarshal(b, &rep)
		if len(rep.Summary.Metrics.PerClass) != 10 {
			t.Errorf("%s: %d classes in per_class", name, len(rep.Summary.Metrics.PerClass))
		}
		return rep.Summary.Metrics.Overall, raw, out
	}

	ours, raw, out := detect("ours")
	for _, k := range []string{"input", "output", "model", "mode", "seed_pipeline", "threshold", "width", "height", "fps", "frames", "summary"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	frames := raw["frames"].([]any)
	if len(frames) != 100 {
		t.Fatalf("JSON has %d frames", len(frames))
	}
	f0 := frames[0].(map[string]any)
	for _, k := range []string{"index", "proposals", "regions", "boxes", "ms"} {
		if _, ok := f0[k]; !ok {
			t.Errorf("JSON frame lacks %q", k)
		}
	}
	for _, k := range []string{"decode", "proposals", "prepare", "classify", "draw_write", "total"} {
		if _, ok := f0["ms"].(map[string]any)[k]; !ok {
			t.Errorf("JSON frame ms lacks %q", k)
		}
	}
	sum := raw["summary"].(map[string]any)
	for _, k := range []string{"frames", "frames_labelled", "detections", "detections_per_class", "frames_per_second", "mean_ms", "metrics"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("JSON summary lacks %q", k)
		}
	}
	if sum["frames"].(float64) != 100 {
		t.Errorf("summary frames %v", sum["frames"])
	}
	for _, want := range []string{"frame  100", "frames/s", "mean ms/frame", "against truth", "precision"} {
		if !strings.Contains(out, want) {
			t.Errorf("headless output lacks %q:\n%s", want, out)
		}
	}

	// Thresholds set from measurement with this model (CNN2, 3 epochs on
	// 12,000 images, 79.4% test accuracy) on this video (seed 1), somewhat
	// below what was measured:
	//   ours, defaults (seed's filters)        precision 0.39  recall 0.05  mean IoU 0.75
	//   ours, --max-aspect 3 --no-merge        precision 0.43  recall 0.16  mean IoU 0.74
	//   seed's pipeline                        precision 0.03  recall 0.03  mean IoU 0.61
	if ours.Precision < 0.25 || ours.Recall < 0.02 || ours.MeanIoU < 0.6 {
		t.Errorf("ours (defaults): %+v, want precision >= 0.25, recall >= 0.02, mean IoU >= 0.6", ours)
	}
	loose, _, _ := detect("loose", "--max-aspect", "3", "--no-merge")
	if loose.Precision < 0.3 || loose.Recall < 0.1 || loose.MeanIoU < 0.6 {
		t.Errorf("ours (--max-aspect 3 --no-merge): %+v, want precision >= 0.3, recall >= 0.1, mean IoU >= 0.6", loose)
	}
	seed, _, _ := detect("seed", "--seed-pipeline")
	if seed.Precision > 0.1 || seed.Precision*3 > ours.Precision {
		t.Errorf("seed pipeline precision %.3f, ours %.3f: want the seed's below 0.1 and a third of ours", seed.Precision, ours.Precision)
	}

	// Bad inputs: one clear line, non-zero exit, no OpenCV abort.
	text := filepath.Join(dir, "notes.avi")
	os.WriteFile(text, []byte("not a video\n"), 0o644)
	empty := filepath.Join(dir, "empty.avi")
	os.WriteFile(empty, nil, 0o644)
	noFrames := filepath.Join(dir, "noframes.avi")
	vw, err := detector.OpenWriter(noFrames, 320, 240, 10)
	if err != nil {
		t.Fatal(err)
	}
	vw.Close()
	badModel := filepath.Join(dir, "badmodel")
	os.MkdirAll(badModel, 0o755)
	os.WriteFile(filepath.Join(badModel, "model.yaml"), []byte("format: fmnist-model/1\narchitecture: CNN2\n"), 0o644)
	out1 := filepath.Join(dir, "x.avi")
	cases := []badInput{
		{[]string{"--in", filepath.Join(dir, "missing.avi")}, "does not exist"},
		{[]string{"--in", text}, "not a video"},
		{[]string{"--in", empty}, "empty"},
		{[]string{"--in", noFrames}, "no frames"},
		{[]string{"--in", video, "--out", filepath.Join(dir, "no", "such", "dir", "o.avi")}, "does not exist"},
		{[]string{"--in", video, "--out", filepath.Join(text, "o.avi")}, "cannot write output video"},
		{[]string{"--in", video, "--model", badModel}, "model"},
		{[]string{"--in", video, "--model", filepath.Join(dir, "nowhere")}, "no run or model"},
		{[]string{"--in", video, "--runs", filepath.Join(dir, "noruns")}, "model"},
		{[]string{"--in", video, "--mode", "slow"}, "unknown mode"},
		{[]string{"--in", video, "--out", video}, "--in and --out name the same file"},
		{[]string{"--in", video, "--json", dir + "/./syn.avi"}, "--in and --json name the same file"},
		{[]string{"--in", video, "--truth", truth, "--json", truth}, "--truth and --json name the same file"},
		{[]string{"--in", video, "--max-aspect", "NaN"}, "--max-aspect must be at least 1 (a box's w/h or h/w is never below 1), got NaN"},
		{[]string{"--in", video, "--min-contrast", "NaN"}, "--min-contrast must be a number of grey levels, 0 or more, got NaN"},
	}
	for i := range cases {
		cases[i].args = append([]string{"detect", "--out", out1, "--runs", runs}, cases[i].args...)
	}
	expectOneLineErrors(t, cases)
	if _, err := os.Stat(out1); err == nil {
		t.Errorf("a refused detect left %s behind", out1)
	}
	if _, stderr, code := fmnist(t, "synth-video", "--out", out1, "--truth", out1); code != 2 || !strings.Contains(stderr, "--out and --truth name the same file") {
		t.Errorf("synth-video --out X --truth X: exit %d, %q", code, stderr)
	}

	// A truth file for fewer frames than the video: an error, with the
	// output video written whole in place of the file that was there, and
	// nothing else left beside it.
	var tr map[string]any
	b, _ := os.ReadFile(truth)
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	tr["frames"] = tr["frames"].([]any)[:3]
	short := filepath.Join(dir, "short.json")
	b, _ = json.Marshal(tr)
	os.WriteFile(short, b, 0o644)
	keep := filepath.Join(dir, "keep", "out.avi")
	os.MkdirAll(filepath.Dir(keep), 0o755)
	os.WriteFile(keep, []byte("an earlier result\n"), 0o644)
	if _, stderr, code := fmnist(t, "detect", "--in", video, "--out", keep, "--truth", short, "--runs", runs, "--headless"); code == 0 || !strings.Contains(stderr, "the truth file has 3 frames") || !strings.Contains(stderr, "(the video is written to "+keep+")") {
		t.Errorf("detect with a short truth file: exit %d, %q", code, stderr)
	}
	if n, _, _, err := detector.CountFrames(keep); err != nil || n != 100 {
		t.Errorf("after a short truth file %s has %d frames (%v), want 100", keep, n, err)
	}
	if left, _ := os.ReadDir(filepath.Dir(keep)); len(left) != 1 {
		t.Errorf("detect left %d files in %s", len(left), filepath.Dir(keep))
	}

	// synth-video stopped by Ctrl-C: exit 130, the files at --out and
	// --truth as they were, nothing beside them.
	stop := filepath.Join(dir, "stop")
	os.MkdirAll(stop, 0o755)
	os.WriteFile(filepath.Join(stop, "v.avi"), []byte("old video"), 0o644)
	cmd := exec.Command(bin, "synth-video", "--frames", "100000", "--out", filepath.Join(stop, "v.avi"), "--truth", filepath.Join(stop, "v.json"))
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if e, _ := os.ReadDir(stop); len(e) > 1 { // its temporary video: frames are being written
			break
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(errb.String(), "cancelled; nothing written") {
		t.Errorf("synth-video after SIGINT: exit %d, %q", code, errb.String())
	}
	if e, _ := os.ReadDir(stop); len(e) != 1 {
		t.Errorf("synth-video after SIGINT left %d files", len(e))
	}
	if b, _ := os.ReadFile(filepath.Join(stop, "v.avi")); string(b) != "old video" {
		t.Errorf("synth-video after SIGINT replaced the old video")
	}

	_, stderr, code := fmnist(t, "record", "--camera", "3", "--frames", "40", "--out", filepath.Join(dir, "rec.avi"))
	if code == 0 || strings.TrimSpace(stderr) != "fmnist: record: no camera 3 (/dev/video3 does not exist)" {
		t.Errorf("record without a camera: exit %d, %q", code, stderr)
	}
	// Bad flag values are usage errors (exit 2), like every command's.
	for _, args := range [][]string{{"--frames", "0"}, {"--camera", "-1"}} {
		_, stderr, code := fmnist(t, append([]string{"record", "--out", filepath.Join(dir, "rec.avi")}, args...)...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "record: "+args[0]) {
			t.Errorf("record %v: exit %d, %q", args, code, stderr)
		}
	}
}

// TestDetectInTmux runs detect under its terminal view in tmux: at 80x24 to
// the end (the view shows the summary, q exits 0 and the summary lines are
// printed), and at 120x40 quitting early (exit 130, JSON of the frames so far).
func TestDetectInTmux(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	if _, stderr, code := fmnist(t, "train", "--models", "CNN2", "--epochs", "1", "--limit-train", "2048", "--limit-test", "200", "--runs", runs, "--headless"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	video := func(name string, frames int) (string, string) {
		v, tr := filepath.Join(dir, name+".avi"), filepath.Join(dir, name+".json")
		if out, stderr, code := fmnist(t, "synth-video", "--out", v, "--truth", tr, "--frames", fmt.Sprint(frames)); code != 0 {
			t.Fatalf("synth-video: exit %d: %s%s", code, out, stderr)
		}
		return v, tr
	}
	exitStatus := func(file string) string {
		t.Helper()
		s := waitScreen(t, func() string { b, _ := os.ReadFile(file); return string(b) }, "the exit status", 60*time.Second,
			func(s string) bool { return strings.TrimSpace(s) != "" })
		return strings.TrimSpace(s)
	}

	t.Run("to-the-end-80x24", func(t *testing.T) {
		in, truth := video("short", 30)
		exitFile := filepath.Join(dir, "exit1")
		cmd := fmt.Sprintf("%s detect --in %s --out %s --truth %s --runs %s --threshold 0.5; echo $? > %s; sleep 60",
			bin, in, filepath.Join(dir, "o1.avi"), truth, runs, exitFile)
		capture, keys := tmuxSession(t, 80, 24, cmd)
		screen := waitSettled(t, capture, "the summary", 60*time.Second, func(s string) bool { return strings.Contains(s, "Summary") })
		for _, want := range []string{"fmnist detect", "short.avi", "mode single", "frame 30/30", "frames/s", "done",
			"Labelled frames", "Labels per class", "T-shirt/top", "Ankle boot", "frames 30,", "against truth", "precision", "q quit"} {
			if !strings.Contains(screen, want) {
				t.Errorf("view lacks %q:\n%s", want, screen)
			}
		}
		if lines := strings.Split(strings.TrimRight(screen, "\n"), "\n"); len(lines) > 24 {
			t.Errorf("view has %d lines at 80x24", len(lines))
		}
		keys("q")
		if s := exitStatus(exitFile); s != "0" {
			t.Errorf("exit status %q, want 0", s)
		}
		after := waitScreen(t, capture, "the printed summary", 5*time.Second, func(s string) bool { return strings.Contains(s, "mean ms/frame:") })
		if !strings.Contains(after, "frames 30, labelled") {
			t.Errorf("summary after the view:\n%s", after)
		}
	})

	t.Run("quit-early-120x40", func(t *testing.T) {
		in, _ := video("long", 2000)
		exitFile, js := filepath.Join(dir, "exit2"), filepath.Join(dir, "o2.json")
		cmd := fmt.Sprintf("%s detect --in %s --out %s --json %s --runs %s; echo $? > %s; sleep 60",
			bin, in, filepath.Join(dir, "o2.avi"), js, runs, exitFile)
		capture, keys := tmuxSession(t, 120, 40, cmd)
		// The frame count moves on: the view is read whole (its footer is
		// drawn last) rather than settled.
		waitScreen(t, capture, "progress of /2000 and the footer", 60*time.Second, func(s string) bool {
			return strings.Contains(s, "ETA") && strings.Contains(s, "/2000") && strings.Contains(s, "q cancel and quit")
		})
		keys("q")
		if s := exitStatus(exitFile); s != "130" {
			t.Errorf("exit status %q, want 130", s)
		}
		b, err := os.ReadFile(js)
		if err != nil {
			t.Fatalf("no JSON after cancelling: %v", err)
		}
		var rep struct{ Frames []any }
		if err := json.Unmarshal(b, &rep); err != nil || len(rep.Frames) == 0 || len(rep.Frames) >= 2000 {
			t.Errorf("JSON after cancelling: %d frames, %v", len(rep.Frames), err)
		}
	})
}

// TestDetectionModel trains a small detection model (ten classes and
// background) the way a user does, then detects on a generated test-split
// video with its defaults, and checks the bad inputs of that path.
func TestDetectionModel(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	// Drawn textures only: photo backgrounds pay off at 1,500 frames and
	// more (tree.avi: 0.06 detections a frame against 0.60), but at 300
	// frames they leave too few drawn scenes (measured on the video below,
	// one build: precision 0.54 and recall 0.50 with them, 0.87 and 0.74
	// without).
	out, stderr, code := fmnist(t, "train", "--models", "CNN2_det", "--det-frames", "300", "--epochs", "16", "--det-photos", "none", "--runs", runs, "--headless")
	if code != 0 || !strings.Contains(out, "CNN2_det") {
		t.Fatalf("train CNN2_det: exit %d: %s%s", code, out, stderr)
	}
	runDir := runDirs(t, runs)[0]
	yml, err := os.ReadFile(filepath.Join(runDir, "best", "model.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"architecture: CNN2_det", "background_class: 10", "threshold: ", "relabel: ", "chosen_on: ", "- background"} {
		if !strings.Contains(string(yml), want) {
			t.Errorf("best/model.yaml lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(runDir, "detdata", detector.MinedFile)); err != nil {
		t.Errorf("no mined hard negatives: %v", err)
	}
	run, err := results.LoadRun(runDir)
	if err != nil || len(run.Epochs) != 16 || run.Status != "done" {
		t.Fatalf("run record: %+v, %v", run, err)
	}
	if _, ok := run.Epochs[15].Extra["det_recall"]; !ok {
		t.Errorf("epoch 16 lacks the validation scenes' figures: %v", run.Epochs[15].Extra)
	}
	if run.ChosenOn() != "scenes" {
		t.Errorf("the best epoch was chosen on %q, not the validation scenes", run.ChosenOn())
	}

	video, truth := filepath.Join(dir, "test.avi"), filepath.Join(dir, "test.json")
	if out, stderr, code := fmnist(t, "synth-video", "--out", video, "--truth", truth, "--frames", "60", "--seed", "11", "--split", "test"); code != 0 {
		t.Fatalf("synth-video: exit %d: %s%s", code, out, stderr)
	}
	type scores struct {
		Precision, Recall float64
		MeanIoU           float64 `json:"mean_iou"`
	}
	detect := func(name string, extra ...string) (scores, int) {
		t.Helper()
		js := filepath.Join(dir, name+".json")
		outVideo := filepath.Join(dir, name+".avi")
		args := append([]string{"detect", "--in", video, "--out", outVideo, "--runs", runs, "--truth", truth, "--json", js, "--headless"}, extra...)
		out, stderr, code := fmnist(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s%s", name, code, out, stderr)
		}
		if n, _, _, err := detector.CountFrames(outVideo); err != nil || n != 60 {
			t.Fatalf("%s: output has %d frames (%v)", name, n, err)
		}
		b, _ := os.ReadFile(js)
		var rep struct {
			Background bool `json:"background_class"`
			Summary    struct {
				Background int `json:"rejected_as_background"`
				Metrics    struct {
					Overall scores `json:"overall"`
				} `json:"metrics"`
			} `json:"summary"`
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %+v, %d regions rejected as background", name, rep.Summary.Metrics.Overall, rep.Summary.Background)
		if !strings.Contains(out, "detection model") {
			t.Errorf("%s: the start line does not say a detection model is used:\n%s", name, out)
		}
		return rep.Summary.Metrics.Overall, rep.Summary.Background
	}
	// "best" picks the detection model, with its own threshold and defaults.
	ours, rejected := detect("ours")
	seed, _ := detect("seed", "--seed-pipeline")
	// Thresholds from measurement with this model (16 epochs on 300
	// frames, 1.5 min of training) on this video (seed 11, 102 items),
	// below the lowest of three seeds (--seed 1, 2, 3): precision 0.915,
	// 0.952, 0.912; recall 0.843, 0.784, 0.814; mean IoU 0.949, 0.954,
	// 0.953. With 8 epochs the model varied too much for these thresholds:
	// recall 0.706, 0.510 and 0.824 for the three seeds, and 0.706 to 0.882
	// for seed 1 across builds whose only difference was float rounding
	// (im2col or Winograd convolutions, BatchNorm with or without fused
	// multiply-adds). The full benchmark's model (24 epochs on 1,500
	// frames) is more precise and finds fewer (0.846 and 0.738 on the
	// harder 200-frame video of seed 3). The seed's pipeline with the same
	// model finds none.
	if ours.Precision < 0.65 || ours.Recall < 0.75 || ours.MeanIoU < 0.8 || rejected == 0 {
		t.Errorf("detection model, defaults: %+v, %d rejected; want precision >= 0.65, recall >= 0.75, mean IoU >= 0.8", ours, rejected)
	}
	if seed.Recall*2 > ours.Recall {
		t.Errorf("the seed's pipeline finds %.3f of the items, ours %.3f: want ours at least twice as many", seed.Recall, ours.Recall)
	}

	// Bad inputs.
	small, smallTruth := filepath.Join(dir, "small.avi"), filepath.Join(dir, "small.json")
	fmnist(t, "synth-video", "--out", small, "--truth", smallTruth, "--frames", "5", "--size", "160x120")
	shortTruth := filepath.Join(dir, "short.json")
	fmnist(t, "synth-video", "--out", filepath.Join(dir, "short.avi"), "--truth", shortTruth, "--frames", "30")
	wrong := filepath.Join(dir, "wrongclasses")
	os.MkdirAll(wrong, 0o755)
	w, _ := os.ReadFile(filepath.Join(runDir, "best", "model.safetensors"))
	os.WriteFile(filepath.Join(wrong, "model.safetensors"), w, 0o644)
	os.WriteFile(filepath.Join(wrong, "model.yaml"), []byte(strings.Replace(string(yml), "  - background\n", "", 1)), 0o644)
	o := filepath.Join(dir, "bad.avi")
	// Photos that are missing or not pictures: an error before any run
	// directory is made.
	badRuns, junkPhotos := filepath.Join(dir, "bad-runs"), filepath.Join(dir, "junk-photos")
	os.MkdirAll(junkPhotos, 0o755)
	for _, name := range detector.PhotoNames {
		os.WriteFile(filepath.Join(junkPhotos, name), []byte("not a picture"), 0o644)
	}
	defer func() {
		if ents, _ := os.ReadDir(badRuns); len(ents) > 0 {
			t.Errorf("a failed detection training left %d run directories behind", len(ents))
		}
	}()
	expectOneLineErrors(t, []badInput{
		{[]string{"detect", "--in", video, "--out", o, "--runs", runs, "--truth", smallTruth}, "truth is for 160x120 frames"},
		{[]string{"detect", "--in", video, "--out", o, "--model", wrong}, "class names"},
		{[]string{"eval", "--model", runDir}, "detection model"},
		{[]string{"train", "--models", "CNN2_det", "--det-frames", "0", "--runs", runs}, "--det-frames must be a positive number"},
		{[]string{"train", "--models", "CNN2_det", "--det-photos", filepath.Join(dir, "no-photos"), "--runs", badRuns}, "background photos:"},
		{[]string{"train", "--models", "CNN2_det", "--det-photos", junkPhotos, "--runs", badRuns}, "not a picture OpenCV can read"},
		{[]string{"synth-video", "--out", o, "--truth", filepath.Join(dir, "t.json"), "--split", "holdout"}, "unknown split"},
		{[]string{"detect", "--in", video, "--out", o, "--runs", runs, "--score", "maybe"}, "--score must be item or class"},
		{[]string{"detect", "--in", video, "--out", o, "--runs", runs, "--refine=false", "--relabel"}, "--relabel classifies refined boxes: it needs --refine"},
	})
	// A truth file for fewer frames: an error, after every frame is written.
	longOut := filepath.Join(dir, "long.avi")
	_, stderr, code = fmnist(t, "detect", "--in", video, "--out", longOut, "--runs", runs, "--truth", shortTruth, "--headless")
	if code == 0 || !strings.Contains(stderr, "the truth file has 30 frames, the video 60") {
		t.Errorf("truth of 30 frames for a 60-frame video: exit %d, %q", code, stderr)
	}
	if !strings.Contains(stderr, "(the video is written to "+longOut+")") {
		t.Errorf("the error does not say where the video is: %q", stderr)
	}
	if n, _, _, err := detector.CountFrames(longOut); err != nil || n != 60 {
		t.Errorf("after that error the output has %d frames (%v), want all 60", n, err)
	}
}

// TestDetectBadInputAndSettings: through the binary, with a small ten-class model. A
// damaged input video (cut short, a part zeroed) is an error naming the
// frame that cannot be decoded (exit 1), with the file at --out left as it
// was; a damaged header is one line, with nothing from OpenCV or FFmpeg on
// stderr; bad flag values and flags the model or other flags make
// meaningless are usage errors (exit 2) naming the flag; synth-video writes
// .avi only; the help gives a detection model's defaults; --json writes
// the settings in effect; an error ending a run is said once (a short
// truth file, SIGTERM).
func TestDetectBadInputAndSettings(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	if _, stderr, code := fmnist(t, "train", "--models", "CNN2", "--epochs", "1", "--limit-train", "2048", "--limit-test", "200", "--runs", runs, "--headless"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	video, truth := filepath.Join(dir, "v.avi"), filepath.Join(dir, "v.json")
	if out, stderr, code := fmnist(t, "synth-video", "--out", video, "--truth", truth, "--frames", "20"); code != 0 {
		t.Fatalf("synth-video: exit %d: %s%s", code, out, stderr)
	}
	b, err := os.ReadFile(video)
	if err != nil {
		t.Fatal(err)
	}
	n := len(b)
	zeroed := append([]byte(nil), b...)
	clear(zeroed[n/3 : 2*n/3])
	header := append([]byte(nil), b...)
	copy(header[12:20], bytes.Repeat([]byte{0xff}, 8))
	bad := map[string][]byte{"cut.avi": b[:n*2/5], "zeroed.avi": zeroed, "header.avi": header}
	for name, data := range bad {
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	keepDir := filepath.Join(dir, "keep")
	os.MkdirAll(keepDir, 0o755)
	keep := filepath.Join(keepDir, "keep.avi")
	os.WriteFile(keep, []byte("an earlier result\n"), 0o644)
	detectArgs := func(in string, extra ...string) []string {
		return append([]string{"detect", "--in", in, "--out", keep, "--runs", runs, "--headless"}, extra...)
	}
	expectOneLineErrorsExit(t, []badInput{
		{detectArgs(filepath.Join(dir, "cut.avi")), "cut.avi is damaged or cut short: frame "},
		{detectArgs(filepath.Join(dir, "zeroed.avi")), "zeroed.avi is damaged or cut short: frame "},
		{detectArgs(filepath.Join(dir, "header.avi")), "header.avi is not a video OpenCV can read"},
	}, 1)
	if b, _ := os.ReadFile(keep); string(b) != "an earlier result\n" {
		t.Errorf("a damaged input replaced %s", keep)
	}
	if e, _ := os.ReadDir(keepDir); len(e) != 1 {
		t.Errorf("damaged inputs left %d files in %s", len(e), keepDir)
	}

	expectOneLineErrorsExit(t, []badInput{
		{detectArgs(video, "--max-aspect", "0"), "detect: --max-aspect must be at least 1"},
		{detectArgs(video, "--max-aspect", "-1"), "detect: --max-aspect must be at least 1"},
		{detectArgs(video, "--proposal-side", "-5"), "detect: --proposal-side must be 0 (full size) or more, got -5"},
		{detectArgs(video, "--min-contrast", "-5"), "detect: --min-contrast must be a number of grey levels, 0 or more, got -5"},
		{detectArgs(video, "--min-area", "1"), "detect: --min-area must be in [0, 1), got 1"},
		{detectArgs(video, "--threshold", "NaN"), "detect: --threshold must be in [0, 1), got NaN"},
		{detectArgs(video, "--fill-gaps"), "detect: --fill-gaps fills the gaps between confirmed frames: it needs --temporal"},
		{detectArgs(video, "--score", "class"), "detect: --score is for detection models;"},
		{[]string{"synth-video", "--out", filepath.Join(dir, "a.mp4"), "--truth", filepath.Join(dir, "a.json")}, "synth-video: --out must be an .avi file (MJPG), got "},
	}, 2)
	for _, f := range []string{"a.mp4", "a.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("a refused synth-video wrote %s", f)
		}
	}
	if out, stderr, code := fmnist(t, "detect", "--in", video, "--out", keep, "--runs", runs, "--headless", "--temporal", "--fill-gaps"); code != 0 {
		t.Errorf("--temporal --fill-gaps: exit %d: %s%s", code, out, stderr)
	}

	// The help says what a detection model uses instead of each default.
	help, _, _ := fmnist(t, "detect", "-h")
	lines := strings.Split(help, "\n")
	for flagName, want := range map[string]string{"-max-aspect": "a detection model: 4)", "-min-contrast": "a detection model: 20)", "-proposal-side": "a detection model: 240)"} {
		found := false
		for i, l := range lines[:len(lines)-1] {
			if strings.HasPrefix(strings.TrimSpace(l), flagName+" ") {
				found = true
				if !strings.Contains(lines[i+1], want) {
					t.Errorf("detect -h, %s: %q lacks %q", flagName, lines[i+1], want)
				}
			}
		}
		if !found {
			t.Errorf("detect -h lacks %s:\n%s", flagName, help)
		}
	}

	// --json writes the settings in effect.
	js := filepath.Join(dir, "o.json")
	if _, stderr, code := fmnist(t, detectArgs(video, "--json", js, "--max-aspect", "3", "--no-merge", "--proposal-side", "200")...); code != 0 {
		t.Fatalf("detect --json: exit %d: %s", code, stderr)
	}
	jb, _ := os.ReadFile(js)
	var raw map[string]any
	if err := json.Unmarshal(jb, &raw); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"proposal_side": 200.0, "max_aspect": 3.0, "merge": false, "min_contrast": 60.0, "score": "class",
		"refine": false, "relabel": false, "temporal": false, "fill_gaps": false, "vote": false, "k": 100.0, "sigma": 0.9} {
		if raw[k] != want {
			t.Errorf("JSON %q is %v, want %v", k, raw[k], want)
		}
	}
	if a, ok := raw["min_area"].(float64); !ok || a <= 0 {
		t.Errorf("JSON min_area %v", raw["min_area"])
	}

	// An error that ends a run is one line, on stderr.
	var tr map[string]any
	tb, _ := os.ReadFile(truth)
	json.Unmarshal(tb, &tr)
	tr["frames"] = tr["frames"].([]any)[:12]
	short := filepath.Join(dir, "short.json")
	tb, _ = json.Marshal(tr)
	os.WriteFile(short, tb, 0o644)
	out, stderr, code := fmnist(t, detectArgs(video, "--truth", short)...)
	if code != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "the truth file has 12 frames") || strings.Contains(out, "the truth file") {
		t.Errorf("short truth file: exit %d, stdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	long, longTruth := filepath.Join(dir, "long.avi"), filepath.Join(dir, "long.json")
	if o, e, code := fmnist(t, "synth-video", "--out", long, "--truth", longTruth, "--frames", "2000"); code != 0 {
		t.Fatalf("synth-video: exit %d: %s%s", code, o, e)
	}
	stdoutFile := filepath.Join(dir, "stdout")
	f, err := os.Create(stdoutFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, detectArgs(long)...)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = f, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, _ := os.ReadFile(stdoutFile); bytes.Contains(b, []byte("frame   20")) {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	f.Close()
	sb, _ := os.ReadFile(stdoutFile)
	if code := cmd.ProcessState.ExitCode(); code != 130 || strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 ||
		!strings.Contains(errb.String(), "cancelled after ") || bytes.Contains(sb, []byte("cancelled")) || !bytes.Contains(sb, []byte("mean ms/frame")) {
		t.Errorf("SIGTERM: exit %d, stdout:\n%s\nstderr:\n%s", code, sb, errb.String())
	}
}
