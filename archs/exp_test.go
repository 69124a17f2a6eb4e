package archs

import (
	"math"
	"testing"
)

func TestExpNegMatchesMathExp(t *testing.T) {
	worst := 0.0
	for i := 0; i <= 200000; i++ {
		x := -float32(i) * 100 / 200000 // 0 down to -100
		got, want := float64(expNeg(x)), math.Exp(float64(x))
		if want < 1e-37 {
			if got > 1e-37 {
				t.Fatalf("expNeg(%v) = %v, want ~0", x, got)
			}
			continue
		}
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 5e-7 {
		t.Fatalf("worst relative error %g, want <= 5e-7", worst)
	}
}
