package archs

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// probeOp reduces a tensor to the scalar sum(x * r) for fixed random r, so a
// finite-difference check sees every output element of the op under test.
type probeOp struct {
	base
	r     []float32
	shape tensor.Shape
}

func (o *probeOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return tensor.ScalarShape(), nil }
func (o *probeOp) Do(vals ...G.Value) (G.Value, error) {
	var s float64
	for i, v := range f32(vals[0]) {
		s += float64(v) * float64(o.r[i])
	}
	return G.NewF32(float32(s)), nil
}
func (o *probeOp) DiffWRT(int) []bool { return []bool{true} }
func (o *probeOp) SymDiff(ins G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return symDiff("probe", &probeGrad{o: o}, ins, out, grad, []bool{true})
}

type probeGrad struct {
	o  *probeOp
	dx *tensor.Dense
}

func (k *probeGrad) shape(int) tensor.Shape   { return k.o.shape }
func (k *probeGrad) result(int) *tensor.Dense { return k.dx }
func (k *probeGrad) compute(vals []G.Value) error {
	g := f32(vals[2])[0]
	d := buf(&k.dx, k.o.shape...).Float32s()
	for i, r := range k.o.r {
		d[i] = r * g
	}
	return nil
}

// probeGrads runs the graph g of out and returns out's values and the
// gradients of sum(out * r) with respect to wrt.
func probeGrads(t *testing.T, g *G.ExprGraph, out *G.Node, r []float32, wrt ...*G.Node) ([]float32, [][]float32) {
	t.Helper()
	pr := &probeOp{base: newBase("probe", 0, out.Dims()), shape: out.Shape().Clone(), r: r}
	loss, err := G.ApplyOp(pr, out)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	vals := runValues(t, g, append(G.Nodes{out}, grads...)...)
	return vals[0], vals[1:]
}

// runValues runs graph g once and returns copies of the nodes' values.
func runValues(t *testing.T, g *G.ExprGraph, nodes ...*G.Node) [][]float32 {
	t.Helper()
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	res := make([][]float32, len(nodes))
	for i, n := range nodes {
		res[i] = append([]float32(nil), f32(n.Value())...)
	}
	return res
}

func randTensor(r *rand.Rand, shape ...int) *tensor.Dense {
	t := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	for i := range t.Float32s() {
		t.Float32s()[i] = float32(r.NormFloat64())
	}
	return t
}

// opCase is a graph fragment under test: build applies the op to its inputs.
type opCase struct {
	name   string
	inputs []*tensor.Dense
	build  func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error)
	before func() // run before every forward pass (e.g. to reseed dropout)
}

