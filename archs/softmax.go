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

// softmaxOp is a softmax over one axis of its input (model5's Dense(128,
// softmax) acts on the channel axis of a 4-D tensor).
type softmaxOp struct {
	base
	outer, c, inner int
	shape           tensor.Shape
	out             *tensor.Dense
}

// Softmax normalises x along axis.
func Softmax(x *G.Node, axis int) (*G.Node, error) {
	s := x.Shape().Clone()
	o := &softmaxOp{base: newBase("softmax", len(s), len(s)), shape: s, outer: 1, c: s[axis], inner: 1}
	for i := 0; i < axis; i++ {
		o.outer *= s[i]
	}
	for i := axis + 1; i < len(s); i++ {
		o.inner *= s[i]
	}
	return G.ApplyOp(o, x)
}

func (o *softmaxOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }

func (o *softmaxOp) Do(vals ...G.Value) (G.Value, error) {
	x := f32(vals[0])
	y := buf(&o.out, o.shape...).Float32s()
	// A whole [c x inner] block at a time with contiguous inner loops, in C
	// (fm_softmax_axis): Go does not vectorise the exponentials, which were
	// 9% of model5's training step. It gives the same bits as the Go loop
	// it replaced (softmaxRef, with expNeg, in the tests).
	parallelFor(o.outer, func(_, lo, hi int) {
		scratch := make([]float32, 2*o.inner)
		C.fm_softmax_axis(fptr(x), fptr(y), C.long(lo), C.long(hi), C.int(o.c), C.int(o.inner), fptr(scratch), fptr(scratch[o.inner:]))
	})
	return o.out, nil
}

func (o *softmaxOp) DiffWRT(int) []bool { return []bool{true} }

func (o *softmaxOp) SymDiff(ins G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return symDiff("softmax", &softmaxGrad{o: o}, ins, out, grad, []bool{true})
}

type softmaxGrad struct {
	o  *softmaxOp
	dx *tensor.Dense
}

func (k *softmaxGrad) shape(int) tensor.Shape   { return k.o.shape.Clone() }
func (k *softmaxGrad) result(int) *tensor.Dense { return k.dx }

// compute: dx = y * (g - sum_c g*y).
func (k *softmaxGrad) compute(vals []G.Value) error {
	o := k.o
	y, gy := f32(vals[1]), f32(vals[2])
	dx := buf(&k.dx, o.shape...).Float32s()
	parallelFor(o.outer, func(_, lo, hi int) {
		dot := make([]float32, o.inner)
		for a := lo; a < hi; a++ {
			off := a * o.c * o.inner
			clear(dot)
			for c := 0; c < o.c; c++ {
				yr, gr := y[off+c*o.inner:][:o.inner], gy[off+c*o.inner:][:o.inner]
				for i, v := range yr {
					dot[i] += v * gr[i]
				}
			}
			for c := 0; c < o.c; c++ {
				yr, gr, dr := y[off+c*o.inner:][:o.inner], gy[off+c*o.inner:][:o.inner], dx[off+c*o.inner:][:o.inner]
				for i, v := range yr {
					dr[i] = v * (gr[i] - dot[i])
				}
			}
		}
	})
	return nil
}

// xentOp is the mean softmax cross-entropy of logits [N,K] against one-hot
// labels [N,K]: what Keras computes for a softmax output layer trained with
// categorical cross-entropy. It returns a scalar.
type xentOp struct {
	base
	n, k  int
	probs []float32 // softmax of the last forward pass
	clip  bool      // Keras 2.2's clipping of the probabilities (Graph.KerasClip)
}

// Keras' epsilon: its cross-entropy clips probabilities to [kerasEps, 1-kerasEps].
const kerasEps = 1e-7

// SoftmaxCrossEntropy returns the mean cross-entropy loss node.
func SoftmaxCrossEntropy(logits, onehot *G.Node) (*G.Node, error) {
	s := logits.Shape()
	return G.ApplyOp(&xentOp{base: newBase("xent", 0, 2, 2), n: s[0], k: s[1]}, logits, onehot)
}

func (o *xentOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return tensor.ScalarShape(), nil }

func (o *xentOp) Do(vals ...G.Value) (G.Value, error) {
	z, t := f32(vals[0]), f32(vals[1])
	o.probs = grow(o.probs, len(z))
	var loss float64
	for i := 0; i < o.n; i++ {
		loss += softmaxRow(z[i*o.k:(i+1)*o.k], o.probs[i*o.k:(i+1)*o.k], t[i*o.k:(i+1)*o.k])
	}
	return G.NewF32(float32(loss / float64(o.n))), nil
}

// LogSumExp is log(sum(e^z)) in float64, shifted by the largest value so
// that it neither overflows nor underflows: the normaliser of softmax(z).
func LogSumExp(z []float32) float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s)
}

// softmaxRow writes softmax(z) to p and returns the cross-entropy against t.
func softmaxRow(z, p, t []float32) float64 {
	lse := LogSumExp(z)
	var loss float64
	for j, v := range z {
		p[j] = float32(math.Exp(float64(v) - lse))
		if t[j] != 0 {
			loss -= float64(t[j]) * (float64(v) - lse)
		}
	}
	return loss
}

// CrossEntropy is softmaxRow for callers outside the graph (evaluation).
func CrossEntropy(logits []float32, label int) float64 {
	return LogSumExp(logits) - float64(logits[label])
}

func (o *xentOp) DiffWRT(int) []bool { return []bool{true, false} }

func (o *xentOp) SymDiff(ins G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return symDiff("xent", &xentGrad{o: o}, ins, out, grad, []bool{true, false})
}

type xentGrad struct {
	o  *xentOp
	dz *tensor.Dense
}

func (k *xentGrad) shape(int) tensor.Shape   { return tensor.Shape{k.o.n, k.o.k} }
func (k *xentGrad) result(int) *tensor.Dense { return k.dz }
func (k *xentGrad) compute(vals []G.Value) error {
	t, g := f32(vals[1]), f32(vals[3])[0]
	dz := buf(&k.dz, k.o.n, k.o.k).Float32s()
	s := g / float32(k.o.n)
	if !k.o.clip {
		for i, p := range k.o.probs {
			dz[i] = (p - t[i]) * s
		}
		return nil
	}
	// With clipping, dL/dp_j = -t_j/p_j only where p_j is inside the clip
	// (u_j = 1), else 0; through the softmax, dz_i = p_i*sum_j t_j u_j - t_i u_i.
	lo, hi := float32(kerasEps), float32(1-kerasEps)
	kk := k.o.k
	for r := 0; r < k.o.n; r++ {
		p, tr, d := k.o.probs[r*kk:(r+1)*kk], t[r*kk:(r+1)*kk], dz[r*kk:(r+1)*kk]
		var tu float32
		for j, pj := range p {
			if pj >= lo && pj <= hi {
				tu += tr[j]
			}
		}
		for i, pi := range p {
			ti := tr[i]
			if pi < lo || pi > hi {
				ti = 0
			}
			d[i] = (pi*tu - ti) * s
		}
	}
	return nil
}
