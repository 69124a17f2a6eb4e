package archs

/*
#include "kernels.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// maxPoolOp is a 2x2, stride-2 max pool on NCHW data with TensorFlow padding
// ('same' pads bottom/right with cells that never win). With two inputs it is
// the CNN2 family's residual add fused with the pool that follows it:
// maxpool(a + b), a [N,Ca,H,W] with Ca 1 (broadcast over b's channels) or
// Cb, so that the sum is never written out (it would be the largest tensor of
// the block) and its gradient is the pool's scatter, handed to both inputs.
type maxPoolOp struct {
	base
	add                        bool // two inputs: pool(a + b)
	ca                         int  // channels of a
	n, c, h, w, ho, wo, pt, pl int
	out                        *tensor.Dense
	arg                        []int32 // index within the image plane of each output's maximum
	// eval: no gradient will be asked for (an evaluation graph), so the
	// winners are not recorded: a quarter less memory traffic and a simpler
	// loop (pool_row_max).
	eval bool
}

func newMaxPool(s tensor.Shape, same bool) *maxPoolOp {
	o := &maxPoolOp{n: s[0], c: s[1], h: s[2], w: s[3]}
	if same {
		o.ho, o.pt = samePads(o.h, 2, 2)
		o.wo, o.pl = samePads(o.w, 2, 2)
	} else {
		o.ho, o.wo = (o.h-2)/2+1, (o.w-2)/2+1
	}
	return o
}

// MaxPool2x2 applies a 2x2 max pool with stride 2.
func MaxPool2x2(x *G.Node, same bool) (*G.Node, error) { return maxPool2x2(x, same, false) }

// maxPool2x2 is MaxPool2x2; eval: for an evaluation graph (maxPoolOp.eval).
func maxPool2x2(x *G.Node, same, eval bool) (*G.Node, error) {
	o := newMaxPool(x.Shape(), same)
	o.base, o.eval = newBase("maxpool", 4, 4), eval
	return G.ApplyOp(o, x)
}

// AddMaxPool2x2 is MaxPool2x2(AddChannels(a, b)) in one pass.
func AddMaxPool2x2(a, b *G.Node, same bool) (*G.Node, error) { return addMaxPool2x2(a, b, same, false) }

// addMaxPool2x2 is AddMaxPool2x2; eval as for maxPool2x2.
func addMaxPool2x2(a, b *G.Node, same, eval bool) (*G.Node, error) {
	sa, sb := a.Shape(), b.Shape()
	if len(sa) != 4 || len(sb) != 4 || sa[0] != sb[0] || sa[2] != sb[2] || sa[3] != sb[3] || (sa[1] != 1 && sa[1] != sb[1]) {
		return nil, fmt.Errorf("add: shapes %v and %v do not broadcast", sa, sb)
	}
	o := newMaxPool(sb, same)
	o.base, o.add, o.ca, o.eval = newBase("addmaxpool", 4, 4, 4), true, sa[1], eval
	return G.ApplyOp(o, a, b)
}

func (o *maxPoolOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.n, o.c, o.ho, o.wo}, nil
}

func (o *maxPoolOp) Do(vals ...G.Value) (G.Value, error) {
	var a []float32
	x := f32(vals[0])
	if o.add {
		a, x = x, f32(vals[1])
	}
	out := buf(&o.out, o.n, o.c, o.ho, o.wo)
	y := out.Float32s()
	if len(o.arg) != len(y) && !o.eval {
		o.arg = make([]int32, len(y))
	}
	in, per := o.c*o.h*o.w, o.c*o.ho*o.wo
	parallelFor(o.n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			ap := (*C.float)(nil)
			if a != nil {
				ap = fptr(a[i*o.ca*o.h*o.w:])
			}
			arg := (*C.int)(nil)
			if !o.eval {
				arg = (*C.int)(unsafe.Pointer(&o.arg[i*per]))
			}
			C.fm_add_maxpool(ap, fptr(x[i*in:]), fptr(y[i*per:]), arg,
				C.int(o.ca), C.int(o.c), C.int(o.h), C.int(o.w), C.int(o.ho), C.int(o.wo), C.int(o.pt), C.int(o.pl))
		}
	})
	return out, nil
}

func (o *maxPoolOp) DiffWRT(inputs int) []bool {
	if o.add {
		return []bool{true, true}
	}
	return []bool{true}
}

func (o *maxPoolOp) SymDiff(ins G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return symDiff(o.name, &maxPoolGrad{o: o}, ins, out, grad, o.DiffWRT(len(ins)))
}

// maxPoolGrad scatters the output gradient to the winning cells: dx of the
// plain pool; for the fused add, db and da (da summed over channels when a
// was broadcast).
type maxPoolGrad struct {
	o      *maxPoolOp
	dx, da *tensor.Dense // dx: the pooled input's gradient (b's, for the fused add)
}

func (k *maxPoolGrad) shape(i int) tensor.Shape {
	if k.o.add && i == 0 {
		return tensor.Shape{k.o.n, k.o.ca, k.o.h, k.o.w}
	}
	return tensor.Shape{k.o.n, k.o.c, k.o.h, k.o.w}
}

func (k *maxPoolGrad) result(i int) *tensor.Dense {
	if k.o.add && i == 0 {
		return k.da
	}
	return k.dx
}

func (k *maxPoolGrad) compute(vals []G.Value) error {
	o := k.o
	gy := f32(vals[len(vals)-1])
	dx := buf(&k.dx, o.n, o.c, o.h, o.w).Float32s()
	var da []float32
	if o.add {
		da = buf(&k.da, o.n, o.ca, o.h, o.w).Float32s()
	}
	hw, per := o.h*o.w, o.c*o.ho*o.wo
	parallelFor(o.n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			dap := (*C.float)(nil)
			if da != nil {
				dap = fptr(da[i*o.ca*hw:])
			}
			C.fm_maxpool_scatter(fptr(gy[i*per:]), (*C.int)(unsafe.Pointer(&o.arg[i*per])), fptr(dx[i*o.c*hw:]), dap,
				C.int(o.ca), C.int(o.c), C.int(hw), C.int(o.ho*o.wo))
		}
	})
	return nil
}

// gapOp is global average pooling: [N,C,H,W] -> [N,C].
type gapOp struct {
	base
	n, c, hw int
	out      *tensor.Dense
}

// GlobalAvgPool averages every channel plane.
func GlobalAvgPool(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	return G.ApplyOp(&gapOp{base: newBase("gap", 2, 4), n: s[0], c: s[1], hw: s[2] * s[3]}, x)
}

func (o *gapOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return tensor.Shape{o.n, o.c}, nil }
func (o *gapOp) Do(vals ...G.Value) (G.Value, error) {
	x := f32(vals[0])
	y := buf(&o.out, o.n, o.c).Float32s()
	for p := range y {
		var s float64
		for _, v := range x[p*o.hw : (p+1)*o.hw] {
			s += float64(v)
		}
		y[p] = float32(s / float64(o.hw))
	}
	return o.out, nil
}
func (o *gapOp) DiffWRT(int) []bool { return []bool{true} }
func (o *gapOp) SymDiff(ins G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return symDiff("gap", &gapGrad{o: o, s: ins[0].Shape().Clone()}, ins, out, grad, []bool{true})
}

type gapGrad struct {
	o  *gapOp
	s  tensor.Shape
	dx *tensor.Dense
}

func (k *gapGrad) shape(int) tensor.Shape   { return k.s }
func (k *gapGrad) result(int) *tensor.Dense { return k.dx }
func (k *gapGrad) compute(vals []G.Value) error {
	gy := f32(vals[2])
	dx := buf(&k.dx, k.s...).Float32s()
	inv := 1 / float32(k.o.hw)
	for p, g := range gy {
		g *= inv
		row := dx[p*k.o.hw : (p+1)*k.o.hw]
		for j := range row {
			row[j] = g
		}
	}
	return nil
}
