#include <math.h>
#include <string.h>
#include "kernels.h"

// The zeroing and copying loops here are short (a row of 7 to 28 floats, or a
// pad of one or two): GCC must not turn them into calls to memset and memcpy.
#pragma GCC optimize("no-tree-loop-distribute-patterns")

// ox_range gives the output columns [lo, hi) whose input column
// ox*s + kj - pl lies inside the image.
static inline void ox_range(const fm_geom *g, int kj, int *lo, int *hi) {
	int off = kj - g->pl;
	int l = 0, h;
	if (off < 0) l = (-off + g->s - 1) / g->s;
	if (g->w - 1 - off < 0) h = 0;
	else h = (g->w - 1 - off) / g->s + 1;
	if (h > g->wo) h = g->wo;
	if (l > h) l = h;
	*lo = l;
	*hi = h;
}

// fm_im2col writes the (cin*k*k) x (ho*wo) column matrix of one image; row r
// starts at cols[r*ld].
// tap_span describes, for stride 1 and as wide an output as input (wo == w),
// one row (ki, kj) of the column matrix as a single shifted copy of the input
// plane: out[t] = x[t + d] for t in [t0, t1), except for the positions where
// an output row wraps into the next (hi..w-1 of a row and 0..lo-1 of the next),
// which are padding, as is everything outside [t0, t1).
typedef struct { int t0, t1, d, lo, hi, oy0, oy1; } tap_span;

static inline tap_span span_of(const fm_geom *g, int ki, int kj) {
	tap_span sp;
	const int w = g->w, off = kj - g->pl;
	sp.oy0 = g->pt - ki > 0 ? g->pt - ki : 0;
	sp.oy1 = g->h + g->pt - ki < g->ho ? g->h + g->pt - ki : g->ho;
	ox_range(g, kj, &sp.lo, &sp.hi);
	sp.d = (ki - g->pt) * w + off;
	if (sp.oy0 >= sp.oy1 || sp.lo >= sp.hi) {
		sp.t0 = sp.t1 = 0;
	} else {
		sp.t0 = sp.oy0 * w + sp.lo;
		sp.t1 = (sp.oy1 - 1) * w + sp.hi;
	}
	return sp;
}

static inline int flat_ok(const fm_geom *g) { return g->s == 1 && g->wo == g->w; }

FM_CLONES
void fm_im2col(const fm_geom *g, const float *x, float *cols, long ld) {
	const int k = g->k, s = g->s, w = g->w, h = g->h, wo = g->wo, ho = g->ho;
	if (flat_ok(g)) {
		const int p = ho * wo;
		for (int c = 0; c < g->cin; c++) {
			const float *xc = x + (long)c * h * w;
			for (int ki = 0; ki < k; ki++)
				for (int kj = 0; kj < k; kj++) {
					float *row = cols + (long)((c * k + ki) * k + kj) * ld;
					const tap_span sp = span_of(g, ki, kj);
					if (sp.t0 >= sp.t1) {
						memset(row, 0, sizeof(float) * p);
						continue;
					}
					for (int t = 0; t < sp.t0; t++) row[t] = 0;
					memcpy(row + sp.t0, xc + sp.t0 + sp.d, sizeof(float) * (sp.t1 - sp.t0));
					for (int t = sp.t1; t < p; t++) row[t] = 0;
					if (sp.lo > 0 || sp.hi < w)
						for (int oy = sp.oy0; oy < sp.oy1 - 1; oy++)
							for (int t = oy * w + sp.hi; t < (oy + 1) * w + sp.lo; t++) row[t] = 0;
				}
		}
		return;
	}
	for (int c = 0; c < g->cin; c++) {
		const float *xc = x + (long)c * h * w;
		for (int ki = 0; ki < k; ki++) {
			for (int kj = 0; kj < k; kj++) {
				float *row = cols + (long)((c * k + ki) * k + kj) * ld;
				int lo, hi;
				ox_range(g, kj, &lo, &hi);
				const int off = kj - g->pl;
				for (int oy = 0; oy < ho; oy++) {
					float *out = row + oy * wo;
					const int iy = oy * s + ki - g->pt;
					if (iy < 0 || iy >= h) {
						for (int ox = 0; ox < wo; ox++) out[ox] = 0;
						continue;
					}
					const float *xr = xc + iy * w + off;
					for (int ox = 0; ox < lo; ox++) out[ox] = 0;
					if (s == 1) {
						for (int ox = lo; ox < hi; ox++) out[ox] = xr[ox];
					} else {
						for (int ox = lo; ox < hi; ox++) out[ox] = xr[ox * s];
					}
					for (int ox = hi; ox < wo; ox++) out[ox] = 0;
				}
			}
		}
	}
}

