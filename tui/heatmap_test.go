package tui

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"fmnist/trainer"
)

// testConfusion is a confusion matrix like a trained model's on the 10,000
// test images: 4-digit diagonal counts, the usual shirt/T-shirt, pullover/
// coat confusions, and many zeros.
var testConfusion = [10][10]int{
	{862, 1, 14, 21, 4, 1, 89, 0, 8, 0},
	{3, 968, 1, 20, 4, 0, 3, 0, 1, 0},
	{17, 1, 824, 10, 86, 0, 60, 0, 2, 0},
	{19, 7, 10, 905, 32, 0, 24, 0, 3, 0},
	{1, 1, 74, 32, 848, 0, 43, 0, 1, 0},
	{0, 0, 0, 1, 0, 973, 0, 18, 1, 7},
	{134, 2, 78, 27, 84, 0, 666, 0, 9, 0},
	{0, 0, 0, 0, 0, 11, 0, 966, 0, 23},
	{4, 1, 4, 4, 3, 2, 3, 4, 975, 0},
	{1, 0, 0, 0, 0, 6, 0, 33, 0, 1000},
}

var testClasses = trainer.ClassNames[:]

var allProfiles = []termenv.Profile{termenv.TrueColor, termenv.ANSI256, termenv.ANSI, termenv.Ascii}

// parseAsciiHeatmap reads the counts and their shade marks back from
// Heatmap's Ascii rendering: the last 10 numbers of each class line, each
// with the shade character before it (' ' when there is none).
func parseAsciiHeatmap(t *testing.T, lines []string) (conf [10][10]int, marks [10][10]rune) {
	t.Helper()
	if len(lines) != 11 {
		t.Fatalf("%d lines, want a header and 10 classes", len(lines))
	}
	for r, line := range lines[1:] {
		var f []string // a mark joined to its count ("█1000") is split
		for _, w := range strings.Fields(line) {
			if r := []rune(w); len(r) > 1 && strings.ContainsRune("░▒▓█", r[0]) {
				f = append(f, string(r[0]), string(r[1:]))
				continue
			}
			f = append(f, w)
		}
		c := 9
		for i := len(f) - 1; i >= 0 && c >= 0; i-- {
			v, err := strconv.Atoi(f[i])
			if err != nil {
				t.Fatalf("line %q: %q is not a count", line, f[i])
			}
			conf[r][c], marks[r][c] = v, ' '
			if i > 0 && strings.ContainsAny(f[i-1], "░▒▓█") {
				marks[r][c] = []rune(f[i-1])[0]
				i--
			}
			c--
		}
		if c >= 0 {
			t.Fatalf("line %q: fewer than 10 counts", line)
		}
	}
	return conf, marks
}

// TestHeatmapAsciiCounts: the Ascii rendering has no escape codes, shows
// every count of the matrix, each marked with the shade of its row share,
// and starts its class lines with the class names.
func TestHeatmapAsciiCounts(t *testing.T) {
	for _, width := range []int{80, 120, 72} {
		lines := Heatmap(testConfusion, testClasses, termenv.Ascii, width)
		for _, l := range lines {
			if strings.ContainsRune(l, 0x1b) {
				t.Fatalf("escape code in %q", l)
			}
		}
		got, marks := parseAsciiHeatmap(t, lines)
		if got != testConfusion {
			t.Errorf("width %d: counts read back\n%v\nwant\n%v", width, got, testConfusion)
		}
		for r := range 10 {
			sum := 0
			for _, v := range testConfusion[r] {
				sum += v
			}
			for c := range 10 {
				want := shade(float64(testConfusion[r][c]) / float64(sum))
				if want == ' ' && testConfusion[r][c] > 0 {
					want = '░'
				}
				if marks[r][c] != want {
					t.Errorf("width %d (%d,%d): mark %q, want %q", width, r, c, marks[r][c], want)
				}
			}
			if name := strings.TrimLeft(lines[r+1], "0123456789 "); !strings.HasPrefix(name, testClasses[r][:min(4, len(testClasses[r]))]) {
				t.Errorf("width %d: line %q does not start with %q", width, lines[r+1], testClasses[r])
			}
		}
	}
	if m := Heatmap(testConfusion, testClasses, termenv.Ascii, 80); !strings.Contains(m[10], "█1000") && !strings.Contains(m[10], "█ 1000") {
		t.Errorf("Ankle boot's diagonal is not marked full: %q", m[10])
	}
}

