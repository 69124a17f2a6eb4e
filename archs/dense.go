package archs

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// denseOp is a fully connected layer with bias and optional ReLU:
// x [N, in], W [in, out], b [out] -> [N, out].
type denseOp struct {
	base
	n, in, outN int
	relu        bool
	needDX      bool
	out         *tensor.Dense
}

// Dense applies x*W + b (and ReLU when relu is set).
func Dense(x, w, b *G.Node, relu, needDX bool) (*G.Node, error) {
	if x.Shape()[1] != w.Shape()[0] {
		return nil, fmt.Errorf("dense: weights %v do not fit input %v", w.Shape(), x.Shape())
	}
	o := &denseOp{base: newBase("dense", 2, 2, 2, 1), n: x.Shape()[0], in: w.Shape()[0], outN: w.Shape()[1], relu: relu, needDX: needDX}
	return G.ApplyOp(o, x, w, b)
}

func (o *denseOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.n, o.outN}, nil
}

func (o *denseOp) Do(vals ...G.Value) (G.Value, error) {
	x, w, b := f32(vals[0]), f32(vals[1]), f32(vals[2])
	y := buf(&o.out, o.n, o.outN).Float32s()
	parallelFor(o.n, func(_, lo, hi int) {
		sgemm(false, false, hi-lo, o.outN, o.in, 1, x[lo*o.in:], o.in, w, o.outN, 0, y[lo*o.outN:], o.outN)
		for i := lo; i < hi; i++ {
			row := y[i*o.outN : (i+1)*o.outN]
			for j := range row {
				v := row[j] + b[j]
				if o.relu && v < 0 {
					v = 0
				}
				row[j] = v
			}
		}
	})
	return o.out, nil
}

func (o *denseOp) DiffWRT(int) []bool { return []bool{o.needDX, true, true} }

func (o *denseOp) SymDiff(ins G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return symDiff("dense", &denseGrad{o: o}, ins, out, grad, o.DiffWRT(3))
}

type denseGrad struct {
	o          *denseOp
	dx, dw, db *tensor.Dense
	gm         []float32
}

func (k *denseGrad) shape(i int) tensor.Shape {
	switch i {
	case 0:
		return tensor.Shape{k.o.n, k.o.in}
	case 1:
		return tensor.Shape{k.o.in, k.o.outN}
	}
	return tensor.Shape{k.o.outN}
}

func (k *denseGrad) result(i int) *tensor.Dense {
	switch i {
	case 0:
		return k.dx
	case 1:
		return k.dw
	}
	return k.db
}

func (k *denseGrad) compute(vals []G.Value) error {
	o := k.o
	x, w, y, gy := f32(vals[0]), f32(vals[1]), f32(vals[3]), f32(vals[4])
	gm := gy
	if o.relu {
		k.gm = grow(k.gm, len(gy))
		gm = k.gm
		for i, g := range gy {
			gm[i] = reluMask(g, y[i])
		}
	}
	db := buf(&k.db, o.outN).Float32s()
	clear(db)
	for i := 0; i < o.n; i++ {
		for j, g := range gm[i*o.outN : (i+1)*o.outN] {
			db[j] += g
		}
	}
	dw := buf(&k.dw, o.in, o.outN).Float32s()
	// dW [in x out] = x^T [in x N] * gm [N x out], split over rows of dW.
	parallelFor(o.in, func(_, lo, hi int) {
		sgemm(true, false, hi-lo, o.outN, o.n, 1, x[lo:], o.in, gm, o.outN, 0, dw[lo*o.outN:], o.outN)
	})
	if o.needDX {
		dx := buf(&k.dx, o.n, o.in).Float32s()
		// dx [N x in] = gm [N x out] * W^T [out x in]
		parallelFor(o.n, func(_, lo, hi int) {
			sgemm(false, true, hi-lo, o.in, o.outN, 1, gm[lo*o.outN:], o.outN, w, o.outN, 0, dx[lo*o.in:], o.in)
		})
	}
	return nil
}

// reluMask returns g where the ReLU output y is positive and 0 where it is 0,
// without a branch (y >= 0, so y > 0 exactly when its bits are not zero).
func reluMask(g, y float32) float32 {
	b := math.Float32bits(y)
	m := uint32(int32(b|-b) >> 31)
	return math.Float32frombits(math.Float32bits(g) & m)
}