// gradCheck compares the analytic gradient of sum(op(inputs)*r) with central
// finite differences on up to `samples` elements of every input.
func gradCheck(t *testing.T, c opCase, samples int) {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 7))
	g := G.NewGraph()
	ins := make(G.Nodes, len(c.inputs))
	for i, in := range c.inputs {
		ins[i] = G.NodeFromAny(g, in, G.WithName(string(rune('a'+i))))
	}
	out, err := c.build(g, ins)
	if err != nil {
		t.Fatalf("%s: build: %v", c.name, err)
	}
	pr := &probeOp{base: newBase("probe", 0, out.Dims()), shape: out.Shape().Clone()}
	pr.r = make([]float32, out.Shape().TotalSize())
	for i := range pr.r {
		pr.r[i] = float32(r.NormFloat64())
	}
	loss, err := G.ApplyOp(pr, out)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := G.Grad(loss, ins...)
	if err != nil {
		t.Fatalf("%s: grad: %v", c.name, err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	run := func() float64 {
		if c.before != nil {
			c.before()
		}
		if err := vm.RunAll(); err != nil {
			t.Fatalf("%s: run: %v", c.name, err)
		}
		v := float64(f32(loss.Value())[0])
		vm.Reset()
		return v
	}
	if c.before != nil {
		c.before()
	}
	if err := vm.RunAll(); err != nil {
		t.Fatalf("%s: run: %v", c.name, err)
	}
	analytic := make([][]float32, len(ins))
	for i := range ins {
		analytic[i] = append([]float32(nil), f32(grads[i].Value())...)
	}
	vm.Reset()
	const eps = 1e-2
	for i, in := range c.inputs {
		data := in.Float32s()
		idx := r.Perm(len(data))
		if len(idx) > samples {
			idx = idx[:samples]
		}
		bad := 0
		for _, j := range idx {
			orig := data[j]
			data[j] = orig + eps
			lp := run()
			data[j] = orig - eps
			lm := run()
			data[j] = orig
			num := (lp - lm) / (2 * eps)
			ana := float64(analytic[i][j])
			if math.Abs(num-ana) > 1e-2+2e-2*math.Max(math.Abs(num), math.Abs(ana)) {
				bad++
				if bad <= 5 {
					t.Errorf("%s: input %d element %d: analytic %.5f, numeric %.5f", c.name, i, j, ana, num)
				}
			}
		}
	}
}

func TestGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	conv := func(k, stride int, same, relu bool) func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) {
		return func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) {
			return Conv2D(ins[0], ins[1], ins[2], k, stride, same, relu, true)
		}
	}
	drop := rand.NewPCG(3, 4)
	cases := []opCase{
		{name: "conv3x3 same relu", inputs: []*tensor.Dense{randTensor(r, 2, 3, 6, 5), randTensor(r, 4, 27), randTensor(r, 4)}, build: conv(3, 1, true, true)},
		{name: "conv2x2 same", inputs: []*tensor.Dense{randTensor(r, 2, 2, 5, 5), randTensor(r, 3, 8), randTensor(r, 3)}, build: conv(2, 1, true, false)},
		{name: "conv1x1 stride2 same", inputs: []*tensor.Dense{randTensor(r, 2, 3, 6, 6), randTensor(r, 2, 3), randTensor(r, 2)}, build: conv(1, 2, true, false)},
		{name: "conv3x3 stride2 same on even size", inputs: []*tensor.Dense{randTensor(r, 2, 2, 6, 6), randTensor(r, 3, 18), randTensor(r, 3)}, build: conv(3, 2, true, false)},
		{name: "conv3x3 valid relu", inputs: []*tensor.Dense{randTensor(r, 2, 2, 6, 6), randTensor(r, 3, 18), randTensor(r, 3)}, build: conv(3, 1, false, true)},
		{name: "conv1x1 valid", inputs: []*tensor.Dense{randTensor(r, 2, 4, 3, 3), randTensor(r, 5, 4), randTensor(r, 5)}, build: conv(1, 1, false, false)},
		{name: "maxpool same odd", inputs: []*tensor.Dense{distinct(r, 2, 3, 7, 7)}, build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) { return MaxPool2x2(ins[0], true) }},
		{name: "maxpool valid", inputs: []*tensor.Dense{distinct(r, 2, 2, 6, 6)}, build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) { return MaxPool2x2(ins[0], false) }},
		{name: "batchnorm channels", inputs: []*tensor.Dense{randTensor(r, 4, 3, 3, 3), randTensor(r, 3), randTensor(r, 3)}, build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) {
			return BatchNorm(ins[0], ins[1], ins[2], 1, newBNState(3), true)
		}},
		{name: "batchnorm height axis", inputs: []*tensor.Dense{randTensor(r, 3, 2, 4, 3), randTensor(r, 4), randTensor(r, 4)}, build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) {
			return BatchNorm(ins[0], ins[1], ins[2], 2, newBNState(4), true)
		}},
		{name: "batchnorm eval", inputs: []*tensor.Dense{randTensor(r, 2, 3, 2, 2), randTensor(r, 3), randTensor(r, 3)}, build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) {
			st := newBNState(3)
			st.Mean[1], st.Var[2] = 0.5, 2
			return BatchNorm(ins[0], ins[1], ins[2], 1, st, false)
		}},
		{name: "dropout 0.3", inputs: []*tensor.Dense{randTensor(r, 4, 50)}, before: func() { drop.Seed(3, 4) }, build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) {
			return Dropout(ins[0], 0.3, drop, true)
		}},
		{name: "dense relu", inputs: []*tensor.Dense{randTensor(r, 5, 7), randTensor(r, 7, 4), randTensor(r, 4)}, build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) {
			return Dense(ins[0], ins[1], ins[2], true, true)
		}},
		{name: "softmax channels", inputs: []*tensor.Dense{randTensor(r, 2, 4, 3, 2)}, build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) { return Softmax(ins[0], 1) }},
		{name: "add broadcast", inputs: []*tensor.Dense{randTensor(r, 2, 1, 3, 3), randTensor(r, 2, 4, 3, 3)}, build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) { return AddChannels(ins[0], ins[1]) }},
		{name: "add same", inputs: []*tensor.Dense{randTensor(r, 2, 3, 2, 2), randTensor(r, 2, 3, 2, 2)}, build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) { return AddChannels(ins[0], ins[1]) }},
		{name: "add+maxpool broadcast same odd", inputs: []*tensor.Dense{scaled(distinct(r, 2, 1, 7, 7), 1e-3), distinct(r, 2, 3, 7, 7)}, build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) {
			return AddMaxPool2x2(ins[0], ins[1], true)
		}},
		{name: "add+maxpool same channels valid", inputs: []*tensor.Dense{scaled(distinct(r, 2, 3, 6, 6), 1e-3), distinct(r, 2, 3, 6, 6)}, build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) {
			return AddMaxPool2x2(ins[0], ins[1], false)
		}},
		{name: "global average pool", inputs: []*tensor.Dense{randTensor(r, 2, 3, 4, 4)}, build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) { return GlobalAvgPool(ins[0]) }},
		{name: "flatten", inputs: []*tensor.Dense{randTensor(r, 2, 3, 2, 2)}, build: func(g *G.ExprGraph, ins G.Nodes) (*G.Node, error) { return Flatten(ins[0]) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { gradCheck(t, c, 60) })
	}
}

