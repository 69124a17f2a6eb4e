package archs

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Winograd F(2x2, 3x3) convolution for 3x3, stride-1 layers: each 2x2 block of
// output comes from a 4x4 block of input through 16 element-wise products in
// a transformed domain, so the SGEMMs do 16 multiply-adds per 2x2 outputs and
// channel pair instead of 36 (2.25x fewer). With
//
//	B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//	G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//	A^T = [1 1 1 0; 0 1 -1 -1]
//
// the forward pass is U = G g G^T (per filter), V = B^T d B (per input tile),
// M[xi] = U[xi] * V[xi] (16 SGEMMs over channels), Y = A^T M A. The backward
// pass transforms the output gradient dM = A dY A^T, then dU[xi] = dM[xi] V[xi]^T
// gives dg = G^T dU G, and dV[xi] = U[xi]^T dM[xi] gives dd = B dV B^T, summed
// into the overlapping input tiles.

// useWinograd decides which convolutions take this path; tests turn it off to
// compare with im2col.
var useWinograd = func(g *convGeom) bool {
	return g.k == 3 && g.stride == 1 && g.cin >= 4
}

type winoGeom struct {
	convGeom
	th, tw, tiles int // tiles per image: th x tw blocks of 2x2 outputs
}

func newWinoGeom(g convGeom) winoGeom {
	w := winoGeom{convGeom: g, th: (g.ho + 1) / 2, tw: (g.wo + 1) / 2}
	w.tiles = w.th * w.tw
	return w
}

// chunk: images per group of SGEMMs, for about 1024 tiles per group.
func (g *winoGeom) chunk() int { return max(1, min(64, (1024+g.tiles-1)/g.tiles)) }

// filterTransform writes U[xi][co][ci] (16 x cout x cin) from w [cout][cin][3][3].
func (g *winoGeom) filterTransform(w, u []float32) {
	cc := g.cout * g.cin
	for p := 0; p < cc; p++ {
		f := w[p*9 : p*9+9]
		// t = G f (4x3)
		var t [4][3]float32
		for j := 0; j < 3; j++ {
			f0, f1, f2 := f[j], f[3+j], f[6+j]
			t[0][j] = f0
			t[1][j] = 0.5 * (f0 + f1 + f2)
			t[2][j] = 0.5 * (f0 - f1 + f2)
			t[3][j] = f2
		}
		// U = t G^T (4x4)
		for i := 0; i < 4; i++ {
			a, b, c := t[i][0], t[i][1], t[i][2]
			u[(i*4+0)*cc+p] = a
			u[(i*4+1)*cc+p] = 0.5 * (a + b + c)
			u[(i*4+2)*cc+p] = 0.5 * (a - b + c)
			u[(i*4+3)*cc+p] = c
		}
	}
}

// filterGradTransform adds dg = G^T dU G for every filter into dw.
func (g *winoGeom) filterGradTransform(du, dw []float32) {
	cc := g.cout * g.cin
	for p := 0; p < cc; p++ {
		var m [4][4]float32
		for xi := 0; xi < 16; xi++ {
			m[xi/4][xi%4] = du[xi*cc+p]
		}
		// t = G^T m (3x4)
		var t [3][4]float32
		for j := 0; j < 4; j++ {
			t[0][j] = m[0][j] + 0.5*(m[1][j]+m[2][j])
			t[1][j] = 0.5 * (m[1][j] - m[2][j])
			t[2][j] = 0.5*(m[1][j]+m[2][j]) + m[3][j]
		}
		d := dw[p*9 : p*9+9]
		for i := 0; i < 3; i++ {
			d[i*3+0] += t[i][0] + 0.5*(t[i][1]+t[i][2])
			d[i*3+1] += 0.5 * (t[i][1] - t[i][2])
			d[i*3+2] += 0.5*(t[i][1]+t[i][2]) + t[i][3]
		}
	}
}

