// Vectorised inner loops of the convolution: im2col, col2im, the bias and
// ReLU applied while scattering an SGEMM result to NCHW, and the ReLU-masked
// gather of the output gradient. Go does not vectorise loops; these are
// compiled for AVX-512, AVX2 and plain x86-64, the best chosen at run time.
#ifndef FMNIST_KERNELS_H
#define FMNIST_KERNELS_H

// FM_CLONES compiles a kernel for AVX-512, AVX2 and plain x86-64, the best
// picked at run time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FM_CLONES
#endif

typedef struct {
	int cin, h, w;     // input channels and size
	int k, s;          // kernel size and stride
	int ho, wo;        // output size
	int pt, pl;        // leading padding, top and left
} fm_geom;

void fm_im2col(const fm_geom *g, const float *x, float *cols, long ld);
void fm_col2im(const fm_geom *g, float *cols, float *dx, long ld);
void fm_bias_act(const float *res, long ld, float *y, const float *bias,
                 int cout, int p, int nb, int relu);
void fm_mask_gather(const float *gy, const float *y, float *gm, long ld, float *db,
                    int cout, int p, int nb, int relu);
void fm_add_maxpool(const float *a, const float *b, float *y, int *arg,
                    int ca, int cb, int h, int w, int ho, int wo, int pt, int pl);
void fm_maxpool_scatter(const float *gy, const int *arg, float *db, float *da,
                        int ca, int cb, int hw, int howo);
void fm_scale_shift(const float *x, float *y, long lo, long hi, int c, long inner,
                    const float *scale, const float *shift);
void fm_softmax_axis(const float *x, float *y, long lo, long hi, int c, int inner, float *mx, float *sum);

// The shifted-plane 2x2 convolution (shiftconv.go).
void fm_pad2(const float *x, float *xp, int cin, int h, int w, long plane);
void fm_unpad2_bias_act(const float *res, float *y, const float *bias, int cout, int h, int w, int relu);
void fm_pad2_mask_gather(const float *gy, const float *y, float *gm, float *db, int cout, int h, int w, int relu);
void fm_unpad2(const float *dxp, float *dx, int cin, int h, int w, long plane);

// Winograd F(2x2, 3x3) (winograd.c).
int fm_wino_ok(const fm_geom *g);
void fm_wino_in(const fm_geom *g, const float *x, float *V, long ld, long t0);
void fm_wino_out(const fm_geom *g, int cout, const float *M, long ld, long t0, float *y,
                 const float *bias, int relu);
void fm_wino_out_grad(const fm_geom *g, int cout, const float *gy, const float *y, float *dM,
                      long ld, long t0, float *db, int relu);
void fm_wino_in_grad(const fm_geom *g, const float *dV, long ld, long t0, float *dx);
void fm_wino_w(const float *w, float *U, int cout, int cin);
void fm_wino_w_grad(const float *dU, float *dw, int cout, int cin);

#endif
