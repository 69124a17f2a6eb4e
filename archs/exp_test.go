package archs

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// expNeg is the Go reference of the C kernels' expneg (the softmax's
// exponential before it moved to C): e^x for x <= 0 in float32, to about 2
// ulp: x = n*ln2 + r with |r| <= ln2/2, e^r by a degree-6 Taylor polynomial,
// scaled by 2^n through the exponent bits. Below -87 the result is 0 (float32 has nothing smaller that
// matters for a softmax).
func expNeg(x float32) float32 {
	if x < -87 {
		return 0
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693145751953125
		ln2lo = 1.428606765330187045e-06
	)
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

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

// softmaxRef is the softmax over the middle axis of [outer, c, inner] in Go,
// with expNeg: the loop the C kernel replaced.
func softmaxRef(x, y []float32, outer, c, inner int) {
	mx, sum := make([]float32, inner), make([]float32, inner)
	for a := 0; a < outer; a++ {
		xb, yb := x[a*c*inner:(a+1)*c*inner], y[a*c*inner:(a+1)*c*inner]
		copy(mx, xb[:inner])
		for k := 1; k < c; k++ {
			for i, v := range xb[k*inner : (k+1)*inner] {
				mx[i] = max(mx[i], v)
			}
		}
		clear(sum)
		for k := 0; k < c; k++ {
			for i, v := range xb[k*inner : (k+1)*inner] {
				e := expNeg(v - mx[i])
				yb[k*inner+i] = e
				sum[i] += e
			}
		}
		for i := range sum {
			sum[i] = 1 / sum[i]
		}
		for k := 0; k < c; k++ {
			for i := range inner {
				yb[k*inner+i] *= sum[i]
			}
		}
	}
}

// The C softmax (model5's per-position one) gives the same bits as the Go
// loop with expNeg, including inputs far below the maximum (exp underflows
// to 0 below -87).
func TestSoftmaxMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	for _, sh := range [][3]int{{3, 128, 100}, {5, 7, 3}, {2, 10, 1}} {
		outer, c, inner := sh[0], sh[1], sh[2]
		x := make([]float32, outer*c*inner)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 20)
			if i%17 == 0 {
				x[i] -= 150
			}
		}
		g := G.NewGraph()
		xn := G.NewTensor(g, G.Float32, 3, G.WithShape(outer, c, inner), G.WithValue(tensor.New(tensor.WithShape(outer, c, inner), tensor.WithBacking(slices.Clone(x)))))
		y, err := Softmax(xn, 1)
		if err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		vm.Close()
		got := f32(y.Value())
		want := make([]float32, len(x))
		softmaxRef(x, want, outer, c, inner)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("shape %v: element %d: C %v, Go %v", sh, i, got[i], want[i])
			}
		}
	}
}
