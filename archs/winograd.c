// Winograd F(2x2, 3x3) convolution: each 2x2 block of output (a tile) comes
// from the 4x4 block of input around it, with 16 products per input and
// output channel pair instead of 36 (Lavin and Gray, 2015). With
// V = B^T d B (input tile d), U = G g G^T (kernel g) and Y = A^T M A, the
// 16 matrices M[xi] = U[xi] V[xi] are SGEMMs over channels. The gradients
// are the adjoints of the same three transforms.
//
// Layouts: V[(xi*cin + c)*ld + t], U[(xi*cout + o)*cin + c] and
// M[(xi*cout + o)*ld + t], xi = 4*i + j the position in the 4x4 tile, t the
// tile's index in the chunk (an image's tiles start at t0, row by row).
#include <string.h>
#include "kernels.h"

#pragma GCC optimize("no-tree-loop-distribute-patterns")

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FM_CLONES
#endif

// FM_WINO_MAXW bounds the padded row a tile row reads (fm_wino_ok checks it).
#define FM_WINO_MAXW 256

int fm_wino_ok(const fm_geom *g) {
	return g->k == 3 && g->s == 1 && g->ho % 2 == 0 && g->wo % 2 == 0 && g->wo + 2 <= FM_WINO_MAXW;
}

// padded_row copies input row iy of plane x into r (width wp), r[j] holding
// column j - pl, zero outside the image.
static inline void padded_row(const fm_geom *g, const float *x, int iy, float *r, int wp) {
	for (int j = 0; j < wp; j++) r[j] = 0;
	if (iy < 0 || iy >= g->h) return;
	const float *src = x + (long)iy * g->w;
	int lo = g->pl, hi = g->pl + g->w;
	if (hi > wp) hi = wp;
	for (int j = lo; j < hi; j++) r[j] = src[j - lo];
}

FM_CLONES
void fm_wino_in(const fm_geom *g, const float *x, float *V, long ld, long t0) {
	const int th = g->ho / 2, tw = g->wo / 2, wp = g->wo + 2;
	const long cs = (long)g->cin * ld;
	float r[4][FM_WINO_MAXW], t[4][FM_WINO_MAXW], E[4][FM_WINO_MAXW / 2 + 1], O[4][FM_WINO_MAXW / 2 + 1];
	for (int c = 0; c < g->cin; c++) {
		const float *xc = x + (long)c * g->h * g->w;
		for (int ty = 0; ty < th; ty++) {
			for (int q = 0; q < 4; q++) padded_row(g, xc, 2 * ty - g->pt + q, r[q], wp);
			// Rows: B^T's (d0-d2, d1+d2, d2-d1, d1-d3).
			for (int j = 0; j < wp; j++) {
				t[0][j] = r[0][j] - r[2][j];
				t[1][j] = r[1][j] + r[2][j];
				t[2][j] = r[2][j] - r[1][j];
				t[3][j] = r[1][j] - r[3][j];
			}
			for (int i = 0; i < 4; i++)
				for (int j = 0; j <= tw; j++) {
					E[i][j] = t[i][2 * j];
					O[i][j] = t[i][2 * j + 1];
				}
			// Columns, the same combinations, tile by tile.
			float *v = V + (long)c * ld + t0 + (long)ty * tw;
			for (int i = 0; i < 4; i++) {
				float *v0 = v + (long)(4 * i) * cs, *v1 = v0 + cs, *v2 = v1 + cs, *v3 = v2 + cs;
				for (int tx = 0; tx < tw; tx++) {
					v0[tx] = E[i][tx] - E[i][tx + 1];
					v1[tx] = O[i][tx] + E[i][tx + 1];
					v2[tx] = E[i][tx + 1] - O[i][tx];
					v3[tx] = O[i][tx] - O[i][tx + 1];
				}
			}
		}
	}
}

