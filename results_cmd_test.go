package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"fmnist/archs"
	"fmnist/results"
	"fmnist/trainer"
	"fmnist/trainer/trainertest"
)

// runDirs lists the run directories under runs.
func runDirs(t *testing.T, runs string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(runs, "*", "run.json"))
	var dirs []string
	for _, p := range m {
		dirs = append(dirs, filepath.Dir(p))
	}
	sort.Strings(dirs)
	return dirs
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Train CNN2 briefly, then: eval reloads the best and final models and gets
// exactly the recorded accuracies; predict labels PNGs made from test images
// (as they are, and as an enlarged negative on a white page) as the model
// itself does; report writes valid PNGs and a Markdown file linking them.
func TestEvalPredictReport(t *testing.T) {
	runs := t.TempDir()
	if _, stderr, code := fmnist(t, "train", "--models", "CNN2", "--epochs", "2", "--limit-train", "4096", "--limit-test", "500",
		"--runs", runs, "--headless"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	dirs := runDirs(t, runs)
	if len(dirs) != 1 {
		t.Fatalf("%d runs", len(dirs))
	}
	runDir := dirs[0]
	rec, err := results.LoadRun(runDir)
	if err != nil {
		t.Fatal(err)
	}

	// eval: best (by run directory and by 'best') and final.
	type evalOut struct {
		Epoch    int      `json:"epoch"`
		Kind     string   `json:"kind"`
		Images   int      `json:"test_images"`
		Accuracy float64  `json:"accuracy"`
		Recorded *float64 `json:"recorded_accuracy"`
		Matches  bool     `json:"matches_record"`
		Loss     float64  `json:"loss"`
		PerClass []struct {
			Class string `json:"class"`
		} `json:"per_class"`
		Confusion [10][10]int `json:"confusion"`
	}
	var plainLoss float64 // the best model's, unmirrored
	for _, args := range [][]string{{"--model", runDir}, {"--model", "best", "--runs", runs}, {"--model", runDir, "--final"}} {
		out, stderr, code := fmnist(t, append([]string{"eval", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("eval %v: exit %d: %s", args, code, stderr)
		}
		var ev evalOut
		if err := json.Unmarshal([]byte(out), &ev); err != nil {
			t.Fatalf("eval %v: %v\n%s", args, err, out)
		}
		want := rec.BestEpoch
		if args[len(args)-1] == "--final" {
			want = len(rec.Epochs)
		}
		if ev.Epoch != want || ev.Images != rec.TestSize || ev.Accuracy != rec.Epochs[want-1].TestAcc || !ev.Matches {
			t.Errorf("eval %v: epoch %d (want %d), %d images, accuracy %v, recorded %v, matches %v",
				args, ev.Epoch, want, ev.Images, ev.Accuracy, rec.Epochs[want-1].TestAcc, ev.Matches)
		}
		if len(ev.PerClass) != 10 || ev.PerClass[9].Class != "Ankle boot" {
			t.Errorf("per-class %v", ev.PerClass)
		}
		if len(args) == 2 && args[1] == runDir {
			plainLoss = ev.Loss
		}
	}
	// eval --mirror: the accuracy of trainer.PredictMirrored on the same
	// images, never claimed to match the (unmirrored) record.
	out, stderr, code := fmnist(t, "eval", "--json", "--mirror", "--model", runDir)
	if code != 0 {
		t.Fatalf("eval --mirror: exit %d: %s", code, stderr)
	}
	var mev struct {
		evalOut
		Mirrored bool `json:"mirrored"`
	}
	if err := json.Unmarshal([]byte(out), &mev); err != nil {
		t.Fatalf("eval --mirror: %v\n%s", err, out)
	}
	bm, _, err := results.LoadModel(filepath.Join(runDir, results.BestDir))
	if err != nil {
		t.Fatal(err)
	}
	_, mtest := trainertest.Load(t, 1, rec.TestSize)
	correct := 0
	if err := trainer.PredictMirrored(context.Background(), bm, mtest.Images, mtest.N, func(i int, l []float32) {
		if trainer.Argmax(l) == int(mtest.Labels[i]) {
			correct++
		}
	}); err != nil {
		t.Fatal(err)
	}
	if !mev.Mirrored || mev.Matches || mev.Accuracy != float64(correct)/float64(mtest.N) {
		t.Errorf("eval --mirror: mirrored %v, matches %v, accuracy %v, want %v", mev.Mirrored, mev.Matches, mev.Accuracy, float64(correct)/float64(mtest.N))
	}
	if mev.Loss == plainLoss {
		t.Errorf("eval --mirror: loss %v, the same as without (%v)", mev.Loss, plainLoss)
	}
	// The run used the seed's recipe, without flips: eval says so.
	if text, _, _ := fmnist(t, "eval", "--mirror", "--model", runDir); !strings.Contains(text, "without mirror averaging") ||
		!strings.Contains(text, "did not train on mirror images (seed:") {
		t.Errorf("eval --mirror text:\n%s", text)
	}

	text, _, _ := fmnist(t, "eval", "--model", runDir)
	for _, want := range []string{"identical", "confusion matrix", "Ankle boot", "per-class accuracy"} {
		if !strings.Contains(text, want) {
			t.Errorf("eval text lacks %q:\n%s", want, text)
		}
	}

	// predict: the model's own confident predictions on test images.
	m, _, err := results.LoadModel(filepath.Join(runDir, results.BestDir))
	if err != nil {
		t.Fatal(err)
	}
	_, test := trainertest.Load(t, 1, 500)
	type pick struct {
		i, label int
		p        float64
	}
	var picks []pick
	trainer.Predict(context.Background(), m, test.Images, test.N, func(i int, l []float32) {
		p := results.Softmax(l)
		k := trainer.Argmax(l)
		picks = append(picks, pick{i, k, p[k]})
	})
	sort.SliceStable(picks, func(a, b int) bool { return picks[a].p > picks[b].p })
	// The most confident image of each predicted class, up to 6 classes.
	var chosen []pick
	seen := map[int]bool{}
	for _, p := range picks {
		if p.p >= 0.9 && !seen[p.label] && len(chosen) < 6 {
			seen[p.label] = true
			chosen = append(chosen, p)
		}
	}
	if len(chosen) < 3 {
		t.Fatalf("only %d classes predicted with probability >= 0.9", len(chosen))
	}
	imgDir := t.TempDir()
	args := []string{"predict", "--model", runDir}
	want := map[string]string{}
	for _, c := range chosen {
		px := test.Images[c.i*784 : (c.i+1)*784]
		plain := image.NewGray(image.Rect(0, 0, 28, 28))
		// An enlarged negative (dark item on white), off-centre on a page.
		page := image.NewRGBA(image.Rect(0, 0, 150, 120))
		for i := range page.Pix {
			page.Pix[i] = 255
		}
		for y := 0; y < 28; y++ {
			for x := 0; x < 28; x++ {
				v := uint8(px[y*28+x]*255 + 0.5)
				plain.SetGray(x, y, color.Gray{v})
				for dy := 0; dy < 3; dy++ {
					for dx := 0; dx < 3; dx++ {
						page.Set(10+3*x+dx, 20+3*y+dy, color.RGBA{255 - v, 255 - v, 255 - v, 255})
					}
				}
			}
		}
		a := filepath.Join(imgDir, fmt.Sprintf("test%d.png", c.i))
		b := filepath.Join(imgDir, fmt.Sprintf("photo%d.png", c.i))
		writePNG(t, a, plain)
		writePNG(t, b, page)
		args = append(args, a, b)
		want[a], want[b] = trainer.ClassNames[c.label], trainer.ClassNames[c.label]
	}
	out, stderr, code = fmnist(t, args...)
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines for %d images:\n%s", len(lines), len(want), out)
	}
	re := regexp.MustCompile(`^(.+): (.+) (\d+\.\d\d)%$`)
	for _, l := range lines {
		mm := re.FindStringSubmatch(l)
		if mm == nil {
			t.Errorf("predict line %q", l)
			continue
		}
		if want[mm[1]] != mm[2] {
			t.Errorf("%s: predicted %s, the model says %s on the test image", mm[1], mm[2], want[mm[1]])
		}
	}
	t.Logf("predict on %d images:\n%s", len(lines), out)

	// report
	repDir := filepath.Join(t.TempDir(), "report")
	if _, stderr, code := fmnist(t, "report", "--runs", runs, "-o", repDir); code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	md, err := os.ReadFile(filepath.Join(repDir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`!\[[^\]]*\]\(([^)]+\.png)\)`).FindAllStringSubmatch(string(md), -1)
	if len(links) != 3 || !strings.Contains(string(md), "| Run | Model |") {
		t.Errorf("report.md has %d image links:\n%s", len(links), md)
	}
	for _, l := range links {
		data, err := os.ReadFile(filepath.Join(repDir, l[1]))
		if err != nil {
			t.Error(err)
			continue
		}
		if _, format, err := image.Decode(bytes.NewReader(data)); err != nil || format != "png" {
			t.Errorf("%s: %s %v", l[1], format, err)
		}
	}
}

// killAfterFirstEpoch runs fmnist with args (a two-epoch headless train) into
// runs, SIGKILLs it once its first epoch is recorded, and returns the run's
// directory: a crashed run to resume.
func killAfterFirstEpoch(t *testing.T, runs string, args []string) string {
	t.Helper()
	cmd := exec.Command(bin, append(args, "--runs", runs)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFirstEpoch(t, cmd, runs)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	runDir := runDirs(t, runs)[0]
	killed, _ := results.LoadRun(runDir)
	if killed.Status != "running" || len(killed.Epochs) != 1 {
		t.Fatalf("after SIGKILL: status %s, %d epochs (the kill came too late?)", killed.Status, len(killed.Epochs))
	}
	return runDir
}

// A run killed with SIGKILL during epoch 2 resumes from its checkpoint and
// ends exactly as an uninterrupted run with the same seed.
func TestResumeAfterSIGKILL(t *testing.T) {
	runs := t.TempDir()
	args := []string{"train", "--models", "CNN2_dropout", "--epochs", "2", "--limit-train", "2048", "--limit-test", "300", "--headless"}
	runDir := killAfterFirstEpoch(t, runs, args)
	id := filepath.Base(runDir)
	killed, _ := results.LoadRun(runDir)

	out, stderr, code := fmnist(t, "train", "--resume", id, "--runs", runs)
	if code != 0 {
		t.Fatalf("resume: exit %d: %s\n%s", code, stderr, out)
	}
	if !strings.Contains(out, "after epoch 1 of 2") || !strings.Contains(out, "epoch 2/2") {
		t.Errorf("resume output:\n%s", out)
	}
	resumed, _ := results.LoadRun(runDir)

	ref := t.TempDir()
	if _, stderr, code := fmnist(t, append(args, "--runs", ref)...); code != 0 {
		t.Fatalf("reference run: exit %d: %s", code, stderr)
	}
	whole, _ := results.LoadRun(runDirs(t, ref)[0])
	if resumed.Status != "done" || len(resumed.Epochs) != 2 || len(resumed.ResumedAt) != 1 || !resumed.StartedAt.Equal(killed.StartedAt) {
		t.Fatalf("resumed record: status %s, %d epochs, resumed_at %v", resumed.Status, len(resumed.Epochs), resumed.ResumedAt)
	}
	for i := range whole.Epochs {
		a, b := whole.Epochs[i], resumed.Epochs[i]
		a.TrainSeconds, a.EvalSeconds, b.TrainSeconds, b.EvalSeconds = 0, 0, 0, 0
		if !reflect.DeepEqual(a, b) {
			t.Errorf("epoch %d: uninterrupted %+v, resumed %+v", i+1, a, b)
		}
	}
	if whole.BestEpoch != resumed.BestEpoch || whole.BestTestAcc != resumed.BestTestAcc {
		t.Errorf("best: %v@%d vs %v@%d", whole.BestTestAcc, whole.BestEpoch, resumed.BestTestAcc, resumed.BestEpoch)
	}
	t.Logf("uninterrupted: %+v\nresumed:       %+v", whole.Epochs, resumed.Epochs)

	_, stderr, code = fmnist(t, "train", "--resume", id, "--runs", runs)
	if code == 0 || !strings.Contains(stderr, "is done") {
		t.Errorf("resuming a done run: exit %d, %q", code, stderr)
	}
}

func TestResultsCommandsRefuseBadInput(t *testing.T) {
	runs := t.TempDir()
	m, _ := archs.New("CNN2", 1)
	ts, _ := m.Tensors()
	good := filepath.Join(t.TempDir(), "model")
	if err := results.SaveModel(good, "CNN2", ts, results.SourceDoc{Run: "r", Kind: "best", Epoch: 1, TestSize: 10}); err != nil {
		t.Fatal(err)
	}
	copyModel := func(editW func([]byte) []byte, editY func(string) string) string {
		dir := filepath.Join(t.TempDir(), "model")
		os.MkdirAll(dir, 0o755)
		w, _ := os.ReadFile(filepath.Join(good, "model.safetensors"))
		y, _ := os.ReadFile(filepath.Join(good, "model.yaml"))
		os.WriteFile(filepath.Join(dir, "model.safetensors"), editW(w), 0o644)
		os.WriteFile(filepath.Join(dir, "model.yaml"), []byte(editY(string(y))), 0o644)
		return dir
	}
	same := func(b []byte) []byte { return b }
	sameY := func(s string) string { return s }
	truncated := copyModel(func(b []byte) []byte { return b[:len(b)-7] }, sameY)
	unknownLayer := copyModel(same, func(s string) string { return strings.Replace(s, "type: flatten", "type: reshape", 1) })
	notImage := filepath.Join(t.TempDir(), "cat.png")
	os.WriteFile(notImage, []byte("meow, not a PNG"), 0o644)
	okImage := filepath.Join(t.TempDir(), "ok.png")
	writePNG(t, okImage, image.NewGray(image.Rect(0, 0, 10, 10)))
	reportOut := filepath.Join(t.TempDir(), "rep")

	cases := []badInput{
		{[]string{"eval"}, "--model is required"},
		{[]string{"eval", "--model", "/nonexistent/run"}, "/nonexistent/run"},
		{[]string{"eval", "--model", "best", "--runs", runs}, "no run in " + runs + " has a saved model"},
		{[]string{"eval", "--model", truncated, "--limit-test", "10"}, filepath.Join(truncated, "model.safetensors")},
		{[]string{"eval", "--model", unknownLayer}, `unknown type "reshape"`},
		{[]string{"predict", "--model", good}, "no image files"},
		{[]string{"predict", "--model", good, okImage, notImage}, notImage + ": not a PNG or JPEG image"},
		{[]string{"predict", "--model", truncated, okImage}, "truncated"},
		{[]string{"predict", "--model", good, "--top", "11", okImage}, "--top must be between"},
		{[]string{"train", "--resume", "CNN2-nope", "--runs", runs}, `no run "CNN2-nope"`},
		{[]string{"train", "--resume", "CNN2-nope", "--epochs", "3"}, "drop --epochs"},
		{[]string{"train", "--resume", ""}, "--resume needs a run ID"},
		{[]string{"train", "--resume", "CNN2-nope", "--set", "lr=0.1", "--det-frames", "9"}, "drop --det-frames, --set"},
		{[]string{"report", "--runs", runs, "-o", reportOut}, "no runs in"},
	}
	expectOneLineErrors(t, cases)
	if _, err := os.Stat(reportOut); err == nil {
		t.Error("a failed report created its output directory")
	}
	// The good model still predicts.
	if out, stderr, code := fmnist(t, "predict", "--model", good, "--top", "2", okImage); code != 0 || !strings.Contains(out, okImage+": ") {
		t.Errorf("predict on a good model: exit %d, %q %q", code, out, stderr)
	}
}

// report --format: PNG by default, SVG or PDF on request (files named and
// linked after the format, each with its format's header); a bad format is
// refused in one line, before anything is written.
func TestReportFormats(t *testing.T) {
	runs := t.TempDir()
	for i, model := range []string{"CNN2", "model5"} {
		r := &results.Run{ID: fmt.Sprintf("%s-20260101-00000%d", model, i), Model: model, Status: trainer.StatusDone,
			Params: 1000, TrainSize: 1024, TestSize: 500, Seed: 1, EpochsPlanned: 3,
			Recipe: archs.Recipe{Phases: []archs.Phase{{Epochs: 3, Batch: 256, Optimizer: "adam", LR: 0.001}}}}
		for e := 1; e <= 3; e++ {
			acc := 0.5 + 0.1*float64(e)
			r.Epochs = append(r.Epochs, trainer.EpochStats{Epoch: e, TrainAcc: acc + 0.02, TestAcc: acc, TrainLoss: 1.5 - acc, TestLoss: 1.6 - acc})
			r.BestTestAcc, r.BestEpoch = acc, e
		}
		if err := results.SaveRun(runs, r); err != nil {
			t.Fatal(err)
		}
	}
	header := map[string]string{"png": "\x89PNG\r\n", "svg": "<?xml", "pdf": "%PDF-"}
	for _, format := range []string{"", "png", "svg", "pdf"} {
		dir := filepath.Join(t.TempDir(), "report")
		args := []string{"report", "--runs", runs, "-o", dir}
		if format != "" {
			args = append(args, "--format", format)
		} else {
			format = "png"
		}
		out, stderr, code := fmnist(t, args...)
		if code != 0 || !strings.Contains(out, "report.md, epochs.csv and 5 "+strings.ToUpper(format)+" charts for 2 runs") {
			t.Fatalf("%v: exit %d: %q %q", args, code, out, stderr)
		}
		md, err := os.ReadFile(filepath.Join(dir, "report.md"))
		if err != nil {
			t.Fatal(err)
		}
		links := regexp.MustCompile(`\]\(([^)]+)\)`).FindAllStringSubmatch(string(md), -1)
		links = slices.DeleteFunc(links, func(l []string) bool { return l[1] == results.EpochsCSV })
		entries, _ := os.ReadDir(dir)
		if len(links) != 5 || len(entries) != 7 {
			t.Errorf("--format %s: %d links in report.md, %d files", format, len(links), len(entries))
		}
		for _, l := range links {
			if filepath.Ext(l[1]) != "."+format {
				t.Errorf("--format %s: report.md links %s", format, l[1])
			}
			data, err := os.ReadFile(filepath.Join(dir, l[1]))
			if err != nil {
				t.Error(err)
				continue
			}
			if !bytes.HasPrefix(data, []byte(header[format])) {
				t.Errorf("%s starts %q", l[1], data[:min(len(data), 16)])
			}
			if format == "png" {
				img, err := png.Decode(bytes.NewReader(data))
				want := image.Rect(0, 0, 800, 480)
				if strings.HasPrefix(l[1], "comparison") {
					want = image.Rect(0, 0, 1000, 520)
				}
				if err != nil || img.Bounds() != want {
					t.Errorf("%s: %v, want %v (%v)", l[1], img.Bounds(), want, err)
				}
			}
		}
	}

	bad := filepath.Join(t.TempDir(), "bad")
	expectOneLineErrors(t, []badInput{
		{[]string{"report", "--runs", runs, "-o", bad, "--format", "gif"}, `report: unknown --format "gif" (want png, svg or pdf)`},
		{[]string{"report", "--runs", runs, "-o", bad, "--format", "SVG"}, `unknown --format "SVG"`},
		{[]string{"report", "--runs", runs, "-o", bad, "--format="}, `unknown --format ""`},
	})
	if _, _, code := fmnist(t, "report", "--runs", runs, "-o", bad, "--format", "gif"); code != 2 {
		t.Errorf("bad --format: exit %d, want 2", code)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Error("a refused report created its output directory")
	}
}

// eval --split val rebuilds the run's validation images from its record
// (the figure matches the one recorded for the epoch), --split train its
// training images; an unknown split, and --split val on a run without
// validation images, get one-line errors.
func TestEvalSplits(t *testing.T) {
	runs := t.TempDir()
	if _, stderr, code := fmnist(t, "train", "--models", "CNN2", "--epochs", "1", "--limit-train", "1500", "--val", "500",
		"--limit-test", "200", "--runs", runs, "--headless"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	dirs := runDirs(t, runs)
	if len(dirs) != 1 {
		t.Fatalf("%d runs", len(dirs))
	}
	type evalOut struct {
		Split    string   `json:"split"`
		Images   int      `json:"test_images"`
		Correct  int      `json:"correct"`
		Accuracy float64  `json:"accuracy"`
		Recorded *float64 `json:"recorded_accuracy"`
		Matches  bool     `json:"matches_record"`
	}
	eval := func(args ...string) evalOut {
		t.Helper()
		out, stderr, code := fmnist(t, append([]string{"eval", "--json", "--model", dirs[0]}, args...)...)
		if code != 0 {
			t.Fatalf("eval %v: exit %d: %s", args, code, stderr)
		}
		var ev evalOut
		if err := json.Unmarshal([]byte(out), &ev); err != nil {
			t.Fatalf("eval %v: %v\n%s", args, err, out)
		}
		return ev
	}
	rec, err := results.LoadRun(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	val := eval("--split", "val")
	// The saved model gives the recorded figures again, to the image.
	if math.Abs(val.Accuracy-rec.Epochs[0].ValAcc) > 0.5/500 || val.Correct != int(math.Round(rec.Epochs[0].ValAcc*500)) {
		t.Errorf("--split val: accuracy %v (%d correct), the run recorded %v", val.Accuracy, val.Correct, rec.Epochs[0].ValAcc)
	}
	if val.Split != "val" || val.Images != 500 || !val.Matches || val.Recorded == nil || *val.Recorded != rec.Epochs[0].ValAcc {
		t.Errorf("--split val: %+v, want the 500 validation images at the recorded %v", val, rec.Epochs[0].ValAcc)
	}
	train := eval("--split", "train")
	if train.Split != "train" || train.Images != 1000 || train.Recorded != nil || train.Matches {
		t.Errorf("--split train: %+v, want the 1000 training images and no record to match", train)
	}
	if got := eval("--split", "train", "--limit-test", "100"); got.Images != 100 {
		t.Errorf("--split train --limit-test 100: %d images", got.Images)
	}
	if test := eval(); test.Split != "test" || test.Images != 200 || !test.Matches || math.Abs(test.Accuracy-rec.Epochs[0].TestAcc) > 0.5/200 {
		t.Errorf("default split: %+v, want the 200 test images at the recorded %v", test, rec.Epochs[0].TestAcc)
	}

	_, stderr, code := fmnist(t, "eval", "--model", dirs[0], "--split", "holdout")
	if code != 2 || !strings.Contains(stderr, "--split must be test, train or val") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
		t.Errorf("bad split: exit %d: %q", code, stderr)
	}
	noVal := t.TempDir()
	if _, stderr, code := fmnist(t, "train", "--models", "CNN2", "--epochs", "1", "--limit-train", "600", "--val", "0",
		"--limit-test", "100", "--runs", noVal, "--headless"); code != 0 {
		t.Fatalf("train --val 0: exit %d: %s", code, stderr)
	}
	_, stderr, code = fmnist(t, "eval", "--model", "best", "--runs", noVal, "--split", "val")
	if code == 0 || !strings.Contains(stderr, "held out no validation images") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
		t.Errorf("--split val on a run without validation images: exit %d: %q", code, stderr)
	}
}
