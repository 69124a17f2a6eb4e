package archs

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convRun runs a convolution (forward and backward against fixed random output
// weights) and returns the output and the gradients of x, W and b.
func convRun(t *testing.T, x, w, b *tensor.Dense, same, relu bool, wino bool) (out, dx, dw, db []float32, name string) {
	t.Helper()
	saved := useWinograd
	defer func() { useWinograd = saved }()
	if !wino {
		useWinograd = func(*convGeom) bool { return false }
	}
	g := G.NewGraph()
	xn := G.NodeFromAny(g, x, G.WithName("x"))
	wn := G.NodeFromAny(g, w, G.WithName("w"))
	bn := G.NodeFromAny(g, b, G.WithName("b"))
	y, err := Conv2D(xn, wn, bn, 3, 1, same, relu, true)
	if err != nil {
		t.Fatal(err)
	}
	pr := &probeOp{base: newBase("probe", 0, 4), shape: y.Shape().Clone()}
	r := rand.New(rand.NewPCG(4, 4))
	pr.r = make([]float32, y.Shape().TotalSize())
	for i := range pr.r {
		pr.r[i] = float32(r.NormFloat64())
	}
	loss, _ := G.ApplyOp(pr, y)
	grads, err := G.Grad(loss, xn, wn, bn)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	cp := func(v G.Value) []float32 { return append([]float32(nil), f32(v)...) }
	return cp(y.Value()), cp(grads[0].Value()), cp(grads[1].Value()), cp(grads[2].Value()), y.Op().String()
}

func TestWinogradMatchesIm2col(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct {
		h, w       int
		same, relu bool
	}{
		{14, 14, true, true}, {7, 7, true, false}, {6, 5, true, true}, {26, 26, false, true}, {12, 9, false, false},
	} {
		x, w, b := randTensor(r, 3, 5, c.h, c.w), randTensor(r, 6, 45), randTensor(r, 6)
		y1, dx1, dw1, db1, n1 := convRun(t, x, w, b, c.same, c.relu, true)
		y2, dx2, dw2, db2, n2 := convRun(t, x, w, b, c.same, c.relu, false)
		if n1 != "winoconv" || n2 != "conv" {
			t.Fatalf("paths taken: %s and %s", n1, n2)
		}
		for _, p := range []struct {
			name string
			a, b []float32
		}{{"output", y1, y2}, {"dx", dx1, dx2}, {"dW", dw1, dw2}, {"db", db1, db2}} {
			if len(p.a) != len(p.b) {
				t.Fatalf("%v: %s sizes %d vs %d", c, p.name, len(p.a), len(p.b))
			}
			for i := range p.a {
				if d := math.Abs(float64(p.a[i] - p.b[i])); d > 1e-3*math.Max(1, math.Abs(float64(p.b[i]))) {
					t.Fatalf("%+v: %s[%d] winograd %v, im2col %v", c, p.name, i, p.a[i], p.b[i])
				}
			}
		}
	}
}

func TestWinogradGradients(t *testing.T) {
	// Without the ReLU: a finite difference across one of its kinks is not a
	// derivative, and with 36 inputs per output some output always sits near
	// zero. The ReLU mask is checked exactly against im2col above.
	r := rand.New(rand.NewPCG(15, 16))
	for _, same := range []bool{true, false} {
		gradCheck(t, opCase{
			name:   "winograd conv",
			inputs: []*tensor.Dense{randTensor(r, 2, 4, 5, 6), randTensor(r, 3, 36), randTensor(r, 3)},
			build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) {
				y, err := Conv2D(ins[0], ins[1], ins[2], 3, 1, same, false, true)
				if err == nil && y.Op().String() != "winoconv" {
					t.Fatalf("took %s", y.Op())
				}
				return y, err
			},
		}, 60)
	}
}