// scaled multiplies t's values by f (a residual small enough that adding it
// never changes which cell of a pool window wins).
func scaled(t *tensor.Dense, f float32) *tensor.Dense {
	for i := range t.Float32s() {
		t.Float32s()[i] *= f
	}
	return t
}

// distinct returns a tensor whose values are pairwise at least 0.1 apart, so a
// finite-difference step never changes which element of a pool window wins.
func distinct(r *rand.Rand, shape ...int) *tensor.Dense {
	t := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	for i, p := range r.Perm(len(t.Float32s())) {
		t.Float32s()[i] = float32(p)*0.1 - 3
	}
	return t
}

func TestCrossEntropyGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	logits := randTensor(r, 4, 10)
	onehot := tensor.New(tensor.WithShape(4, 10), tensor.Of(tensor.Float32))
	for i := 0; i < 4; i++ {
		onehot.Float32s()[i*10+r.IntN(10)] = 1
	}
	g := G.NewGraph()
	z := G.NodeFromAny(g, logits, G.WithName("z"))
	y := G.NodeFromAny(g, onehot, G.WithName("y"))
	loss, err := SoftmaxCrossEntropy(z, y)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := G.Grad(loss, z)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	ana := append([]float32(nil), f32(grads[0].Value())...)
	lossAt := func() float64 {
		var s float64
		for i := 0; i < 4; i++ {
			lbl := 0
			for j := 0; j < 10; j++ {
				if onehot.Float32s()[i*10+j] == 1 {
					lbl = j
				}
			}
			s += CrossEntropy(logits.Float32s()[i*10:(i+1)*10], lbl)
		}
		return s / 4
	}
	if got, want := float64(f32(loss.Value())[0]), lossAt(); math.Abs(got-want) > 1e-5 {
		t.Fatalf("loss %v, want %v", got, want)
	}
	d := logits.Float32s()
	for j := range d {
		o := d[j]
		d[j] = o + 1e-2
		lp := lossAt()
		d[j] = o - 1e-2
		lm := lossAt()
		d[j] = o
		if num := (lp - lm) / 2e-2; math.Abs(num-float64(ana[j])) > 1e-3 {
			t.Errorf("logit %d: analytic %v numeric %v", j, ana[j], num)
		}
	}
}
