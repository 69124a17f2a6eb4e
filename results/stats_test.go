package results

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// Welch's t-test on the textbook example (Wikipedia, "Welch's t-test",
// example 1): t = -2.46, p = 0.021; the Welch-Satterthwaite df, worked
// out by hand from the sample variances, is 24.989.
func TestWelchTextbook(t *testing.T) {
	a := []float64{27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4}
	b := []float64{27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4}
	w, err := WelchTest(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(w.T+2.46) > 0.005 || math.Abs(w.DF-24.989) > 0.001 || math.Abs(w.P-0.021) > 0.0005 {
		t.Errorf("t %.4f df %.3f p %.5f, want -2.46, 24.989, 0.021", w.T, w.DF, w.P)
	}
	// The interval holds the difference and excludes 0 exactly when p < 0.05.
	if !(w.Low < w.Diff && w.Diff < w.High) || w.High >= 0 {
		t.Errorf("95%% interval [%.3f, %.3f] of %.3f", w.Low, w.High, w.Diff)
	}
	// Its half-width is t(0.975, df) * se; t(0.975, 24.9) is 2.060.
	if hw := (w.High - w.Low) / 2; math.Abs(hw/w.SE-2.060) > 0.002 {
		t.Errorf("half-width %.4f is %.4f standard errors, want 2.060", hw, hw/w.SE)
	}
	if _, err := WelchTest(a[:1], b); err == nil {
		t.Error("a single run accepted")
	}
}

func TestMcNemarTextbook(t *testing.T) {
	// Large counts: chi-square with continuity correction, 1 df.
	m := McNemarTest(121, 59)
	if m.Exact || math.Abs(m.Chi2-3721.0/180) > 1e-9 {
		t.Fatalf("121/59: %+v, want chi2 %.4f", m, 3721.0/180)
	}
	if want := math.Erfc(math.Sqrt(3721.0 / 180 / 2)); math.Abs(m.P-want) > 1e-12 || m.P > 1e-5 {
		t.Errorf("121/59: p %g, want %g", m.P, want)
	}
	// Small counts: exact binomial, 2 * P(X <= 1 | n=8, 1/2) = 2 * 9/256.
	if m := McNemarTest(7, 1); !m.Exact || math.Abs(m.P-18.0/256) > 1e-12 {
		t.Errorf("7/1: %+v, want exact p %.6f", m, 18.0/256)
	}
	if m := McNemarTest(3, 3); m.P != 1 {
		t.Errorf("3/3: p %g, want 1", m.P)
	}
	if m := McNemarTest(0, 0); m.P != 1 {
		t.Errorf("0/0: p %g", m.P)
	}
}

// compare --format json writes both tests with snake_case keys, as every
// other JSON fmnist writes.
func TestStatsJSONKeys(t *testing.T) {
	w, err := WelchTest([]float64{0.92, 0.93, 0.925}, []float64{0.91, 0.915})
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[any]string{
		w:                    `{"n_a":3,"n_b":2,"mean_a":`,
		McNemarTest(121, 59): `{"only_a_right":121,"only_b_right":59,"exact":false,"chi2":20.6`,
		McNemarTest(7, 1):    `{"only_a_right":7,"only_b_right":1,"exact":true,"p":0.07031`,
	} {
		b, err := json.Marshal(v)
		if err != nil || !strings.HasPrefix(string(b), want) {
			t.Errorf("%s (%v), want it to start %s", b, err, want)
		}
	}
	b, _ := json.Marshal(w)
	for _, k := range []string{`"diff":`, `"low":`, `"high":`, `"t":`, `"df":`, `"p":`, `"cohens_d":`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("Welch JSON %s lacks %s", b, k)
		}
	}
}