// TestHeatmapWidth: no line is wider than the width, in any profile.
func TestHeatmapWidth(t *testing.T) {
	for _, prof := range allProfiles {
		for _, width := range []int{80, 60, 40, 200} {
			for i, l := range Heatmap(testConfusion, testClasses, prof, width) {
				if w := ansi.StringWidth(l); w > width {
					t.Errorf("profile %v width %d line %d: %d cells: %q", prof, width, i, w, ansi.Strip(l))
				}
			}
			for i, l := range ClassBars(testConfusion, testClasses, prof, width) {
				if w := ansi.StringWidth(l); w > width {
					t.Errorf("bars, profile %v width %d line %d: %d cells: %q", prof, width, i, w, ansi.Strip(l))
				}
			}
		}
	}
	// At 80 columns the counts still show in colour.
	m := Heatmap(testConfusion, testClasses, termenv.TrueColor, 80)
	if s := ansi.Strip(m[10]); !strings.Contains(s, "1000") || !strings.Contains(s, " 33 ") {
		t.Errorf("counts missing from %q", s)
	}
}

// heatCells parses a TrueColor class line into its 10 cells' background
// and text RGB (nil background for uncoloured cells): each cell sets its
// text colour, after its background if it has one.
func heatCells(t *testing.T, line string) (bg, fg [10][]int) {
	t.Helper()
	var cur []int
	n := 0
	for _, seq := range strings.Split(line, "\x1b[")[1:] {
		p := strings.Split(seq[:strings.IndexByte(seq, 'm')], ";")
		switch {
		case p[0] == "0":
			cur = nil
		case p[0] == "48" && p[1] == "2":
			cur = atois(t, p[2:])
		case p[0] == "38" && p[1] == "2":
			if n == 10 {
				t.Fatalf("more than 10 cells in %q", line)
			}
			bg[n], fg[n] = cur, atois(t, p[2:])
			n++
		default:
			t.Fatalf("unexpected SGR %q", p)
		}
	}
	if n != 10 {
		t.Fatalf("%d cells in %q, want 10", n, line)
	}
	return bg, fg
}

func atois(t *testing.T, s []string) []int {
	t.Helper()
	v := make([]int, len(s))
	for i, x := range s {
		n, err := strconv.Atoi(x)
		if err != nil {
			t.Fatal(err)
		}
		v[i] = n
	}
	return v
}

func lumaOf(c []int) float64 { return luma(rgb{uint8(c[0]), uint8(c[1]), uint8(c[2])}) }

// TestHeatmapMonotonic: in TrueColor a larger share of the row gives a
// stronger (lighter) colour, blue off the diagonal and green on it; zero
// cells have no background; text is black on light cells, white on dark.
func TestHeatmapMonotonic(t *testing.T) {
	var conf [10][10]int
	for r := range 10 {
		for c := range 10 {
			conf[r][c] = 1 << ((c - r + 10) % 10) // a different share everywhere
		}
		conf[r][r] = 1 + 100*r
		conf[r][(r+5)%10] = 0
	}
	lines := Heatmap(conf, testClasses, termenv.TrueColor, 100)
	type shown struct {
		share float64
		luma  float64
	}
	var off, diag []shown
	for r := range 10 {
		bg, fg := heatCells(t, lines[r+1])
		sum := 0
		for _, v := range conf[r] {
			sum += v
		}
		for c := range 10 {
			if conf[r][c] == 0 {
				if bg[c] != nil {
					t.Errorf("(%d,%d): empty cell has background %v", r, c, bg[c])
				}
				continue
			}
			if bg[c] == nil {
				t.Fatalf("(%d,%d): no background", r, c)
			}
			s := shown{float64(conf[r][c]) / float64(sum), lumaOf(bg[c])}
			if r == c {
				diag = append(diag, s)
				if bg[c][1] <= bg[c][2] {
					t.Errorf("(%d,%d): diagonal colour %v is not green", r, c, bg[c])
				}
			} else {
				off = append(off, s)
				if bg[c][2] <= bg[c][1] {
					t.Errorf("(%d,%d): colour %v is not blue", r, c, bg[c])
				}
			}
			wantInk := 255
			if s.luma > 128 {
				wantInk = 0
			}
			if fg[c][0] != wantInk {
				t.Errorf("(%d,%d): text %v on background %v", r, c, fg[c], bg[c])
			}
		}
	}
	for _, set := range [][]shown{off, diag} {
		for _, a := range set {
			for _, b := range set {
				// 8-bit channels cannot tell very close shares apart.
				if a.share > b.share && (a.luma < b.luma || a.luma == b.luma && a.share > b.share+0.01) {
					t.Errorf("share %.4f has luma %.1f, share %.4f has %.1f", a.share, a.luma, b.share, b.luma)
				}
			}
		}
	}
}

