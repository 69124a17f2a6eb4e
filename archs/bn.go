package archs

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

// forEachFeature runs fn(c) for every feature, in parallel when there are several.
func (o *bnOp) forEachFeature(fn func(c int)) {
	parallelFor(o.c, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			fn(c)
		}
	})
}

func (o *bnOp) Do(vals ...G.Value) (G.Value, error) {
	x, gamma, beta := f32(vals[0]), f32(vals[1]), f32(vals[2])
	y := buf(&o.out, o.shape...).Float32s()
	if len(o.mean) != o.c {
		o.mean, o.invstd = make([]float32, o.c), make([]float32, o.c)
	}
	m := float64(o.outer * o.inner)
	o.forEachFeature(func(c int) {
		var mean, variance float64
		if o.training {
			var s, ss float64
			for a := 0; a < o.outer; a++ {
				for _, v := range x[(a*o.c+c)*o.inner:][:o.inner] {
					s += float64(v)
				}
			}
			mean = s / m
			for a := 0; a < o.outer; a++ {
				for _, v := range x[(a*o.c+c)*o.inner:][:o.inner] {
					d := float64(v) - mean
					ss += d * d
				}
			}
			variance = ss / m
			unbiased := variance
			if m > 1 {
				unbiased = ss / (m - 1)
			}
			o.state.Mean[c] = float32(bnMomentum*float64(o.state.Mean[c]) + (1-bnMomentum)*mean)
			o.state.Var[c] = float32(bnMomentum*float64(o.state.Var[c]) + (1-bnMomentum)*unbiased)
		} else {
			mean, variance = float64(o.state.Mean[c]), float64(o.state.Var[c])
		}
		inv := 1 / math.Sqrt(variance+bnEpsilon)
		o.mean[c], o.invstd[c] = float32(mean), float32(inv)
		scale := float32(inv) * gamma[c]
		shift := beta[c] - float32(mean)*scale
		for a := 0; a < o.outer; a++ {
			off := (a*o.c + c) * o.inner
			xr, yr := x[off:off+o.inner], y[off:off+o.inner]
			for j, v := range xr {
				yr[j] = v*scale + shift
			}
		}
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
	o.forEachFeature(func(c int) {
		mean, inv := o.mean[c], o.invstd[c]
		var sg, sgx float64
		for a := 0; a < o.outer; a++ {
			off := (a*o.c + c) * o.inner
			xr, gr := x[off:off+o.inner], gy[off:off+o.inner]
			for j, g := range gr {
				sg += float64(g)
				sgx += float64(g) * float64((xr[j]-mean)*inv)
			}
		}
		db[c], dg[c] = float32(sg), float32(sgx)
		if !o.training {
			s := gamma[c] * inv
			for a := 0; a < o.outer; a++ {
				off := (a*o.c + c) * o.inner
				for j, g := range gy[off : off+o.inner] {
					dx[off+j] = g * s
				}
			}
			return
		}
		s := gamma[c] * inv
		mg, mgx := float32(sg/m), float32(sgx/m)
		for a := 0; a < o.outer; a++ {
			off := (a*o.c + c) * o.inner
			xr, gr, dr := x[off:off+o.inner], gy[off:off+o.inner], dx[off:off+o.inner]
			for j, g := range gr {
				xh := (xr[j] - mean) * inv
				dr[j] = s * (g - mg - xh*mgx)
			}
		}
	})
	return nil
}
