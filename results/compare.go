package results

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"fmnist/archs"
)

// Side is one side of a comparison: one run, or a group of runs of one
// model trained the same way with different seeds.
type Side struct {
	Name string // as the user named it
	Runs []*Run
}

// Accs are the side's per-run best accuracies (test accuracy at the
// chosen epoch).
func (s Side) Accs() []float64 {
	out := make([]float64, len(s.Runs))
	for i, r := range s.Runs {
		out[i] = r.BestTestAcc
	}
	return out
}

// Best is the side's run whose best epoch scored highest on what it was
// chosen on (validation accuracy, or test accuracy the seed's way): the
// run whose saved best model stands for the side.
func (s Side) Best() *Run {
	var best *Run
	score := func(r *Run) float64 { return r.score(r.Epochs[r.bestIndex()]) }
	for _, r := range s.Runs {
		if best == nil || score(r) > score(best) {
			best = r
		}
	}
	return best
}

// Describe is the side in words: model, recipe, how its best epochs were
// chosen, and its runs.
func (s Side) Describe() string {
	r := s.Runs[0]
	chosen := "best epoch chosen on validation"
	if r.ValSize == 0 {
		chosen = "best epoch chosen on test (the seed's way)"
	}
	rc := r.RecipeKind()
	if rc == "" {
		rc = "own"
	}
	n := fmt.Sprintf("%d runs", len(s.Runs))
	if len(s.Runs) == 1 {
		n = "run " + r.ID
	}
	return fmt.Sprintf("%s (%s recipe, %s; %s)", r.Model, rc, chosen, n)
}

// SelectSide resolves what a user named against the runs: a run ID, run
// IDs separated by commas, or a model (MODEL, or MODEL:RECIPE), meaning
// its finished runs when they form one group (same recipe, epochs, data
// sizes and choice of epoch).
func SelectSide(runs []*Run, spec string) (Side, error) {
	spec = strings.TrimSpace(spec)
	byID := map[string]*Run{}
	for _, r := range runs {
		byID[r.ID] = r
	}
	if r, ok := byID[spec]; ok {
		return checkSide(Side{Name: spec, Runs: []*Run{r}})
	}
	if strings.Contains(spec, ",") {
		s := Side{Name: spec}
		for _, id := range strings.Split(spec, ",") {
			r, ok := byID[strings.TrimSpace(id)]
			if !ok {
				return Side{}, fmt.Errorf("no run %q in the runs directory", strings.TrimSpace(id))
			}
			s.Runs = append(s.Runs, r)
		}
		return checkSide(s)
	}
	model, recipe, _ := strings.Cut(spec, ":")
	spec0, err := archs.Lookup(model)
	if err != nil {
		return Side{}, fmt.Errorf("%q is neither a run ID nor a model: %v", spec, err)
	}
	// The model's finished runs, and how many of each recipe, to name them
	// when none has the recipe asked for.
	var mine []*Run
	n := map[string]int{}
	var kinds []string
	for _, r := range runs {
		if r.Model != spec0.Name || r.Status != "done" || len(r.Epochs) == 0 {
			continue
		}
		k := r.RecipeKind()
		if n[k] == 0 {
			kinds = append(kinds, k)
		}
		n[k]++
		if recipe == "" || strings.EqualFold(k, recipe) {
			mine = append(mine, r)
		}
	}
	if len(mine) == 0 {
		if len(kinds) == 0 {
			return Side{}, fmt.Errorf("no finished run of %s in the runs directory", spec)
		}
		var have []string
		for _, k := range kinds {
			have = append(have, fmt.Sprintf("%s:%s (%d)", spec0.Name, k, n[k]))
		}
		return Side{}, fmt.Errorf("no finished run of %s in the runs directory; finished runs of %s: %s", spec, spec0.Name, strings.Join(have, ", "))
	}
	gs := Groups(mine)
	if len(gs) > 1 {
		var what []string
		for _, g := range gs {
			what = append(what, fmt.Sprintf("%d of %s recipe, %d epochs, %d/%d/%d train/val/test images", len(g.IDs), g.Recipe, g.Epochs, g.TrainSize, g.ValSize, g.TestSize))
		}
		return Side{}, fmt.Errorf("%s names %d groups of runs (%s): name one by MODEL:RECIPE or by run IDs", spec, len(gs), strings.Join(what, "; "))
	}
	s := Side{Name: spec}
	for _, id := range gs[0].IDs {
		s.Runs = append(s.Runs, byID[id])
	}
	return checkSide(s)
}

func checkSide(s Side) (Side, error) {
	for _, r := range s.Runs {
		if len(r.Epochs) == 0 {
			return Side{}, fmt.Errorf("run %s has no finished epoch", r.ID)
		}
		if spec, err := archs.Lookup(r.Model); err == nil && spec.Detection {
			return Side{}, fmt.Errorf("run %s is of a detection model: its accuracy is on scene crops, not the test set", r.ID)
		}
	}
	return s, nil
}