// fm_col2im sums a column-matrix gradient of one image back into dx. It may
// zero the entries of cols that fall on padding.
FM_CLONES
void fm_col2im(const fm_geom *g, float *cols, float *dx, long ld) {
	const int k = g->k, s = g->s, w = g->w, h = g->h, wo = g->wo, ho = g->ho;
	memset(dx, 0, sizeof(float) * (size_t)g->cin * h * w);
	if (flat_ok(g)) {
		for (int c = 0; c < g->cin; c++) {
			float *dc = dx + (long)c * h * w;
			for (int ki = 0; ki < k; ki++)
				for (int kj = 0; kj < k; kj++) {
					float *row = cols + (long)((c * k + ki) * k + kj) * ld;
					const tap_span sp = span_of(g, ki, kj);
					if (sp.t0 >= sp.t1) continue;
					if (sp.lo > 0 || sp.hi < w)
						for (int oy = sp.oy0; oy < sp.oy1 - 1; oy++)
							for (int t = oy * w + sp.hi; t < (oy + 1) * w + sp.lo; t++) row[t] = 0;
					for (int t = sp.t0; t < sp.t1; t++) dc[t + sp.d] += row[t];
				}
		}
		return;
	}
	for (int c = 0; c < g->cin; c++) {
		float *dc = dx + (long)c * h * w;
		for (int ki = 0; ki < k; ki++) {
			for (int kj = 0; kj < k; kj++) {
				const float *row = cols + (long)((c * k + ki) * k + kj) * ld;
				int lo, hi;
				ox_range(g, kj, &lo, &hi);
				const int off = kj - g->pl;
				for (int oy = 0; oy < ho; oy++) {
					const int iy = oy * s + ki - g->pt;
					if (iy < 0 || iy >= h) continue;
					const float *in = row + oy * wo;
					float *dr = dc + iy * w + off;
					if (s == 1) {
						for (int ox = lo; ox < hi; ox++) dr[ox] += in[ox];
					} else {
						for (int ox = lo; ox < hi; ox++) dr[ox * s] += in[ox];
					}
				}
			}
		}
	}
}

// fm_bias_act scatters an SGEMM result res (cout rows of nb images side by
// side, row stride ld) to NCHW y, adding the bias and applying ReLU if asked.
// res may be y itself when nb == 1 and ld == p.
FM_CLONES
void fm_bias_act(const float *res, long ld, float *y, const float *bias,
                 int cout, int p, int nb, int relu) {
	for (int b = 0; b < nb; b++) {
		float *yi = y + (long)b * cout * p;
		for (int c = 0; c < cout; c++) {
			const float *src = res + (long)c * ld + (long)b * p;
			float *dst = yi + (long)c * p;
			const float bc = bias[c];
			if (relu) {
				for (int j = 0; j < p; j++) {
					float v = src[j] + bc;
					dst[j] = v < 0 ? 0 : v; // NaN passes, as it does in Go's max
				}
			} else {
				for (int j = 0; j < p; j++) dst[j] = src[j] + bc;
			}
		}
	}
}

