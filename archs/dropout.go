package archs

import (
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// dropBlock is how many units share one random stream in a dropout mask.
const dropBlock = 1 << 14

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
	// The mask is drawn in blocks of dropBlock units, each from its own
	// stream seeded by one draw of the layer's stream, so the blocks can be
	// filled in parallel and the mask depends only on the seed.
	nblk := (len(mask) + dropBlock - 1) / dropBlock
	seeds := make([]uint64, nblk)
	for i := range seeds {
		seeds[i] = o.rng.Uint64()
	}
	parallelFor(nblk, func(_, lo, hi int) {
		for b := lo; b < hi; b++ {
			src := rand.NewPCG(seeds[b], uint64(b))
			end := min((b+1)*dropBlock, len(mask))
			for i := b * dropBlock; i < end; i += 4 {
				r := src.Uint64()
				for j := i; j < min(i+4, end); j++ {
					drop := uint32(int32(uint32(r&0xffff)-uint32(thresh)) >> 31) // all ones when dropped
					mask[j] = math.Float32frombits(math.Float32bits(scale) &^ drop)
					r >>= 16
				}
			}
			for i := b * dropBlock; i < end; i++ {
				y[i] = x[i] * mask[i]
			}
		}
	})
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
	mask := k.o.mask
	masked := k.o.training && k.o.rate != 0
	// In blocks over both cores: done by one, it left the other idle.
	parallelFor((len(gy)+dropBlock-1)/dropBlock, func(_, lo, hi int) {
		a, b := lo*dropBlock, min(hi*dropBlock, len(gy))
		if !masked {
			copy(dx[a:b], gy[a:b])
			return
		}
		for i := a; i < b; i++ {
			dx[i] = gy[i] * mask[i]
		}
	})
	return nil
}
