package archs

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// runForward builds a one-op graph and returns its output values.
func runForward(t *testing.T, inputs []*tensor.Dense, build func(ins G.Nodes) (*G.Node, error)) []float32 {
	t.Helper()
	g := G.NewGraph()
	ins := make(G.Nodes, len(inputs))
	for i, in := range inputs {
		ins[i] = G.NodeFromAny(g, in, G.WithName(string(rune('a'+i))))
	}
	out, err := build(ins)
	if err != nil {
		t.Fatal(err)
	}
	return runValues(t, g, out)[0]
}

// naiveConv is a direct convolution with explicit TensorFlow padding.
func naiveConv(x []float32, n, cin, h, w int, wt, b []float32, cout, k, s, ho, wo, pt, pl int) []float32 {
	y := make([]float32, n*cout*ho*wo)
	for i := 0; i < n; i++ {
		for co := 0; co < cout; co++ {
			for oy := 0; oy < ho; oy++ {
				for ox := 0; ox < wo; ox++ {
					acc := float64(b[co])
					for ci := 0; ci < cin; ci++ {
						for ky := 0; ky < k; ky++ {
							for kx := 0; kx < k; kx++ {
								iy, ix := oy*s+ky-pt, ox*s+kx-pl
								if iy < 0 || iy >= h || ix < 0 || ix >= w {
									continue
								}
								acc += float64(x[((i*cin+ci)*h+iy)*w+ix]) * float64(wt[((co*cin+ci)*k+ky)*k+kx])
							}
						}
					}
					y[((i*cout+co)*ho+oy)*wo+ox] = float32(acc)
				}
			}
		}
	}
	return y
}

func TestConvMatchesDirectConvolutionWithTFPadding(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	cases := []struct {
		name    string
		h, k, s int
		same    bool
		ho, pt  int // expected output size and top/left pad (TensorFlow's rule)
	}{
		{"3x3 same", 7, 3, 1, true, 7, 1},
		{"2x2 same pads bottom/right", 6, 2, 1, true, 6, 0},
		{"3x3 stride 2 same on 14", 14, 3, 2, true, 7, 0},
		{"1x1 stride 2 same on 28", 28, 1, 2, true, 14, 0},
		{"3x3 valid", 8, 3, 1, false, 6, 0},
	}
	for _, c := range cases {
		x, wt, b := randTensor(r, 2, 3, c.h, c.h), randTensor(r, 4, 3*c.k*c.k), randTensor(r, 4)
		got := runForward(t, []*tensor.Dense{x, wt, b}, func(ins G.Nodes) (*G.Node, error) {
			n, err := Conv2D(ins[0], ins[1], ins[2], c.k, c.s, c.same, false, true)
			if err == nil && n.Shape()[2] != c.ho {
				t.Errorf("%s: output %v, want height %d", c.name, n.Shape(), c.ho)
			}
			return n, err
		})
		want := naiveConv(x.Float32s(), 2, 3, c.h, c.h, wt.Float32s(), b.Float32s(), 4, c.k, c.s, c.ho, c.ho, c.pt, c.pt)
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-4 {
				t.Fatalf("%s: element %d = %v, want %v", c.name, i, got[i], want[i])
			}
		}
	}
}

func TestMaxPoolSameOnOddSize(t *testing.T) {
	// A 3x3 plane pooled 'same' gives 2x2: the last row/column are windows of
	// their own (padding at the bottom/right never wins, even against negatives).
	x := tensor.New(tensor.WithShape(1, 1, 3, 3), tensor.WithBacking([]float32{
		-1, -2, -3,
		-4, -5, -6,
		-7, -8, -9,
	}))
	got := runForward(t, []*tensor.Dense{x}, func(ins G.Nodes) (*G.Node, error) { return MaxPool2x2(ins[0], true) })
	want := []float32{-1, -3, -7, -9}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pooled %v, want %v", got, want)
		}
	}
}

