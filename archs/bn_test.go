package archs

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
)

// BatchNorm in training against a float64 reference, on the sizes the
// models use (rows of 14x14 and 28x28 on the channel axis, rows of 10 on
// model5's height axis): the output and the three gradients.
func TestBatchNormMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		shape []int
		axis  int
	}{{[]int{5, 3, 14, 14}, 1}, {[]int{3, 4, 10, 10}, 2}, {[]int{2, 2, 28, 28}, 1}} {
		t.Run(fmt.Sprint(c.shape, c.axis), func(t *testing.T) {
			x := randTensor(r, c.shape...)
			for i := range x.Float32s() {
				x.Float32s()[i] = x.Float32s()[i]*2 + 0.5
			}
			nf := c.shape[c.axis]
			gamma, beta := randTensor(r, nf), randTensor(r, nf)
			g := G.NewGraph()
			xn := G.NodeFromAny(g, x, G.WithName("x"))
			gn := G.NodeFromAny(g, gamma, G.WithName("gamma"))
			bn := G.NodeFromAny(g, beta, G.WithName("beta"))
			out, err := BatchNorm(xn, gn, bn, c.axis, newBNState(nf), true)
			if err != nil {
				t.Fatal(err)
			}
			gy := make([]float32, x.Shape().TotalSize())
			for i := range gy {
				gy[i] = float32(r.NormFloat64())
			}
			y, grads := probeGrads(t, g, out, gy, xn, gn, bn)

			outer, inner := 1, 1
			for i := 0; i < c.axis; i++ {
				outer *= c.shape[i]
			}
			for i := c.axis + 1; i < len(c.shape); i++ {
				inner *= c.shape[i]
			}
			xs, gs, ga := x.Float32s(), gamma.Float32s(), beta.Float32s()
			idx := func(a, f, j int) int { return (a*nf+f)*inner + j }
			m := float64(outer * inner)
			for f := 0; f < nf; f++ {
				var s, q float64
				for a := 0; a < outer; a++ {
					for j := 0; j < inner; j++ {
						v := float64(xs[idx(a, f, j)])
						s, q = s+v, q+v*v
					}
				}
				mean := s / m
				inv := 1 / math.Sqrt(q/m-mean*mean+bnEpsilon)
				var sg, sgx float64
				for a := 0; a < outer; a++ {
					for j := 0; j < inner; j++ {
						i := idx(a, f, j)
						xh := (float64(xs[i]) - mean) * inv
						near(t, "y", y[i], xh*float64(gs[f])+float64(ga[f]))
						sg += float64(gy[i])
						sgx += float64(gy[i]) * xh
					}
				}
				near(t, "dbeta", grads[2][f], sg)
				near(t, "dgamma", grads[1][f], sgx)
				for a := 0; a < outer; a++ {
					for j := 0; j < inner; j++ {
						i := idx(a, f, j)
						xh := (float64(xs[i]) - mean) * inv
						near(t, "dx", grads[0][i], float64(gs[f])*inv/m*(m*float64(gy[i])-sg-xh*sgx))
					}
				}
			}
		})
	}
}

func near(t *testing.T, what string, got float32, want float64) {
	t.Helper()
	if d := math.Abs(float64(got) - want); d > 1e-4*math.Max(1, math.Abs(want)) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
}
