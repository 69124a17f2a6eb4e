package tui

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// halfCell is one rendered cell: its rune and the SGR parameters of the
// foreground and background in force ("" when none).
type halfCell struct {
	r      rune
	fg, bg string
}

// parseSGR reads a line back into cells, tracking the colour codes. It
// fails the test on anything but SGR sequences it knows.
func parseSGR(t *testing.T, line string) (cells []halfCell, resetAtEnd bool) {
	t.Helper()
	var fg, bg string
	for i := 0; i < len(line); {
		if line[i] != 0x1b {
			r, n := []rune(line[i:])[0], len(string([]rune(line[i:])[0]))
			cells = append(cells, halfCell{r, fg, bg})
			i += n
			continue
		}
		j := strings.IndexByte(line[i:], 'm')
		if !strings.HasPrefix(line[i:], "\x1b[") || j < 0 {
			t.Fatalf("not an SGR sequence at %q", line[i:])
		}
		p := line[i+2 : i+j]
		switch {
		case p == "0":
			fg, bg = "", ""
			resetAtEnd = i+j+1 == len(line)
		case strings.HasPrefix(p, "38;"), strings.HasPrefix(p, "3"), strings.HasPrefix(p, "9"):
			fg = p
		case strings.HasPrefix(p, "48;"), strings.HasPrefix(p, "4"), strings.HasPrefix(p, "10"):
			bg = p
		default:
			t.Fatalf("unexpected SGR %q", p)
		}
		i += j + 1
	}
	return cells, resetAtEnd
}

// testImage is a 28x28 image like a Fashion-MNIST one: a faint diagonal
// gradient as background and a bright trouser-like shape (two legs joined
// at a waistband), with some in-between edge values.
func testImage() Gray {
	g := Gray{W: 28, H: 28, Pix: make([]float32, 28*28)}
	for y := range 28 {
		for x := range 28 {
			v := float32(x+y) / 54 * 0.3
			waist := y >= 3 && y < 7 && x >= 8 && x < 20
			leg := y >= 7 && y < 26 && ((x >= 8 && x < 13) || (x >= 15 && x < 20))
			edge := y >= 7 && y < 26 && (x == 7 || x == 13 || x == 14 || x == 20)
			switch {
			case waist || leg:
				v = 0.7 + 0.3*float32(y)/27
			case edge:
				v = 0.45
			}
			g.Pix[y*28+x] = v
		}
	}
	return g
}

