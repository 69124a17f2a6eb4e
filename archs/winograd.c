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

// An image's tiles are computed plane by plane, in passes over all its
// tiles at once (144 in model5), long enough for the vector units, where
// one row of tiles (12) is not. Pixel (r, s) of the 4x4 input tile t = ty*tw
// + tx is padded pixel (2ty + r, 2tx + s); with r = 2dy + a and s = 2sh + b,
// that is plane P[a][b][sh] at t + dy*tw, where P[a][b][sh] holds padded
// pixel (2y + a, 2x + 2sh + b) at y*tw + x: every tile pixel is a shifted
// view of one of 8 planes of the image's tile grid.
#define FM_WINO_MAXT 32 // tiles down or across
#define FM_WINO_PLANE ((FM_WINO_MAXT + 1) * FM_WINO_MAXT)

static __thread float wp8[8][FM_WINO_PLANE];      // the planes P[a][b][sh], 4a + 2b + sh
static __thread float wt[16][FM_WINO_PLANE];      // 16 values per tile
static __thread float wt2[16][FM_WINO_PLANE];     // another 16
static __thread float wr[2 * FM_WINO_MAXT + 2];   // one padded row

int fm_wino_ok(const fm_geom *g) {
	return g->k == 3 && g->s == 1 && g->ho % 2 == 0 && g->wo % 2 == 0 &&
	       g->ho / 2 < FM_WINO_MAXT && g->wo / 2 < FM_WINO_MAXT;
}

// planes fills wp8 from plane x (h x w), with the padding's zeros: padded
// pixel (rr, cc) is input pixel (rr - pt, cc - pl).
static inline void planes(const fm_geom *g, const float *x, int th, int tw) {
	for (int rr = 0; rr < 2 * th + 2; rr++) {
		const int iy = rr - g->pt, a = rr & 1, row = (rr >> 1) * tw;
		for (int bs = 0; bs < 4; bs++) { // b = bs >> 1, sh = bs & 1
			float *restrict p = wp8[4 * a + bs] + row;
			if (iy < 0 || iy >= g->h) {
				for (int j = 0; j < tw; j++) p[j] = 0;
				continue;
			}
			// p[j] is input column 2j + off, zero outside [0, w).
			const int off = 2 * (bs & 1) + (bs >> 1) - g->pl;
			int lo = off < 0 ? (-off + 1) / 2 : 0, hi = (g->w - 1 - off) / 2 + 1;
			if (hi > tw) hi = tw;
			if (hi < lo) hi = lo;
			const float *restrict src = x + (long)iy * g->w + off;
			for (int j = 0; j < lo; j++) p[j] = 0;
			for (int j = lo; j < hi; j++) p[j] = src[2 * j];
			for (int j = hi; j < tw; j++) p[j] = 0;
		}
	}
}

// tile_pixel is input tile pixel (r, s) for every tile: a view of wp8.
static inline const float *tile_pixel(int r, int s, int tw) {
	return wp8[4 * (r & 1) + 2 * (s & 1) + (s >> 1)] + (r >> 1) * tw;
}

FM_CLONES
void fm_wino_in(const fm_geom *g, const float *x, float *V, long ld, long t0) {
	const int th = g->ho / 2, tw = g->wo / 2, n = th * tw;
	const long cs = (long)g->cin * ld;
	for (int c = 0; c < g->cin; c++) {
		planes(g, x + (long)c * g->h * g->w, th, tw);
		// Rows: B^T's (d0-d2, d1+d2, d2-d1, d1-d3), into wt[4i + s]...
		for (int s = 0; s < 4; s++) {
			const float *restrict d0 = tile_pixel(0, s, tw), *restrict d1 = tile_pixel(1, s, tw);
			const float *restrict d2 = tile_pixel(2, s, tw), *restrict d3 = tile_pixel(3, s, tw);
			float *restrict t0_ = wt[s], *restrict t1 = wt[4 + s], *restrict t2 = wt[8 + s], *restrict t3 = wt[12 + s];
			for (int t = 0; t < n; t++) {
				t0_[t] = d0[t] - d2[t];
				t1[t] = d1[t] + d2[t];
				t2[t] = d2[t] - d1[t];
				t3[t] = d1[t] - d3[t];
			}
		}
		// ...then columns, the same, into V.
		for (int i = 0; i < 4; i++) {
			const float *restrict c0 = wt[4 * i], *restrict c1 = wt[4 * i + 1], *restrict c2 = wt[4 * i + 2], *restrict c3 = wt[4 * i + 3];
			float *restrict v0 = V + (long)(4 * i) * cs + (long)c * ld + t0, *restrict v1 = v0 + cs;
			float *restrict v2 = v1 + cs, *restrict v3 = v2 + cs;
			for (int t = 0; t < n; t++) {
				v0[t] = c0[t] - c2[t];
				v1[t] = c1[t] + c2[t];
				v2[t] = c2[t] - c1[t];
				v3[t] = c1[t] - c3[t];
			}
		}
	}
}