FM_CLONES
void fm_wino_out(const fm_geom *g, int cout, const float *M, long ld, long t0, float *y,
                 const float *bias, int relu) {
	const int th = g->ho / 2, tw = g->wo / 2, wo = g->wo;
	const long cs = (long)cout * ld;
	float t[2][4][FM_WINO_MAXW / 2];
	for (int c = 0; c < cout; c++) {
		float *yc = y + (long)c * g->ho * wo;
		const float bc = bias[c];
		for (int ty = 0; ty < th; ty++) {
			const float *m = M + (long)c * ld + t0 + (long)ty * tw;
			// Rows: A^T's (m0+m1+m2, m1-m2-m3).
			for (int j = 0; j < 4; j++) {
				const float *a = m + j * cs, *b = m + (4 + j) * cs, *e = m + (8 + j) * cs, *d = m + (12 + j) * cs;
				for (int tx = 0; tx < tw; tx++) {
					t[0][j][tx] = a[tx] + b[tx] + e[tx];
					t[1][j][tx] = b[tx] - e[tx] - d[tx];
				}
			}
			for (int i = 0; i < 2; i++) {
				float *o = yc + (long)(2 * ty + i) * wo;
				for (int tx = 0; tx < tw; tx++) {
					float v0 = t[i][0][tx] + t[i][1][tx] + t[i][2][tx] + bc;
					float v1 = t[i][1][tx] - t[i][2][tx] - t[i][3][tx] + bc;
					if (relu) {
						v0 = v0 < 0 ? 0 : v0;
						v1 = v1 < 0 ? 0 : v1;
					}
					o[2 * tx] = v0;
					o[2 * tx + 1] = v1;
				}
			}
		}
	}
}

// fm_wino_out_grad is fm_wino_out's adjoint: dM = A dY A^T of the output
// gradient gy, masked where the ReLU output y is not positive; each
// channel's masked sum is added to db.
FM_CLONES
void fm_wino_out_grad(const fm_geom *g, int cout, const float *gy, const float *y, float *dM,
                      long ld, long t0, float *db, int relu) {
	const int th = g->ho / 2, tw = g->wo / 2, wo = g->wo;
	const long cs = (long)cout * ld;
	float d[2][2][FM_WINO_MAXW / 2], u[4][2][FM_WINO_MAXW / 2];
	for (int c = 0; c < cout; c++) {
		const float *gc = gy + (long)c * g->ho * wo, *yc = y + (long)c * g->ho * wo;
		float acc[FM_WINO_MAXW / 2] = {0};
		for (int ty = 0; ty < th; ty++) {
			for (int r = 0; r < 2; r++) {
				const float *gr = gc + (long)(2 * ty + r) * wo, *yr = yc + (long)(2 * ty + r) * wo;
				for (int tx = 0; tx < tw; tx++) {
					float e = gr[2 * tx], o = gr[2 * tx + 1];
					if (relu) {
						e = yr[2 * tx] > 0 ? e : 0;
						o = yr[2 * tx + 1] > 0 ? o : 0;
					}
					d[r][0][tx] = e;
					d[r][1][tx] = o;
					acc[tx] += e + o;
				}
			}
			// Rows: A's (d0, d0+d1, d0-d1, -d1).
			for (int s = 0; s < 2; s++)
				for (int tx = 0; tx < tw; tx++) {
					u[0][s][tx] = d[0][s][tx];
					u[1][s][tx] = d[0][s][tx] + d[1][s][tx];
					u[2][s][tx] = d[0][s][tx] - d[1][s][tx];
					u[3][s][tx] = -d[1][s][tx];
				}
			float *m = dM + (long)c * ld + t0 + (long)ty * tw;
			for (int i = 0; i < 4; i++) {
				float *m0 = m + (long)(4 * i) * cs, *m1 = m0 + cs, *m2 = m1 + cs, *m3 = m2 + cs;
				for (int tx = 0; tx < tw; tx++) {
					m0[tx] = u[i][0][tx];
					m1[tx] = u[i][0][tx] + u[i][1][tx];
					m2[tx] = u[i][0][tx] - u[i][1][tx];
					m3[tx] = -u[i][1][tx];
				}
			}
		}
		float s = 0;
		for (int tx = 0; tx < tw; tx++) s += acc[tx];
		db[c] += s;
	}
}

