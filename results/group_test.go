package results

import (
	"bytes"
	"encoding/json"
	"fmnist/archs"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fmnist/trainer"
)

// Three seeds of CNN2 on a small slice with a validation set: the grouped
// row's mean and sd are those of the per-run records, and each run's best
// epoch and best/ model are the validation-chosen ones.
func TestGroupsOfRepeatedRuns(t *testing.T) {
	tr, te := loadData(t, 1200, 300)
	dir := t.TempDir()
	for seed := int64(1); seed <= 3; seed++ {
		job := trainer.Job{ID: "CNN2-s" + string(rune('0'+seed)), Model: "CNN2", Epochs: 3, Seed: seed, Val: 200}
		if st, _ := train(t, tr, te, job, 0, NewRecorder(dir)); st != trainer.StatusDone {
			t.Fatalf("seed %d: %s", seed, st)
		}
	}
	// One run of another recipe and one of the seed's way form groups of their own.
	for _, job := range []trainer.Job{
		{ID: "CNN2-imp", Model: "CNN2", Epochs: 3, Seed: 1, Val: 200, Recipe: "improved"},
		{ID: "CNN2-imp2", Model: "CNN2", Epochs: 3, Seed: 2, Val: 200, Recipe: "improved"},
		{ID: "CNN2-test", Model: "CNN2", Epochs: 3, Seed: 1},
	} {
		if st, _ := train(t, tr, te, job, 0, NewRecorder(dir)); st != trainer.StatusDone {
			t.Fatalf("%s: %s", job.ID, st)
		}
	}
	runs, bad, err := LoadRuns(dir)
	if err != nil || len(bad) > 0 || len(runs) != 6 {
		t.Fatalf("%d runs, %v, %v", len(runs), bad, err)
	}
	var best, final, spe []float64
	for _, r := range runs {
		if r.ValSize == 0 || r.Recipe.Kind() != "seed" {
			continue
		}
		// The best epoch is the first with the highest validation accuracy;
		// its test accuracy is the one reported, whatever other epochs had.
		bi := 0
		for i, e := range r.Epochs {
			if e.ValAcc > r.Epochs[bi].ValAcc {
				bi = i
			}
		}
		if r.BestEpoch != r.Epochs[bi].Epoch || r.BestTestAcc != r.Epochs[bi].TestAcc || r.BestValAcc != r.Epochs[bi].ValAcc {
			t.Errorf("%s: best epoch %d (test %.4f), want %d by validation (test %.4f)", r.ID, r.BestEpoch, r.BestTestAcc, r.Epochs[bi].Epoch, r.Epochs[bi].TestAcc)
		}
		doc, err := ReadModelDoc(filepath.Join(dir, r.ID, BestDir))
		if err != nil {
			t.Fatal(err)
		}
		if doc.Source.Epoch != r.BestEpoch || doc.Source.ValSize != 200 || doc.Source.ValAcc != r.BestValAcc || !strings.HasPrefix(doc.Source.Recipe, "seed: ") {
			t.Errorf("%s: best/ is %+v, want epoch %d chosen on 200 validation images", r.ID, doc.Source, r.BestEpoch)
		}
		var train float64
		for _, e := range r.Epochs {
			train += e.TrainSeconds
		}
		best = append(best, r.BestTestAcc)
		final = append(final, r.Epochs[len(r.Epochs)-1].TestAcc)
		spe = append(spe, train/float64(len(r.Epochs)))
	}
	if len(best) != 3 {
		t.Fatalf("%d seed-recipe runs with a validation set", len(best))
	}
	gs := Groups(runs)
	if len(gs) != 3 {
		t.Fatalf("%d groups, want 3 (seed recipe on val, improved, seed's way): %+v", len(gs), gs)
	}
	var g Group
	for _, x := range gs {
		if x.N() == 3 {
			g = x
		}
	}
	if g.Model != "CNN2" || g.Recipe != "seed" || g.ChosenOn != "val" || g.Done != 3 || g.ValSize != 200 || g.TrainSize != 1000 {
		t.Fatalf("group %+v", g)
	}
	mean := func(xs []float64) float64 { return (xs[0] + xs[1] + xs[2]) / 3 }
	sd := func(xs []float64) float64 {
		m := mean(xs)
		return math.Sqrt(((xs[0]-m)*(xs[0]-m) + (xs[1]-m)*(xs[1]-m) + (xs[2]-m)*(xs[2]-m)) / 2)
	}
	for _, c := range []struct {
		name string
		got  Stat
		xs   []float64
	}{{"best", g.Best, best}, {"final", g.Final, final}, {"s/epoch", g.SecPerEpoch, spe}} {
		if math.Abs(c.got.Mean-mean(c.xs)) > 1e-12 || math.Abs(c.got.SD-sd(c.xs)) > 1e-12 {
			t.Errorf("%s: %.6f ± %.6f, want %.6f ± %.6f", c.name, c.got.Mean, c.got.SD, mean(c.xs), sd(c.xs))
		}
	}
	var md, js bytes.Buffer
	if err := WriteGroups(&md, gs, "md"); err != nil {
		t.Fatal(err)
	}
	want := PlusMinus(g.Best, 100)
	if !strings.Contains(md.String(), "| CNN2 | seed | val | 3 |") || !strings.Contains(md.String(), want) ||
		!strings.Contains(md.String(), "test (the seed's way)") || !strings.Contains(md.String(), "| improved |") {
		t.Errorf("markdown lacks the groups:\n%s", md.String())
	}
	if err := WriteGroups(&js, gs, "json"); err != nil {
		t.Fatal(err)
	}
	var parsed []map[string]any
	if err := json.Unmarshal(js.Bytes(), &parsed); err != nil {
		t.Fatal(err)
	}
	for _, p := range parsed {
		if p["n"] == 1.0 && p["best_test_acc"].(map[string]any)["sd"] != nil {
			t.Errorf("a single run has a standard deviation: %v", p)
		}
	}
	if err := WriteGroups(os.Stdout, gs, "xml"); err == nil {
		t.Error("format xml accepted")
	}
}

