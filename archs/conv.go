package archs

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// samePads returns TensorFlow's 'same' output size and leading pad for one
// axis: the extra pixel of an odd total goes to the bottom/right.
func samePads(n, k, s int) (out, before int) {
	out = (n + s - 1) / s
	total := (out-1)*s + k - n
	if total < 0 {
		total = 0
	}
	return out, total / 2
}

// convGeom describes a 2-D convolution on NCHW data.
type convGeom struct {
	n, cin, h, w      int
	cout, k, stride   int
	ho, wo, pt, pl    int
	relu, needDX      bool
	kk, p, inPerImage int // cin*k*k, ho*wo, cin*h*w
}

func newConvGeom(in tensor.Shape, cout, k, stride int, same, relu bool) convGeom {
	g := convGeom{n: in[0], cin: in[1], h: in[2], w: in[3], cout: cout, k: k, stride: stride, relu: relu}
	if same {
		g.ho, g.pt = samePads(g.h, k, stride)
		g.wo, g.pl = samePads(g.w, k, stride)
	} else {
		g.ho, g.wo = (g.h-k)/stride+1, (g.w-k)/stride+1
	}
	g.kk, g.p, g.inPerImage = g.cin*k*k, g.ho*g.wo, g.cin*g.h*g.w
	return g
}

// direct reports whether the image itself is its column matrix (1x1, stride 1).
func (g *convGeom) direct() bool { return g.k == 1 && g.stride == 1 && g.pt == 0 && g.pl == 0 }

// im2col writes the kk x p column matrix of one image.
func (g *convGeom) im2col(x, cols []float32) {
	k, s := g.k, g.stride
	for c := 0; c < g.cin; c++ {
		xc := x[c*g.h*g.w : (c+1)*g.h*g.w]
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				row := cols[((c*k+ki)*k+kj)*g.p:][:g.p]
				idx := 0
				for oy := 0; oy < g.ho; oy++ {
					iy := oy*s + ki - g.pt
					if iy < 0 || iy >= g.h {
						for ox := 0; ox < g.wo; ox++ {
							row[idx] = 0
							idx++
						}
						continue
					}
					xr := xc[iy*g.w : (iy+1)*g.w]
					for ox := 0; ox < g.wo; ox++ {
						ix := ox*s + kj - g.pl
						if ix < 0 || ix >= g.w {
							row[idx] = 0
						} else {
							row[idx] = xr[ix]
						}
						idx++
					}
				}
			}
		}
	}
}

// col2im adds the column-matrix gradient of one image back into dx (zeroed first).
func (g *convGeom) col2im(cols, dx []float32) {
	for i := range dx {
		dx[i] = 0
	}
	k, s := g.k, g.stride
	for c := 0; c < g.cin; c++ {
		dc := dx[c*g.h*g.w : (c+1)*g.h*g.w]
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				row := cols[((c*k+ki)*k+kj)*g.p:][:g.p]
				idx := 0
				for oy := 0; oy < g.ho; oy++ {
					iy := oy*s + ki - g.pt
					if iy < 0 || iy >= g.h {
						idx += g.wo
						continue
					}
					dr := dc[iy*g.w : (iy+1)*g.w]
					for ox := 0; ox < g.wo; ox++ {
						ix := ox*s + kj - g.pl
						if ix >= 0 && ix < g.w {
							dr[ix] += row[idx]
						}
						idx++
					}
				}
			}
		}
	}
}

// convOp is a fused 2-D convolution: im2col, SGEMM writing NCHW directly, bias
// and an optional ReLU. Inputs: x [N,Cin,H,W], W [Cout, Cin*k*k], b [Cout].
type convOp struct {
	base
	g    convGeom
	out  *tensor.Dense
	cols [][]float32 // per worker
}

// Conv2D applies a convolution with TensorFlow padding ('same' or 'valid').
// needDX is false for the first layer, whose input needs no gradient.
func Conv2D(x, w, b *G.Node, k, stride int, same, relu, needDX bool) (*G.Node, error) {
	cout := w.Shape()[0]
	if w.Shape()[1] != x.Shape()[1]*k*k {
		return nil, fmt.Errorf("conv: kernel %v does not fit input %v with k=%d", w.Shape(), x.Shape(), k)
	}
	g := newConvGeom(x.Shape(), cout, k, stride, same, relu)
	g.needDX = needDX
	op := &convOp{base: newBase("conv", 4, 4, 2, 1), g: g}
	return G.ApplyOp(op, x, w, b)
}

func (o *convOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.g.n, o.g.cout, o.g.ho, o.g.wo}, nil
}

