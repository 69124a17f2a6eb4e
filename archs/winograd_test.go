package archs

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// winoCases are convolutions Winograd takes: 3x3, stride 1, even output,
// at least winoMinCin input channels; 'same' and 'valid', square or not,
// one image per chunk or several, and a last chunk that is not full.
var winoCases = []struct {
	name               string
	n, cin, cout, h, w int
	same, relu         bool
}{
	{"same 14x14 relu, 3 images a chunk", 5, 16, 8, 14, 14, true, true},
	{"valid 26x26 to 24x24, an image a chunk", 3, 16, 12, 26, 26, false, true},
	{"same 10x6, no activation", 4, 20, 5, 10, 6, true, false},
	{"valid 12x8 relu", 2, 17, 3, 12, 8, false, true},
}

func TestWinogradIsUsedWhereItApplies(t *testing.T) {
	for _, c := range winoCases {
		if g := newConvGeom(tensor.Shape{c.n, c.cin, c.h, c.w}, c.cout, 3, 1, c.same, c.relu); !g.wino {
			t.Errorf("%s: Winograd not used", c.name)
		}
	}
	for _, c := range []struct {
		name         string
		cin, h, k, s int
		same         bool
	}{
		{"one input channel", 1, 28, 3, 1, true},
		{"odd output (same 7x7)", 32, 7, 3, 1, true},
		{"stride 2", 32, 14, 3, 2, true},
		{"2x2 kernel", 32, 14, 2, 1, true},
		{"odd output (valid 13 to 11)", 32, 13, 3, 1, false},
	} {
		if g := newConvGeom(tensor.Shape{2, c.cin, c.h, c.h}, 8, c.k, c.s, c.same, false); g.wino {
			t.Errorf("%s: Winograd used", c.name)
		}
	}
}

func TestWinogradMatchesDirectConvolution(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range winoCases {
		matchDirect(t, r, c.name, c.n, c.cin, c.cout, c.h, c.w, 3, c.same, c.relu)
	}
}

// matchDirect runs a k x k, stride-1 Conv2D on random data and fails t
// unless it equals a direct convolution to 1e-4 (sums of up to 144
// products of unit normals: some hundred ulps; a wrong tap or a pad that
// is not zero is off by about 1).
func matchDirect(t *testing.T, r *rand.Rand, name string, n, cin, cout, h, w, k int, same, relu bool) {
	t.Helper()
	x, wt, b := randTensor(r, n, cin, h, w), randTensor(r, cout, cin*k*k), randTensor(r, cout)
	got := runForward(t, []*tensor.Dense{x, wt, b}, func(ins G.Nodes) (*G.Node, error) {
		return Conv2D(ins[0], ins[1], ins[2], k, 1, same, relu, true)
	})
	g := newConvGeom(tensor.Shape{n, cin, h, w}, cout, k, 1, same, relu)
	want := naiveConv(x.Float32s(), n, cin, h, w, wt.Float32s(), b.Float32s(), cout, k, 1, g.ho, g.wo, g.pt, g.pl)
	if len(got) != len(want) {
		t.Fatalf("%s: %d outputs, want %d", name, len(got), len(want))
	}
	for i := range want {
		if relu && want[i] < 0 {
			want[i] = 0
		}
		if math.Abs(float64(got[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s: element %d = %v, want %v", name, i, got[i], want[i])
		}
	}
}

// convGrads returns the gradients of sum(conv(x, w, b) * r) for fixed r,
// a k x k convolution of stride 1.
func convGrads(t *testing.T, ins []*tensor.Dense, k int, same, relu bool, r []float32) [][]float32 {
	t.Helper()
	g := G.NewGraph()
	nodes := make(G.Nodes, len(ins))
	for i, in := range ins {
		nodes[i] = G.NodeFromAny(g, in, G.WithName(string(rune('a'+i))))
	}
	out, err := Conv2D(nodes[0], nodes[1], nodes[2], k, 1, same, relu, true)
	if err != nil {
		t.Fatal(err)
	}
	_, grads := probeGrads(t, g, out, r, nodes...)
	return grads
}

// The gradients through Winograd's three adjoint transforms equal
// im2col's, input, kernels and bias.
func TestWinogradGradientsMatchIm2col(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	defer func(v bool) { winoEnabled = v }(winoEnabled)
	for _, c := range winoCases {
		ins := []*tensor.Dense{randTensor(r, c.n, c.cin, c.h, c.w), randTensor(r, c.cout, c.cin*9), randTensor(r, c.cout)}
		g := newConvGeom(ins[0].Shape(), c.cout, 3, 1, c.same, c.relu)
		pr := make([]float32, c.n*c.cout*g.ho*g.wo)
		for i := range pr {
			pr[i] = float32(r.NormFloat64())
		}
		winoEnabled = true
		wino := convGrads(t, ins, 3, c.same, c.relu, pr)
		winoEnabled = false
		ref := convGrads(t, ins, 3, c.same, c.relu, pr)
		sameGrads(t, c.name, wino, ref)
	}
}

// sameGrads fails t unless the input, kernel and bias gradients got equal
// im2col's (ref) to 1e-5 of their largest.
func sameGrads(t *testing.T, name string, got, ref [][]float32) {
	t.Helper()
	for k, what := range []string{"input", "kernel", "bias"} {
		scale := 0.0
		for _, v := range ref[k] {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for i := range ref[k] {
			if math.Abs(float64(got[k][i]-ref[k][i])) > 1e-5*(1+scale) {
				t.Fatalf("%s: %s gradient %d = %v, im2col's %v", name, what, i, got[k][i], ref[k][i])
			}
		}
	}
}

func TestWinogradGradientCheck(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 1))
	conv := func(same, relu bool) func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) {
		return func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) {
			return Conv2D(ins[0], ins[1], ins[2], 3, 1, same, relu, true)
		}
	}
	gradCheck(t, opCase{name: "winograd same relu", inputs: []*tensor.Dense{randTensor(r, 2, 16, 4, 6), randTensor(r, 3, 144), randTensor(r, 3)}, build: conv(true, true)}, 60)
	gradCheck(t, opCase{name: "winograd valid", inputs: []*tensor.Dense{randTensor(r, 2, 16, 6, 4), randTensor(r, 2, 144), randTensor(r, 2)}, build: conv(false, false)}, 60)
}
