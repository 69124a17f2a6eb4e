package archs

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Our ops plug into gorgonia's graph, autodiff and tape machine. Each op
// instance belongs to exactly one node of one graph and owns its output buffer,
// allocated once and reused on every step (gorgonia's tape machine forgets its
// registers on Reset, so reuse has to live in the op). Backward passes that
// produce several gradients at once (a convolution's dx, dW and db) compute them
// together in one gradKernel; the first gradient is the kernel's primary node and
// the others are cheap "pick" nodes that depend on it.

var opSeq atomic.Uint64

// base carries what every op of ours shares: a unique identity (gorgonia
// deduplicates nodes by hash, and no two of our nodes may merge), the arity,
// and the dimensions of inputs and output for gorgonia's type system.
type base struct {
	id      uint64
	name    string
	inDims  []int
	outDims int
}

func newBase(name string, outDims int, inDims ...int) base {
	return base{id: opSeq.Add(1), name: name, inDims: inDims, outDims: outDims}
}

func tt(d int) hm.Type {
	if d == 0 {
		return tensor.Float32
	}
	return G.TensorType{Dims: d, Of: tensor.Float32}
}

func (b *base) Arity() int { return len(b.inDims) }
func (b *base) Type() hm.Type {
	ts := make([]hm.Type, 0, len(b.inDims)+1)
	for _, d := range b.inDims {
		ts = append(ts, tt(d))
	}
	ts = append(ts, tt(b.outDims))
	return hm.NewFnType(ts...)
}
func (b *base) ReturnsPtr() bool      { return false }
func (b *base) CallsExtern() bool     { return true }
func (b *base) OverwritesInput() int  { return -1 }
func (b *base) WriteHash(h hash.Hash) { fmt.Fprintf(h, "fmnist.%s#%d", b.name, b.id) }
func (b *base) Hashcode() uint32 {
	h := fnv.New32a()
	b.WriteHash(h)
	return h.Sum32()
}
func (b *base) String() string { return b.name }

// f32 returns the float32 data behind a gorgonia value.
func f32(v G.Value) []float32 {
	switch t := v.(type) {
	case *tensor.Dense:
		return t.Float32s()
	case *G.F32:
		return []float32{float32(*t)}
	}
	if d, ok := v.Data().([]float32); ok {
		return d
	}
	if d, ok := v.Data().(float32); ok {
		return []float32{d}
	}
	panic(fmt.Sprintf("fmnist: unexpected value %T in op", v))
}

func shapeOf(v G.Value) tensor.Shape { return v.Shape() }

// buf returns a float32 tensor of the given shape, reusing *t when it already
// has that shape.
func buf(t **tensor.Dense, shape ...int) *tensor.Dense {
	if *t != nil && (*t).Shape().Eq(tensor.Shape(shape)) {
		return *t
	}
	*t = tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	return *t
}

// view returns a tensor of the given shape over data (no copy), reusing *t
// when it already is one over the same memory.
func view(t **tensor.Dense, data []float32, shape ...int) *tensor.Dense {
	if *t != nil && (*t).Shape().Eq(tensor.Shape(shape)) {
		if d := (*t).Float32s(); len(d) > 0 && len(data) > 0 && &d[0] == &data[0] {
			return *t
		}
	}
	*t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	return *t
}

// grow returns s with length n, reusing its storage when it is large enough.
func grow(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}

// gradKernel computes all the gradients of one forward op in one pass.
// vals are the forward inputs, then the forward output, then the incoming gradient.
type gradKernel interface {
	compute(vals []G.Value) error
	result(i int) *tensor.Dense // gradient for forward input i
	shape(i int) tensor.Shape
}

// gradOp is a node computing one gradient of a gradKernel. The primary one runs
// the kernel; the others take the primary node as their only input (so they run
// after it) and hand out another of its results.
type gradOp struct {
	base
	k       gradKernel
	idx     int
	primary bool
}

func (o *gradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.k.shape(o.idx), nil }
func (o *gradOp) Do(vals ...G.Value) (G.Value, error) {
	if o.primary {
		if err := o.k.compute(vals); err != nil {
			return nil, err
		}
	}
	return o.k.result(o.idx), nil
}

// symDiff builds the gradient nodes for a forward op whose inputs are ins,
// producing a gradient for every input where want[i] is true.
func symDiff(name string, k gradKernel, ins G.Nodes, out, grad *G.Node, want []bool) (G.Nodes, error) {
	res := make(G.Nodes, len(ins))
	var primary *G.Node
	for i, ok := range want {
		if !ok {
			continue
		}
		d := len(k.shape(i))
		var err error
		if primary == nil {
			args := append(append(G.Nodes{}, ins...), out, grad)
			inDims := make([]int, len(args))
			for j, a := range args {
				inDims[j] = a.Dims()
			}
			op := &gradOp{base: newBase(fmt.Sprintf("%s.grad%d", name, i), d, inDims...), k: k, idx: i, primary: true}
			if primary, err = G.ApplyOp(op, args...); err != nil {
				return nil, err
			}
			res[i] = primary
			continue
		}
		op := &gradOp{base: newBase(fmt.Sprintf("%s.grad%d", name, i), d, primary.Dims()), k: k, idx: i}
		if res[i], err = G.ApplyOp(op, primary); err != nil {
			return nil, err
		}
	}
	return res, nil
}