FM_CLONES
void fm_wino_out(const fm_geom *g, int cout, const float *M, long ld, long t0, float *y,
                 const float *bias, int relu) {
	const int tw = g->wo / 2, wo = g->wo, n = (g->ho / 2) * tw;
	const long cs = (long)cout * ld;
	float *restrict y00 = wt[0], *restrict y01 = wt[1], *restrict y10 = wt[2], *restrict y11 = wt[3];
	for (int c = 0; c < cout; c++) {
		const float bc = bias[c];
		// Rows of A^T (m0+m1+m2, m1-m2-m3), for each column j of the
		// tiles, into wt[4 + 2j] and wt[5 + 2j]...
		for (int j = 0; j < 4; j++) {
			const float *restrict m0 = M + j * cs + (long)c * ld + t0, *restrict m1 = m0 + 4 * cs;
			const float *restrict m2 = m1 + 4 * cs, *restrict m3 = m2 + 4 * cs;
			float *restrict a0 = wt[4 + 2 * j], *restrict a1 = wt[5 + 2 * j];
			for (int t = 0; t < n; t++) {
				a0[t] = m0[t] + m1[t] + m2[t];
				a1[t] = m1[t] - m2[t] - m3[t];
			}
		}
		// ...then columns, with the bias and the ReLU.
		for (int r = 0; r < 2; r++) {
			const float *restrict c0 = wt[4 + r], *restrict c1 = wt[6 + r], *restrict c2 = wt[8 + r], *restrict c3 = wt[10 + r];
			float *restrict e = r ? y10 : y00, *restrict o = r ? y11 : y01;
			for (int t = 0; t < n; t++) {
				float v0 = c0[t] + c1[t] + c2[t] + bc, v1 = c1[t] - c2[t] - c3[t] + bc;
				if (relu) {
					v0 = v0 < 0 ? 0 : v0;
					v1 = v1 < 0 ? 0 : v1;
				}
				e[t] = v0;
				o[t] = v1;
			}
		}
		float *yc = y + (long)c * g->ho * wo;
		for (int ty = 0; ty < g->ho / 2; ty++) {
			float *restrict o0 = yc + (long)(2 * ty) * wo, *restrict o1 = o0 + wo;
			const int b = ty * tw;
			for (int tx = 0; tx < tw; tx++) {
				o0[2 * tx] = y00[b + tx];
				o0[2 * tx + 1] = y01[b + tx];
				o1[2 * tx] = y10[b + tx];
				o1[2 * tx + 1] = y11[b + tx];
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
	const int tw = g->wo / 2, wo = g->wo, n = (g->ho / 2) * tw;
	const long cs = (long)cout * ld;
	float *restrict d00 = wt[0], *restrict d01 = wt[1], *restrict d10 = wt[2], *restrict d11 = wt[3];
	for (int c = 0; c < cout; c++) {
		const float *gc = gy + (long)c * g->ho * wo, *yc = y + (long)c * g->ho * wo;
		for (int ty = 0; ty < g->ho / 2; ty++) {
			const float *restrict g0 = gc + (long)(2 * ty) * wo, *restrict g1 = g0 + wo;
			const float *restrict y0 = yc + (long)(2 * ty) * wo, *restrict y1 = y0 + wo;
			const int b = ty * tw;
			for (int tx = 0; tx < tw; tx++) {
				float e0 = g0[2 * tx], o0 = g0[2 * tx + 1], e1 = g1[2 * tx], o1 = g1[2 * tx + 1];
				if (relu) {
					e0 = y0[2 * tx] > 0 ? e0 : 0;
					o0 = y0[2 * tx + 1] > 0 ? o0 : 0;
					e1 = y1[2 * tx] > 0 ? e1 : 0;
					o1 = y1[2 * tx + 1] > 0 ? o1 : 0;
				}
				d00[b + tx] = e0, d01[b + tx] = o0, d10[b + tx] = e1, d11[b + tx] = o1;
			}
		}
		float *m = dM + (long)c * ld + t0;
		float acc[16] = {0};
		int t = 0;
		for (; t + 16 <= n; t += 16)
			for (int l = 0; l < 16; l++) acc[l] += (d00[t + l] + d01[t + l]) + (d10[t + l] + d11[t + l]);
		for (; t < n; t++) acc[0] += (d00[t] + d01[t]) + (d10[t] + d11[t]);
		// Rows of A (d0, d0+d1, d0-d1, -d1): row i of the tile is
		// ca[i]*d0 + cb[i]*d1 (exact: the factors are 0 and +-1); then
		// columns, the same.
		static const float ca[4] = {1, 1, 1, 0}, cb[4] = {0, 1, -1, -1};
		for (int i = 0; i < 4; i++) {
			float *restrict p0 = m + (4 * i) * cs, *restrict p1 = p0 + cs, *restrict p2 = p1 + cs, *restrict p3 = p2 + cs;
			const float a = ca[i], b = cb[i];
			for (t = 0; t < n; t++) {
				float u0 = a * d00[t] + b * d10[t], u1 = a * d01[t] + b * d11[t];
				p0[t] = u0;
				p1[t] = u0 + u1;
				p2[t] = u0 - u1;
				p3[t] = -u1;
			}
		}
		float sum = 0;
		for (int l = 0; l < 16; l++) sum += acc[l];
		db[c] += sum;
	}
}

// fm_wino_in_grad is fm_wino_in's adjoint: it writes the image's input
// gradient dx (cin planes) from dV, B dV B^T summed over the overlapping
// input tiles; padding's share is dropped.
FM_CLONES
void fm_wino_in_grad(const fm_geom *g, const float *dV, long ld, long t0, float *dx) {
	const int th = g->ho / 2, tw = g->wo / 2, n = th * tw, np = (th + 1) * tw;
	const long cs = (long)g->cin * ld;
	for (int c = 0; c < g->cin; c++) {
		// Columns of B (v0, v1-v2+v3, -v0+v1+v2, -v3), into wt[4i + s]...
		for (int i = 0; i < 4; i++) {
			const float *restrict v0 = dV + (long)(4 * i) * cs + (long)c * ld + t0, *restrict v1 = v0 + cs;
			const float *restrict v2 = v1 + cs, *restrict v3 = v2 + cs;
			float *restrict s0 = wt[4 * i], *restrict s1 = wt[4 * i + 1], *restrict s2 = wt[4 * i + 2], *restrict s3 = wt[4 * i + 3];
			for (int t = 0; t < n; t++) {
				s0[t] = v0[t];
				s1[t] = v1[t] - v2[t] + v3[t];
				s2[t] = -v0[t] + v1[t] + v2[t];
				s3[t] = -v3[t];
			}
		}
		// ...then rows, the same, into wt2[4r + s]: tile pixel (r, s).
		for (int s = 0; s < 4; s++) {
			const float *restrict w0 = wt[s], *restrict w1 = wt[4 + s], *restrict w2 = wt[8 + s], *restrict w3 = wt[12 + s];
			float *restrict d0 = wt2[s], *restrict d1 = wt2[4 + s], *restrict d2 = wt2[8 + s], *restrict d3 = wt2[12 + s];
			for (int t = 0; t < n; t++) {
				d0[t] = w0[t];
				d1[t] = w1[t] - w2[t] + w3[t];
				d2[t] = -w0[t] + w1[t] + w2[t];
				d3[t] = -w3[t];
			}
		}
		// Sum the overlapping tiles into the planes (fm_wino_in's views)...
		for (int p = 0; p < 8; p++)
			for (int k = 0; k < np; k++) wp8[p][k] = 0;
		for (int r = 0; r < 4; r++)
			for (int s = 0; s < 4; s++) {
				float *restrict q = (float *)tile_pixel(r, s, tw);
				const float *restrict src = wt2[4 * r + s];
				for (int t = 0; t < n; t++) q[t] += src[t];
			}
		// ...and the planes into dx, without the padding: padded pixel
		// (2y + a, 2q + b) is P[a][b][0] at (y, q) plus P[a][b][1] at (y, q-1).
		float *xc = dx + (long)c * g->h * g->w;
		for (int iy = 0; iy < g->h; iy++) {
			const int rr = iy + g->pt, a = rr & 1, row = (rr >> 1) * tw;
			for (int b = 0; b < 2; b++) {
				const float *p0 = wp8[4 * a + 2 * b] + row, *p1 = wp8[4 * a + 2 * b + 1] + row;
				wr[b] = p0[0];
				for (int q = 1; q < tw; q++) wr[2 * q + b] = p0[q] + p1[q - 1];
				wr[2 * tw + b] = p1[tw - 1];
			}
			for (int j = 0; j < g->w; j++) xc[(long)iy * g->w + j] = wr[g->pl + j];
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