// fm_mask_gather gathers the NCHW output gradient gy of nb images side by side
// into gm (cout rows, stride ld), zeroing it where the ReLU output y is not
// positive, and adds each channel's sum to db (in 16 lanes, so that the sum
// vectorises).
FM_CLONES
void fm_mask_gather(const float *gy, const float *y, float *gm, long ld, float *db,
                    int cout, int p, int nb, int relu) {
	for (int b = 0; b < nb; b++) {
		const long off = (long)b * cout * p;
		for (int c = 0; c < cout; c++) {
			const float *src = gy + off + (long)c * p;
			const float *yr = y + off + (long)c * p;
			float *dst = gm + (long)c * ld + (long)b * p;
			float acc[16] = {0};
			int j = 0;
			if (relu) {
				for (; j + 16 <= p; j += 16)
					for (int l = 0; l < 16; l++) {
						float v = yr[j + l] > 0 ? src[j + l] : 0;
						dst[j + l] = v;
						acc[l] += v;
					}
				for (; j < p; j++) {
					float v = yr[j] > 0 ? src[j] : 0;
					dst[j] = v;
					acc[0] += v;
				}
			} else {
				for (; j + 16 <= p; j += 16)
					for (int l = 0; l < 16; l++) {
						dst[j + l] = src[j + l];
						acc[l] += src[j + l];
					}
				for (; j < p; j++) {
					dst[j] = src[j];
					acc[0] += src[j];
				}
			}
			float s = 0;
			for (int l = 0; l < 16; l++) s += acc[l];
			db[c] += s;
		}
	}
}

// window loads the 2x2 window at column ix of rows r0 and r1 (with add, a0
// and a1 added): the cells in row order.
static inline void window(const float *restrict r0, const float *restrict r1,
                          const float *restrict a0, const float *restrict a1, int add, int ix,
                          float *v0, float *v1, float *v2, float *v3) {
	*v0 = r0[ix], *v1 = r0[ix + 1], *v2 = r1[ix], *v3 = r1[ix + 1];
	if (add) {
		*v0 += a0[ix];
		*v1 += a0[ix + 1];
		*v2 += a1[ix];
		*v3 += a1[ix + 1];
	}
}

// pool_row pools one output row whose windows all lie inside the image: rows
// r0 and r1 (and, with add, a0 and a1 added), columns 2*ox - pl. idx0 is the
// plane index of r0[0]. Branch-free (max, then the first cell holding it by
// selects), so that it vectorises. Unlike Go's max, a NaN cell may lose and
// -0 may beat +0; the winner's index is the same for every finite input.
static inline void pool_row(const float *restrict r0, const float *restrict r1,
                            const float *restrict a0, const float *restrict a1, int add,
                            float *restrict y, int *restrict g, int lo, int hi, int pl, int idx0, int w) {
	for (int ox = lo; ox < hi; ox++) {
		const int ix = ox * 2 - pl;
		float v0, v1, v2, v3;
		window(r0, r1, a0, a1, add, ix, &v0, &v1, &v2, &v3);
		// A tree of comparisons, ties to the earlier cell: the first cell
		// in row order holding the maximum, without branches.
		const int i = idx0 + ix;
		const int a01 = v0 >= v1, a23 = v2 >= v3;
		const float m01 = a01 ? v0 : v1, m23 = a23 ? v2 : v3;
		const int k01 = a01 ? i : i + 1, k23 = a23 ? i + w : i + w + 1;
		const int top = m01 >= m23;
		y[ox] = top ? m01 : m23;
		g[ox] = top ? k01 : k23;
	}
}

// pool_row_max is pool_row without the winners' indices (evaluation).
static inline void pool_row_max(const float *restrict r0, const float *restrict r1,
                                const float *restrict a0, const float *restrict a1, int add,
                                float *restrict y, int lo, int hi, int pl) {
	for (int ox = lo; ox < hi; ox++) {
		const int ix = ox * 2 - pl;
		float v0, v1, v2, v3;
		window(r0, r1, a0, a1, add, ix, &v0, &v1, &v2, &v3);
		const float m01 = v0 >= v1 ? v0 : v1, m23 = v2 >= v3 ? v2 : v3;
		y[ox] = m01 >= m23 ? m01 : m23;
	}
}

// pool_edge pools the window of output (oy, ox) that reaches into the
// padding: the padded cells never win; the first maximum does.
static inline void pool_edge(const float *bp, const float *ap, float *y, int *g,
                             int h, int w, int iy, int ix) {
	float best = 0;
	int bi = -1;
	for (int dy = 0; dy < 2; dy++) {
		const int yy = iy + dy;
		if (yy < 0 || yy >= h) continue;
		for (int dx = 0; dx < 2; dx++) {
			const int xx = ix + dx;
			if (xx < 0 || xx >= w) continue;
			float v = bp[yy * w + xx];
			if (ap) v += ap[yy * w + xx];
			if (bi < 0 || v > best) {
				best = v;
				bi = yy * w + xx;
			}
		}
	}
	*y = best;
	if (g) *g = bi;
}