// fm_wino_in_grad is fm_wino_in's adjoint: it writes the image's input
// gradient dx (cin planes) from dV, B dV B^T summed over the overlapping
// input tiles; padding's share is dropped.
FM_CLONES
void fm_wino_in_grad(const fm_geom *g, const float *dV, long ld, long t0, float *dx) {
	const int th = g->ho / 2, tw = g->wo / 2, wp = g->wo + 2;
	const long cs = (long)g->cin * ld;
	float w[4][4][FM_WINO_MAXW / 2], acc[4][FM_WINO_MAXW];
	memset(dx, 0, sizeof(float) * (size_t)g->cin * g->h * g->w);
	for (int c = 0; c < g->cin; c++) {
		float *xc = dx + (long)c * g->h * g->w;
		for (int ty = 0; ty < th; ty++) {
			const float *v = dV + (long)c * ld + t0 + (long)ty * tw;
			// Rows: B's (v0, v1-v2+v3, -v0+v1+v2, -v3).
			for (int j = 0; j < 4; j++) {
				const float *v0 = v + (long)j * cs, *v1 = v0 + 4 * cs, *v2 = v1 + 4 * cs, *v3 = v2 + 4 * cs;
				for (int tx = 0; tx < tw; tx++) {
					w[0][j][tx] = v0[tx];
					w[1][j][tx] = v1[tx] - v2[tx] + v3[tx];
					w[2][j][tx] = -v0[tx] + v1[tx] + v2[tx];
					w[3][j][tx] = -v3[tx];
				}
			}
			// Columns, the same, then summed where neighbouring tiles overlap:
			// padded column 2tx takes tile tx's first and tile tx-1's third.
			for (int r = 0; r < 4; r++) {
				float *a = acc[r];
				for (int j = 0; j < wp; j++) a[j] = 0;
				for (int tx = 0; tx < tw; tx++) {
					float s0 = w[r][0][tx], s1 = w[r][1][tx] - w[r][2][tx] + w[r][3][tx];
					float s2 = -w[r][0][tx] + w[r][1][tx] + w[r][2][tx], s3 = -w[r][3][tx];
					a[2 * tx] += s0;
					a[2 * tx + 1] += s1;
					a[2 * tx + 2] += s2;
					a[2 * tx + 3] += s3;
				}
				int iy = 2 * ty - g->pt + r;
				if (iy < 0 || iy >= g->h) continue;
				float *dst = xc + (long)iy * g->w;
				int lo = g->pl, hi = g->pl + g->w;
				if (hi > wp) hi = wp;
				for (int j = lo; j < hi; j++) dst[j - lo] += a[j];
			}
		}
	}
}

// fm_wino_w transforms kernels w [cout][cin][3][3] to U = G g G^T.
void fm_wino_w(const float *w, float *U, int cout, int cin) {
	const long xs = (long)cout * cin;
	for (int o = 0; o < cout; o++)
		for (int c = 0; c < cin; c++) {
			const float *g = w + ((long)o * cin + c) * 9;
			float t[4][3];
			for (int j = 0; j < 3; j++) {
				t[0][j] = g[j];
				t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
				t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
				t[3][j] = g[6 + j];
			}
			float *u = U + (long)o * cin + c;
			for (int i = 0; i < 4; i++) {
				u[(4 * i + 0) * xs] = t[i][0];
				u[(4 * i + 1) * xs] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
				u[(4 * i + 2) * xs] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
				u[(4 * i + 3) * xs] = t[i][2];
			}
		}
}

// fm_wino_w_grad is fm_wino_w's adjoint: dw = G^T dU G.
void fm_wino_w_grad(const float *dU, float *dw, int cout, int cin) {
	const long xs = (long)cout * cin;
	for (int o = 0; o < cout; o++)
		for (int c = 0; c < cin; c++) {
			const float *u = dU + (long)o * cin + c;
			float t[4][3];
			for (int i = 0; i < 4; i++) {
				float u0 = u[(4 * i + 0) * xs], u1 = u[(4 * i + 1) * xs], u2 = u[(4 * i + 2) * xs], u3 = u[(4 * i + 3) * xs];
				t[i][0] = u0 + 0.5f * (u1 + u2);
				t[i][1] = 0.5f * (u1 - u2);
				t[i][2] = 0.5f * (u1 + u2) + u3;
			}
			float *g = dw + ((long)o * cin + c) * 9;
			for (int j = 0; j < 3; j++) {
				g[j] = t[0][j] + 0.5f * (t[1][j] + t[2][j]);
				g[3 + j] = 0.5f * (t[1][j] - t[2][j]);
				g[6 + j] = 0.5f * (t[1][j] + t[2][j]) + t[3][j];
			}
		}
}
