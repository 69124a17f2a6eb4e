package archs

/*
#include "kernels.h"
*/
import "C"

import (
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Keras BatchNormalization defaults.
const (
	bnMomentum = 0.99
	bnEpsilon  = 1e-3
)

// BNState is a BatchNorm layer's moving statistics, shared by every graph
// (training and evaluation, any batch size) built for the model.
type BNState struct {
	Mean, Var []float32
}

func newBNState(c int) *BNState {
	s := &BNState{Mean: make([]float32, c), Var: make([]float32, c)}
	for i := range s.Var {
		s.Var[i] = 1
	}
	return s
}

// bnOp normalises feature axis `axis` of its input: statistics are taken over
// every other axis. In training it uses the batch statistics (biased variance)
// and updates the moving ones (Bessel-corrected variance, momentum 0.99), as
// Keras' fused BatchNorm does; in evaluation it uses the moving statistics.
// Inputs: x, gamma [C], beta [C].
type bnOp struct {
	base
	outer, c, inner int
	shape           tensor.Shape
	training        bool
	state           *BNState
	out             *tensor.Dense
	mean, invstd    []float32 // batch statistics of the last forward pass
	scale, shift    []float32 // the affine map they and gamma, beta make
}

// BatchNorm normalises x over feature axis `axis`.
func BatchNorm(x, gamma, beta *G.Node, axis int, st *BNState, training bool) (*G.Node, error) {
	s := x.Shape().Clone()
	o := &bnOp{base: newBase("batchnorm", len(s), len(s), 1, 1), shape: s, training: training, state: st,
		outer: 1, c: s[axis], inner: 1}
	for i := 0; i < axis; i++ {
		o.outer *= s[i]
	}
	for i := axis + 1; i < len(s); i++ {
		o.inner *= s[i]
	}
	return G.ApplyOp(o, x, gamma, beta)
}

func (o *bnOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }

// featureSums returns, per feature, the sums of f(a, c, row) over every row
// of that feature, where rows are the `inner`-long runs of the input; the work
// is split over the outer axis and walks memory in order.
func (o *bnOp) featureSums(nsum int, f func(c, off int, acc []float64)) [][]float64 {
	nw := min(workers(), o.outer)
	parts := make([][]float64, nw)
	parallelFor(o.outer, func(w, lo, hi int) {
		acc := make([]float64, nsum*o.c)
		for a := lo; a < hi; a++ {
			for c := 0; c < o.c; c++ {
				f(c, (a*o.c+c)*o.inner, acc[c*nsum:(c+1)*nsum])
			}
		}
		parts[w] = acc
	})
	out := make([][]float64, o.c)
	for c := range out {
		out[c] = make([]float64, nsum)
		for _, p := range parts {
			if p != nil {
				for k := 0; k < nsum; k++ {
					out[c][k] += p[c*nsum+k]
				}
			}
		}
	}
	return out
}

// apply runs fn over every row with its feature index, split over the outer axis.
func (o *bnOp) apply(fn func(c, off int)) {
	parallelFor(o.outer, func(_, lo, hi int) {
		for a := lo; a < hi; a++ {
			for c := 0; c < o.c; c++ {
				fn(c, (a*o.c+c)*o.inner)
			}
		}
	})
}

func (o *bnOp) Do(vals ...G.Value) (G.Value, error) {
	x, gamma, beta := f32(vals[0]), f32(vals[1]), f32(vals[2])
	y := buf(&o.out, o.shape...).Float32s()
	if len(o.mean) != o.c {
		o.mean, o.invstd = make([]float32, o.c), make([]float32, o.c)
		o.scale, o.shift = make([]float32, o.c), make([]float32, o.c)
	}
	m := float64(o.outer * o.inner)
	if o.training {
		// Sums of x and x^2 in float64 (per row in float32, which is exact
		// enough for rows of at most a few hundred values in [-1e3, 1e3]).
		sums := o.featureSums(2, func(c, off int, acc []float64) {
			var s, ss float32
			for _, v := range x[off : off+o.inner] {
				s += v
				ss += v * v
			}
			acc[0] += float64(s)
			acc[1] += float64(ss)
		})
		for c := 0; c < o.c; c++ {
			mean := sums[c][0] / m
			variance := max(sums[c][1]/m-mean*mean, 0)
			unbiased := variance
			if m > 1 {
				unbiased = variance * m / (m - 1)
			}
			o.state.Mean[c] = float32(bnMomentum*float64(o.state.Mean[c]) + (1-bnMomentum)*mean)
			o.state.Var[c] = float32(bnMomentum*float64(o.state.Var[c]) + (1-bnMomentum)*unbiased)
			o.mean[c], o.invstd[c] = float32(mean), float32(1/math.Sqrt(variance+bnEpsilon))
		}
	} else {
		for c := 0; c < o.c; c++ {
			o.mean[c] = o.state.Mean[c]
			o.invstd[c] = float32(1 / math.Sqrt(float64(o.state.Var[c])+bnEpsilon))
		}
	}
	scale, shift := o.scale, o.shift
	for c := range scale {
		scale[c] = o.invstd[c] * gamma[c]
		shift[c] = beta[c] - o.mean[c]*scale[c]
	}
	// The map itself in C: Go does not vectorise the loop (5% of CNN2's
	// evaluation time when it did it).
	parallelFor(o.outer, func(_, lo, hi int) {
		C.fm_scale_shift(fptr(x), fptr(y), C.long(lo), C.long(hi), C.int(o.c), C.long(o.inner), fptr(scale), fptr(shift))
	})
	return o.out, nil
}

func (o *bnOp) DiffWRT(int) []bool { return []bool{true, true, true} }

func (o *bnOp) SymDiff(ins G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return symDiff("batchnorm", &bnGrad{o: o}, ins, out, grad, []bool{true, true, true})
}

type bnGrad struct {
	o              *bnOp
	dx, dgam, dbet *tensor.Dense
}

func (k *bnGrad) shape(i int) tensor.Shape {
	if i == 0 {
		return k.o.shape.Clone()
	}
	return tensor.Shape{k.o.c}
}

func (k *bnGrad) result(i int) *tensor.Dense {
	switch i {
	case 0:
		return k.dx
	case 1:
		return k.dgam
	}
	return k.dbet
}

// compute: with xhat = (x-mean)*invstd, dbeta = sum g, dgamma = sum g*xhat and
// dx = gamma*invstd/M * (M*g - dbeta - xhat*dgamma). In evaluation mode the
// statistics are constants: dx = gamma*invstd*g.
func (k *bnGrad) compute(vals []G.Value) error {
	o := k.o
	x, gamma, gy := f32(vals[0]), f32(vals[1]), f32(vals[4])
	dx := buf(&k.dx, o.shape...).Float32s()
	dg := buf(&k.dgam, o.c).Float32s()
	db := buf(&k.dbet, o.c).Float32s()
	m := float64(o.outer * o.inner)
	sums := o.featureSums(2, func(c, off int, acc []float64) {
		mean, inv := o.mean[c], o.invstd[c]
		var sg, sgx float32
		xr := x[off : off+o.inner]
		for j, g := range gy[off : off+o.inner] {
			sg += g
			sgx += g * (xr[j] - mean) * inv
		}
		acc[0] += float64(sg)
		acc[1] += float64(sgx)
	})
	mg, mgx := make([]float32, o.c), make([]float32, o.c)
	for c := 0; c < o.c; c++ {
		db[c], dg[c] = float32(sums[c][0]), float32(sums[c][1])
		if o.training {
			mg[c], mgx[c] = float32(sums[c][0]/m), float32(sums[c][1]/m)
		}
	}
	o.apply(func(c, off int) {
		s, mean, inv := gamma[c]*o.invstd[c], o.mean[c], o.invstd[c]
		xr, gr, dr := x[off:off+o.inner], gy[off:off+o.inner], dx[off:off+o.inner]
		if !o.training {
			for j, g := range gr {
				dr[j] = g * s
			}
			return
		}
		for j, g := range gr {
			dr[j] = s * (g - mg[c] - (xr[j]-mean)*inv*mgx[c])
		}
	})
	return nil
}
