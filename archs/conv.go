package archs

/*
#cgo CFLAGS: -O3
#include "kernels.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

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
	wino              bool      // Winograd F(2x2, 3x3) rather than im2col (winograd.go)
	shift             bool      // 2x2 as four shifted 1x1 convolutions (shiftconv.go)
	kk, p, inPerImage int       // cin*k*k, ho*wo, cin*h*w
	c                 C.fm_geom // the same, for the C kernels (cgo may pass a pointer to it: it holds no Go pointers)
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
	g.c = C.fm_geom{cin: C.int(g.cin), h: C.int(g.h), w: C.int(g.w), k: C.int(k), s: C.int(stride),
		ho: C.int(g.ho), wo: C.int(g.wo), pt: C.int(g.pt), pl: C.int(g.pl)}
	g.wino = g.useWino()
	g.shift = !g.wino && g.useShift()
	return g
}

// direct reports whether the image itself is its column matrix (1x1, stride 1).
func (g *convGeom) direct() bool { return g.k == 1 && g.stride == 1 && g.pt == 0 && g.pl == 0 }

// im2col writes the kk x p column matrix of one image: row r of it starts at
// cols[r*ld] (ld = p for one image, or a multiple of p when several images
// share a matrix side by side). Padding is zeros.
func (g *convGeom) im2col(x, cols []float32, ld int) {
	_ = x[g.inPerImage-1]
	_ = cols[(g.kk-1)*ld+g.p-1]
	C.fm_im2col(&g.c, fptr(x), fptr(cols), C.long(ld))
}

// col2im sums the column-matrix gradient of one image back into dx.
// Rows start every ld elements, as for im2col. It may zero the entries of
// cols that fall on padding (cols is scratch by then).
func (g *convGeom) col2im(cols, dx []float32, ld int) {
	_ = dx[g.inPerImage-1]
	_ = cols[(g.kk-1)*ld+g.p-1]
	C.fm_col2im(&g.c, fptr(cols), fptr(dx), C.long(ld))
}

// fptr is the address of a slice's first element, for the C kernels (which
// keep no pointer after they return).
func fptr(s []float32) *C.float { return (*C.float)(unsafe.Pointer(&s[0])) }

// chunk is how many images share one column matrix, so that each SGEMM has
// about 512 columns (small images are batched together; large ones alone).
// Small chunks keep the column matrix in the core's L2 cache between im2col
// and the SGEMM that reads it: 2048 columns were 14% slower for
// reduced_all_cnn, and 128 to 1024 about the same as 512.
const chunkCols = 512

// Images of at least chunkAlone pixels get an SGEMM each, which then writes
// straight into the NCHW output.
const chunkAlone = 512

func (g *convGeom) chunk() int {
	if g.p >= chunkAlone {
		return 1
	}
	return max(1, min(64, (chunkCols+g.p-1)/g.p))
}

// convOp is a fused 2-D convolution: im2col, SGEMM, then bias and an optional
// ReLU applied while scattering the result to NCHW. Several images share one
// SGEMM (see chunk). Inputs: x [N,Cin,H,W], W [Cout, Cin*k*k], b [Cout].
type convOp struct {
	base
	g   convGeom
	out *tensor.Dense
	ws  [][]float32 // per worker: column matrix, then the SGEMM result
	u   []float32   // Winograd: the kernels' transform; shifted planes: their four taps (kernel)
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

// gatherCols builds the column matrix of images [i0, i0+nb) of x side by side
// (row stride nb*p) into buf and returns it.
func (g *convGeom) gatherCols(x, buf []float32, i0, nb int) []float32 {
	ld := nb * g.p
	cols := buf[:g.kk*ld]
	for b := 0; b < nb; b++ {
		xi := x[(i0+b)*g.inPerImage : (i0+b+1)*g.inPerImage]
		if g.direct() {
			for c := 0; c < g.cin; c++ {
				copy(cols[c*ld+b*g.p:][:g.p], xi[c*g.p:(c+1)*g.p])
			}
			continue
		}
		g.im2col(xi, cols[b*g.p:], ld)
	}
	return cols
}

func (o *convOp) Do(vals ...G.Value) (G.Value, error) {
	g := &o.g
	x, w, b := f32(vals[0]), f32(vals[1]), f32(vals[2])
	out := buf(&o.out, g.n, g.cout, g.ho, g.wo)
	y := out.Float32s()
	if len(o.ws) < workers() {
		o.ws = make([][]float32, workers())
	}
	cb := g.chunk()
	kern := g.kernel(w, &o.u)
	parallelFor(g.n, func(wk, lo, hi int) {
		o.ws[wk] = grow(o.ws[wk], g.fwdScratch())
		for i0 := lo; i0 < hi; i0 += cb {
			nb := min(cb, hi-i0)
			g.forwardChunk(x, kern, b, o.ws[wk], y[i0*g.cout*g.p:(i0+nb)*g.cout*g.p], i0, nb)
		}
	})
	return out, nil
}

// forwardChunk convolves images [i0, i0+nb) of x into yc (nb images, NCHW),
// adding the bias and applying the activation. w is kernel's result; ws is
// the worker's scratch, at least fwdScratch(): the column matrix, then the
// SGEMM result.
func (g *convGeom) forwardChunk(x, w, b, ws, yc []float32, i0, nb int) {
	if g.wino {
		g.winoForward(x, w, b, ws, yc, i0, nb)
		return
	}
	if g.shift {
		g.shiftForward(x, w, b, ws, yc, i0, nb)
		return
	}
	ld := nb * g.p
	cols := g.gatherCols(x, ws, i0, nb)
	res := ws[g.kk*g.chunk()*g.p:][:g.cout*ld]
	if nb == 1 {
		res = yc // already NCHW
	}
	sgemm(false, false, g.cout, ld, g.kk, 1, w, g.kk, cols, ld, 0, res, ld)
	C.fm_bias_act(fptr(res), C.long(ld), fptr(yc), fptr(b), C.int(g.cout), C.int(g.p), C.int(nb), cbool(g.relu))
}

func (o *convOp) DiffWRT(int) []bool { return []bool{o.g.needDX, true, true} }

func (o *convOp) SymDiff(ins G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return symDiff("conv", &convGrad{g: o.g}, ins, out, grad, o.DiffWRT(3))
}

// convGrad computes dx, dW and db of a convolution in one pass over the batch,
// a chunk of images per SGEMM as in the forward pass.
type convGrad struct {
	g          convGeom
	dx, dw, db *tensor.Dense
	ws         [][]float32 // per worker: columns, masked gradient, column gradient
	pdw, pdb   [][]float32 // per-worker partial sums (of U's gradient with Winograd, the taps' with shifted planes)
	u, du      []float32   // Winograd and shifted planes: the kernels' layout (kernel) and its summed gradient
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
	if len(k.ws) < nw {
		k.ws, k.pdw, k.pdb = make([][]float32, nw), make([][]float32, nw), make([][]float32, nw)
	}
	var dx []float32
	if g.needDX {
		dx = buf(&k.dx, g.n, g.cin, g.h, g.w).Float32s()
	}
	cb := g.chunk()
	kern := g.kernel(w, &k.u)
	ndw := g.cout * g.kk
	if g.wino {
		ndw = 16 * g.cout * g.cin
	}
	used := make([]bool, nw)
	parallelFor(g.n, func(wk, lo, hi int) {
		used[wk] = true
		k.pdw[wk] = grow(k.pdw[wk], ndw)
		k.pdb[wk] = grow(k.pdb[wk], g.cout)
		pdw, pdb := k.pdw[wk][:ndw], k.pdb[wk]
		clear(pdw)
		clear(pdb)
		k.ws[wk] = grow(k.ws[wk], g.gradScratch())
		ws := k.ws[wk]
		for i0 := lo; i0 < hi; i0 += cb {
			nb := min(cb, hi-i0)
			if g.wino {
				g.winoBackward(x, kern, y, gy, dx, ws, pdw, pdb, i0, nb)
				continue
			}
			if g.shift {
				g.shiftBackward(x, kern, y, gy, dx, ws, pdw, pdb, i0, nb)
				continue
			}
			ld := nb * g.p
			// Rebuilding the column matrix here is cheaper than keeping the
			// forward pass's: it is still in cache when the SGEMM reads it.
			cols := g.gatherCols(x, ws, i0, nb)
			gm := ws[g.kk*cb*g.p:][:g.cout*ld]
			// Gather the output gradient side by side, masked by the ReLU,
			// summing the bias gradient on the way.
			span := g.cout * g.p
			C.fm_mask_gather(fptr(gy[i0*span:(i0+nb)*span]), fptr(y[i0*span:(i0+nb)*span]), fptr(gm), C.long(ld), fptr(pdb),
				C.int(g.cout), C.int(g.p), C.int(nb), cbool(g.relu))
			// dW += gm [cout x ld] * cols^T [ld x kk]
			sgemm(false, true, g.cout, g.kk, ld, 1, gm, ld, cols, ld, 1, pdw, g.kk)
			if !g.needDX {
				continue
			}
			// dcols [kk x ld] = W^T [kk x cout] * gm [cout x ld]
			dcol := ws[(g.kk+g.cout)*cb*g.p:][:g.kk*ld]
			sgemm(true, false, g.kk, ld, g.cout, 1, w, g.kk, gm, ld, 0, dcol, ld)
			for bi := 0; bi < nb; bi++ {
				dxi := dx[(i0+bi)*g.inPerImage : (i0+bi+1)*g.inPerImage]
				if g.direct() {
					for c := 0; c < g.cin; c++ {
						copy(dxi[c*g.p:(c+1)*g.p], dcol[c*ld+bi*g.p:][:g.p])
					}
					continue
				}
				g.col2im(dcol[bi*g.p:], dxi, ld)
			}
		}
	})
	dw := buf(&k.dw, g.cout, g.kk).Float32s()
	db := buf(&k.db, g.cout).Float32s()
	sum := dw
	if g.wino || g.shift {
		k.du = grow(k.du, ndw)
		sum = k.du[:ndw]
	}
	clear(sum)
	clear(db)
	for wk := 0; wk < nw; wk++ {
		if !used[wk] {
			continue
		}
		for j, v := range k.pdw[wk][:ndw] {
			sum[j] += v
		}
		for j, v := range k.pdb[wk] {
			db[j] += v
		}
	}
	if g.wino {
		g.winoKernelGrad(sum, dw)
	}
	if g.shift {
		g.shiftKernelGrad(sum, dw)
	}
	return nil
}

// cbool is b as the C kernels take it.
func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
