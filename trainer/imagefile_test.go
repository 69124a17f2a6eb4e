package trainer

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// grayImage makes a w x h image from f(x, y) in 0-255.
func grayImage(w, h int, f func(x, y int) uint8) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetGray(x, y, color.Gray{f(x, y)})
		}
	}
	return img
}

// A 28x28 item filling the width, centred vertically, comes out unchanged.
func TestImageSampleKeepsADataSetImage(t *testing.T) {
	item := func(x, y int) uint8 {
		if y < 6 || y >= 22 {
			return 0
		}
		return uint8(40 + (x*7+y*3)%200)
	}
	got := ImageSample(grayImage(28, 28, item))
	for y := 0; y < 28; y++ {
		for x := 0; x < 28; x++ {
			if want := float32(item(x, y)) / 255; math.Abs(float64(got[y*28+x]-want)) > 1e-6 {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got[y*28+x], want)
			}
		}
	}
}

// A dark item photographed on white, larger and off-centre, is trimmed,
// shrunk to 28 pixels on its longest side, centred and negated.
func TestImageSampleFromAPhoto(t *testing.T) {
	// A 40x80 dark rectangle (value 55) at (100, 30) on a 300x200 white page.
	photo := grayImage(300, 200, func(x, y int) uint8 {
		if x >= 100 && x < 140 && y >= 30 && y < 110 {
			return 55
		}
		return 255
	})
	got := ImageSample(photo)
	// Longest side 80 -> 28: the rectangle becomes 14 wide x 28 tall, centred
	// horizontally (columns 7..20), at 200/255 after negation and stretch.
	for y := 0; y < 28; y++ {
		for x := 0; x < 28; x++ {
			want := float32(0)
			if x >= 7 && x < 21 {
				want = 200.0 / 255
			}
			if math.Abs(float64(got[y*28+x]-want)) > 1e-5 {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got[y*28+x], want)
			}
		}
	}
	// Blank pictures give a blank sample.
	for _, v := range ImageSample(grayImage(50, 50, func(int, int) uint8 { return 250 })) {
		if v != 0 {
			t.Fatal("a blank picture gave ink")
		}
	}
	// Upscaling a small picture keeps values in [0,1].
	for _, v := range ImageSample(grayImage(5, 3, func(x, y int) uint8 { return uint8(x * 50) })) {
		if v < 0 || v > 1 {
			t.Fatalf("value %v", v)
		}
	}
}

func TestReadImageFile(t *testing.T) {
	dir := t.TempDir()
	img := grayImage(60, 40, func(x, y int) uint8 {
		if x > 10 && x < 50 && y > 5 && y < 35 {
			return 20
		}
		return 240
	})
	pngPath, jpgPath := filepath.Join(dir, "a.png"), filepath.Join(dir, "a.jpg")
	f, _ := os.Create(pngPath)
	png.Encode(f, img)
	f.Close()
	f, _ = os.Create(jpgPath)
	jpeg.Encode(f, img, &jpeg.Options{Quality: 95})
	f.Close()
	a, err := ReadImageFile(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReadImageFile(jpgPath)
	if err != nil {
		t.Fatal(err)
	}
	var diff float64
	for i := range a {
		diff = math.Max(diff, math.Abs(float64(a[i]-b[i])))
	}
	if len(a) != Pixels || diff > 0.1 {
		t.Errorf("PNG and JPEG samples differ by %v", diff)
	}
	text := filepath.Join(dir, "notes.png")
	os.WriteFile(text, []byte("not an image at all"), 0o644)
	for _, p := range []string{text, filepath.Join(dir, "missing.png")} {
		_, err := ReadImageFile(p)
		if err == nil || !strings.Contains(err.Error(), p) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v", p, err)
		}
	}
	trunc := filepath.Join(dir, "trunc.png")
	data, _ := os.ReadFile(pngPath)
	os.WriteFile(trunc, data[:len(data)/2], 0o644)
	if _, err := ReadImageFile(trunc); err == nil || !strings.Contains(err.Error(), "cannot decode") {
		t.Errorf("truncated PNG: %v", err)
	}
}
