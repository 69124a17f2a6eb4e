package archs

import (
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// dropoutOp is inverted dropout, element-wise as in Keras: in training each
// element is kept with probability 1-rate and scaled by 1/(1-rate); in
// evaluation it is the identity. Its random stream is the model's, seeded from
// the run's seed, so runs are reproducible.
type dropoutOp struct {
	base
	rate     float32
	training bool
	rng      *rand.PCG
	shape    tensor.Shape
	out      *tensor.Dense
	mask     []float32 // 0 or 1/(1-rate) per element, from the last forward pass
}

// Dropout applies dropout with the given rate.
func Dropout(x *G.Node, rate float64, rng *rand.PCG, training bool) (*G.Node, error) {
	s := x.Shape().Clone()
	return G.ApplyOp(&dropoutOp{base: newBase("dropout", len(s), len(s)), rate: float32(rate), training: training, rng: rng, shape: s}, x)
}

func (o *dropoutOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }

func (o *dropoutOp) Do(vals ...G.Value) (G.Value, error) {
	x := f32(vals[0])
	y := buf(&o.out, o.shape...).Float32s()
	if !o.training || o.rate == 0 {
		copy(y, x)
		return o.out, nil
	}
	if len(o.mask) != len(x) {
		o.mask = make([]float32, len(x))
	}
	// Four 16-bit draws per 64-bit random number: a unit is dropped when its
	// draw is below rate*65536 (the rate is kept to within 1/65536).
	thresh := uint64(math.Round(float64(o.rate) * 65536))
	scale := 1 / (1 - o.rate)
	mask := o.mask
	for i := 0; i < len(mask); i += 4 {
		r := o.rng.Uint64()
		for j := i; j < min(i+4, len(mask)); j++ {
			if r&0xffff >= thresh {
				mask[j] = scale
			} else {
				mask[j] = 0
			}
			r >>= 16
		}
	}
	for i, v := range x {
		y[i] = v * mask[i]
	}
	return o.out, nil
}

func (o *dropoutOp) DiffWRT(int) []bool { return []bool{true} }

func (o *dropoutOp) SymDiff(ins G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return symDiff("dropout", &dropoutGrad{o: o}, ins, out, grad, []bool{true})
}

type dropoutGrad struct {
	o  *dropoutOp
	dx *tensor.Dense
}

func (k *dropoutGrad) shape(int) tensor.Shape   { return k.o.shape.Clone() }
func (k *dropoutGrad) result(int) *tensor.Dense { return k.dx }
func (k *dropoutGrad) compute(vals []G.Value) error {
	gy := f32(vals[2])
	dx := buf(&k.dx, k.o.shape...).Float32s()
	if !k.o.training || k.o.rate == 0 {
		copy(dx, gy)
		return nil
	}
	for i, g := range gy {
		dx[i] = g * k.o.mask[i]
	}
	return nil
}