func TestBatchNormEvaluationUsesMovingStatistics(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	x := randTensor(r, 8, 2, 3, 3)
	for i := range x.Float32s() {
		x.Float32s()[i] = x.Float32s()[i]*3 + 5 // batch mean ~5, variance ~9
	}
	gamma := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{2, 0.5}))
	beta := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, -1}))
	st := newBNState(2)
	st.Mean[0], st.Var[0], st.Mean[1], st.Var[1] = 0.25, 4, -1, 0.5
	got := runForward(t, []*tensor.Dense{x, gamma, beta}, func(ins G.Nodes) (*G.Node, error) {
		return BatchNorm(ins[0], ins[1], ins[2], 1, st, false)
	})
	for i, v := range x.Float32s() {
		c := (i / 9) % 2
		want := (float64(v)-float64(st.Mean[c]))/math.Sqrt(float64(st.Var[c])+bnEpsilon)*float64(gamma.Float32s()[c]) + float64(beta.Float32s()[c])
		if math.Abs(float64(got[i])-want) > 1e-4 {
			t.Fatalf("element %d: %v, want %v (from the moving statistics)", i, got[i], want)
		}
	}
	if st.Mean[0] != 0.25 || st.Var[1] != 0.5 {
		t.Fatalf("evaluation changed the moving statistics: %v %v", st.Mean, st.Var)
	}

	// Training uses the batch's statistics and moves the moving ones by 1%.
	train := runForward(t, []*tensor.Dense{x, gamma, beta}, func(ins G.Nodes) (*G.Node, error) {
		return BatchNorm(ins[0], ins[1], ins[2], 1, st, true)
	})
	var mean float64
	for i, v := range train {
		if (i/9)%2 == 0 {
			mean += float64(v)
		}
	}
	if mean /= 72; math.Abs(mean-1) > 1e-4 { // normalised output has mean beta
		t.Fatalf("training output mean %v, want beta = 1", mean)
	}
	var bm float64
	for i, v := range x.Float32s() {
		if (i/9)%2 == 0 {
			bm += float64(v)
		}
	}
	bm /= 72
	if want := 0.99*0.25 + 0.01*bm; math.Abs(float64(st.Mean[0])-want) > 1e-5 {
		t.Fatalf("moving mean %v, want %v", st.Mean[0], want)
	}
}

func TestDropoutScalesKeptUnitsAndIsIdentityInEvaluation(t *testing.T) {
	x := tensor.New(tensor.WithShape(100, 100), tensor.Of(tensor.Float32))
	for i := range x.Float32s() {
		x.Float32s()[i] = 1
	}
	rng := rand.NewPCG(1, 1)
	got := runForward(t, []*tensor.Dense{x}, func(ins G.Nodes) (*G.Node, error) { return Dropout(ins[0], 0.3, rng, true) })
	kept := 0
	for _, v := range got {
		switch {
		case v == 0:
		case math.Abs(float64(v)-1/0.7) < 1e-6:
			kept++
		default:
			t.Fatalf("dropout output %v, want 0 or 1/0.7", v)
		}
	}
	if frac := float64(kept) / 1e4; math.Abs(frac-0.7) > 0.02 {
		t.Fatalf("kept %.3f of units, want 0.7", frac)
	}
	eval := runForward(t, []*tensor.Dense{x}, func(ins G.Nodes) (*G.Node, error) { return Dropout(ins[0], 0.3, rng, false) })
	for _, v := range eval {
		if v != 1 {
			t.Fatalf("evaluation dropout changed a value to %v", v)
		}
	}
}

func TestSolversFollowKerasRules(t *testing.T) {
	p := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, -2}))
	g := []float32{0.5, -0.1}
	a := NewAdam(0.01)
	if err := a.Step([]G.ValueGrad{ParamGrad{P: p, G: g}}); err != nil {
		t.Fatal(err)
	}
	// First Adam step moves each weight by lr * g/|g| (up to epsilon).
	if d := p.Float32s()[0] - (1 - 0.01); math.Abs(float64(d)) > 1e-5 {
		t.Errorf("adam step: %v, want %v", p.Float32s()[0], 1-0.01)
	}
	if d := p.Float32s()[1] - (-2 + 0.01); math.Abs(float64(d)) > 1e-5 {
		t.Errorf("adam step: %v, want %v", p.Float32s()[1], -2+0.01)
	}

	q := tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{1}))
	s := &SGD{LR: 0.1, Momentum: 0.9, Nesterov: true, Decay: 0.5}
	want, v := 1.0, 0.0
	for step := 0; step < 3; step++ {
		if err := s.Step([]G.ValueGrad{ParamGrad{P: q, G: []float32{1}}}); err != nil {
			t.Fatal(err)
		}
		lr := 0.1 / (1 + 0.5*float64(step))
		v = 0.9*v - lr
		want += 0.9*v - lr
		if math.Abs(float64(q.Float32s()[0])-want) > 1e-6 {
			t.Fatalf("nesterov step %d: %v, want %v", step, q.Float32s()[0], want)
		}
	}
}

func TestRecipeWithEpochs(t *testing.T) {
	m5, _ := Lookup("model5")
	for n, want := range map[int][]int{40: {10, 30}, 3: {1, 2}, 2: {1, 1}, 1: {1}, 8: {2, 6}, 80: {20, 60}} {
		r := m5.Recipe.WithEpochs(n)
		var got []int
		for _, p := range r.Phases {
			got = append(got, p.Epochs)
		}
		if len(got) != len(want) || r.Epochs() != n {
			t.Errorf("model5 with %d epochs: phases %v, want %v", n, got, want)
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("model5 with %d epochs: phases %v, want %v", n, got, want)
			}
		}
		if r.Phases[0].Batch != 256 || r.Phases[0].LR != 0.01 {
			t.Errorf("first phase changed: %+v", r.Phases[0])
		}
	}
	c, _ := Lookup("CNN2")
	if r := c.Recipe.WithEpochs(3); r.Epochs() != 3 || r.Phases[0].Batch != 256 {
		t.Errorf("CNN2 with 3 epochs: %+v", r)
	}
}
