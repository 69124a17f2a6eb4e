package results

import (
	"bytes"
	"compress/zlib"
	"encoding/csv"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/vg"

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
	runs := syntheticRuns()
	runs[1].ValSize, runs[1].Epochs[0].ValLoss, runs[1].Epochs[0].ValAcc = 100, 1.25, 0.55
	files, err := BuildReport("runs", runs, time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), FormatPNG, nil)
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
	// epochs.csv: a row per finished epoch (4 of CNN2, 1 of model5, none of
	// the cancelled run), linked from report.md; validation empty without
	// validation images.
	f, err := os.Open(filepath.Join(out, EpochsCSV))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 6 {
		t.Fatalf("epochs.csv: %d rows (%v), want a header and 5", len(rows), err)
	}
	if strings.Join(rows[0], ",") != "run,model,recipe,seed,epoch,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,train_seconds,eval_seconds" {
		t.Errorf("epochs.csv header %v", rows[0])
	}
	// Text fields exactly (the recipe as tables label it), numbers to 1e-12.
	checkRow := func(row []string, want ...any) {
		t.Helper()
		for i, w := range want {
			switch w := w.(type) {
			case string:
				if row[i] != w {
					t.Errorf("epochs.csv %s, %s: %q, want %q", row[0], rows[0][i], row[i], w)
				}
			case float64:
				if v, err := strconv.ParseFloat(row[i], 64); err != nil || math.Abs(v-w) > 1e-12 {
					t.Errorf("epochs.csv %s, %s: %q, want %g", row[0], rows[0][i], row[i], w)
				}
			}
		}
	}
	checkRow(rows[3], "CNN2-20260101-000000", "CNN2", runs[0].RecipeKind(), "1", "3", 0.65, 0.87, "", "", 0.75, 0.85, 2.0, 0.0)
	checkRow(rows[5], "model5-20260101-000000", "model5", runs[1].RecipeKind(), "1", "1", 1.0, 0.52, 1.25, 0.55, 1.1, 0.5, 2.0, 0.0)
	for _, want := range []string{"| Run | Model |", "CNN2-20260101-000000", "No finished epoch", "85.00%", "Seed", "[epochs.csv](epochs.csv)",
		`"Seed" is the run's random seed, and the "Study" columns are the figures the seed study reported`} {
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
	files, err := BuildReport("runs", syntheticRuns(), time.Now(), FormatPNG, nil)
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
	if _, err := BuildReport("runs", nil, time.Now(), FormatPNG, nil); err == nil || !strings.Contains(err.Error(), "no runs") {
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

// The report in SVG and PDF: every chart in the format (and named after
// it), with the file's header, its texts and curve colours; report.md shows
// SVG charts and links PDF ones.
func TestReportSVGAndPDF(t *testing.T) {
	for _, format := range []string{FormatSVG, FormatPDF} {
		files, err := BuildReport("runs", syntheticRuns(), time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), format, nil)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		var md string
		charts := map[string][]byte{}
		for _, f := range files {
			if f.Name == ReportName {
				md = string(f.Data)
				continue
			}
			if f.Name == EpochsCSV {
				continue
			}
			if !strings.HasSuffix(f.Name, "."+format) {
				t.Errorf("%s report: chart %s", format, f.Name)
			}
			charts[f.Name] = f.Data
		}
		if _, ok := charts[ComparisonChart+"."+format]; !ok || len(charts) != 5 {
			t.Errorf("%s report: %d charts, want 5 with the comparison", format, len(charts))
		}
		image := `!\[[^\]]*\]\(([^)]+)\)`
		link := `[^!]\[[^\]]* \(PDF\)\]\(([^)]+)\)`
		if format == FormatPDF {
			image, link = link, image
		}
		refs := regexp.MustCompile(image).FindAllStringSubmatch(md, -1)
		if len(refs) != 5 || regexp.MustCompile(link).MatchString(md) {
			t.Errorf("%s report: %d chart references:\n%s", format, len(refs), md)
		}
		for _, r := range refs {
			if charts[r[1]] == nil {
				t.Errorf("%s report: report.md links %s, not a chart of the report", format, r[1])
			}
		}

		acc := charts["CNN2-20260101-000000-accuracy."+format]
		var content string // the chart's texts and colours
		switch format {
		case FormatSVG:
			if !bytes.HasPrefix(acc, []byte("<?xml")) || !bytes.Contains(acc[:300], []byte("<svg")) {
				t.Errorf("SVG chart starts %q", acc[:min(len(acc), 80)])
			}
			content = string(acc)
		case FormatPDF:
			if !bytes.HasPrefix(acc, []byte("%PDF-")) || !bytes.Contains(acc[len(acc)-32:], []byte("%%EOF")) {
				t.Errorf("PDF chart starts %q, ends %q", acc[:min(len(acc), 16)], acc[max(0, len(acc)-16):])
			}
			content = pdfText(t, acc)
		}
		for _, want := range []string{"CNN2-20260101-000000: accuracy", "accuracy (%)", "epoch", "train", "test", "80%"} {
			if !strings.Contains(content, want) {
				t.Errorf("%s chart lacks the text %q", format, want)
			}
		}
		if format == FormatSVG {
			for _, c := range Palette[:2] {
				if hex := fmt.Sprintf("stroke:#%02X%02X%02X", c.R, c.G, c.B); !strings.Contains(content, hex) {
					t.Errorf("SVG chart lacks a curve in %s", hex)
				}
			}
		}
	}
}

// pdfText is the decompressed content of a PDF's streams, with the
// escapes of its strings undone.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	var out strings.Builder
	for rest := pdf; ; {
		i := bytes.Index(rest, []byte("stream\n"))
		if i < 0 {
			break
		}
		rest = rest[i+len("stream\n"):]
		j := bytes.Index(rest, []byte("endstream"))
		if j < 0 {
			break
		}
		if r, err := zlib.NewReader(bytes.NewReader(rest[:j])); err == nil {
			b, _ := io.ReadAll(r)
			out.Write(b)
		}
		rest = rest[j:]
	}
	if out.Len() == 0 {
		t.Fatal("no content stream in the PDF")
	}
	return strings.NewReplacer(`\(`, "(", `\)`, ")", `\\`, `\`).Replace(out.String())
}

// A PNG chart has the pixel size asked for (800x480 by default), a white
// background and its curves' colours.
func TestChartPNGSize(t *testing.T) {
	series := []Series{{Label: "a", X: []float64{1, 2, 3}, Y: []float64{1, math.NaN(), 2}, Color: Palette[2]}}
	for _, c := range []struct{ w, h, wantW, wantH int }{{0, 0, 800, 480}, {640, 400, 640, 400}, {1000, 520, 1000, 520}} {
		data, err := (&Chart{Title: "t", Series: series, Width: c.w, Height: c.h}).Encode(FormatPNG)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != c.wantW || b.Dy() != c.wantH {
			t.Errorf("chart %dx%d: %v, want %dx%d", c.w, c.h, b, c.wantW, c.wantH)
		}
		if r, g, b, _ := img.At(1, 1).RGBA(); r>>8 != 255 || g>>8 != 255 || b>>8 != 255 {
			t.Errorf("background %v", img.At(1, 1))
		}
		found := false
		for y := 0; y < img.Bounds().Dy() && !found; y++ {
			for x := 0; x < img.Bounds().Dx() && !found; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				found = color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255} == Palette[2]
			}
		}
		if !found {
			t.Errorf("chart %dx%d: no pixel of the curve's colour", c.w, c.h)
		}
	}
	// No data at all still makes a chart.
	if _, err := (&Chart{Title: "empty"}).Encode(FormatPNG); err != nil {
		t.Error(err)
	}
}

func TestChartFormatRefused(t *testing.T) {
	for _, f := range []string{"gif", "PNG", "", ".svg"} {
		if err := CheckChartFormat(f); err == nil || !strings.Contains(err.Error(), "png, svg or pdf") {
			t.Errorf("CheckChartFormat(%q): %v", f, err)
		}
		if _, err := (&Chart{Title: "t"}).Encode(f); err == nil {
			t.Errorf("Encode(%q) succeeded", f)
		}
		if _, err := BuildReport("runs", syntheticRuns(), time.Now(), f, nil); err == nil || !strings.Contains(err.Error(), "png, svg or pdf") {
			t.Errorf("BuildReport in %q: %v", f, err)
		}
	}
	for _, f := range ChartFormats {
		if err := CheckChartFormat(f); err != nil {
			t.Error(err)
		}
	}
}

// The legend goes where it hides fewest data: a box over a curve's points
// scores worse than one away from them.
func TestLegendScore(t *testing.T) {
	curve := [][]vg.Point{{{X: 0, Y: 0}, {X: 100, Y: 100}, {X: 200, Y: 200}}}
	over := vg.Rectangle{Min: vg.Point{X: 80, Y: 80}, Max: vg.Point{X: 140, Y: 120}}
	away := vg.Rectangle{Min: vg.Point{X: 150, Y: 0}, Max: vg.Point{X: 200, Y: 40}}
	if so, sa := legendScore(over, curve), legendScore(away, curve); so <= sa || sa != 0 {
		t.Errorf("score over the curve %d, away from it %d", so, sa)
	}
}

// A group whose runs have not all finished says so next to n, in Markdown
// and (a "done" column) in CSV, so that a mean over unfinished runs is not
// read as a result.
func TestGroupsSayHowManyRunsAreDone(t *testing.T) {
	runs := syntheticRuns()[:1]
	second := *runs[0]
	second.ID, second.Seed, second.Status = "CNN2-20260101-000001", 2, trainer.StatusRunning
	second.Epochs = second.Epochs[:2]
	runs = append(runs, &second)
	gs := Groups(runs)
	if len(gs) != 1 || gs[0].N() != 2 || gs[0].Done != 1 || gs[0].NCell() != "2 (1 done)" {
		t.Fatalf("groups %+v: want one of 2 runs, 1 done", gs)
	}
	var md, csv strings.Builder
	if err := WriteGroups(&md, gs, "md"); err != nil {
		t.Fatal(err)
	}
	if err := WriteGroups(&csv, gs, "csv"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| 2 (1 done) |") {
		t.Errorf("markdown:\n%s", md.String())
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if !strings.HasSuffix(lines[0], ",runs,done") || !strings.HasSuffix(lines[1], ",1") {
		t.Errorf("csv:\n%s", csv.String())
	}
	second.Status = trainer.StatusDone
	if n := Groups(runs)[0].NCell(); n != "2" {
		t.Errorf("all done: n %q, want 2", n)
	}
}

// A detection model's rows in epochs.csv name its recipe as the tables do.
func TestEpochRowsDetectionRecipe(t *testing.T) {
	r := &Run{ID: "CNN2_det-20260101-000000", Model: "CNN2_det", Seed: 1, Epochs: []trainer.EpochStats{{Epoch: 1, TestAcc: 0.9}}}
	rows := epochRows([]*Run{r})
	if len(rows) != 2 || rows[1][2] != "own" {
		t.Errorf("epochs.csv rows %q", rows)
	}
}
