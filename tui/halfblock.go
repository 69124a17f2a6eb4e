package tui

// Grey (Gray) and colour (RGB) images on the terminal: two pixels per cell
// with the upper half block "▀" (foreground: upper pixel, background: lower
// pixel), or shade characters when there is no colour. The escape codes are written here directly, not
// through lipgloss: an image is hundreds of cells.

import (
	"math"
	"strconv"
	"strings"

	"github.com/muesli/termenv"
)

// Gray is a grey image: W x H values, row-major, 0 black to 1 white.
type Gray struct {
	W, H int
	Pix  []float32
}

// at is the pixel at (x, y) clamped to [0,1]; outside the image it is black.
func (g Gray) at(x, y int) float32 {
	if x < 0 || y < 0 || x >= g.W || y >= g.H || y*g.W+x >= len(g.Pix) {
		return 0
	}
	v := g.Pix[y*g.W+x]
	switch {
	case v > 1:
		return 1
	case v >= 0:
		return v
	}
	return 0 // negative or NaN
}

// ScaleGray resamples g to w x h by area averaging: each new pixel is the
// mean of the part of g it covers (weighted by overlap). Equal sizes return a
// copy of g.
func ScaleGray(g Gray, w, h int) Gray {
	w, h = max(w, 0), max(h, 0)
	out := Gray{W: w, H: h, Pix: make([]float32, w*h)}
	if w == g.W && h == g.H {
		for i := range out.Pix {
			out.Pix[i] = g.at(i%w, i/w)
		}
		return out
	}
	if g.W <= 0 || g.H <= 0 {
		return out
	}
	xs, ys := areaWeights(g.W, w), areaWeights(g.H, h)
	norm := float64(g.W) * float64(g.H)
	for y := range h {
		for x := range w {
			var sum float64
			for _, wy := range ys[y] {
				for _, wx := range xs[x] {
					sum += float64(wy.n) * float64(wx.n) * float64(g.at(wx.i, wy.i))
				}
			}
			out.Pix[y*w+x] = float32(sum / norm)
		}
	}
	return out
}

// overlap is source pixel i's share n of a destination pixel.
type overlap struct{ i, n int }

// areaWeights maps src pixels onto dst pixels along one axis. In units of
// 1/(src*dst), destination pixel d spans [d*src, (d+1)*src) and source pixel
// i spans [i*dst, (i+1)*dst); the weights are the (integer) overlaps, which
// add up to src for every d.
func areaWeights(src, dst int) [][]overlap {
	ws := make([][]overlap, dst)
	for d := range dst {
		lo, hi := d*src, (d+1)*src
		for i := lo / dst; i < src && i*dst < hi; i++ {
			if n := min(hi, (i+1)*dst) - max(lo, i*dst); n > 0 {
				ws[d] = append(ws[d], overlap{i, n})
			}
		}
	}
	return ws
}

// shades are the characters used without colour, from empty to full.
var shades = []rune(" ░▒▓█")

// shade is the shade character for v in [0,1].
func shade(v float64) rune {
	i := int(math.Round(v * float64(len(shades)-1)))
	return shades[min(max(i, 0), len(shades)-1)]
}

// sgrReset ends every coloured line.
const sgrReset = "\x1b[0m"

// HalfBlocks draws g as ceil(H/2) lines of W cells. With colour each cell is
// "▀" with the upper pixel's grey as foreground and the lower pixel's as
// background (black below the last row), in the profile's nearest grey
// (TrueColor exact, ANSI256 the xterm greys 16, 231 and 232-255, ANSI black,
// bright black, white and bright white); a colour code is written only when
// the colour changes and every line ends with a reset. With termenv.Ascii
// there are no escape codes: each cell is a shade character (" ░▒▓█") for
// the mean of its two pixels.
func HalfBlocks(g Gray, prof termenv.Profile) []string {
	if g.W <= 0 || g.H <= 0 {
		return nil
	}
	return halfBlockLines(g.W, g.H, prof,
		func(x, y int) int { return greyColour(prof, g.at(x, y)) },
		func(x, y int) float64 { return (float64(g.at(x, y)) + float64(g.at(x, y+1))) / 2 })
}

// halfBlockLines draws a w x h image as ceil(h/2) lines of w cells: with
// colour, "▀" in colour(x, y) over colour(x, y+1) (as colourIndex gives
// colours), a code only when a colour changes and a reset ending each line;
// with termenv.Ascii, the shade character for cellShade(x, y), the level
// in [0,1] of the cell whose upper pixel is (x, y).
func halfBlockLines(w, h int, prof termenv.Profile, colour func(x, y int) int, cellShade func(x, y int) float64) []string {
	lines := make([]string, 0, (h+1)/2)
	var b strings.Builder
	for y := 0; y < h; y += 2 {
		b.Reset()
		if prof == termenv.Ascii {
			for x := range w {
				b.WriteRune(shade(cellShade(x, y)))
			}
			lines = append(lines, b.String())
			continue
		}
		fg, bg := -1, -1
		for x := range w {
			f, k := colour(x, y), colour(x, y+1)
			if f != fg {
				writeColourSGR(&b, prof, f, false)
				fg = f
			}
			if k != bg {
				writeColourSGR(&b, prof, k, true)
				bg = k
			}
			b.WriteString("▀")
		}
		b.WriteString(sgrReset)
		lines = append(lines, b.String())
	}
	return lines
}

// grey8 is v in [0,1] as 0-255.
func grey8(v float32) int { return int(math.Round(float64(v) * 255)) }