// fm_add_maxpool pools one image: y[c] is the 2x2, stride-2 max pool of
// a[c or 0] + b[c] (a may be NULL: plain pooling of b; with ca == 1 its one
// plane is added to every channel of b). arg[c][o] is the index within the
// plane of the cell that won; on a tie the first in row order. 'same'
// padding (pt, pl) pads with cells that never win. arg may be NULL
// (evaluation): only the maxima are computed.
FM_CLONES
void fm_add_maxpool(const float *a, const float *b, float *y, int *arg,
                    int ca, int cb, int h, int w, int ho, int wo, int pt, int pl) {
	const long hw = (long)h * w, howo = (long)ho * wo;
	// Output columns [lo, hi) have both input columns inside the image.
	int lo = (pl + 1) / 2, hi = (w + pl) / 2;
	if (hi > wo) hi = wo;
	if (lo > hi) lo = hi;
	for (int c = 0; c < cb; c++) {
		const float *bp = b + c * hw;
		const float *ap = a ? a + (ca == 1 ? 0 : c * hw) : 0;
		float *yp = y + c * howo;
		int *gp = arg ? arg + c * howo : 0;
		for (int oy = 0; oy < ho; oy++) {
			const int iy = oy * 2 - pt;
			float *yr = yp + oy * wo;
			int *gr = gp ? gp + oy * wo : 0;
			if (iy < 0 || iy + 1 >= h) {
				for (int ox = 0; ox < wo; ox++) pool_edge(bp, ap, yr + ox, gr ? gr + ox : 0, h, w, iy, ox * 2 - pl);
				continue;
			}
			for (int ox = 0; ox < lo; ox++) pool_edge(bp, ap, yr + ox, gr ? gr + ox : 0, h, w, iy, ox * 2 - pl);
			const float *r0 = bp + iy * w, *r1 = r0 + w;
			const float *a0 = ap ? ap + iy * w : 0;
			if (!gr) {
				if (ap) pool_row_max(r0, r1, a0, a0 + w, 1, yr, lo, hi, pl);
				else pool_row_max(r0, r1, 0, 0, 0, yr, lo, hi, pl);
			} else if (ap) {
				pool_row(r0, r1, a0, a0 + w, 1, yr, gr, lo, hi, pl, iy * w, w);
			} else {
				pool_row(r0, r1, 0, 0, 0, yr, gr, lo, hi, pl, iy * w, w);
			}
			for (int ox = hi; ox < wo; ox++) pool_edge(bp, ap, yr + ox, gr ? gr + ox : 0, h, w, iy, ox * 2 - pl);
		}
	}
}

// fm_maxpool_scatter is the gradient of fm_add_maxpool for one image: db
// (cb planes of hw) gets gy at each window's winning cell and zero elsewhere;
// da, when not NULL, gets the same (ca == cb) or, for one plane broadcast
// over the channels (ca == 1), their sum over channels, in channel order.
FM_CLONES
void fm_maxpool_scatter(const float *gy, const int *arg, float *db, float *da,
                        int ca, int cb, int hw, int howo) {
	memset(db, 0, sizeof(float) * (size_t)cb * hw);
	if (da && ca == 1) memset(da, 0, sizeof(float) * (size_t)hw);
	for (int c = 0; c < cb; c++) {
		const float *g = gy + (long)c * howo;
		const int *ap = arg + (long)c * howo;
		float *d = db + (long)c * hw;
		for (int j = 0; j < howo; j++) d[ap[j]] += g[j];
		if (da && ca == 1)
			for (int j = 0; j < howo; j++) da[ap[j]] += g[j];
	}
	if (da && ca != 1) memcpy(da, db, sizeof(float) * (size_t)cb * hw);
}

