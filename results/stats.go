package results

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Welch is Welch's unequal-variance t-test of the difference of two
// groups' means (A - B), with its 95% confidence interval and Cohen's d.
type Welch struct {
	NA    int     `json:"n_a"`
	NB    int     `json:"n_b"`
	MeanA float64 `json:"mean_a"`
	MeanB float64 `json:"mean_b"`
	SDA   float64 `json:"sd_a"`
	SDB   float64 `json:"sd_b"`
	Diff  float64 `json:"diff"` // MeanA - MeanB
	SE    float64 `json:"se"`   // Diff's standard error
	T     float64 `json:"t"`
	DF    float64 `json:"df"` // Welch-Satterthwaite degrees of freedom
	P     float64 `json:"p"`  // two-sided
	Low   float64 `json:"low"`
	High  float64 `json:"high"`     // Low, High: 95% interval of Diff
	D     float64 `json:"cohens_d"` // Diff over the pooled standard deviation
}

// WelchTest compares a and b; each needs at least two values.
func WelchTest(a, b []float64) (Welch, error) {
	if len(a) < 2 || len(b) < 2 {
		return Welch{}, errors.New("Welch's t-test needs at least two runs on each side")
	}
	sa, sb := NewStat(a), NewStat(b)
	w := Welch{NA: len(a), NB: len(b), MeanA: sa.Mean, MeanB: sb.Mean, SDA: sa.SD, SDB: sb.SD, Diff: sa.Mean - sb.Mean}
	va, vb := sa.SD*sa.SD/float64(len(a)), sb.SD*sb.SD/float64(len(b))
	w.SE = math.Sqrt(va + vb)
	pooled := math.Sqrt(((float64(len(a))-1)*sa.SD*sa.SD + (float64(len(b))-1)*sb.SD*sb.SD) / float64(len(a)+len(b)-2))
	if pooled > 0 {
		w.D = w.Diff / pooled
	}
	if w.SE == 0 {
		// No spread at all: the means are the answer.
		w.T, w.DF, w.Low, w.High = math.Inf(1), float64(len(a)+len(b)-2), w.Diff, w.Diff
		w.P = 0
		if w.Diff == 0 {
			w.T, w.P = 0, 1
		}
		return w, nil
	}
	w.T = w.Diff / w.SE
	w.DF = (va + vb) * (va + vb) / (va*va/float64(len(a)-1) + vb*vb/float64(len(b)-1))
	st := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: w.DF}
	w.P = 2 * st.CDF(-math.Abs(w.T))
	q := st.Quantile(0.975)
	w.Low, w.High = w.Diff-q*w.SE, w.Diff+q*w.SE
	return w, nil
}

// McNemar is McNemar's test on paired predictions: B images only the
// first model gets right, C only the second. With fewer than 25
// discordant images the p-value is the exact two-sided binomial one;
// otherwise chi-square with Edwards' continuity correction.
type McNemar struct {
	B     int     `json:"only_a_right"`
	C     int     `json:"only_b_right"`
	Exact bool    `json:"exact"`
	Chi2  float64 `json:"chi2,omitempty"` // (|B-C|-1)^2/(B+C), when not exact
	P     float64 `json:"p"`
}

// McNemarTest tests whether b and c differ more than chance would.
func McNemarTest(b, c int) McNemar {
	m := McNemar{B: b, C: c}
	n := b + c
	if n == 0 {
		m.Exact, m.P = true, 1
		return m
	}
	if n < 25 {
		m.Exact = true
		k := min(b, c)
		bin := distuv.Binomial{N: float64(n), P: 0.5}
		m.P = min(1, 2*bin.CDF(float64(k)))
		return m
	}
	d := math.Abs(float64(b-c)) - 1
	m.Chi2 = d * d / float64(n)
	m.P = math.Erfc(math.Sqrt(m.Chi2 / 2)) // chi-square with 1 df
	return m
}
