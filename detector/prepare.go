package detector

import (
	"image"
	"math"
)

// ImageSize is the side of the classifier's input.
const ImageSize = 28

// Gray is an 8-bit grayscale frame, row-major without padding.
type Gray struct {
	Pix  []byte
	W, H int
}

// Prepare makes the crop r of g into a 28x28 sample like the data set's:
// the crop is widened to a square of side max(w, h) around its centre (the
// data set centres each item with its longest side filling the frame; parts
// outside the frame count as the crop's border level), resized by area
// averaging, inverted when its border is lighter than its centre (items are
// light on black), stretched so the border level is 0 and the brightest
// pixel is 1. Values are in [0,1]. r must be non-empty and inside g.
func Prepare(g Gray, r image.Rectangle, dst []float32) CropStats {
	side := max(r.Dx(), r.Dy())
	cx2, cy2 := r.Min.X+r.Max.X, r.Min.Y+r.Max.Y // twice the centre
	sq := image.Rect((cx2-side)/2, (cy2-side)/2, (cx2-side)/2+side, (cy2-side)/2+side)
	fill := borderMean(g, r)
	src := make([]float64, side*side)
	for y := 0; y < side; y++ {
		fy := sq.Min.Y + y
		for x := 0; x < side; x++ {
			fx := sq.Min.X + x
			if fx >= r.Min.X && fx < r.Max.X && fy >= r.Min.Y && fy < r.Max.Y {
				src[y*side+x] = float64(g.Pix[fy*g.W+fx])
			} else {
				src[y*side+x] = fill
			}
		}
	}
	small := areaResize(src, side, side, ImageSize, ImageSize)
	return normalise(small, dst)
}

// CropStats describe a prepared crop, to tell items from background.
type CropStats struct {
	// Contrast is the brightest level minus the border's mean level, in grey
	// levels (0-255), after any inversion.
	Contrast float64
}

// PrepareSeed is the seed's preparation: the crop resized to 28x28 as it is
// (stretched, not squared), grey levels 0-255, never inverted.
func PrepareSeed(g Gray, r image.Rectangle, dst []float32) {
	w, h := r.Dx(), r.Dy()
	src := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			src[y*w+x] = float64(g.Pix[(r.Min.Y+y)*g.W+r.Min.X+x])
		}
	}
	small := areaResize(src, w, h, ImageSize, ImageSize)
	for i, v := range small {
		dst[i] = float32(v)
	}
}

// borderMean is the mean grey level of the one-pixel border of r in g.
func borderMean(g Gray, r image.Rectangle) float64 {
	var s float64
	n := 0
	for x := r.Min.X; x < r.Max.X; x++ {
		s += float64(g.Pix[r.Min.Y*g.W+x]) + float64(g.Pix[(r.Max.Y-1)*g.W+x])
		n += 2
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		s += float64(g.Pix[y*g.W+r.Min.X]) + float64(g.Pix[y*g.W+r.Max.X-1])
		n += 2
	}
	return s / float64(n)
}

// normalise turns a 28x28 grey crop (0-255) into a sample in [0,1]: border
// (outer two rings) vs centre (the middle 14x14) decides inversion, then the
// border's mean level goes to 0 and the brightest pixel to 1.
func normalise(v []float64, dst []float32) CropStats {
	const n = ImageSize
	var border, centre float64
	nb, nc := 0, 0
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			p := v[y*n+x]
			switch {
			case x < 2 || y < 2 || x >= n-2 || y >= n-2:
				border += p
				nb++
			case x >= 7 && x < 21 && y >= 7 && y < 21:
				centre += p
				nc++
			}
		}
	}
	border /= float64(nb)
	centre /= float64(nc)
	if border > centre {
		for i := range v {
			v[i] = 255 - v[i]
		}
		border = 255 - border
	}
	hi := border
	for _, p := range v {
		hi = math.Max(hi, p)
	}
	span := hi - border
	for i, p := range v {
		s := 0.0
		if span > 1e-9 {
			s = (p - border) / span
		}
		dst[i] = float32(math.Max(0, math.Min(1, s)))
	}
	return CropStats{Contrast: span}
}

// areaResize resizes a w x h image to tw x th by area averaging (each output
// pixel is the mean of the source area it covers, with fractional weights).
func areaResize(src []float64, w, h, tw, th int) []float64 {
	tmp := make([]float64, tw*h)
	for y := 0; y < h; y++ {
		resample1(src[y*w:(y+1)*w], 1, tmp[y*tw:], 1, w, tw)
	}
	out := make([]float64, tw*th)
	for x := 0; x < tw; x++ {
		resample1(tmp[x:], tw, out[x:], tw, h, th)
	}
	return out
}

// resample1 area-resamples n values (stride ss) into m values (stride ds).
func resample1(src []float64, ss int, dst []float64, ds int, n, m int) {
	scale := float64(n) / float64(m)
	for j := 0; j < m; j++ {
		a, b := float64(j)*scale, float64(j+1)*scale
		var sum float64
		for i := int(a); i < n && float64(i) < b; i++ {
			lo, hi := math.Max(a, float64(i)), math.Min(b, float64(i+1))
			sum += src[i*ss] * (hi - lo)
		}
		dst[j*ds] = sum / scale
	}
}
