package tui

import (
	"strings"
	"testing"

	"fmnist/archs"
	"fmnist/trainer"
)

func fixStore() *store {
	s := newStore()
	s.mergeDisk(fixDiskRuns())
	for _, ev := range fixEvents() {
		s.apply(ev)
	}
	return s
}

func TestActivity(t *testing.T) {
	s := fixStore()
	cases := map[string]string{
		"CNN2-20260301-120000":            "done in 1m42s · 3,222 img/s",
		"model5-20260301-120000":          "1,450 img/s · ETA 2m34s · batch 30/59",
		"reduced_all_cnn-20260301-120000": "waiting for a free slot",
		"all_cnn-20260301-100000":         "failed: epoch 2: loss is not finite (NaN) at batch 17",
	}
	for id, want := range cases {
		if got := activity(s.get(id)); got != want {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
	}
	s.apply(trainer.RunFinished{ID: "model5-20260301-120000", Status: trainer.StatusCancelled})
	if got := activity(s.get("model5-20260301-120000")); got != "cancelled after 2 epochs" {
		t.Errorf("cancelled: %q", got)
	}
	r := &runState{Owned: true}
	r.Status = trainer.StatusRunning
	if got := activity(r); got != "starting" {
		t.Errorf("running without progress: %q", got)
	}
	// A cluster's run says which worker trains it.
	c := s.get("CNN2-20260301-120000")
	c.Workers = []string{"w1 (OpenBLAS Zen, 8 cores)", "gpu-box-2 (OpenBLAS SkylakeX, 2 cores)"}
	if got := activity(c); got != "done in 1m42s · 3,222 img/s · on gpu-box-2" {
		t.Errorf("a cluster's run: %q", got)
	}
	r.Owned = false
	if got := activity(r); !strings.Contains(got, "elsewhere") {
		t.Errorf("foreign running run: %q", got)
	}
}

func TestFitParts(t *testing.T) {
	s := "1,450 img/s · ETA 2m34s · batch 30/59"
	if got := fitParts(s, 40); got != s {
		t.Errorf("fits: %q", got)
	}
	if got := fitParts(s, 30); got != "1,450 img/s · ETA 2m34s" {
		t.Errorf("30: %q", got)
	}
	if got := fitParts(s, 8); got != "1,450 i…" {
		t.Errorf("8: %q", got)
	}
}

func TestEpochLineAndBar(t *testing.T) {
	s := fixStore()
	m5 := s.get("model5-20260301-120000")
	if got := epochLine(m5); got != "epoch 3/6" {
		t.Errorf("running: %q", got)
	}
	if f := barFraction(m5); f < 0.50 || f > 0.52 {
		t.Errorf("running bar %v, want the epoch's 30/59", f)
	}
	failed := s.get("all_cnn-20260301-100000")
	if got := epochLine(failed); got != "epoch 1/40" {
		t.Errorf("failed: %q", got)
	}
	if f := barFraction(failed); f != 1.0/40 {
		t.Errorf("failed bar %v, want the run's 1/40", f)
	}
	if got := epochLine(s.get("reduced_all_cnn-20260301-120000")); got != "queued" {
		t.Errorf("queued: %q", got)
	}
	st := NewStyles(nil)
	bar := progressBar(st, 0.5, 20)
	if cellWidth(bar) != 20 || !strings.HasSuffix(bar, " 50%") || strings.Count(bar, "█") != 8 {
		t.Errorf("bar %q", bar)
	}
}

func TestRenderPanel(t *testing.T) {
	s := fixStore()
	c := &common{styles: NewStyles(nil), keys: newKeyMap(), store: s, now: fixNow}
	for _, sz := range [][2]int{{40, 22}, {53, 23}, {80, 46}, {38, 18}} {
		out := renderPanel(c, s.get("model5-20260301-120000"), sz[0], sz[1], true)
		lines := strings.Split(out, "\n")
		if len(lines) != sz[1] {
			t.Errorf("%v: %d lines", sz, len(lines))
		}
		for i, l := range lines {
			if cellWidth(l) != sz[0] {
				t.Errorf("%v: line %d is %d wide: %q", sz, i, cellWidth(l), l)
			}
		}
		for _, want := range []string{"model5", "[running]", "epoch 3/6", "51%", "train 83.06%", "test 0.5410", "┏"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: panel lacks %q\n%s", sz, want, out)
			}
		}
	}
	// Unselected panels have the light border; tiny panels drop the charts.
	out := renderPanel(c, s.get("CNN2-20260301-120000"), 40, 8, false)
	if !strings.HasPrefix(out, "╭") || strings.Contains(out, "acc") {
		t.Errorf("small unselected panel:\n%s", out)
	}
}

func TestChartHeights(t *testing.T) {
	for h := 8; h < 60; h++ {
		a, l := chartHeights(h)
		if a+l != h-2 || a < l || a-l > 1 {
			t.Errorf("chartHeights(%d) = %d, %d", h, a, l)
		}
	}
}

// A run of another recipe than the seed's names it after the model, in its
// panel and in the Compare legend; every started run names its seed.
func TestRecipeAndSeedTellRunsApart(t *testing.T) {
	s := fixStore()
	c := &common{styles: NewStyles(nil), keys: newKeyMap(), store: s, now: fixNow, width: 100, height: 30}
	spec, err := archs.Lookup("CNN2")
	if err != nil {
		t.Fatal(err)
	}
	imp, err := spec.RecipeFor(archs.RecipeImproved, []string{"flip=false"})
	if err != nil {
		t.Fatal(err)
	}
	r := s.get("CNN2-20260301-120000")
	plain := renderPanel(c, r, 40, 8, false)
	if !strings.Contains(plain, "CNN2 seed 1 ") || strings.Contains(plain, "improved") {
		t.Errorf("seed-recipe panel:\n%s", plain)
	}
	r.Recipe, r.Seed = imp, 3
	out := renderPanel(c, r, 40, 8, false)
	if want := "CNN2 " + imp.Label() + " seed 3"; !strings.Contains(out, want) {
		t.Errorf("panel lacks %q:\n%s", want, out)
	}
	legend := strings.Join((&compareView{c: c}).legend([]*runState{r, s.get("model5-20260301-120000")}, 100), "\n")
	if !strings.Contains(legend, "CNN2    "+imp.Label()) || !strings.Contains(legend, "model5  "+strings.Repeat(" ", len(imp.Label()))) {
		t.Errorf("legend does not name the recipe in a column of its own:\n%s", legend)
	}
}
