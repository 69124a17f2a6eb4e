// Selective search from OpenCV's ximgproc (contrib), wrapped so that no C++
// exception crosses into Go: every failure becomes an error string.
#include <cstdlib>
#include <cstring>
#include <exception>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/videoio/registry.hpp>
#include <opencv2/ximgproc/segmentation.hpp>

#include "selsearch.h"

static void set_err(char *err, int errlen, const char *msg) {
    if (err == nullptr || errlen <= 0) return;
    std::strncpy(err, msg, errlen - 1);
    err[errlen - 1] = 0;
}

extern "C" int fmnist_selective_search(const unsigned char *data, int rows, int cols, int mode,
                                       int k, float sigma, int **out, char *err, int errlen) {
    *out = nullptr;
    if (data == nullptr || rows < 2 || cols < 2 || mode < 0 || mode > 2) {
        set_err(err, errlen, "selective search: invalid image or mode");
        return -1;
    }
    try {
        cv::Mat img(rows, cols, CV_8UC3, const_cast<unsigned char *>(data));
        auto ss = cv::ximgproc::segmentation::createSelectiveSearchSegmentation();
        ss->setBaseImage(img);
        switch (mode) {
        case 0:
            ss->switchToSingleStrategy(k, sigma);
            break;
        case 1:
            ss->switchToSelectiveSearchFast(k, k, sigma);
            break;
        default:
            ss->switchToSelectiveSearchQuality(k, k, sigma);
            break;
        }
        std::vector<cv::Rect> rects;
        ss->process(rects);
        int n = (int)rects.size();
        int *buf = (int *)std::malloc(sizeof(int) * 4 * (n > 0 ? n : 1));
        if (buf == nullptr) {
            set_err(err, errlen, "selective search: out of memory");
            return -1;
        }
        for (int i = 0; i < n; i++) {
            buf[4 * i] = rects[i].x;
            buf[4 * i + 1] = rects[i].y;
            buf[4 * i + 2] = rects[i].width;
            buf[4 * i + 3] = rects[i].height;
        }
        *out = buf;
        return n;
    } catch (const std::exception &e) {
        set_err(err, errlen, e.what());
    } catch (...) {
        set_err(err, errlen, "selective search: unknown C++ exception");
    }
    return -1;
}

extern "C" void fmnist_free(void *p) { std::free(p); }

extern "C" void fmnist_silence_opencv(void) {
    try {
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    } catch (...) {
    }
}

extern "C" int fmnist_has_ffmpeg(void) {
    try {
        return cv::videoio_registry::hasBackend(cv::CAP_FFMPEG) ? 1 : 0;
    } catch (...) {
        return 0;
    }
}
