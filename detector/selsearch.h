// C interface of the selective-search shim over OpenCV's ximgproc.
#ifndef FMNIST_SELSEARCH_H
#define FMNIST_SELSEARCH_H
#ifdef __cplusplus
extern "C" {
#endif

// fmnist_selective_search runs selective search on a continuous 8-bit BGR
// image (rows x cols x 3 bytes). mode: 0 single strategy, 1 fast, 2 quality.
// On success it returns the number of rectangles and sets *out to a malloc'd
// array of 4*n ints (x, y, w, h), which the caller frees with
// fmnist_free. On failure it returns -1 and writes the reason into err.
int fmnist_selective_search(const unsigned char *data, int rows, int cols, int mode,
                            int k, float sigma, int **out, char *err, int errlen);
void fmnist_free(void *p);
// fmnist_silence_opencv sets OpenCV's log level to silent.
void fmnist_silence_opencv(void);
// fmnist_has_ffmpeg is 1 when OpenCV has its FFmpeg video backend, else 0.
int fmnist_has_ffmpeg(void);

#ifdef __cplusplus
}
#endif
#endif