// inputTransform writes V[xi][ci][t] for images [i0, i0+nb), ld = nb*tiles.
func (g *winoGeom) inputTransform(x, v []float32, i0, nb int) {
	ld := nb * g.tiles
	for b := 0; b < nb; b++ {
		xi := x[(i0+b)*g.inPerImage:]
		for ci := 0; ci < g.cin; ci++ {
			xc := xi[ci*g.h*g.w : (ci+1)*g.h*g.w]
			for ty := 0; ty < g.th; ty++ {
				for tx := 0; tx < g.tw; tx++ {
					var d [4][4]float32
					y0, x0 := 2*ty-g.pt, 2*tx-g.pl
					if y0 >= 0 && x0 >= 0 && y0+4 <= g.h && x0+4 <= g.w {
						for r := 0; r < 4; r++ {
							row := xc[(y0+r)*g.w+x0:]
							d[r] = [4]float32{row[0], row[1], row[2], row[3]}
						}
					} else {
						for r := 0; r < 4; r++ {
							if yy := y0 + r; yy >= 0 && yy < g.h {
								for c := 0; c < 4; c++ {
									if xx := x0 + c; xx >= 0 && xx < g.w {
										d[r][c] = xc[yy*g.w+xx]
									}
								}
							}
						}
					}
					// t = B^T d
					var t [4][4]float32
					for c := 0; c < 4; c++ {
						t[0][c] = d[0][c] - d[2][c]
						t[1][c] = d[1][c] + d[2][c]
						t[2][c] = d[2][c] - d[1][c]
						t[3][c] = d[1][c] - d[3][c]
					}
					col := b*g.tiles + ty*g.tw + tx
					base := ci*ld + col
					stride := g.cin * ld
					for r := 0; r < 4; r++ {
						v[(r*4+0)*stride+base] = t[r][0] - t[r][2]
						v[(r*4+1)*stride+base] = t[r][1] + t[r][2]
						v[(r*4+2)*stride+base] = t[r][2] - t[r][1]
						v[(r*4+3)*stride+base] = t[r][1] - t[r][3]
					}
				}
			}
		}
	}
}

// winoConvOp is a 3x3 stride-1 convolution by Winograd F(2x2,3x3) with bias
// and optional ReLU. Inputs as convOp's: x, W [Cout, Cin*9], b [Cout].
type winoConvOp struct {
	base
	g    winoGeom
	out  *tensor.Dense
	u    []float32   // transformed filters, 16 x cout x cin
	ws   [][]float32 // per worker: V and M of a chunk
	keep bool        // keep every chunk's V for the backward pass
	vAll []float32
}

func (o *winoConvOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.g.n, o.g.cout, o.g.ho, o.g.wo}, nil
}

func (o *winoConvOp) Do(vals ...G.Value) (G.Value, error) {
	g := &o.g
	x, w, b := f32(vals[0]), f32(vals[1]), f32(vals[2])
	y := buf(&o.out, g.n, g.cout, g.ho, g.wo).Float32s()
	cc := g.cout * g.cin
	o.u = grow(o.u, 16*cc)
	g.filterTransform(w, o.u)
	if len(o.ws) < workers() {
		o.ws = make([][]float32, workers())
	}
	cb := g.chunk()
	if o.keep {
		o.vAll = grow(o.vAll, 16*g.cin*g.n*g.tiles)
	}
	parallelFor(g.n, func(wk, lo, hi int) {
		o.ws[wk] = grow(o.ws[wk], 16*(g.cin+g.cout)*cb*g.tiles)
		for i0 := lo; i0 < hi; i0 += cb {
			nb := min(cb, hi-i0)
			ld := nb * g.tiles
			v := o.ws[wk][:16*g.cin*ld]
			if o.keep {
				v = o.vAll[16*g.cin*i0*g.tiles:][:16*g.cin*ld]
			}
			m := o.ws[wk][16*g.cin*cb*g.tiles:][:16*g.cout*ld]
			g.inputTransform(x, v, i0, nb)
			for xi := 0; xi < 16; xi++ {
				sgemm(false, false, g.cout, ld, g.cin, 1, o.u[xi*cc:], g.cin, v[xi*g.cin*ld:], ld, 0, m[xi*g.cout*ld:], ld)
			}
			g.outputTransform(m, y, b, i0, nb)
		}
	})
	return o.out, nil
}

// outputTransform writes Y = A^T M A (+bias, ReLU) for images [i0, i0+nb).
func (g *winoGeom) outputTransform(m, y, bias []float32, i0, nb int) {
	ld := nb * g.tiles
	stride := g.cout * ld
	for b := 0; b < nb; b++ {
		yi := y[(i0+b)*g.cout*g.p:]
		for co := 0; co < g.cout; co++ {
			yc := yi[co*g.p : (co+1)*g.p]
			bc := bias[co]
			for ty := 0; ty < g.th; ty++ {
				for tx := 0; tx < g.tw; tx++ {
					base := co*ld + b*g.tiles + ty*g.tw + tx
					var mm [4][4]float32
					for xi := 0; xi < 16; xi++ {
						mm[xi/4][xi%4] = m[xi*stride+base]
					}
					// t = A^T mm (2x4), Y = t A (2x2)
					var t [2][4]float32
					for c := 0; c < 4; c++ {
						t[0][c] = mm[0][c] + mm[1][c] + mm[2][c]
						t[1][c] = mm[1][c] - mm[2][c] - mm[3][c]
					}
					for r := 0; r < 2; r++ {
						oy := 2*ty + r
						if oy >= g.ho {
							break
						}
						v0 := t[r][0] + t[r][1] + t[r][2] + bc
						v1 := t[r][1] - t[r][2] - t[r][3] + bc
						if g.relu {
							v0, v1 = max(v0, 0), max(v1, 0)
						}
						yc[oy*g.wo+2*tx] = v0
						if 2*tx+1 < g.wo {
							yc[oy*g.wo+2*tx+1] = v1
						}
					}
				}
			}
		}
	}
}