// compare and the report: Welch's t-test between two groups of seeds and
// McNemar's test between their best models, whose counts are those of the
// saved models' own predictions.
func TestCompareAndReportVerdicts(t *testing.T) {
	tr, te := loadData(t, 1200, 300)
	dir := t.TempDir()
	for _, job := range []trainer.Job{
		{ID: "a1", Model: "CNN2", Epochs: 2, Seed: 1, Val: 200},
		{ID: "a2", Model: "CNN2", Epochs: 2, Seed: 2, Val: 200},
		{ID: "b1", Model: "CNN2_dropout", Epochs: 2, Seed: 1, Val: 200},
		{ID: "b2", Model: "CNN2_dropout", Epochs: 2, Seed: 2, Val: 200},
		{ID: "small", Model: "CNN2", Epochs: 1, Seed: 1, Val: 200},
	} {
		if job.ID == "small" {
			te = &trainer.Dataset{Images: te.Images[:100*trainer.Pixels], Labels: te.Labels[:100], N: 100}
		}
		if st, _ := train(t, tr, te, job, 0, NewRecorder(dir)); st != trainer.StatusDone {
			t.Fatalf("%s: %s", job.ID, st)
		}
	}
	_, te = loadData(t, 1, 300)
	runs, _, err := LoadRuns(dir)
	if err != nil {
		t.Fatal(err)
	}
	predictions := map[string][]bool{}
	correct := func(r *Run) ([]bool, error) {
		m, _, err := LoadModel(filepath.Join(dir, r.ID, BestDir))
		if err != nil {
			return nil, err
		}
		out := make([]bool, te.N)
		err = trainer.Predict(t.Context(), m, te.Images, te.N, func(i int, lg []float32) { out[i] = trainer.Argmax(lg) == int(te.Labels[i]) })
		predictions[r.ID] = out
		return out, err
	}
	a, err := SelectSide(runs, "a1,a2")
	if err != nil {
		t.Fatal(err)
	}
	b, err := SelectSide(runs, "CNN2_dropout")
	if err != nil || len(b.Runs) != 2 {
		t.Fatalf("CNN2_dropout: %v (%d runs)", err, len(b.Runs))
	}
	if _, err := SelectSide(runs, "CNN2"); err == nil || !strings.Contains(err.Error(), "2 groups") {
		t.Errorf("CNN2 names two groups (2 and 1 epochs): %v", err)
	}
	c, err := Compare(a, b, correct)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := WelchTest(a.Accs(), b.Accs())
	if c.Welch == nil || *c.Welch != w {
		t.Errorf("Welch %+v, want %+v", c.Welch, w)
	}
	pa, pb := predictions[c.BestA.ID], predictions[c.BestB.ID]
	onlyA, onlyB := 0, 0
	for i := range pa {
		if pa[i] && !pb[i] {
			onlyA++
		}
		if pb[i] && !pa[i] {
			onlyB++
		}
	}
	if c.McNemar == nil || c.McNemar.B != onlyA || c.McNemar.C != onlyB || onlyA+onlyB == 0 {
		t.Errorf("McNemar %+v, want only-A %d, only-B %d", c.McNemar, onlyA, onlyB)
	}
	// Bad input: the same runs on both sides, runs of different test slices.
	if _, err := Compare(a, a, nil); err == nil {
		t.Error("a side compared with itself")
	}
	small, _ := SelectSide(runs, "small")
	if _, err := Compare(a, small, nil); err == nil || !strings.Contains(err.Error(), "different slices") {
		t.Errorf("different test slices: %v", err)
	}
	var text bytes.Buffer
	c.Write(&text, false)
	if !strings.Contains(text.String(), "Welch's t-test, 2 vs 2 runs") || !strings.Contains(text.String(), fmt.Sprintf("only A right on %d, only B right on %d", onlyA, onlyB)) {
		t.Errorf("comparison text:\n%s", text.String())
	}
	files, err := BuildReport(dir, runs, time.Now(), FormatSVG, correct)
	if err != nil {
		t.Fatal(err)
	}
	md := string(files[len(files)-1].Data)
	if !strings.Contains(md, "## Is the best better?") || !strings.Contains(md, "Welch's t-test") || !strings.Contains(md, "McNemar's test, best models") {
		t.Errorf("report.md lacks the verdicts:\n%s", md)
	}
}