// The greys of the 16-colour palette (as termenv has them): black, bright
// black, white, bright white, with their entries in it.
var (
	ansiGreyLevels = [4]int{0, 128, 192, 255}
	ansiGreyEntry  = [4]int{0, 8, 7, 15}
)

// xterm256Grey is the level of grey palette entry n (16, 231 or 232-255).
func xterm256Grey(n int) int {
	switch n {
	case 16:
		return 0
	case 231:
		return 255
	}
	return 8 + 10*(n-232)
}

// greyColour is v's colour in prof, as colourIndex gives colours: the
// grey R=G=B for TrueColor, the palette entry for ANSI256 (16, 231 or
// 232-255), the ansi16 entry of the nearest of ansiGreyLevels for ANSI.
// Ties go to the darker grey.
func greyColour(prof termenv.Profile, v float32) int {
	l := float64(v) * 255
	switch prof {
	case termenv.ANSI256:
		best, bd := 16, l
		for _, n := range [...]int{232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255, 231} {
			if d := math.Abs(l - float64(xterm256Grey(n))); d < bd {
				best, bd = n, d
			}
		}
		return best
	case termenv.ANSI:
		best, bd := 0, l
		for i, lv := range ansiGreyLevels {
			if d := math.Abs(l - float64(lv)); d < bd {
				best, bd = i, d
			}
		}
		return ansiGreyEntry[best]
	}
	return grey8(v) * 0x010101
}

// RGB is a colour image: W x H pixels, row-major, 3 bytes (R, G, B) a pixel.
type RGB struct {
	W, H int
	Pix  []byte
}

// at is the pixel at (x, y); outside the image (or its bytes) it is black.
func (img RGB) at(x, y int) rgb {
	i := (y*img.W + x) * 3
	if x < 0 || y < 0 || x >= img.W || y >= img.H || i+3 > len(img.Pix) {
		return rgb{}
	}
	return rgb{img.Pix[i], img.Pix[i+1], img.Pix[i+2]}
}

// ScaleRGB resamples img to w x h by area averaging, as ScaleGray does, each
// channel rounded to the nearest level. Equal sizes return a copy of img.
func ScaleRGB(img RGB, w, h int) RGB {
	w, h = max(w, 0), max(h, 0)
	out := RGB{W: w, H: h, Pix: make([]byte, w*h*3)}
	set := func(i int, c rgb) { out.Pix[i*3], out.Pix[i*3+1], out.Pix[i*3+2] = c.r, c.g, c.b }
	if w == img.W && h == img.H {
		for i := range w * h {
			set(i, img.at(i%w, i/w))
		}
		return out
	}
	if img.W <= 0 || img.H <= 0 {
		return out
	}
	xs, ys := areaWeights(img.W, w), areaWeights(img.H, h)
	norm := img.W * img.H // the weights of a destination pixel add up to this
	for y := range h {
		for x := range w {
			var r, g, b int
			for _, wy := range ys[y] {
				for _, wx := range xs[x] {
					c, n := img.at(wx.i, wy.i), wy.n*wx.n
					r, g, b = r+n*int(c.r), g+n*int(c.g), b+n*int(c.b)
				}
			}
			round := func(v int) uint8 { return uint8((v + norm/2) / norm) }
			set(y*w+x, rgb{round(r), round(g), round(b)})
		}
	}
	return out
}

// HalfBlocksRGB draws img as HalfBlocks draws a grey image: ceil(H/2) lines
// of W cells, each "▀" with the upper pixel's colour as foreground and the
// lower pixel's as background (black below the last row), a code only when
// a colour changes, a reset at the end of every line. The colours are
// TrueColor exact, for ANSI256 the nearest (RGB distance) of the 6x6x6 cube
// and the grey ramp (nearest256), for ANSI the nearest of the 16 basic
// colours. With termenv.Ascii each cell is a shade character for the mean
// luminance of its two pixels.
func HalfBlocksRGB(img RGB, prof termenv.Profile) []string {
	if img.W <= 0 || img.H <= 0 {
		return nil
	}
	return halfBlockLines(img.W, img.H, prof,
		func(x, y int) int { return colourIndex(prof, img.at(x, y)) },
		func(x, y int) float64 { return (luma(img.at(x, y)) + luma(img.at(x, y+1))) / 2 / 255 })
}

// colourIndex is c's colour in prof: R<<16|G<<8|B for TrueColor, the
// palette entry (16-255) for ANSI256, the entry of ansi16 for ANSI.
func colourIndex(prof termenv.Profile, c rgb) int {
	switch prof {
	case termenv.ANSI256:
		n, _ := nearest256(c)
		return n
	case termenv.ANSI:
		return nearest16(c)
	}
	return int(c.r)<<16 | int(c.g)<<8 | int(c.b)
}

// writeColourSGR writes the escape code that sets the foreground (or
// background) to colour n, as colourIndex gave it for prof.
func writeColourSGR(b *strings.Builder, prof termenv.Profile, n int, bg bool) {
	b.WriteString("\x1b[")
	switch prof {
	case termenv.ANSI256:
		if bg {
			b.WriteString("48;5;")
		} else {
			b.WriteString("38;5;")
		}
		b.WriteString(strconv.Itoa(n))
	case termenv.ANSI:
		code := 30 + n
		if n >= 8 {
			code = 90 + n - 8
		}
		if bg {
			code += 10
		}
		b.WriteString(strconv.Itoa(code))
	default:
		if bg {
			b.WriteString("48;2;")
		} else {
			b.WriteString("38;2;")
		}
		b.WriteString(strconv.Itoa(n>>16) + ";" + strconv.Itoa(n>>8&0xff) + ";" + strconv.Itoa(n&0xff))
	}
	b.WriteByte('m')
}
