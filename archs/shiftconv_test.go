package archs

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// shiftCases are 2x2 'same' convolutions the shifted planes take: an image
// per chunk (28x28, as in the all-CNN models) or several (small images),
// with and without ReLU, square or not.
var shiftCases = []struct {
	name               string
	n, cin, cout, h, w int
	relu               bool
}{
	{"28x28 relu, an image a chunk", 3, 8, 6, 28, 28, true},
	{"5x7, several images a chunk, no activation", 4, 5, 3, 5, 7, false},
	{"1 input channel 6x4 relu", 2, 1, 4, 6, 4, true},
}

func TestShiftConvIsUsedWhereItApplies(t *testing.T) {
	for _, c := range shiftCases {
		if g := newConvGeom(tensor.Shape{c.n, c.cin, c.h, c.w}, c.cout, 2, 1, true, c.relu); !g.shift {
			t.Errorf("%s: shifted planes not used", c.name)
		}
	}
	for _, c := range []struct {
		name    string
		k, s    int
		same    bool
		h, cout int
	}{
		{"2x2 valid", 2, 1, false, 8, 4},
		{"2x2 stride 2", 2, 2, true, 8, 4},
		{"3x3 same", 3, 1, true, 7, 4},
		{"1x1", 1, 1, true, 8, 4},
	} {
		if g := newConvGeom(tensor.Shape{2, 4, c.h, c.h}, c.cout, c.k, c.s, c.same, false); g.shift {
			t.Errorf("%s: shifted planes used", c.name)
		}
	}
	if g := newConvGeom(tensor.Shape{2, shiftMaxCin + 1, 28, 28}, 8, 2, 1, true, false); g.shift {
		t.Errorf("%d input channels: shifted planes used", shiftMaxCin+1)
	}
}

func TestShiftConvMatchesDirectConvolution(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range shiftCases {
		matchDirect(t, r, c.name, c.n, c.cin, c.cout, c.h, c.w, 2, true, c.relu)
	}
}

// The shifted planes' gradients (input, kernels, bias) equal im2col's.
func TestShiftConvGradientsMatchIm2col(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	defer func(v bool) { shiftEnabled = v }(shiftEnabled)
	for _, c := range shiftCases {
		ins := []*tensor.Dense{randTensor(r, c.n, c.cin, c.h, c.w), randTensor(r, c.cout, c.cin*4), randTensor(r, c.cout)}
		pr := make([]float32, c.n*c.cout*c.h*c.w)
		for i := range pr {
			pr[i] = float32(r.NormFloat64())
		}
		shiftEnabled = true
		got := convGrads(t, ins, 2, true, c.relu, pr)
		shiftEnabled = false
		ref := convGrads(t, ins, 2, true, c.relu, pr)
		sameGrads(t, c.name, got, ref)
	}
}

// Finite differences through the shifted planes (TestGradients' "conv2x2
// same" goes through them too); without ReLU, whose kinks finite
// differences straddle: TestShiftConvGradientsMatchIm2col covers it.
func TestShiftConvGradientCheck(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 2))
	gradCheck(t, opCase{name: "shifted 2x2 same", inputs: []*tensor.Dense{randTensor(r, 3, 3, 5, 6), randTensor(r, 4, 12), randTensor(r, 4)},
		build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) {
			return Conv2D(ins[0], ins[1], ins[2], 2, 1, true, false, true)
		}}, 60)
}

// BenchmarkConv2x2 times one forward and backward pass of the all-CNN
// models' 2x2 convolution (a batch of 64 28x28 images, input gradient
// included) on the shifted planes and on im2col (all_cnn's on the shifted
// planes although training keeps it on im2col, see shiftMaxCin):
// go test ./archs -run X -bench Conv2x2.
func BenchmarkConv2x2(b *testing.B) {
	for _, m := range []struct {
		name string
		c    int
	}{{"reduced_all_cnn", 32}, {"all_cnn", 96}} {
		for _, shift := range []bool{true, false} {
			name := m.name + "/im2col"
			if shift {
				name = m.name + "/shift"
			}
			b.Run(name, func(b *testing.B) {
				// all_cnn's 96 channels are above shiftMaxCin: raised here, to
				// measure both ways.
				defer func(v bool, c int) { shiftEnabled, shiftMaxCin = v, c }(shiftEnabled, shiftMaxCin)
				shiftEnabled, shiftMaxCin = shift, m.c
				r := rand.New(rand.NewPCG(1, 1))
				g := G.NewGraph()
				ins := G.Nodes{}
				for i, in := range []*tensor.Dense{randTensor(r, 64, m.c, 28, 28), randTensor(r, m.c, m.c*4), randTensor(r, m.c)} {
					ins = append(ins, G.NodeFromAny(g, in, G.WithName(string(rune('a'+i)))))
				}
				out, err := Conv2D(ins[0], ins[1], ins[2], 2, 1, true, true, true)
				if err != nil {
					b.Fatal(err)
				}
				pr := &probeOp{base: newBase("probe", 0, out.Dims()), shape: out.Shape().Clone(), r: make([]float32, out.Shape().TotalSize())}
				for i := range pr.r {
					pr.r[i] = float32(r.NormFloat64())
				}
				loss, err := G.ApplyOp(pr, out)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := G.Grad(loss, ins...); err != nil {
					b.Fatal(err)
				}
				vm := G.NewTapeMachine(g)
				defer vm.Close()
				for i := 0; i < b.N; i++ {
					if err := vm.RunAll(); err != nil {
						b.Fatal(err)
					}
					vm.Reset()
				}
			})
		}
	}
}