// Runs with Keras 2.2's probability clipping are a group of their own,
// labelled "seed+clip", and MODEL:LABEL names either group alone.
func TestClippedRunsAreTheirOwnGroup(t *testing.T) {
	seed, _ := archs.Lookup("model5")
	clip := seed.Recipe
	clip.KerasClip = true
	var runs []*Run
	for i, rc := range []archs.Recipe{seed.Recipe, seed.Recipe, clip} {
		runs = append(runs, &Run{ID: fmt.Sprintf("r%d", i), Model: "model5", Status: "done", Recipe: rc, EpochsPlanned: 1,
			TrainSize: 100, ValSize: 10, TestSize: 50, Seed: int64(i + 1), BestEpoch: 1, BestTestAcc: 0.5 + float64(i)/100,
			Epochs: []trainer.EpochStats{{Epoch: 1, TestAcc: 0.5 + float64(i)/100, ValAcc: 0.5}}})
	}
	gs := Groups(runs)
	if len(gs) != 2 || gs[0].Recipe != "seed" || gs[1].Recipe != "seed+clip" || len(gs[0].IDs) != 2 || len(gs[1].IDs) != 1 {
		t.Fatalf("groups: %+v", gs)
	}
	for spec, want := range map[string]string{"model5:seed": "r0,r1", "model5:seed+clip": "r2", "model5:SEED+CLIP": "r2"} {
		s, err := SelectSide(runs, spec)
		var ids []string
		for _, r := range s.Runs {
			ids = append(ids, r.ID)
		}
		if err != nil || strings.Join(ids, ",") != want {
			t.Errorf("%s: runs %v, %v; want %s", spec, ids, err, want)
		}
	}
	if _, err := SelectSide(runs, "model5"); err == nil || !strings.Contains(err.Error(), "seed+clip") {
		t.Errorf("model5 names both groups, and the error should name the clipped one: %v", err)
	}
	// A recipe with no finished run: the error lists those there are.
	if _, err := SelectSide(runs, "model5:improved"); err == nil || !strings.HasSuffix(err.Error(), "finished runs of model5: model5:seed (2), model5:seed+clip (1)") {
		t.Errorf("model5:improved: %v", err)
	}
}

// A run whose improved recipe predates the current definition is labelled
// improved-old with what changed since, and MODEL:RECIPE names today's
// runs or the older ones.
func TestOlderRecipeIsLabelledApart(t *testing.T) {
	spec, _ := archs.Lookup("CNN2")
	now, _ := spec.RecipeNamed(archs.RecipeImproved)
	old := now.WithEpochs(3)
	old.Phases[0].LR /= 2
	mk := func(id string, r archs.Recipe, acc float64) *Run {
		return &Run{ID: id, Model: "CNN2", Status: "done", Recipe: r, TrainSize: 100, TestSize: 50,
			BestTestAcc: acc, BestEpoch: 1, Epochs: []trainer.EpochStats{{Epoch: 1, TestAcc: acc}}}
	}
	runs := []*Run{mk("a", now.WithEpochs(3), 0.9), mk("b", old, 0.8), mk("c", now.WithEpochs(3), 0.7)}
	want := fmt.Sprintf("improved-old-lr%g", old.Phases[0].LR)
	if k := runs[1].RecipeKind(); k != want {
		t.Errorf("older improved run labelled %q", k)
	}
	clip := old
	clip.KerasClip = true
	if k := mk("d", clip, 0.8).RecipeKind(); k != want+"+clip" {
		t.Errorf("older improved run with clipping labelled %q", k)
	}
	if k := runs[0].RecipeKind(); k != "improved" {
		t.Errorf("current improved run labelled %q", k)
	}
	// Two older versions are two groups with two labels.
	older := old
	older.Phases = []archs.Phase{old.Phases[0]}
	older.Phases[0].LR /= 2
	var labels []string
	for _, g := range Groups(append(slices.Clone(runs), mk("e", older, 0.8))) {
		labels = append(labels, g.Recipe)
	}
	if got := strings.Join(labels, " "); got != "improved "+want+fmt.Sprintf(" improved-old-lr%g", older.Phases[0].LR) {
		t.Errorf("groups labelled %q", got)
	}
	// compare CNN2:improved picks today's runs, CNN2:improved-old-lr... the
	// older one; with one label for both it would name two groups.
	for spec, want := range map[string][]string{"CNN2:improved": {"a", "c"}, "CNN2:" + want: {"b"}} {
		side, err := SelectSide(runs, spec)
		var got []string
		for _, r := range side.Runs {
			got = append(got, r.ID)
		}
		if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s selects %v (%v), want %v", spec, got, err, want)
		}
	}
}

