package archs

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// addOp adds a [N,Ca,H,W] and b [N,Cb,H,W] where Ca is 1 or Cb: the residual
// add of the CNN2 family, whose first block adds a 1-channel BatchNorm output
// to every conv channel. The broadcast is never materialised.
type addOp struct {
	base
	n, ca, cb, hw int
	shape         tensor.Shape
	out           *tensor.Dense
}

// AddChannels returns a + b, broadcasting a over channels when it has one.
func AddChannels(a, b *G.Node) (*G.Node, error) {
	sa, sb := a.Shape(), b.Shape()
	if len(sa) != 4 || len(sb) != 4 || sa[0] != sb[0] || sa[2] != sb[2] || sa[3] != sb[3] || (sa[1] != 1 && sa[1] != sb[1]) {
		return nil, fmt.Errorf("add: shapes %v and %v do not broadcast", sa, sb)
	}
	o := &addOp{base: newBase("add", 4, 4, 4), n: sb[0], ca: sa[1], cb: sb[1], hw: sb[2] * sb[3], shape: sb.Clone()}
	return G.ApplyOp(o, a, b)
}

func (o *addOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }

func (o *addOp) Do(vals ...G.Value) (G.Value, error) {
	a, b := f32(vals[0]), f32(vals[1])
	y := buf(&o.out, o.shape...).Float32s()
	parallelFor(o.n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			for c := 0; c < o.cb; c++ {
				ca := c
				if o.ca == 1 {
					ca = 0
				}
				ar := a[(i*o.ca+ca)*o.hw:][:o.hw]
				br := b[(i*o.cb+c)*o.hw:][:o.hw]
				yr := y[(i*o.cb+c)*o.hw:][:o.hw]
				for j := range yr {
					yr[j] = ar[j] + br[j]
				}
			}
		}
	})
	return o.out, nil
}

func (o *addOp) DiffWRT(int) []bool { return []bool{true, true} }

func (o *addOp) SymDiff(ins G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return symDiff("add", &addGrad{o: o}, ins, out, grad, []bool{true, true})
}

type addGrad struct {
	o      *addOp
	da, db *tensor.Dense
}

func (k *addGrad) shape(i int) tensor.Shape {
	if i == 0 {
		return tensor.Shape{k.o.n, k.o.ca, k.o.shape[2], k.o.shape[3]}
	}
	return k.o.shape.Clone()
}

func (k *addGrad) result(i int) *tensor.Dense {
	if i == 0 {
		return k.da
	}
	return k.db
}

func (k *addGrad) compute(vals []G.Value) error {
	o := k.o
	g := f32(vals[3])
	db := buf(&k.db, o.shape...).Float32s()
	copy(db, g)
	da := buf(&k.da, k.shape(0)...).Float32s()
	if o.ca == o.cb {
		copy(da, g)
		return nil
	}
	parallelFor(o.n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			dr := da[i*o.hw : (i+1)*o.hw]
			copy(dr, g[i*o.cb*o.hw:][:o.hw])
			for c := 1; c < o.cb; c++ {
				for j, v := range g[(i*o.cb+c)*o.hw:][:o.hw] {
					dr[j] += v
				}
			}
		}
	})
	return nil
}

// flattenOp reshapes [N, ...] to [N, rest] (C, H, W order). Its output,
// and its gradient, are views of their input: a copy was a serial pass over
// memory (model5 flattens 12,800 values an image), with a core idle.
// Sharing the memory is safe because no op here writes into its inputs;
// the only writes in place are gorgonia's sums of a node's gradients, into
// a gradient that nothing reads afterwards.
type flattenOp struct {
	base
	in  tensor.Shape
	out *tensor.Dense
}

// Flatten keeps the batch axis and flattens the others.
func Flatten(x *G.Node) (*G.Node, error) {
	s := x.Shape().Clone()
	return G.ApplyOp(&flattenOp{base: newBase("flatten", 2, len(s)), in: s}, x)
}

func (o *flattenOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.in[0], o.in.TotalSize() / o.in[0]}, nil
}

func (o *flattenOp) Do(vals ...G.Value) (G.Value, error) {
	return view(&o.out, f32(vals[0]), o.in[0], o.in.TotalSize()/o.in[0]), nil
}

func (o *flattenOp) DiffWRT(int) []bool { return []bool{true} }

func (o *flattenOp) SymDiff(ins G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return symDiff("flatten", &flattenGrad{s: o.in}, ins, out, grad, []bool{true})
}

type flattenGrad struct {
	s  tensor.Shape
	dx *tensor.Dense
}

func (k *flattenGrad) shape(int) tensor.Shape   { return k.s.Clone() }
func (k *flattenGrad) result(int) *tensor.Dense { return k.dx }
func (k *flattenGrad) compute(vals []G.Value) error {
	view(&k.dx, f32(vals[2]), k.s...)
	return nil
}
