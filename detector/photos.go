package detector

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"gocv.io/x/gocv"
)

// DefaultPhotoDir holds OpenCV's sample pictures (Debian's opencv-doc).
const DefaultPhotoDir = "/usr/share/doc/opencv-doc/examples/data"

// PhotoNames are the pictures of DefaultPhotoDir that training scenes use as
// backgrounds: photographs of things that are not fashion items (buildings,
// aerial views, fruit, animals, desks, a painting), so that a detection
// model meets real clutter (foliage, sky between branches, windows, edges)
// and learns that it is background. No picture of people (their clothes
// would be items called background), no video, and in particular not
// tree.avi, the clip the detector is measured on.
var PhotoNames = []string{
	"aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "board.jpg",
	"box_in_scene.png", "building.jpg", "butterfly.jpg", "chicky_512.png", "ela_original.jpg",
	"fruits.jpg", "graf1.png", "HappyFish.jpg", "home.jpg", "leuvenA.jpg", "orange.jpg",
	"pca_test1.jpg", "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg", "starry_night.jpg",
	"stuff.jpg", "left.jpg",
}

// Photo is a colour picture, BGR, W x H.
type Photo struct {
	Name string
	W, H int
	BGR  []byte
}

// LoadPhotos reads PhotoNames from dir and returns them split in two: every
// fourth picture (sorted as listed) for validation scenes, the others for
// training scenes, so that the threshold is chosen on backgrounds the model
// has not seen.
func LoadPhotos(dir string) (train, val []*Photo, err error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, nil, fmt.Errorf("background photos: %s not found (Debian's opencv-doc has them: scripts/setup.sh installs it; --det-photos none trains without)", dir)
	}
	for i, name := range PhotoNames {
		p, err := loadPhoto(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, err
		}
		if i%4 == 3 {
			val = append(val, p)
		} else {
			train = append(train, p)
		}
	}
	return train, val, nil
}

func loadPhoto(path string) (*Photo, error) {
	if err := CheckInput(path); err != nil {
		return nil, fmt.Errorf("background photo: %v", err)
	}
	m := gocv.IMRead(path, gocv.IMReadColor)
	defer m.Close()
	if m.Empty() || m.Channels() != 3 {
		return nil, fmt.Errorf("background photo %s: not a picture OpenCV can read", path)
	}
	return &Photo{Name: filepath.Base(path), W: m.Cols(), H: m.Rows(), BGR: m.ToBytes()}, nil
}

// photoTexture fills base (bw x bh x 3) with a piece of a photo: scaled so
// that it covers the texture at least (up to 2.5 times that), mirrored at
// random, its levels mapped to lo..hi per channel (so that items keep their
// contrast with the scene, as on the drawn textures). photos is not empty.
func photoTexture(rng *rand.Rand, photos []*Photo, base []float32, bw, bh int, lo, hi [3]float64) {
	p := photos[rng.IntN(len(photos))]
	cover := math.Max(float64(bw)/float64(p.W), float64(bh)/float64(p.H))
	s := cover * math.Pow(2.5, rng.Float64()) // texture px per photo px
	cw, ch := float64(bw)/s, float64(bh)/s    // the piece, in photo px
	x0 := rng.Float64() * math.Max(0, float64(p.W)-cw)
	y0 := rng.Float64() * math.Max(0, float64(p.H)-ch)
	flip := rng.IntN(2) == 0
	// The piece's levels: 1st and 99th percentile of all channels.
	var hist [256]int
	for y := 0; y < bh; y += 4 {
		for x := 0; x < bw; x += 4 {
			px := photoPixel(p, x0, y0, s, x, y)
			for c := 0; c < 3; c++ {
				hist[int(px[c])]++
			}
		}
	}
	total := 0
	for _, n := range hist {
		total += n
	}
	pl, ph, acc := 0.0, 255.0, 0
	for v, n := range hist {
		acc += n
		if acc <= total/100 {
			pl = float64(v)
		}
		if acc >= total*99/100 {
			ph = float64(v)
			break
		}
	}
	if ph-pl < 1 {
		ph = pl + 1
	}
	for y := 0; y < bh; y++ {
		for x := 0; x < bw; x++ {
			sx := x
			if flip {
				sx = bw - 1 - x
			}
			px := photoPixel(p, x0, y0, s, sx, y)
			for c := 0; c < 3; c++ {
				v := math.Max(0, math.Min(1, (px[c]-pl)/(ph-pl)))
				base[(y*bw+x)*3+c] = float32(lo[c] + (hi[c]-lo[c])*v)
			}
		}
	}
}

// photoPixel samples the photo bilinearly at texture pixel (x, y).
func photoPixel(p *Photo, x0, y0, s float64, x, y int) [3]float64 {
	fx := math.Min(float64(p.W-1), x0+(float64(x)+0.5)/s-0.5)
	fy := math.Min(float64(p.H-1), y0+(float64(y)+0.5)/s-0.5)
	fx, fy = math.Max(0, fx), math.Max(0, fy)
	ix, iy := int(fx), int(fy)
	ax, ay := fx-float64(ix), fy-float64(iy)
	ix1, iy1 := min(ix+1, p.W-1), min(iy+1, p.H-1)
	var out [3]float64
	for c := 0; c < 3; c++ {
		a := float64(p.BGR[(iy*p.W+ix)*3+c])*(1-ax) + float64(p.BGR[(iy*p.W+ix1)*3+c])*ax
		b := float64(p.BGR[(iy1*p.W+ix)*3+c])*(1-ax) + float64(p.BGR[(iy1*p.W+ix1)*3+c])*ax
		out[c] = a*(1-ay) + b*ay
	}
	return out
}
