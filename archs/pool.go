package archs

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// maxPoolOp is a 2x2, stride-2 max pool on NCHW data with TensorFlow padding
// ('same' pads bottom/right with -inf, so padded cells never win).
type maxPoolOp struct {
	base
	n, c, h, w, ho, wo, pt, pl int
	out                        *tensor.Dense
	arg                        []int32 // index within the image plane of each output's maximum
}

// MaxPool2x2 applies a 2x2 max pool with stride 2.
func MaxPool2x2(x *G.Node, same bool) (*G.Node, error) {
	s := x.Shape()
	o := &maxPoolOp{base: newBase("maxpool", 4, 4), n: s[0], c: s[1], h: s[2], w: s[3]}
	if same {
		o.ho, o.pt = samePads(o.h, 2, 2)
		o.wo, o.pl = samePads(o.w, 2, 2)
	} else {
		o.ho, o.wo = (o.h-2)/2+1, (o.w-2)/2+1
	}
	return G.ApplyOp(o, x)
}

func (o *maxPoolOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.n, o.c, o.ho, o.wo}, nil
}

func (o *maxPoolOp) Do(vals ...G.Value) (G.Value, error) {
	x := f32(vals[0])
	out := buf(&o.out, o.n, o.c, o.ho, o.wo)
	y := out.Float32s()
	if len(o.arg) != len(y) {
		o.arg = make([]int32, len(y))
	}
	planes := o.n * o.c
	parallelFor(planes, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			o.poolPlane(x[p*o.h*o.w:(p+1)*o.h*o.w], y[p*o.ho*o.wo:(p+1)*o.ho*o.wo], o.arg[p*o.ho*o.wo:(p+1)*o.ho*o.wo])
		}
	})
	return out, nil
}

// poolPlane pools one plane. Windows wholly inside the image (all of them for
// 'valid' pooling) take a fast path; edge windows of 'same' pooling skip the
// padded cells.
func (o *maxPoolOp) poolPlane(xp, yp []float32, ap []int32) {
	for oy := 0; oy < o.ho; oy++ {
		iy := oy*2 - o.pt
		rowsIn := iy >= 0 && iy+1 < o.h
		for ox := 0; ox < o.wo; ox++ {
			ix := ox*2 - o.pl
			if rowsIn && ix >= 0 && ix+1 < o.w {
				// Branch-free: the maximum by MAXSS, then the first cell
				// holding it by conditional moves.
				i := iy*o.w + ix
				a, b, c, d := xp[i], xp[i+1], xp[i+o.w], xp[i+o.w+1]
				m := max(max(a, b), max(c, d))
				k := i + o.w + 1
				if c == m {
					k = i + o.w
				}
				if b == m {
					k = i + 1
				}
				if a == m {
					k = i
				}
				yp[oy*o.wo+ox], ap[oy*o.wo+ox] = m, int32(k)
				continue
			}
			best, bi := float32(0), int32(-1)
			for dy := 0; dy < 2; dy++ {
				y := iy + dy
				if y < 0 || y >= o.h {
					continue
				}
				for dx := 0; dx < 2; dx++ {
					x := ix + dx
					if x < 0 || x >= o.w {
						continue
					}
					if v := xp[y*o.w+x]; bi < 0 || v > best {
						best, bi = v, int32(y*o.w+x)
					}
				}
			}
			yp[oy*o.wo+ox], ap[oy*o.wo+ox] = best, bi
		}
	}
}

func (o *maxPoolOp) DiffWRT(int) []bool { return []bool{true} }

func (o *maxPoolOp) SymDiff(ins G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return symDiff("maxpool", &maxPoolGrad{o: o}, ins, out, grad, []bool{true})
}

type maxPoolGrad struct {
	o  *maxPoolOp
	dx *tensor.Dense
}

func (k *maxPoolGrad) shape(int) tensor.Shape   { return tensor.Shape{k.o.n, k.o.c, k.o.h, k.o.w} }
func (k *maxPoolGrad) result(int) *tensor.Dense { return k.dx }
func (k *maxPoolGrad) compute(vals []G.Value) error {
	o := k.o
	gy := f32(vals[2])
	dx := buf(&k.dx, o.n, o.c, o.h, o.w).Float32s()
	parallelFor(o.n*o.c, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			dp := dx[p*o.h*o.w : (p+1)*o.h*o.w]
			clear(dp)
			gp := gy[p*o.ho*o.wo : (p+1)*o.ho*o.wo]
			ap := o.arg[p*o.ho*o.wo : (p+1)*o.ho*o.wo]
			for j, g := range gp {
				dp[ap[j]] += g
			}
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
