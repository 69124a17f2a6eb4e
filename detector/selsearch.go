package detector

// #cgo pkg-config: opencv4
// #cgo CXXFLAGS: -std=c++11
// #include <stdlib.h>
// #include "selsearch.h"
import "C"

import (
	"cmp"
	"errors"
	"fmt"
	"image"
	"os"
	"slices"
	"sync"
	"unsafe"
)

// Mode selects the selective-search strategy.
type Mode int

const (
	// ModeSingle: one graph segmentation and one combined strategy
	// (createSelectiveSearchSegmentation + switchToSingleStrategy).
	ModeSingle Mode = iota
	// ModeFast: OpenCV's switchToSelectiveSearchFast.
	ModeFast
	// ModeQuality: OpenCV's switchToSelectiveSearchQuality.
	ModeQuality
)

func (m Mode) String() string {
	switch m {
	case ModeSingle:
		return "single"
	case ModeFast:
		return "fast"
	case ModeQuality:
		return "quality"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses "single", "fast" or "quality".
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{ModeSingle, ModeFast, ModeQuality} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown mode %q (want single, fast or quality)", s)
}

// SilenceOpenCV turns OpenCV's own logging off, and FFmpeg's (through which
// OpenCV reads and writes videos: "[mjpeg @ 0x...] overread 3"), so that
// failures reach the user only as our one-line errors. FFmpeg's level is
// read from the environment when OpenCV first opens a video, so this is
// called before every open; OPENCV_FFMPEG_LOGLEVEL set by the user is kept.
func SilenceOpenCV() {
	silenceOnce.Do(func() {
		if _, ok := os.LookupEnv("OPENCV_FFMPEG_LOGLEVEL"); !ok {
			os.Setenv("OPENCV_FFMPEG_LOGLEVEL", "-8") // AV_LOG_QUIET
		}
		C.fmnist_silence_opencv()
	})
}

var silenceOnce sync.Once

// hasFFmpeg says whether OpenCV has its FFmpeg video backend.
func hasFFmpeg() bool {
	ffmpegOnce.Do(func() { ffmpeg = C.fmnist_has_ffmpeg() != 0 })
	return ffmpeg
}

var (
	ffmpegOnce sync.Once
	ffmpeg     bool
)

// SelectiveSearch proposes regions in a w x h 8-bit BGR image held in bgr
// (row-major, 3 bytes a pixel, no padding). k is the graph segmentation's
// scale (the seed's 500), sigma its smoothing (the seed's 0.9). Errors from
// OpenCV come back as errors; the image is checked before the call.
func SelectiveSearch(bgr []byte, w, h int, mode Mode, k int, sigma float64) ([]image.Rectangle, error) {
	if w < 2 || h < 2 || len(bgr) != w*h*3 {
		return nil, fmt.Errorf("selective search: image %dx%d with %d bytes, want at least 2x2 and 3 bytes a pixel", w, h, len(bgr))
	}
	if mode < ModeSingle || mode > ModeQuality {
		return nil, fmt.Errorf("selective search: invalid mode %d", int(mode))
	}
	if k <= 0 || sigma <= 0 {
		return nil, fmt.Errorf("selective search: k %d and sigma %g must be positive", k, sigma)
	}
	var out *C.int
	var errbuf [256]C.char
	n := C.fmnist_selective_search((*C.uchar)(unsafe.Pointer(&bgr[0])), C.int(h), C.int(w), C.int(mode),
		C.int(k), C.float(sigma), &out, &errbuf[0], C.int(len(errbuf)))
	if n < 0 {
		return nil, errors.New(oneLine(C.GoString(&errbuf[0])))
	}
	defer C.fmnist_free(unsafe.Pointer(out))
	vals := unsafe.Slice((*int32)(unsafe.Pointer(out)), int(n)*4)
	rects := make([]image.Rectangle, 0, int(n))
	for i := 0; i < int(n); i++ {
		x, y, rw, rh := int(vals[4*i]), int(vals[4*i+1]), int(vals[4*i+2]), int(vals[4*i+3])
		r := image.Rect(x, y, x+rw, y+rh).Intersect(image.Rect(0, 0, w, h))
		if !r.Empty() {
			rects = append(rects, r)
		}
	}
	// OpenCV ranks its regions with random numbers, so their order changes
	// from call to call; a fixed order makes a frame's proposals, and all
	// that depends on their order (the seed's merge, training crops), the
	// same every time.
	slices.SortFunc(rects, func(a, b image.Rectangle) int {
		return cmp.Or(cmp.Compare(a.Min.Y, b.Min.Y), cmp.Compare(a.Min.X, b.Min.X), cmp.Compare(a.Max.Y, b.Max.Y), cmp.Compare(a.Max.X, b.Max.X))
	})
	return rects, nil
}
