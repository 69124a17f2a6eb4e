package archs

/*
#include "kernels.h"
*/
import "C"

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convPoolOp is, for evaluation graphs only, a CNN2-family block after its
// BatchNorm in one op: a convolution with ReLU, the residual a added, and
// the 2x2 max pool ('same'). Each chunk of images is convolved into a
// per-worker buffer that stays in cache and is pooled from there, so the
// convolution's output, the block's largest tensor, is never written to
// memory. Dropout is the identity in evaluation and is left out. The result
// is bit-identical to the separate ops (same SGEMMs, same chunks).
// Inputs: x [N,Cin,H,W], W [Cout, Cin*k*k], b [Cout], a [N,1 or Cout,H,W].
type convPoolOp struct {
	base
	g    convGeom
	pool *maxPoolOp // its geometry: the pooled map of one chunk
	out  *tensor.Dense
	ws   [][]float32 // per worker: columns, SGEMM result, activations
	u    []float32   // Winograd: the kernels' transform; shifted planes: their four taps (kernel)
}

// ConvAddPool builds a convPoolOp (see there).
func ConvAddPool(x, w, b, a *G.Node, k int) (*G.Node, error) {
	cout := w.Shape()[0]
	if w.Shape()[1] != x.Shape()[1]*k*k {
		return nil, fmt.Errorf("conv: kernel %v does not fit input %v with k=%d", w.Shape(), x.Shape(), k)
	}
	g := newConvGeom(x.Shape(), cout, k, 1, true, true)
	sa := a.Shape()
	if len(sa) != 4 || sa[0] != g.n || sa[2] != g.ho || sa[3] != g.wo || (sa[1] != 1 && sa[1] != cout) {
		return nil, fmt.Errorf("add: shapes %v and %v do not broadcast", sa, tensor.Shape{g.n, cout, g.ho, g.wo})
	}
	p := newMaxPool(tensor.Shape{g.n, cout, g.ho, g.wo}, true)
	p.ca = sa[1]
	op := &convPoolOp{base: newBase("convaddpool", 4, 4, 2, 1, 4), g: g, pool: p}
	return G.ApplyOp(op, x, w, b, a)
}

func (o *convPoolOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.g.n, o.g.cout, o.pool.ho, o.pool.wo}, nil
}

func (o *convPoolOp) Do(vals ...G.Value) (G.Value, error) {
	g, p := &o.g, o.pool
	x, w, b, a := f32(vals[0]), f32(vals[1]), f32(vals[2]), f32(vals[3])
	out := buf(&o.out, g.n, g.cout, p.ho, p.wo)
	y := out.Float32s()
	if len(o.ws) < workers() {
		o.ws = make([][]float32, workers())
	}
	cb := g.chunk()
	kern := g.kernel(w, &o.u)
	span, per, aspan := g.cout*g.p, g.cout*p.ho*p.wo, p.ca*g.p
	parallelFor(g.n, func(wk, lo, hi int) {
		o.ws[wk] = grow(o.ws[wk], g.fwdScratch()+g.cout*cb*g.p)
		for i0 := lo; i0 < hi; i0 += cb {
			nb := min(cb, hi-i0)
			act := o.ws[wk][g.fwdScratch():][:nb*span]
			g.forwardChunk(x, kern, b, o.ws[wk], act, i0, nb)
			for bi := 0; bi < nb; bi++ {
				i := i0 + bi
				C.fm_add_maxpool(fptr(a[i*aspan:]), fptr(act[bi*span:]), fptr(y[i*per:]), nil,
					C.int(p.ca), C.int(g.cout), C.int(g.ho), C.int(g.wo), C.int(p.ho), C.int(p.wo), C.int(p.pt), C.int(p.pl))
			}
		}
	})
	return out, nil
}

func (o *convPoolOp) DiffWRT(int) []bool { return []bool{false, false, false, false} }

func (o *convPoolOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("convaddpool is for evaluation graphs only")
}