// TestHeatmapPalettes: ANSI256 and ANSI use only their palettes' codes.
func TestHeatmapPalettes(t *testing.T) {
	for _, c := range []struct {
		in   rgb
		want int
	}{{rgb{0, 0, 0}, 16}, {rgb{255, 255, 255}, 231}, {rgb{128, 128, 128}, 244}, {rgb{95, 135, 175}, 67}, {rgb{30, 30, 30}, 234}, {rgb{255, 0, 0}, 196}} {
		if got, _ := nearest256(c.in); got != c.want {
			t.Errorf("nearest256(%v) = %d, want %d", c.in, got, c.want)
		}
	}
	for _, l := range Heatmap(testConfusion, testClasses, termenv.ANSI256, 80) {
		for _, p := range strings.Split(l, "\x1b[")[1:] {
			p = p[:strings.IndexByte(p, 'm')]
			if p != "0" && !strings.HasPrefix(p, "38;5;") && !strings.HasPrefix(p, "48;5;") {
				t.Errorf("ANSI256 line has code %q", p)
			}
		}
	}
	for _, l := range Heatmap(testConfusion, testClasses, termenv.ANSI, 80) {
		for _, p := range strings.Split(l, "\x1b[")[1:] {
			p = p[:strings.IndexByte(p, 'm')]
			n, err := strconv.Atoi(p)
			if err != nil || !(n == 0 || n >= 30 && n <= 37 || n >= 40 && n <= 47 || n >= 90 && n <= 97 || n >= 100 && n <= 107) {
				t.Errorf("ANSI line has code %q", p)
			}
		}
	}
}

// TestClassBars: one line per class with the diagonal over the row sum as a
// percentage, bars as long as the accuracy, "—" for an empty class.
func TestClassBars(t *testing.T) {
	conf := testConfusion
	conf[3] = [10]int{}       // no images of class 3
	conf[9] = [10]int{9: 999} // all right
	for _, prof := range allProfiles {
		lines := ClassBars(conf, testClasses, prof, 80)
		if len(lines) != 10 {
			t.Fatalf("%d lines", len(lines))
		}
		var eighths [10]int
		for r, l := range lines {
			s := ansi.Strip(l)
			if prof == termenv.Ascii && s != l {
				t.Errorf("escape codes in Ascii line %q", l)
			}
			if prof != termenv.Ascii && r != 3 && !strings.Contains(l, "\x1b[") {
				t.Errorf("profile %v: bar not coloured: %q", prof, l)
			}
			if !strings.HasPrefix(s, testClasses[r]) {
				t.Errorf("line %q does not start with %q", s, testClasses[r])
			}
			f := strings.Fields(s)
			sum := 0
			for _, v := range conf[r] {
				sum += v
			}
			want := "—"
			if sum > 0 {
				want = fmt.Sprintf("%.2f%%", 100*float64(conf[r][r])/float64(sum))
			}
			if got := f[len(f)-1]; got != want {
				t.Errorf("class %d: %q, want %q", r, got, want)
			}
			for _, c := range s {
				switch {
				case c == '█':
					eighths[r] += 8
				case c >= '▉' && c <= '▏':
					eighths[r] += int('▏'-c) + 1
				}
			}
		}
		barW := 80 - len("T-shirt/top") - 2 - 7
		for r := range 10 {
			sum := 0
			for _, v := range conf[r] {
				sum += v
			}
			want := 0
			if sum > 0 {
				want = int(float64(conf[r][r]) / float64(sum) * float64(barW) * 8)
			}
			if d := eighths[r] - want; d < 0 || d > 1 {
				t.Errorf("profile %v class %d: bar of %d eighths, want %d", prof, r, eighths[r], want)
			}
		}
		if eighths[9] != barW*8 {
			t.Errorf("a perfect class's bar is %d eighths, want %d", eighths[9], barW*8)
		}
	}
}
