package archs

/*
#include "kernels.h"
*/
import "C"

import "os"

// Winograd F(2x2, 3x3) for the 3x3, stride-1 convolutions with at least
// winoMinCin input channels and an even output size (winograd.c): 16
// products per tile and channel pair instead of im2col's 36, as 16 smaller
// SGEMMs over channels. Training 12,800 images took model5 7.6 s against
// 10.5 s with im2col, reduced_all_cnn 9.5 against 11.7 (README,
// Performance). The one-channel first layers keep im2col: their SGEMMs over
// one channel would be all transform. The minimum of 16 is not tuned;
// every other 3x3 layer here has 32 channels or more. Odd output sizes were
// slower (half-used tiles) and keep im2col too.
const winoMinCin = 16

// winoEnabled is false when FMNIST_WINOGRAD=0, which keeps every
// convolution on im2col + SGEMM (to compare the two).
var winoEnabled = os.Getenv("FMNIST_WINOGRAD") != "0"

// useWino reports whether g is computed with Winograd.
func (g *convGeom) useWino() bool {
	return winoEnabled && g.cin >= winoMinCin && C.fm_wino_ok(&g.c) != 0
}

// tiles is the number of 2x2 output tiles of one image.
func (g *convGeom) tiles() int { return g.p / 4 }

// fwdScratch is the per-worker scratch forwardChunk needs: the column
// matrix and the SGEMM result, or with Winograd the transformed input and
// the 16 products (each 16 values per tile, 4 per output pixel), or with
// shifted planes a padded image and the SGEMM result.
func (g *convGeom) fwdScratch() int {
	if g.wino {
		return 4 * (g.cin + g.cout) * g.chunk() * g.p
	}
	if g.shift { // a padded image and an SGEMM result (shiftconv.go)
		plane, n := g.shiftDims()
		return g.cin*plane + g.cout*n
	}
	return (g.kk + g.cout) * g.chunk() * g.p
}

// kernel is what forwardChunk multiplies by: the kernels w, or, computed
// into *u, with Winograd their transform U and with shifted planes their
// four taps (shiftKernel).
func (g *convGeom) kernel(w []float32, u *[]float32) []float32 {
	if g.shift {
		return g.shiftKernel(w, u)
	}
	if !g.wino {
		return w
	}
	*u = grow(*u, 16*g.cout*g.cin)
	C.fm_wino_w(fptr(w), fptr(*u), C.int(g.cout), C.int(g.cin))
	return *u
}

// winoForward is forwardChunk with Winograd: u is the kernels' transform.
func (g *convGeom) winoForward(x, u, b, ws, yc []float32, i0, nb int) {
	tp := g.tiles()
	t := nb * tp
	v := ws[:16*g.cin*t]
	m := ws[16*g.cin*g.chunk()*tp:][:16*g.cout*t]
	for bi := 0; bi < nb; bi++ {
		C.fm_wino_in(&g.c, fptr(x[(i0+bi)*g.inPerImage:]), fptr(v), C.long(t), C.long(bi*tp))
	}
	for xi := 0; xi < 16; xi++ {
		sgemm(false, false, g.cout, t, g.cin, 1, u[xi*g.cout*g.cin:], g.cin, v[xi*g.cin*t:], t, 0, m[xi*g.cout*t:], t)
	}
	for bi := 0; bi < nb; bi++ {
		C.fm_wino_out(&g.c, C.int(g.cout), fptr(m), C.long(t), C.long(bi*tp), fptr(yc[bi*g.cout*g.p:]),
			fptr(b), cbool(g.relu))
	}
}

// gradScratch is the per-worker scratch of the backward pass: with
// Winograd the transformed input, the transformed output gradient and the
// transformed input gradient; with shifted planes their padded and
// gathered counterparts; else the columns, the masked gradient and the
// column gradient.
func (g *convGeom) gradScratch() int {
	if g.wino {
		return 4 * (2*g.cin + g.cout) * g.chunk() * g.p
	}
	if g.shift { // a padded image, the gathered gradient, a padded gradient
		plane, n := g.shiftDims()
		return 2*g.cin*plane + g.cout*n
	}
	return (2*g.kk + g.cout) * g.chunk() * g.p
}

// winoBackward adds images [i0, i0+nb)'s share of the kernels' gradient, in
// the Winograd domain, to pdu (16 x cout x cin) and of the bias to pdb, and
// writes their input gradient to dx when it is needed.
func (g *convGeom) winoBackward(x, u, y, gy, dx, ws, pdu, pdb []float32, i0, nb int) {
	tp := g.tiles()
	t, ct := nb*tp, g.chunk()*tp
	v := ws[:16*g.cin*t]
	dm := ws[16*g.cin*ct:][:16*g.cout*t]
	span := g.cout * g.p
	for bi := 0; bi < nb; bi++ {
		i := i0 + bi
		C.fm_wino_in(&g.c, fptr(x[i*g.inPerImage:]), fptr(v), C.long(t), C.long(bi*tp))
		C.fm_wino_out_grad(&g.c, C.int(g.cout), fptr(gy[i*span:]), fptr(y[i*span:]), fptr(dm), C.long(t),
			C.long(bi*tp), fptr(pdb), cbool(g.relu))
	}
	for xi := 0; xi < 16; xi++ {
		// dU[xi] += dM[xi] [cout x t] * V[xi]^T [t x cin]
		sgemm(false, true, g.cout, g.cin, t, 1, dm[xi*g.cout*t:], t, v[xi*g.cin*t:], t, 1, pdu[xi*g.cout*g.cin:], g.cin)
	}
	if !g.needDX {
		return
	}
	dv := ws[16*(g.cin+g.cout)*ct:][:16*g.cin*t]
	for xi := 0; xi < 16; xi++ {
		// dV[xi] [cin x t] = U[xi]^T [cin x cout] * dM[xi] [cout x t]
		sgemm(true, false, g.cin, t, g.cout, 1, u[xi*g.cout*g.cin:], g.cin, dm[xi*g.cout*t:], t, 0, dv[xi*g.cin*t:], t)
	}
	for bi := 0; bi < nb; bi++ {
		C.fm_wino_in_grad(&g.c, fptr(dv), C.long(t), C.long(bi*tp), fptr(dx[(i0+bi)*g.inPerImage:]))
	}
}

// winoKernelGrad turns the summed gradient of U into the kernels' gradient.
func (g *convGeom) winoKernelGrad(du, dw []float32) {
	C.fm_wino_w_grad(fptr(du), fptr(dw), C.int(g.cout), C.int(g.cin))
}
