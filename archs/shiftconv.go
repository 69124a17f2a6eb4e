package archs

/*
#include "kernels.h"
*/
import "C"

import "os"

// A 2x2 'same' convolution with few input channels (reduced_all_cnn's,
// stride 1 on 28x28, TensorFlow's padding: one zero column right and one
// zero row below; all_cnn's has too many, see shiftMaxCin) as four
// shifted 1x1 convolutions. Each input channel is copied once into a
// padded plane whose rows are w+1 floats long; tap (dy, dx) of every output
// pixel is then the plane read from offset dy*(w+1)+dx, so each tap is one
// SGEMM reading the plane in place: out += W[dy,dx] (cout x cin) * plane.
// The SGEMM rows hold w+1 outputs a row, the last of which is dropped. This
// replaces im2col's column matrix, four times the input, by a copy the size
// of the input, and col2im by four accumulating SGEMMs and one copy back.

// shiftEnabled is false when FMNIST_SHIFTCONV=0, which keeps these
// convolutions on im2col (to measure one against the other).
var shiftEnabled = os.Getenv("FMNIST_SHIFTCONV") != "0"

// shiftMaxCin: with more input channels im2col is faster. Measured
// (BenchmarkConv2x2, forward and backward of 64 28x28 images): 32 channels
// (reduced_all_cnn) 13.7-17.1 ms against 15.8-18.8 ms on im2col, 96
// (all_cnn) 100-106 ms against 90-95 ms: its four SGEMMs over 96 channels
// each read and write their result four times, where im2col's one SGEMM
// over 384 does so once.
var shiftMaxCin = 48

// useShift: 2x2, stride 1, 'same' with TensorFlow's padding (none before),
// few input channels.
func (g *convGeom) useShift() bool {
	return shiftEnabled && g.k == 2 && g.stride == 1 && g.pt == 0 && g.pl == 0 && g.ho == g.h && g.wo == g.w && g.cin <= shiftMaxCin
}

// shiftDims are a padded plane's length and an SGEMM result row's (h rows
// of w+1 outputs).
func (g *convGeom) shiftDims() (plane, n int) { return (g.h+1)*(g.w+1) + 1, g.h * (g.w + 1) }

// shiftOffset is where tap d = 2*dy + dx reads in a padded plane.
func (g *convGeom) shiftOffset(d int) int { return (d/2)*(g.w+1) + d%2 }

// shiftKernel lays the kernels w (cout x cin*4, im2col's order) out as four
// cout x cin matrices, one per tap, in u.
func (g *convGeom) shiftKernel(w []float32, u *[]float32) []float32 {
	*u = grow(*u, 4*g.cout*g.cin)
	k := *u
	for co := 0; co < g.cout; co++ {
		for ci := 0; ci < g.cin; ci++ {
			for d := 0; d < 4; d++ {
				k[(d*g.cout+co)*g.cin+ci] = w[(co*g.cin+ci)*4+d]
			}
		}
	}
	return k
}

// shiftKernelGrad is shiftKernel's inverse, for the kernels' gradient.
func (g *convGeom) shiftKernelGrad(dk, dw []float32) {
	for co := 0; co < g.cout; co++ {
		for ci := 0; ci < g.cin; ci++ {
			for d := 0; d < 4; d++ {
				dw[(co*g.cin+ci)*4+d] = dk[(d*g.cout+co)*g.cin+ci]
			}
		}
	}
}

// shiftForward is forwardChunk for these convolutions: k is shiftKernel's
// result; ws holds a padded image and the SGEMM result.
func (g *convGeom) shiftForward(x, k, b, ws, yc []float32, i0, nb int) {
	plane, n := g.shiftDims()
	xp, res := ws[:g.cin*plane], ws[g.cin*plane:][:g.cout*n]
	for bi := 0; bi < nb; bi++ {
		C.fm_pad2(fptr(x[(i0+bi)*g.inPerImage:]), fptr(xp), C.int(g.cin), C.int(g.h), C.int(g.w), C.long(plane))
		for d := 0; d < 4; d++ {
			sgemm(false, false, g.cout, n, g.cin, 1, k[d*g.cout*g.cin:], g.cin, xp[g.shiftOffset(d):], plane, float32(min(d, 1)), res, n)
		}
		C.fm_unpad2_bias_act(fptr(res), fptr(yc[bi*g.cout*g.p:]), fptr(b), C.int(g.cout), C.int(g.h), C.int(g.w), cbool(g.relu))
	}
}

// shiftBackward adds images [i0, i0+nb)'s share of the kernels' gradient
// (in shiftKernel's layout) to pdk and of the bias to pdb, and writes their
// input gradient to dx when it is needed.
func (g *convGeom) shiftBackward(x, k, y, gy, dx, ws, pdk, pdb []float32, i0, nb int) {
	plane, n := g.shiftDims()
	xp, gm, dxp := ws[:g.cin*plane], ws[g.cin*plane:][:g.cout*n], ws[g.cin*plane+g.cout*n:][:g.cin*plane]
	span := g.cout * g.p
	for bi := 0; bi < nb; bi++ {
		i := i0 + bi
		C.fm_pad2(fptr(x[i*g.inPerImage:]), fptr(xp), C.int(g.cin), C.int(g.h), C.int(g.w), C.long(plane))
		C.fm_pad2_mask_gather(fptr(gy[i*span:]), fptr(y[i*span:]), fptr(gm), fptr(pdb), C.int(g.cout), C.int(g.h), C.int(g.w), cbool(g.relu))
		// dW_d += gm (cout x n) * plane_d^T (n x cin); gm is zero in the
		// column each row has too many.
		for d := 0; d < 4; d++ {
			sgemm(false, true, g.cout, g.cin, n, 1, gm, n, xp[g.shiftOffset(d):], plane, 1, pdk[d*g.cout*g.cin:], g.cin)
		}
		if dx == nil {
			continue
		}
		// plane_d gradient += W_d^T (cin x cout) * gm, into one padded
		// gradient plane; its padding is dropped.
		clear(dxp)
		for d := 0; d < 4; d++ {
			sgemm(true, false, g.cin, n, g.cout, 1, k[d*g.cout*g.cin:], g.cin, gm, n, 1, dxp[g.shiftOffset(d):], plane)
		}
		C.fm_unpad2(fptr(dxp), fptr(dx[i*g.inPerImage:]), C.int(g.cin), C.int(g.h), C.int(g.w), C.long(plane))
	}
}
