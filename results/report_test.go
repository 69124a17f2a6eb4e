package results

import (
	"bytes"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"fmnist/archs"
	"fmnist/trainer"
)

func syntheticRuns() []*Run {
	mk := func(id, model string, accs ...float64) *Run {
		r := &Run{ID: id, Model: model, Status: trainer.StatusDone, Params: 1000, TrainSize: 1024, TestSize: 500, Seed: 1,
			Recipe: archs.Recipe{Phases: []archs.Phase{{Epochs: len(accs), Batch: 256, Optimizer: "adam", LR: 0.001}}}, EpochsPlanned: len(accs)}
		for i, a := range accs {
			r.Epochs = append(r.Epochs, trainer.EpochStats{Epoch: i + 1, TrainAcc: a + 0.02, TestAcc: a, TrainLoss: 1.5 - a, TestLoss: 1.6 - a, TrainSeconds: 2})
			if i == 0 || a > r.BestTestAcc {
				r.BestTestAcc, r.BestEpoch = a, i+1
			}
		}
		return r
	}
	return []*Run{
		mk("CNN2-20260101-000000", "CNN2", 0.7, 0.8, 0.85, 0.84),
		mk("model5-20260101-000000", "model5", 0.5),
		{ID: "all_cnn-20260101-000000", Model: "all_cnn", Status: trainer.StatusCancelled, Epochs: []trainer.EpochStats{}},
	}
}

func TestReportWritesChartsAndMarkdown(t *testing.T) {
	files, err := BuildReport("runs", syntheticRuns(), time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "report")
	if err := WriteFilesAtomic(out, files); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, ReportName))
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`!\[[^\]]*\]\(([^)]+)\)`).FindAllStringSubmatch(string(md), -1)
	if len(links) != 5 { // comparison + accuracy and loss of the two runs with epochs
		t.Errorf("%d image links in report.md, want 5:\n%s", len(links), md)
	}
	for _, l := range links {
		data, err := os.ReadFile(filepath.Join(out, l[1]))
		if err != nil {
			t.Errorf("linked image: %v", err)
			continue
		}
		img, format, err := image.Decode(bytes.NewReader(data))
		if err != nil || format != "png" {
			t.Errorf("%s: %s, %v", l[1], format, err)
			continue
		}
		if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 400 {
			t.Errorf("%s: %v", l[1], b)
		}
		// Both series' colours are drawn: the curves are there.
		seen := map[color.RGBA]bool{}
		for y := 0; y < img.Bounds().Dy(); y++ {
			for x := 0; x < img.Bounds().Dx(); x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				seen[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}] = true
			}
		}
		if !seen[Palette[0]] || !seen[Palette[1]] && !strings.Contains(l[1], "comparison") {
			t.Errorf("%s: curve colours missing", l[1])
		}
	}
	for _, want := range []string{"| Run | Model |", "CNN2-20260101-000000", "No finished epoch", "85.00%", "Seed"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

func TestReportFailureOverwritesNothing(t *testing.T) {
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, ReportName), []byte("old report"), 0o644)
	// A directory where a chart should go makes the write fail.
	os.Mkdir(filepath.Join(out, ComparisonPNG), 0o755)
	files, err := BuildReport("runs", syntheticRuns(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFilesAtomic(out, files); err == nil {
		t.Fatal("write succeeded")
	}
	if b, _ := os.ReadFile(filepath.Join(out, ReportName)); string(b) != "old report" {
		t.Errorf("report.md overwritten: %q", b)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 {
		for _, e := range entries {
			t.Log(e.Name())
		}
		t.Errorf("%d entries left, want the old report and the directory", len(entries))
	}
	if _, err := BuildReport("runs", nil, time.Now()); err == nil || !strings.Contains(err.Error(), "no runs") {
		t.Errorf("empty report: %v", err)
	}
}

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		span float64
		want float64
	}{{1, 0.2}, {0.35, 0.1}, {40, 10}, {7, 2}, {0.012, 0.002}} {
		if got := niceStep(c.span, 6); got < c.want*0.999 || got > c.want*1.001 {
			t.Errorf("niceStep(%v) = %v, want %v", c.span, got, c.want)
		}
	}
	if formatTick(0.30000000000000004, 0.1) != "0.3" || formatTick(40, 10) != "40" {
		t.Error("tick labels")
	}
}