// Comparison is the verdict on two sides: across seeds (Welch's t-test,
// when both have at least two runs) and per test image (McNemar's test on
// the two best models' predictions, when they were computed).
type Comparison struct {
	A, B       Side
	TestSize   int
	Welch      *Welch
	WelchWhy   string // why there is no t-test
	BestA      *Run
	BestB      *Run
	McNemar    *McNemar
	McNemarWhy string
}

// Correct tells, for a run's saved best model, which test images (the
// run's test slice, in order) it classifies right.
type Correct func(r *Run) ([]bool, error)

// Compare compares two sides; correct may be nil (no per-image test).
func Compare(a, b Side, correct Correct) (Comparison, error) {
	for _, x := range a.Runs {
		if slices.Contains(b.Runs, x) {
			return Comparison{}, fmt.Errorf("run %s is on both sides: compare two different models or groups of runs", x.ID)
		}
	}
	c := Comparison{A: a, B: b, TestSize: a.Runs[0].TestSize}
	for _, r := range slices.Concat(a.Runs, b.Runs) {
		if r.TestSize != c.TestSize {
			return Comparison{}, fmt.Errorf("the runs were tested on different slices (%d and %d test images): their accuracies are not comparable", c.TestSize, r.TestSize)
		}
	}
	if w, err := WelchTest(a.Accs(), b.Accs()); err == nil {
		c.Welch = &w
	} else {
		c.WelchWhy = "needs at least two runs (seeds) on each side: train with --seeds"
	}
	c.BestA, c.BestB = a.Best(), b.Best()
	if correct == nil {
		c.McNemarWhy = "not computed"
		return c, nil
	}
	ca, err := correct(c.BestA)
	if err != nil {
		return c, fmt.Errorf("%s: %v", c.BestA.ID, err)
	}
	cb, err := correct(c.BestB)
	if err != nil {
		return c, fmt.Errorf("%s: %v", c.BestB.ID, err)
	}
	if len(ca) != len(cb) {
		return c, errors.New("the two models were evaluated on different numbers of images")
	}
	var onlyA, onlyB int
	for i := range ca {
		switch {
		case ca[i] && !cb[i]:
			onlyA++
		case cb[i] && !ca[i]:
			onlyB++
		}
	}
	m := McNemarTest(onlyA, onlyB)
	c.McNemar = &m
	return c, nil
}

// verdict is the plain-words reading of a p-value at the 5% level.
func verdict(p float64) string {
	if p < 0.05 {
		return "significant at the 5% level"
	}
	return "not significant at the 5% level"
}

// Write writes the comparison for a terminal, or as Markdown (md).
func (c Comparison) Write(w io.Writer, md bool) error {
	var b strings.Builder
	bullet := ""
	if md {
		bullet = "- "
	}
	side := func(tag string, s Side) {
		st := NewStat(s.Accs())
		fmt.Fprintf(&b, "%s%s: %s: best accuracy %s%%\n", bullet, tag, s.Describe(), PlusMinus(st, 100))
	}
	side("A", c.A)
	side("B", c.B)
	if c.Welch != nil {
		x := c.Welch
		fmt.Fprintf(&b, "%sAcross seeds (Welch's t-test, %d vs %d runs): A - B = %+.2f points, 95%% interval [%+.2f, %+.2f], t = %.2f, df = %.1f, p = %s, Cohen's d = %.2f: %s.\n",
			bullet, x.NA, x.NB, x.Diff*100, x.Low*100, x.High*100, x.T, x.DF, pValue(x.P), x.D, verdict(x.P))
	} else {
		fmt.Fprintf(&b, "%sAcross seeds: no t-test (%s).\n", bullet, c.WelchWhy)
	}
	if m := c.McNemar; m != nil {
		how := fmt.Sprintf("chi² = %.2f", m.Chi2)
		if m.Exact {
			how = "exact binomial"
		}
		fmt.Fprintf(&b, "%sPer test image (McNemar's test, best models %s and %s, %d images): only A right on %d, only B right on %d, %s, p = %s: %s.\n",
			bullet, c.BestA.ID, c.BestB.ID, c.TestSize, m.B, m.C, how, pValue(m.P), verdict(m.P))
	} else if c.McNemarWhy != "" {
		fmt.Fprintf(&b, "%sPer test image: no McNemar's test (%s).\n", bullet, c.McNemarWhy)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// pValue formats a p-value: 0.0213, 3.1e-06.
func pValue(p float64) string {
	if p < 1e-4 {
		return fmt.Sprintf("%.1e", p)
	}
	return fmt.Sprintf("%.4f", p)
}