// fm_scale_shift is BatchNorm's affine map on images [lo, hi) of NCHW-like
// data (c features of inner values each): y = x*scale[f] + shift[f],
// rounded twice as Go rounds it (no fused multiply-add), so that training
// gives the same bits as the Go loop this replaced.
FM_CLONES __attribute__((optimize("fp-contract=off")))
void fm_scale_shift(const float *x, float *y, long lo, long hi, int c, long inner,
                    const float *scale, const float *shift) {
	for (long a = lo; a < hi; a++) {
		for (int f = 0; f < c; f++) {
			const long off = (a * c + f) * inner;
			const float sc = scale[f], sh = shift[f];
			const float *xr = x + off;
			float *yr = y + off;
			for (long j = 0; j < inner; j++) yr[j] = xr[j] * sc + sh;
		}
	}
}

// expneg is exp(x) for x <= 0 as expNeg (the Go reference in exp_test.go)
// computes it, operation for operation (no fused multiply-adds; see fm_softmax_axis), so that both
// give the same bits: x = n*ln2 + r, e^r by a degree-6 Taylor polynomial,
// scaled by 2^n through the exponent bits; 0 below -87.
static inline __attribute__((always_inline, optimize("fp-contract=off"))) float expneg(float x) {
	const float log2e = 1.44269504088896341f, ln2hi = 0.693145751953125f, ln2lo = 1.428606765330187045e-06f;
	float n = floorf(x * log2e + 0.5f);
	float r = x - n * ln2hi - n * ln2lo;
	float p = 1 + r * (1 + r * (1.0f / 2 + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
	const unsigned bits = (unsigned)((int)n + 127) << 23;
	float sc;
	memcpy(&sc, &bits, sizeof sc);
	float e = p * sc;
	return x < -87 ? 0 : e;
}

typedef float v8sf __attribute__((vector_size(32)));
typedef int v8si __attribute__((vector_size(32)));

// exp_row: y = e^(x - mx), and sum += y, over n values. Eight at a time in
// GCC's vector types (the vectoriser does not take expneg's bit cast), as
// expneg computes them: floor by truncation and a correction, which equals
// floorf here (|x*log2e| < 2^31), and 2^n by a bit cast of the vector.
static inline __attribute__((always_inline, optimize("fp-contract=off")))
void exp_row(const float *restrict x, const float *restrict mx, float *restrict y, float *restrict sum, int n) {
	const v8sf zero = {0};
	const v8sf log2e = zero + 1.44269504088896341f, ln2hi = zero + 0.693145751953125f,
		   ln2lo = zero + 1.428606765330187045e-06f, half = zero + 0.5f, one = zero + 1.0f,
		   lim = zero - 87.0f;
	int i = 0;
	for (; i + 8 <= n; i += 8) {
		v8sf v, m, s;
		memcpy(&v, x + i, sizeof v);
		memcpy(&m, mx + i, sizeof m);
		memcpy(&s, sum + i, sizeof s);
		v = v - m;
		const v8sf t = v * log2e + half;
		v8sf nf = __builtin_convertvector(__builtin_convertvector(t, v8si), v8sf);
		nf = nf + __builtin_convertvector(nf > t, v8sf); // -1 where truncation rounded up
		const v8sf r = v - nf * ln2hi - nf * ln2lo;
		const v8sf p = one + r * (one + r * (1.0f / 2 + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
		const v8si bits = (__builtin_convertvector(nf, v8si) + 127) << 23;
		v8sf e = p * (v8sf)bits;
		e = (v8sf)((v8si)e & ~(v < lim)); // 0 below -87
		s = s + e;
		memcpy(y + i, &e, sizeof e);
		memcpy(sum + i, &s, sizeof s);
	}
	for (; i < n; i++) {
		const float e = expneg(x[i] - mx[i]);
		y[i] = e;
		sum[i] += e;
	}
}

// fm_softmax_axis is a softmax over the middle axis of blocks [lo, hi) of
// [outer, c, inner] data (model5's per-position softmax: c channels, inner
// positions), with contiguous inner loops; mx and sum are scratch of inner
// floats.
FM_CLONES __attribute__((optimize("fp-contract=off")))
void fm_softmax_axis(const float *x, float *y, long lo, long hi, int c, int inner, float *restrict mx, float *restrict sum) {
	for (long a = lo; a < hi; a++) {
		const float *restrict xb = x + a * c * (long)inner;
		float *restrict yb = y + a * c * (long)inner;
		for (int i = 0; i < inner; i++) mx[i] = xb[i];
		for (int k = 1; k < c; k++) {
			const float *xr = xb + (long)k * inner;
			for (int i = 0; i < inner; i++) mx[i] = xr[i] > mx[i] ? xr[i] : mx[i];
		}
		for (int i = 0; i < inner; i++) sum[i] = 0;
		for (int k = 0; k < c; k++) exp_row(xb + (long)k * inner, mx, yb + (long)k * inner, sum, inner);
		for (int i = 0; i < inner; i++) sum[i] = 1 / sum[i];
		for (int k = 0; k < c; k++) {
			float *yr = yb + (long)k * inner;
			for (int i = 0; i < inner; i++) yr[i] *= sum[i];
		}
	}
}

// The shifted-plane 2x2 convolution (shiftconv.go) works on each channel of
// an h x w image as a padded plane: rows of wp = w + 1 floats (the last one
// zero), h + 1 rows (the last one zero) and one more zero, plane floats in
// all. Its SGEMM results have rows of h * wp floats, one column too many a
// row.

// fm_pad2 copies cin planes of x into xp (planes plane floats apart).
FM_CLONES
void fm_pad2(const float *x, float *xp, int cin, int h, int w, long plane) {
	const int wp = w + 1;
	for (int c = 0; c < cin; c++) {
		const float *src = x + (long)c * h * w;
		float *dst = xp + (long)c * plane;
		for (int y = 0; y < h; y++) {
			for (int j = 0; j < w; j++) dst[y * wp + j] = src[y * w + j];
			dst[y * wp + w] = 0;
		}
		for (long j = (long)h * wp; j < plane; j++) dst[j] = 0;
	}
}

// fm_unpad2_bias_act writes an SGEMM result res (cout rows of h*wp) to the
// NCHW image y, dropping each row's last column, adding the bias and
// applying ReLU if asked.
FM_CLONES
void fm_unpad2_bias_act(const float *res, float *y, const float *bias, int cout, int h, int w, int relu) {
	const int wp = w + 1;
	for (int c = 0; c < cout; c++) {
		const float *src = res + (long)c * h * wp;
		float *dst = y + (long)c * h * w;
		const float bc = bias[c];
		for (int r = 0; r < h; r++) {
			const float *s = src + r * wp;
			float *d = dst + r * w;
			if (relu) {
				for (int j = 0; j < w; j++) {
					float v = s[j] + bc;
					d[j] = v < 0 ? 0 : v; // NaN passes, as in fm_bias_act
				}
			} else {
				for (int j = 0; j < w; j++) d[j] = s[j] + bc;
			}
		}
	}
}

// fm_pad2_mask_gather gathers the output gradient gy of one NCHW image into
// gm (cout rows of h*wp, each row's last column zero), zeroing it where the
// ReLU output y is not positive, and adds each channel's sum to db.
FM_CLONES
void fm_pad2_mask_gather(const float *gy, const float *y, float *gm, float *db, int cout, int h, int w, int relu) {
	const int wp = w + 1;
	for (int c = 0; c < cout; c++) {
		const float *src = gy + (long)c * h * w;
		const float *yr = y + (long)c * h * w;
		float *dst = gm + (long)c * h * wp;
		float acc = 0;
		for (int r = 0; r < h; r++) {
			float racc = 0;
			for (int j = 0; j < w; j++) {
				float v = (!relu || yr[r * w + j] > 0) ? src[r * w + j] : 0;
				dst[r * wp + j] = v;
				racc += v;
			}
			dst[r * wp + w] = 0;
			acc += racc;
		}
		db[c] += acc;
	}
}

// fm_unpad2 copies the image part of cin padded planes dxp to dx.
FM_CLONES
void fm_unpad2(const float *dxp, float *dx, int cin, int h, int w, long plane) {
	const int wp = w + 1;
	for (int c = 0; c < cin; c++) {
		const float *src = dxp + (long)c * plane;
		float *dst = dx + (long)c * h * w;
		for (int r = 0; r < h; r++)
			for (int j = 0; j < w; j++) dst[r * w + j] = src[r * wp + j];
	}
}