func (o *convOp) Do(vals ...G.Value) (G.Value, error) {
	g := &o.g
	x, w, b := f32(vals[0]), f32(vals[1]), f32(vals[2])
	out := buf(&o.out, g.n, g.cout, g.ho, g.wo)
	y := out.Float32s()
	if len(o.cols) < workers() {
		o.cols = make([][]float32, workers())
	}
	parallelFor(g.n, func(wk, lo, hi int) {
		for i := lo; i < hi; i++ {
			xi := x[i*g.inPerImage : (i+1)*g.inPerImage]
			cols := xi
			if !g.direct() {
				o.cols[wk] = grow(o.cols[wk], g.kk*g.p)
				cols = o.cols[wk]
				g.im2col(xi, cols)
			}
			yi := y[i*g.cout*g.p : (i+1)*g.cout*g.p]
			sgemm(false, false, g.cout, g.p, g.kk, 1, w, g.kk, cols, g.p, 0, yi, g.p)
			for c := 0; c < g.cout; c++ {
				row, bc := yi[c*g.p:(c+1)*g.p], b[c]
				if g.relu {
					for j, v := range row {
						v += bc
						if v < 0 {
							v = 0
						}
						row[j] = v
					}
				} else {
					for j := range row {
						row[j] += bc
					}
				}
			}
		}
	})
	return out, nil
}

func (o *convOp) DiffWRT(int) []bool { return []bool{o.g.needDX, true, true} }

func (o *convOp) SymDiff(ins G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return symDiff("conv", &convGrad{g: o.g}, ins, out, grad, o.DiffWRT(3))
}

// convGrad computes dx, dW and db of a convolution in one pass over the batch.
type convGrad struct {
	g          convGeom
	dx, dw, db *tensor.Dense
	cols, dcol [][]float32
	gm         [][]float32
	pdw, pdb   [][]float32 // per-worker partial sums
}

func (k *convGrad) shape(i int) tensor.Shape {
	switch i {
	case 0:
		return tensor.Shape{k.g.n, k.g.cin, k.g.h, k.g.w}
	case 1:
		return tensor.Shape{k.g.cout, k.g.kk}
	}
	return tensor.Shape{k.g.cout}
}

func (k *convGrad) result(i int) *tensor.Dense {
	switch i {
	case 0:
		return k.dx
	case 1:
		return k.dw
	}
	return k.db
}

func (k *convGrad) compute(vals []G.Value) error {
	g := &k.g
	x, w, y, gy := f32(vals[0]), f32(vals[1]), f32(vals[3]), f32(vals[4])
	nw := workers()
	if len(k.cols) < nw {
		k.cols, k.dcol, k.gm = make([][]float32, nw), make([][]float32, nw), make([][]float32, nw)
		k.pdw, k.pdb = make([][]float32, nw), make([][]float32, nw)
	}
	var dx []float32
	if g.needDX {
		dx = buf(&k.dx, g.n, g.cin, g.h, g.w).Float32s()
	}
	used := make([]bool, nw)
	parallelFor(g.n, func(wk, lo, hi int) {
		used[wk] = true
		k.pdw[wk] = grow(k.pdw[wk], g.cout*g.kk)
		k.pdb[wk] = grow(k.pdb[wk], g.cout)
		pdw, pdb := k.pdw[wk], k.pdb[wk]
		clear(pdw)
		clear(pdb)
		k.gm[wk] = grow(k.gm[wk], g.cout*g.p)
		gm := k.gm[wk]
		for i := lo; i < hi; i++ {
			gi := gy[i*g.cout*g.p : (i+1)*g.cout*g.p]
			if g.relu {
				yi := y[i*g.cout*g.p : (i+1)*g.cout*g.p]
				for j, v := range gi {
					if yi[j] > 0 {
						gm[j] = v
					} else {
						gm[j] = 0
					}
				}
			} else {
				copy(gm, gi)
			}
			for c := 0; c < g.cout; c++ {
				var s float32
				for _, v := range gm[c*g.p : (c+1)*g.p] {
					s += v
				}
				pdb[c] += s
			}
			xi := x[i*g.inPerImage : (i+1)*g.inPerImage]
			cols := xi
			if !g.direct() {
				k.cols[wk] = grow(k.cols[wk], g.kk*g.p)
				cols = k.cols[wk]
				g.im2col(xi, cols)
			}
			// dW += gm [cout x p] * cols^T [p x kk]
			sgemm(false, true, g.cout, g.kk, g.p, 1, gm, g.p, cols, g.p, 1, pdw, g.kk)
			if g.needDX {
				dxi := dx[i*g.inPerImage : (i+1)*g.inPerImage]
				if g.direct() {
					sgemm(true, false, g.kk, g.p, g.cout, 1, w, g.kk, gm, g.p, 0, dxi, g.p)
					continue
				}
				k.dcol[wk] = grow(k.dcol[wk], g.kk*g.p)
				dcol := k.dcol[wk]
				// dcols [kk x p] = W^T [kk x cout] * gm [cout x p]
				sgemm(true, false, g.kk, g.p, g.cout, 1, w, g.kk, gm, g.p, 0, dcol, g.p)
				g.col2im(dcol, dxi)
			}
		}
	})
	dw := buf(&k.dw, g.cout, g.kk).Float32s()
	db := buf(&k.db, g.cout).Float32s()
	clear(dw)
	clear(db)
	for wk := 0; wk < nw; wk++ {
		if !used[wk] {
			continue
		}
		for j, v := range k.pdw[wk] {
			dw[j] += v
		}
		for j, v := range k.pdb[wk] {
			db[j] += v
		}
	}
	return nil
}