func (o *winoConvOp) DiffWRT(int) []bool { return []bool{o.g.needDX, true, true} }

func (o *winoConvOp) SymDiff(ins G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	o.keep = 16*o.g.cin*o.g.n*o.g.tiles*4 <= colsCacheBytes
	return symDiff("winoconv", &winoGrad{g: o.g, fwd: o}, ins, out, grad, o.DiffWRT(3))
}

// winoGrad computes dx, dW and db of a Winograd convolution.
type winoGrad struct {
	g          winoGeom
	fwd        *winoConvOp
	dx, dw, db *tensor.Dense
	ws         [][]float32
	pdu, pdb   [][]float32
}

func (k *winoGrad) shape(i int) tensor.Shape {
	switch i {
	case 0:
		return tensor.Shape{k.g.n, k.g.cin, k.g.h, k.g.w}
	case 1:
		return tensor.Shape{k.g.cout, k.g.kk}
	}
	return tensor.Shape{k.g.cout}
}

func (k *winoGrad) result(i int) *tensor.Dense {
	switch i {
	case 0:
		return k.dx
	case 1:
		return k.dw
	}
	return k.db
}

func (k *winoGrad) compute(vals []G.Value) error {
	g := &k.g
	x, y, gy := f32(vals[0]), f32(vals[3]), f32(vals[4])
	u := k.fwd.u // the forward pass's transformed filters (weights unchanged since)
	cc := g.cout * g.cin
	nw := workers()
	if len(k.ws) < nw {
		k.ws, k.pdu, k.pdb = make([][]float32, nw), make([][]float32, nw), make([][]float32, nw)
	}
	var dx []float32
	if g.needDX {
		dx = buf(&k.dx, g.n, g.cin, g.h, g.w).Float32s()
	}
	cb := g.chunk()
	used := make([]bool, nw)
	parallelFor(g.n, func(wk, lo, hi int) {
		used[wk] = true
		k.pdu[wk] = grow(k.pdu[wk], 16*cc)
		k.pdb[wk] = grow(k.pdb[wk], g.cout)
		pdu, pdb := k.pdu[wk], k.pdb[wk]
		clear(pdu)
		clear(pdb)
		k.ws[wk] = grow(k.ws[wk], 16*(2*g.cin+g.cout)*cb*g.tiles)
		ws := k.ws[wk]
		for i0 := lo; i0 < hi; i0 += cb {
			nb := min(cb, hi-i0)
			ld := nb * g.tiles
			var v []float32
			if k.fwd.keep {
				v = k.fwd.vAll[16*g.cin*i0*g.tiles:][:16*g.cin*ld]
			} else {
				v = ws[:16*g.cin*ld]
				g.inputTransform(x, v, i0, nb)
			}
			dm := ws[16*g.cin*cb*g.tiles:][:16*g.cout*ld]
			g.gradOutputTransform(gy, y, dm, pdb, i0, nb)
			for xi := 0; xi < 16; xi++ {
				// dU[xi] += dM[xi] [cout x ld] * V[xi]^T [ld x cin]
				sgemm(false, true, g.cout, g.cin, ld, 1, dm[xi*g.cout*ld:], ld, v[xi*g.cin*ld:], ld, 1, pdu[xi*cc:], g.cin)
			}
			if !g.needDX {
				continue
			}
			dv := ws[16*(g.cin+g.cout)*cb*g.tiles:][:16*g.cin*ld]
			for xi := 0; xi < 16; xi++ {
				// dV[xi] = U[xi]^T [cin x cout] * dM[xi] [cout x ld]
				sgemm(true, false, g.cin, ld, g.cout, 1, u[xi*cc:], g.cin, dm[xi*g.cout*ld:], ld, 0, dv[xi*g.cin*ld:], ld)
			}
			g.gradInputTransform(dv, dx, i0, nb)
		}
	})
	dw := buf(&k.dw, g.cout, g.kk).Float32s()
	db := buf(&k.db, g.cout).Float32s()
	clear(dw)
	clear(db)
	du := make([]float32, 16*cc)
	for wk := 0; wk < nw; wk++ {
		if !used[wk] {
			continue
		}
		for j, v := range k.pdu[wk] {
			du[j] += v
		}
		for j, v := range k.pdb[wk] {
			db[j] += v
		}
	}
	g.filterGradTransform(du, dw)
	return nil
}