func TestChangedRecipeIsLabelledApart(t *testing.T) {
	spec, _ := archs.Lookup("CNN2")
	now, _ := spec.RecipeNamed(archs.RecipeImproved)
	lr, err := spec.RecipeFor(archs.RecipeImproved, []string{"lr=0.004"})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(id string, r archs.Recipe, acc float64) *Run {
		return &Run{ID: id, Model: "CNN2", Status: "done", Recipe: r.WithEpochs(3), TrainSize: 100, TestSize: 50,
			BestTestAcc: acc, BestEpoch: 1, Epochs: []trainer.EpochStats{{Epoch: 1, TestAcc: acc}}}
	}
	runs := []*Run{mk("a", now, 0.9), mk("b", lr, 0.8), mk("c", lr, 0.7)}
	if k := runs[1].RecipeKind(); k != "improved+lr0.004" {
		t.Errorf("run with --set lr=0.004 labelled %q", k)
	}
	// The same rate from an older recipe, without --set, is labelled as old.
	old := lr
	old.Set = nil
	if k := mk("d", old, 0.8).RecipeKind(); k != "improved-old-lr0.004" {
		t.Errorf("older run at the same rate labelled %q", k)
	}
	var labels []string
	for _, g := range Groups(runs) {
		labels = append(labels, fmt.Sprintf("%s/%d", g.Recipe, len(g.IDs)))
	}
	if got := strings.Join(labels, " "); got != "improved/1 improved+lr0.004/2" {
		t.Errorf("groups %q", got)
	}
	for spec, want := range map[string]string{"CNN2:improved": "a", "CNN2:improved+lr0.004": "b,c"} {
		side, err := SelectSide(runs, spec)
		var got []string
		for _, r := range side.Runs {
			got = append(got, r.ID)
		}
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("%s selects %v (%v), want %v", spec, got, err, want)
		}
	}
}

// A run recorded with --set values its recipe has (now) already is one of
// the recipe's runs: it groups and is selected with them.
func TestSetOfTheRecipesOwnValuesGroupsWithIt(t *testing.T) {
	spec, _ := archs.Lookup("reduced_all_cnn")
	now, _ := spec.RecipeNamed(archs.RecipeImproved)
	same := now
	same.Set = []string{"lr=0.03", "ls=0", "wd=0"} // as recorded before WithSet left them out
	if same.Phases[0].LR != 0.03 || same.LabelSmoothing != 0 || same.WeightDecay != 0 {
		t.Fatalf("reduced_all_cnn's improved recipe is not lr 0.03, no smoothing, no decay: %+v", now)
	}
	mk := func(id string, r archs.Recipe, acc float64) *Run {
		return &Run{ID: id, Model: "reduced_all_cnn", Status: "done", Recipe: r, TrainSize: 100, TestSize: 50,
			BestTestAcc: acc, BestEpoch: 1, Epochs: []trainer.EpochStats{{Epoch: 1, TestAcc: acc}}}
	}
	runs := []*Run{mk("a", now, 0.9), mk("b", same, 0.8)}
	if k := runs[1].RecipeKind(); k != "improved" {
		t.Errorf("run with --set lr=0.03,ls=0,wd=0 labelled %q", k)
	}
	if g := Groups(runs); len(g) != 1 || len(g[0].IDs) != 2 {
		t.Errorf("groups %+v", g)
	}
	side, err := SelectSide(runs, "reduced_all_cnn:improved")
	if err != nil || len(side.Runs) != 2 {
		t.Errorf("reduced_all_cnn:improved selects %d runs (%v)", len(side.Runs), err)
	}
}