// TestHalfBlocksTrueColorRoundTrip: every cell is ▀ with the upper pixel's
// grey as foreground and the lower one's as background, exactly.
func TestHalfBlocksTrueColorRoundTrip(t *testing.T) {
	g := testImage()
	lines := HalfBlocks(g, termenv.TrueColor)
	if len(lines) != 14 {
		t.Fatalf("%d lines, want 14", len(lines))
	}
	grey := func(p string, prefix string) int {
		t.Helper()
		f := strings.Split(strings.TrimPrefix(p, prefix), ";")
		if len(f) != 3 || f[0] != f[1] || f[1] != f[2] {
			t.Fatalf("not a grey: %q", p)
		}
		v, err := strconv.Atoi(f[0])
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for row, line := range lines {
		cells, reset := parseSGR(t, line)
		if !reset {
			t.Errorf("line %d does not end with a reset", row)
		}
		if len(cells) != 28 {
			t.Fatalf("line %d: %d cells, want 28", row, len(cells))
		}
		for x, c := range cells {
			if c.r != '▀' {
				t.Fatalf("line %d cell %d: %q", row, x, c.r)
			}
			up := int(math.Round(float64(g.Pix[2*row*28+x]) * 255))
			down := int(math.Round(float64(g.Pix[(2*row+1)*28+x]) * 255))
			if got := grey(c.fg, "38;2;"); got != up {
				t.Errorf("line %d cell %d: foreground %d, want %d", row, x, got, up)
			}
			if got := grey(c.bg, "48;2;"); got != down {
				t.Errorf("line %d cell %d: background %d, want %d", row, x, got, down)
			}
		}
	}
}

// TestHalfBlocksCodesOnlyOnChange: a uniform row sets each colour once.
func TestHalfBlocksCodesOnlyOnChange(t *testing.T) {
	g := Gray{W: 20, H: 2, Pix: make([]float32, 40)}
	for i := range g.Pix {
		g.Pix[i] = 0.6
	}
	for _, prof := range []termenv.Profile{termenv.TrueColor, termenv.ANSI256, termenv.ANSI} {
		line := HalfBlocks(g, prof)[0]
		if n := strings.Count(line, "\x1b["); n != 3 { // fg, bg, reset
			t.Errorf("profile %v: %d escape codes in %q, want 3", prof, n, line)
		}
	}
}

// TestHalfBlocksANSI256NearestGrey: the xterm greys 16, 231 and 232-255.
func TestHalfBlocksANSI256NearestGrey(t *testing.T) {
	for _, c := range []struct {
		v    float32
		want int
	}{
		{0, 16}, {1, 231}, {0.5, 244}, // 127.5: ramp 244 is 128, 243 is 118
		{8.0 / 255, 232}, {3.0 / 255, 16}, {5.0 / 255, 232},
		{238.0 / 255, 255}, {250.0 / 255, 231}, {100.0 / 255, 241}, // 98
	} {
		g := Gray{W: 1, H: 2, Pix: []float32{c.v, c.v}}
		cells, _ := parseSGR(t, HalfBlocks(g, termenv.ANSI256)[0])
		want := strconv.Itoa(c.want)
		if cells[0].fg != "38;5;"+want || cells[0].bg != "48;5;"+want {
			t.Errorf("grey %v: %q/%q, want colour %s", c.v, cells[0].fg, cells[0].bg, want)
		}
	}
}

// TestHalfBlocksANSIGreys: black, bright black, white, bright white.
func TestHalfBlocksANSIGreys(t *testing.T) {
	for _, c := range []struct {
		v      float32
		fg, bg string
	}{{0, "30", "40"}, {0.2, "30", "40"}, {0.5, "90", "100"}, {0.75, "37", "47"}, {0.9, "97", "107"}, {1, "97", "107"}} {
		g := Gray{W: 1, H: 2, Pix: []float32{c.v, c.v}}
		cells, _ := parseSGR(t, HalfBlocks(g, termenv.ANSI)[0])
		if cells[0].fg != c.fg || cells[0].bg != c.bg {
			t.Errorf("grey %v: %q/%q, want %s/%s", c.v, cells[0].fg, cells[0].bg, c.fg, c.bg)
		}
	}
}

// TestHalfBlocksAscii: no escape codes, shades by the mean of the two pixels.
func TestHalfBlocksAscii(t *testing.T) {
	g := Gray{W: 6, H: 2, Pix: []float32{
		0, 1, 1, 0.25, 0.75, 0.5,
		0, 1, 0, 0.25, 0.75, 0,
	}}
	lines := HalfBlocks(g, termenv.Ascii)
	if len(lines) != 1 || lines[0] != " █▒░▓░" {
		t.Errorf("got %q, want %q", lines, " █▒░▓░")
	}
	for _, l := range HalfBlocks(testImage(), termenv.Ascii) {
		if strings.ContainsRune(l, 0x1b) {
			t.Fatalf("escape code in %q", l)
		}
	}
	// The trouser's legs are light, the background dark.
	l := HalfBlocks(testImage(), termenv.Ascii)[8]
	if r := []rune(l); r[10] != '▓' && r[10] != '█' || r[1] != ' ' && r[1] != '░' {
		t.Errorf("line 8 %q does not show the shape", l)
	}
}

// TestHalfBlocksOddHeight: ceil(H/2) lines of W cells; the missing row is
// black.
func TestHalfBlocksOddHeight(t *testing.T) {
	g := Gray{W: 5, H: 7, Pix: make([]float32, 35)}
	for i := range g.Pix {
		g.Pix[i] = 1
	}
	for _, prof := range []termenv.Profile{termenv.TrueColor, termenv.ANSI256, termenv.ANSI, termenv.Ascii} {
		lines := HalfBlocks(g, prof)
		if len(lines) != 4 {
			t.Fatalf("profile %v: %d lines, want 4", prof, len(lines))
		}
		for i, l := range lines {
			if w := ansi.StringWidth(l); w != 5 {
				t.Errorf("profile %v line %d: %d cells, want 5", prof, i, w)
			}
			if n := len([]rune(ansi.Strip(l))); n != 5 {
				t.Errorf("profile %v line %d: %d runes outside escapes, want 5", prof, i, n)
			}
		}
	}
	cells, _ := parseSGR(t, HalfBlocks(g, termenv.TrueColor)[3])
	if cells[0].fg != "38;2;255;255;255" || cells[0].bg != "48;2;0;0;0" {
		t.Errorf("last line: %q/%q, want white over black", cells[0].fg, cells[0].bg)
	}
	if l := HalfBlocks(g, termenv.Ascii)[3]; l != "▒▒▒▒▒" {
		t.Errorf("last Ascii line %q, want half shades", l)
	}
}

// TestHalfBlocksScaleGray: constant images stay constant, 28 to 14 averages 2x2
// blocks, the mean is kept at any size, equal sizes copy.
func TestHalfBlocksScaleGray(t *testing.T) {
	c := Gray{W: 28, H: 28, Pix: make([]float32, 28*28)}
	for i := range c.Pix {
		c.Pix[i] = 0.37
	}
	for _, sz := range [][2]int{{14, 14}, {10, 7}, {5, 9}, {28, 28}, {40, 33}, {1, 1}} {
		s := ScaleGray(c, sz[0], sz[1])
		if s.W != sz[0] || s.H != sz[1] || len(s.Pix) != sz[0]*sz[1] {
			t.Fatalf("%v: got %dx%d with %d pixels", sz, s.W, s.H, len(s.Pix))
		}
		for i, v := range s.Pix {
			if math.Abs(float64(v)-0.37) > 1e-6 {
				t.Fatalf("%v: pixel %d is %v, want 0.37", sz, i, v)
			}
		}
	}

	g := testImage()
	h := ScaleGray(g, 14, 14)
	for y := range 14 {
		for x := range 14 {
			want := (g.Pix[2*y*28+2*x] + g.Pix[2*y*28+2*x+1] + g.Pix[(2*y+1)*28+2*x] + g.Pix[(2*y+1)*28+2*x+1]) / 4
			if got := h.Pix[y*14+x]; math.Abs(float64(got-want)) > 1e-6 {
				t.Errorf("(%d,%d): %v, want %v", x, y, got, want)
			}
		}
	}

	mean := func(g Gray) float64 {
		var s float64
		for _, v := range g.Pix {
			s += float64(v)
		}
		return s / float64(len(g.Pix))
	}
	for _, sz := range [][2]int{{10, 7}, {19, 23}, {3, 3}} {
		if a, b := mean(g), mean(ScaleGray(g, sz[0], sz[1])); math.Abs(a-b) > 1e-5 {
			t.Errorf("%v: mean %v, want %v", sz, b, a)
		}
	}

	same := ScaleGray(g, 28, 28)
	same.Pix[0] = 9
	if g.Pix[0] == 9 {
		t.Error("ScaleGray to the same size shares the pixels")
	}
	for i := 1; i < len(g.Pix); i++ {
		if same.Pix[i] != g.Pix[i] {
			t.Fatalf("pixel %d changed", i)
		}
	}
}

// testRGB is a colour image: red, green and blue gradients across it, with
// an odd height.
func testRGB() RGB {
	img := RGB{W: 24, H: 15, Pix: make([]byte, 24*15*3)}
	for y := range img.H {
		for x := range img.W {
			p := img.Pix[(y*img.W+x)*3:]
			p[0], p[1], p[2] = byte(x*11), byte(y*17), byte((x*7+y*13)%256)
		}
	}
	return img
}

// TestHalfBlocksRGBTrueColorRoundTrip: every cell is ▀ with the upper
// pixel's colour as foreground and the lower one's as background, exactly;
// below the last row is black.
func TestHalfBlocksRGBTrueColorRoundTrip(t *testing.T) {
	img := testRGB()
	lines := HalfBlocksRGB(img, termenv.TrueColor)
	if len(lines) != 8 {
		t.Fatalf("%d lines, want 8", len(lines))
	}
	colour := func(p, prefix string) [3]byte {
		t.Helper()
		f := strings.Split(strings.TrimPrefix(p, prefix), ";")
		if !strings.HasPrefix(p, prefix) || len(f) != 3 {
			t.Fatalf("not a %s colour: %q", prefix, p)
		}
		var c [3]byte
		for i, s := range f {
			v, err := strconv.Atoi(s)
			if err != nil || v < 0 || v > 255 {
				t.Fatalf("bad level in %q", p)
			}
			c[i] = byte(v)
		}
		return c
	}
	pixel := func(x, y int) [3]byte {
		if y >= img.H {
			return [3]byte{}
		}
		p := img.Pix[(y*img.W+x)*3:]
		return [3]byte{p[0], p[1], p[2]}
	}
	for row, line := range lines {
		cells, reset := parseSGR(t, line)
		if !reset {
			t.Errorf("line %d does not end with a reset", row)
		}
		if len(cells) != img.W {
			t.Fatalf("line %d: %d cells, want %d", row, len(cells), img.W)
		}
		for x, c := range cells {
			if c.r != '▀' {
				t.Fatalf("line %d cell %d: %q", row, x, c.r)
			}
			if got, want := colour(c.fg, "38;2;"), pixel(x, 2*row); got != want {
				t.Errorf("line %d cell %d: foreground %v, want %v", row, x, got, want)
			}
			if got, want := colour(c.bg, "48;2;"), pixel(x, 2*row+1); got != want {
				t.Errorf("line %d cell %d: background %v, want %v", row, x, got, want)
			}
		}
	}
}

// TestHalfBlocksRGBNearest: the nearest colour of the 6x6x6 cube or the
// grey ramp in 256 colours, of the basic 16 in ANSI, and shades of the
// luminance without colour; a uniform row sets each colour once.
func TestHalfBlocksRGBNearest(t *testing.T) {
	cell := func(prof termenv.Profile, c [3]byte) halfCell {
		t.Helper()
		img := RGB{W: 1, H: 2, Pix: []byte{c[0], c[1], c[2], c[0], c[1], c[2]}}
		cells, _ := parseSGR(t, HalfBlocksRGB(img, prof)[0])
		return cells[0]
	}
	for _, c := range []struct {
		c    [3]byte
		want int
	}{
		{[3]byte{255, 0, 0}, 196}, {[3]byte{0, 0, 0}, 16}, {[3]byte{255, 255, 255}, 231},
		{[3]byte{128, 128, 128}, 244}, // ramp 128, exact; cube 145 is 135
		{[3]byte{20, 20, 20}, 233},    // ramp 18
		{[3]byte{95, 135, 175}, 67},   // cube (1, 2, 3), exact
		{[3]byte{250, 128, 10}, 208},  // cube (5, 2, 0)
		{[3]byte{100, 100, 110}, 242}, // ramp 108 (distance² 132) beats cube (95, 95, 95) (275)
		{[3]byte{30, 200, 120}, 42},   // cube (0, 4, 2): (0, 215, 135)
	} {
		want := strconv.Itoa(c.want)
		if got := cell(termenv.ANSI256, c.c); got.fg != "38;5;"+want || got.bg != "48;5;"+want {
			t.Errorf("%v in 256 colours: %q/%q, want %s", c.c, got.fg, got.bg, want)
		}
	}
	for _, c := range []struct {
		c      [3]byte
		fg, bg string
	}{
		{[3]byte{255, 0, 0}, "91", "101"}, {[3]byte{120, 10, 0}, "31", "41"}, {[3]byte{0, 0, 240}, "94", "104"},
		{[3]byte{200, 190, 200}, "37", "47"}, {[3]byte{10, 10, 10}, "30", "40"}, {[3]byte{0, 120, 140}, "36", "46"},
	} {
		if got := cell(termenv.ANSI, c.c); got.fg != c.fg || got.bg != c.bg {
			t.Errorf("%v in 16 colours: %q/%q, want %s/%s", c.c, got.fg, got.bg, c.fg, c.bg)
		}
	}
	// Luminance: white, black, pure green (0.587), pure blue (0.114), grey.
	img := RGB{W: 5, H: 2, Pix: []byte{
		255, 255, 255, 0, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128,
		255, 255, 255, 0, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128,
	}}
	if got := HalfBlocksRGB(img, termenv.Ascii); len(got) != 1 || got[0] != "█ ▒ ▒" {
		t.Errorf("Ascii: %q, want %q", got, "█ ▒ ▒")
	}
	row := RGB{W: 20, H: 2, Pix: make([]byte, 20*2*3)}
	for i := range row.Pix {
		row.Pix[i] = byte(40 + i%3*70)
	}
	for _, prof := range []termenv.Profile{termenv.TrueColor, termenv.ANSI256, termenv.ANSI} {
		if n := strings.Count(HalfBlocksRGB(row, prof)[0], "\x1b["); n != 3 { // fg, bg, reset
			t.Errorf("profile %v: %d escape codes, want 3", prof, n)
		}
	}
}

// TestScaleRGB: constant images stay constant, halving averages 2x2 blocks
// (rounded), equal sizes copy.
func TestScaleRGB(t *testing.T) {
	c := RGB{W: 30, H: 20, Pix: make([]byte, 30*20*3)}
	for i := range c.Pix {
		c.Pix[i] = []byte{200, 13, 77}[i%3]
	}
	for _, sz := range [][2]int{{15, 10}, {7, 9}, {30, 20}, {41, 33}, {1, 1}} {
		s := ScaleRGB(c, sz[0], sz[1])
		if s.W != sz[0] || s.H != sz[1] || len(s.Pix) != sz[0]*sz[1]*3 {
			t.Fatalf("%v: %dx%d with %d bytes", sz, s.W, s.H, len(s.Pix))
		}
		for i, v := range s.Pix {
			if v != c.Pix[i%3] {
				t.Fatalf("%v: byte %d is %d, want %d", sz, i, v, c.Pix[i%3])
			}
		}
	}
	img := testRGB()
	img.H = 14
	img.Pix = img.Pix[:24*14*3]
	h := ScaleRGB(img, 12, 7)
	for y := range 7 {
		for x := range 12 {
			for ch := range 3 {
				sum := 0
				for _, d := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
					sum += int(img.Pix[((2*y+d[1])*24+2*x+d[0])*3+ch])
				}
				if got, want := h.Pix[(y*12+x)*3+ch], byte((sum+2)/4); got != want {
					t.Errorf("(%d,%d) channel %d: %d, want %d", x, y, ch, got, want)
				}
			}
		}
	}
	same := ScaleRGB(img, 24, 14)
	same.Pix[0] = 1
	if img.Pix[0] == 1 || string(same.Pix[1:]) != string(img.Pix[1:]) {
		t.Error("ScaleRGB to the same size does not copy")
	}
}
