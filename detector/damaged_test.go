package detector

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fmnist/archs"
)

// damaged writes variants of the video at path into dir: cut short at
// 40% of its bytes, and with its middle third zeroed.
func damaged(t *testing.T, path, dir string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := len(b)
	zeroed := append([]byte(nil), b...)
	clear(zeroed[n/3 : 2*n/3])
	out := map[string][]byte{"cut": b[: n*2/5 : n*2/5], "zeroed": zeroed}
	files := map[string]string{}
	for name, data := range out {
		p := filepath.Join(dir, name+".avi")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files[name] = p
	}
	return files
}

// TestDamagedVideoIsAnError: a video that ends before the frame count its
// AVI header states (cut short, or a damaged part the decoder stops at) is
// an error, not a shorter video: CountFrames says so, and a detection run
// ends with the error and leaves the file at its output as it was.
func TestDamagedVideoIsAnError(t *testing.T) {
	in, _ := synthFile(t, 20)
	if n, _, _, err := CountFrames(in); err != nil || n != 20 {
		t.Fatalf("the intact video: %d frames, %v", n, err)
	}
	dir := t.TempDir()
	m, err := archs.New("CNN2", 1)
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range damaged(t, in, dir) {
		n, _, _, err := CountFrames(path)
		if err == nil || !strings.Contains(err.Error(), "of 20 cannot be decoded") || n >= 20 {
			t.Errorf("%s: CountFrames %d frames, %v; want an error saying which of the 20 frames cannot be decoded", name, n, err)
		}
		outDir := filepath.Join(dir, name+"-out")
		os.Mkdir(outDir, 0o755)
		out := filepath.Join(outDir, "keep.avi")
		os.WriteFile(out, []byte("an earlier result"), 0o644)
		cfg := DefaultConfig()
		cfg.In, cfg.Out, cfg.Model, cfg.Names = path, out, m, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
		job, err := Open(cfg)
		if err != nil {
			t.Fatalf("%s: Open: %v", name, err)
		}
		var sum Summary
		for ev := range job.Run(context.Background()) {
			if s, ok := ev.(Summary); ok {
				sum = s
			}
		}
		if !strings.Contains(sum.Err, "cannot be decoded") || sum.VideoWritten {
			t.Errorf("%s: summary error %q, video written %v; want the frame that cannot be decoded, no video", name, sum.Err, sum.VideoWritten)
		}
		if sum.Frames == 0 || sum.Frames >= 20 || !(sum.FPS > 0) || !(sum.MeanMillis.Total > 0) {
			t.Errorf("%s: summary of the frames done: %d frames, %.1f frames/s, %.1f ms a frame", name, sum.Frames, sum.FPS, sum.MeanMillis.Total)
		}
		if b, _ := os.ReadFile(out); string(b) != "an earlier result" {
			t.Errorf("%s: the file at the output was replaced", name)
		}
		if e, _ := os.ReadDir(outDir); len(e) != 1 {
			t.Errorf("%s: %d files left in the output's directory", name, len(e))
		}
	}
	// Containers whose frame count OpenCV estimates are read to their end
	// as before.
	for _, ext := range []string{".mp4", ".mkv"} {
		p := filepath.Join(dir, "ok"+ext)
		w, err := OpenWriter(p, 64, 48, 10)
		if err != nil {
			t.Fatal(err)
		}
		for range 7 {
			w.WriteBytes(make([]byte, 64*48*3))
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if n, _, _, err := CountFrames(p); err != nil || n != 7 {
			t.Errorf("%s: %d frames, %v; want 7", ext, n, err)
		}
	}
}

// TestProgressIsWallClock: every FrameDone carries the time since the
// run's start, growing, so that frames done over it is the rate so far,
// the rate the summary gives at the end (proposals run ahead on other
// cores: the stage times' sum is not the time a frame takes); the headless
// progress line shows it.
func TestProgressIsWallClock(t *testing.T) {
	in, _ := synthFile(t, 20)
	m, err := archs.New("CNN2", 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.In, cfg.Out, cfg.Model, cfg.Names = in, filepath.Join(t.TempDir(), "o.avi"), m, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	job, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	plain := &Plain{W: &buf, Every: 10}
	var last FrameDone
	var sum Summary
	var prev time.Duration
	for ev := range job.Run(context.Background()) {
		plain.Handle(ev)
		switch e := ev.(type) {
		case FrameDone:
			if e.Elapsed <= 0 || e.Elapsed < prev {
				t.Fatalf("frame %d: elapsed %v after %v", e.Index, e.Elapsed, prev)
			}
			prev, last = e.Elapsed, e
		case Summary:
			sum = e
		}
	}
	if sum.Frames != 20 || last.Index != 19 {
		t.Fatalf("%d frames, last %d", sum.Frames, last.Index)
	}
	if s := last.Elapsed.Seconds(); s > sum.Seconds {
		t.Errorf("the last frame's elapsed %.3f s is after the run's end %.3f s", s, sum.Seconds)
	}
	if fps := 20 / last.Elapsed.Seconds(); math.Abs(fps-sum.FPS) > 0.1*sum.FPS {
		t.Errorf("frames/s from the last frame %.1f, the summary's %.1f", fps, sum.FPS)
	}
	if lines := strings.Split(buf.String(), "\n"); len(lines) < 3 || !strings.Contains(lines[1], "frames/s") || !strings.Contains(lines[2], "frames/s") {
		t.Errorf("the progress lines lack frames/s:\n%s", buf.String())
	}
}

// TestSettingsInEffect: the settings a run uses, as --json writes them: a
// ten-class model's defaults, a detection model's, flags given over them,
// and the seed's pipeline, which uses none of ours.
func TestSettingsInEffect(t *testing.T) {
	ten, err := archs.New("CNN2", 1)
	if err != nil {
		t.Fatal(err)
	}
	det, err := archs.New("CNN2_det", 1)
	if err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Model = ten
	want := Settings{ProposalSide: 160, K: 100, Sigma: 0.9, MaxAspect: 1.2, Merge: true, MinArea: 2000.0 / (640 * 480), MinContrast: 60, Score: "class"}
	if got := c.Settings(); got != want {
		t.Errorf("ten-class defaults: %+v, want %+v", got, want)
	}
	d := DetDefaultConfig()
	d.Model = det
	want = Settings{ProposalSide: 240, K: 150, Sigma: 0.9, MaxAspect: 4, MinArea: 0.002, MinContrast: 20, Score: "item",
		Vote: true, Refine: true, Relabel: true, Temporal: true, FillGaps: true}
	if got := d.Settings(); got != want {
		t.Errorf("detection defaults: %+v, want %+v", got, want)
	}
	d.Objectness, d.Refine, d.Temporal = false, false, false // --score class --refine=false --temporal=false
	if got := d.Settings(); got.Score != "class" || got.Refine || got.Relabel || got.Temporal || got.FillGaps {
		t.Errorf("with flags off: %+v", got)
	}
	s := DetDefaultConfig()
	s.Model, s.SeedPipeline = det, true
	if got := s.Settings(); !got.Merge || got.Vote || got.Refine || got.Relabel || got.Temporal || got.FillGaps || got.MinContrast != 0 || got.MinArea != 2000.0/(640*480) {
		t.Errorf("the seed's pipeline: %+v", got)
	}

	// The report writes them with the run's other settings.
	r := &Report{}
	r.Add(Started{In: "in.avi", Settings: d.Settings()})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	json.Unmarshal(b, &raw)
	for _, k := range []string{"input", "proposal_side", "k", "sigma", "max_aspect", "merge", "min_area", "min_contrast", "score", "vote", "refine", "relabel", "temporal", "fill_gaps"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("the JSON report lacks %q: %s", k, b)
		}
	}
	if raw["proposal_side"] != 240.0 || raw["score"] != "class" || raw["max_aspect"] != 4.0 {
		t.Errorf("the JSON report's settings: %s", b)
	}
}

// TestSummaryLeavesTheErrorToTheCaller: the printed summary does not repeat
// the error that ended the run, which the command reports as its one line.
func TestSummaryLeavesTheErrorToTheCaller(t *testing.T) {
	var buf bytes.Buffer
	WriteSummary(&buf, Summary{Frames: 59, Err: "cancelled after 59 frames"})
	if out := buf.String(); strings.Contains(out, "cancelled") || strings.Contains(out, "error") || !strings.Contains(out, "frames 59") {
		t.Errorf("summary:\n%s", out)
	}
}
