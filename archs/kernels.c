#include <string.h>
#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FM_CLONES
#endif

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
FM_CLONES
void fm_im2col(const fm_geom *g, const float *x, float *cols, long ld) {
	const int k = g->k, s = g->s, w = g->w, h = g->h, wo = g->wo, ho = g->ho;
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

// fm_col2im sums a column-matrix gradient of one image back into dx.
FM_CLONES
void fm_col2im(const fm_geom *g, const float *cols, float *dx, long ld) {
	const int k = g->k, s = g->s, w = g->w, h = g->h, wo = g->wo, ho = g->ho;
	memset(dx, 0, sizeof(float) * (size_t)g->cin * h * w);
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
