package trainer

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for ReadImageFile
	_ "image/png"
	"math"
	"os"
	"sort"
)

// Turning an arbitrary picture into a Fashion-MNIST sample, the way the data
// set was made from product photos (Xiao et al., 2017): trim the edges that
// have the background's colour, resize the longest side to 28 pixels keeping
// the aspect ratio, centre on a 28x28 canvas, and make the item light on
// black (negating photos of dark items on a light background). We average
// pixels when shrinking (the data set subsampled, then sharpened; averaging
// is gentler on photos) and stretch the background to exactly 0.

// bgTolerance is how far (in 0-255 grey levels) a pixel may be from the
// background and still be trimmed: 5% of the range, as the data set's recipe.
const bgTolerance = 0.05 * 255

// ReadImageFile decodes a PNG or JPEG file (any size, colour or grey) and
// returns it as a 28x28 sample of 784 values in [0,1]. Errors name the file.
func ReadImageFile(path string) ([]float32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("image %s: %v", path, idxUnwrapPath(err))
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		if err == image.ErrFormat {
			return nil, fmt.Errorf("image %s: not a PNG or JPEG image", path)
		}
		return nil, fmt.Errorf("image %s: cannot decode: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, fmt.Errorf("image %s: empty %s image", path, format)
	}
	if int64(b.Dx())*int64(b.Dy()) > 100_000_000 {
		return nil, fmt.Errorf("image %s: %dx%d pixels is too large", path, b.Dx(), b.Dy())
	}
	return ImageSample(img), nil
}

// ImageSample turns img into a 28x28 Fashion-MNIST-like sample in [0,1].
func ImageSample(img image.Image) []float32 {
	g, w, h := grey(img)
	bg := background(g, w, h)

	// Trim to the bounding box of the pixels that differ from the background.
	x0, y0, x1, y1 := w, h, -1, -1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if math.Abs(g[y*w+x]-bg) > bgTolerance {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			}
		}
	}
	out := make([]float32, Pixels)
	if x1 < 0 { // nothing but background
		return out
	}
	cw, ch := x1-x0+1, y1-y0+1
	crop := make([]float64, cw*ch)
	for y := 0; y < ch; y++ {
		copy(crop[y*cw:(y+1)*cw], g[(y0+y)*w+x0:(y0+y)*w+x1+1])
	}

	// Longest side to 28, keeping the aspect ratio.
	scale := float64(ImageSize) / float64(max(cw, ch))
	tw := max(1, min(ImageSize, int(math.Round(float64(cw)*scale))))
	th := max(1, min(ImageSize, int(math.Round(float64(ch)*scale))))
	small := resize(crop, cw, ch, tw, th)

	// Centre on a background canvas.
	canvas := make([]float64, Pixels)
	for i := range canvas {
		canvas[i] = bg
	}
	ox, oy := (ImageSize-tw)/2, (ImageSize-th)/2
	for y := 0; y < th; y++ {
		copy(canvas[(oy+y)*ImageSize+ox:(oy+y)*ImageSize+ox+tw], small[y*tw:(y+1)*tw])
	}

	// Light items on black: negate a light background, then stretch so the
	// background is 0.
	if bg > 127.5 {
		for i, v := range canvas {
			canvas[i] = 255 - v
		}
		bg = 255 - bg
	}
	for i, v := range canvas {
		s := (v - bg) / (255 - bg)
		out[i] = float32(math.Max(0, math.Min(1, s)))
	}
	return out
}

// grey converts img to grey levels 0-255 (ITU-R 601 luma), compositing
// transparent pixels over white.
func grey(img image.Image) ([]float64, int, int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	g := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, gg, bb, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA() // premultiplied, 16-bit
			lum := 0.299*float64(r) + 0.587*float64(gg) + 0.114*float64(bb)
			g[y*w+x] = (lum + float64(0xffff-a)) / 257
		}
	}
	return g, w, h
}

// background is the median grey level of the image's border.
func background(g []float64, w, h int) float64 {
	var border []float64
	for x := 0; x < w; x++ {
		border = append(border, g[x], g[(h-1)*w+x])
	}
	for y := 1; y < h-1; y++ {
		border = append(border, g[y*w], g[y*w+w-1])
	}
	sort.Float64s(border)
	return border[len(border)/2]
}

// resize scales a w x h grey image to tw x th: area averaging when
// shrinking, bilinear interpolation when enlarging (per axis).
func resize(src []float64, w, h, tw, th int) []float64 {
	tmp := make([]float64, tw*h)
	for y := 0; y < h; y++ {
		resample(src[y*w:(y+1)*w], 1, tmp[y*tw:], 1, w, tw)
	}
	dst := make([]float64, tw*th)
	for x := 0; x < tw; x++ {
		resample(tmp[x:], tw, dst[x:], tw, h, th)
	}
	return dst
}

// resample maps n samples (src[i*ss]) to m samples (dst[j*ds]).
func resample(src []float64, ss int, dst []float64, ds int, n, m int) {
	at := func(i int) float64 { return src[i*ss] }
	if m == n {
		for j := 0; j < m; j++ {
			dst[j*ds] = at(j)
		}
		return
	}
	if m < n { // area average: output j covers [j*n/m, (j+1)*n/m)
		r := float64(n) / float64(m)
		for j := 0; j < m; j++ {
			lo, hi := float64(j)*r, float64(j+1)*r
			var sum float64
			for i := int(lo); i < n && float64(i) < hi; i++ {
				cover := math.Min(hi, float64(i+1)) - math.Max(lo, float64(i))
				sum += cover * at(i)
			}
			dst[j*ds] = sum / r
		}
		return
	}
	// Bilinear, pixel centres aligned.
	r := float64(n) / float64(m)
	for j := 0; j < m; j++ {
		p := (float64(j)+0.5)*r - 0.5
		i := int(math.Floor(p))
		f := p - float64(i)
		a, b := at(max(0, min(n-1, i))), at(max(0, min(n-1, i+1)))
		dst[j*ds] = a*(1-f) + b*f
	}
}