// gradOutputTransform writes dM = A dY A^T for every output tile, where dY is
// the output gradient masked by the ReLU (zero beyond the output's edge), and
// adds the bias gradient into pdb.
func (g *winoGeom) gradOutputTransform(gy, y, dm, pdb []float32, i0, nb int) {
	ld := nb * g.tiles
	stride := g.cout * ld
	for b := 0; b < nb; b++ {
		off := (i0 + b) * g.cout * g.p
		for co := 0; co < g.cout; co++ {
			gc, yc := gy[off+co*g.p:][:g.p], y[off+co*g.p:][:g.p]
			var s float32
			for ty := 0; ty < g.th; ty++ {
				for tx := 0; tx < g.tw; tx++ {
					var d [2][2]float32
					for r := 0; r < 2; r++ {
						oy := 2*ty + r
						if oy >= g.ho {
							break
						}
						for c := 0; c < 2; c++ {
							ox := 2*tx + c
							if ox >= g.wo {
								break
							}
							v := gc[oy*g.wo+ox]
							if g.relu {
								v = reluMask(v, yc[oy*g.wo+ox])
							}
							d[r][c] = v
							s += v
						}
					}
					// t = A d (4x2), dM = t A^T (4x4); A = [1 0; 1 1; 1 -1; 0 -1]
					t := [4][2]float32{
						{d[0][0], d[0][1]},
						{d[0][0] + d[1][0], d[0][1] + d[1][1]},
						{d[0][0] - d[1][0], d[0][1] - d[1][1]},
						{-d[1][0], -d[1][1]},
					}
					base := co*ld + b*g.tiles + ty*g.tw + tx
					for r := 0; r < 4; r++ {
						a, c := t[r][0], t[r][1]
						dm[(r*4+0)*stride+base] = a
						dm[(r*4+1)*stride+base] = a + c
						dm[(r*4+2)*stride+base] = a - c
						dm[(r*4+3)*stride+base] = -c
					}
				}
			}
			pdb[co] += s
		}
	}
}

// gradInputTransform sums dd = B dV B^T of every tile into dx (zeroed first
// for these images), dropping what falls on the padding.
func (g *winoGeom) gradInputTransform(dv, dx []float32, i0, nb int) {
	ld := nb * g.tiles
	stride := g.cin * ld
	for b := 0; b < nb; b++ {
		dxi := dx[(i0+b)*g.inPerImage : (i0+b+1)*g.inPerImage]
		clear(dxi)
		for ci := 0; ci < g.cin; ci++ {
			dc := dxi[ci*g.h*g.w : (ci+1)*g.h*g.w]
			for ty := 0; ty < g.th; ty++ {
				for tx := 0; tx < g.tw; tx++ {
					base := ci*ld + b*g.tiles + ty*g.tw + tx
					var m [4][4]float32
					for xi := 0; xi < 16; xi++ {
						m[xi/4][xi%4] = dv[xi*stride+base]
					}
					// t = B m (4x4); B = [1 0 0 0; 0 1 -1 1; -1 1 1 0; 0 0 0 -1]
					var t [4][4]float32
					for c := 0; c < 4; c++ {
						t[0][c] = m[0][c]
						t[1][c] = m[1][c] - m[2][c] + m[3][c]
						t[2][c] = -m[0][c] + m[1][c] + m[2][c]
						t[3][c] = -m[3][c]
					}
					var d [4][4]float32
					for r := 0; r < 4; r++ {
						d[r][0] = t[r][0]
						d[r][1] = t[r][1] - t[r][2] + t[r][3]
						d[r][2] = -t[r][0] + t[r][1] + t[r][2]
						d[r][3] = -t[r][3]
					}
					y0, x0 := 2*ty-g.pt, 2*tx-g.pl
					for r := 0; r < 4; r++ {
						yy := y0 + r
						if yy < 0 || yy >= g.h {
							continue
						}
						row := dc[yy*g.w:]
						for c := 0; c < 4; c++ {
							if xx := x0 + c; xx >= 0 && xx < g.w {
								row[xx] += d[r][c]
							}
						}
					}
				}
			}
		}
	}
}
