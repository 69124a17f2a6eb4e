package detector

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
)

// Truth is the ground truth of a synthetic video: every item in every frame.
type Truth struct {
	Width   int          `json:"width"`
	Height  int          `json:"height"`
	FPS     float64      `json:"fps"`
	Seed    int64        `json:"seed"`
	Source  string       `json:"source"` // where the items come from
	Classes []string     `json:"classes"`
	Frames  []TruthFrame `json:"frames"`
}

// TruthFrame lists the items of one frame.
type TruthFrame struct {
	Index int         `json:"index"`
	Items []TruthItem `json:"items"`
}

// TruthItem is one item: its class, its box (the tight bounding box of the
// item's visible pixels, x, y, w, h in frame pixels) and which test image it is.
type TruthItem struct {
	Class     int    `json:"class"`
	Label     string `json:"label"`
	Box       XYWH   `json:"box"`
	TestIndex int    `json:"test_index"`
}

// XYWH is a box as [x, y, w, h].
type XYWH [4]int

// Rect converts to an image.Rectangle.
func (b XYWH) Rect() image.Rectangle { return image.Rect(b[0], b[1], b[0]+b[2], b[1]+b[3]) }

// ToXYWH converts a rectangle.
func ToXYWH(r image.Rectangle) XYWH { return XYWH{r.Min.X, r.Min.Y, r.Dx(), r.Dy()} }

// ReadTruth reads and checks a truth file.
func ReadTruth(path string) (*Truth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("truth file: %w", err)
	}
	var t Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("truth file %s: not valid JSON: %s", path, oneLine(err.Error()))
	}
	for i, f := range t.Frames {
		if f.Index != i {
			return nil, fmt.Errorf("truth file %s: frame %d has index %d", path, i, f.Index)
		}
		for _, it := range f.Items {
			if it.Class < 0 || it.Class >= 10 || it.Box[2] <= 0 || it.Box[3] <= 0 {
				return nil, fmt.Errorf("truth file %s: frame %d has an invalid item (class %d, box %v)", path, i, it.Class, it.Box)
			}
		}
	}
	if len(t.Frames) == 0 {
		return nil, fmt.Errorf("truth file %s: no frames", path)
	}
	return &t, nil
}

// SynthConfig describes a synthetic video.
type SynthConfig struct {
	Frames int
	W, H   int
	Seed   int64
	// Images (n x 784, [0,1]) and Labels are the items to draw from: the
	// data set's test split.
	Images []float32
	Labels []uint8
	N      int
	Source string
	Names  []string // class names
}

type synthItem struct {
	img     []float32 // 28x28 in [0,1]
	class   int
	testIdx int
	size    int     // side of the scaled 28x28 square
	x, y    float64 // top-left of the square
	vx, vy  float64
	slot    image.Rectangle // the item stays inside its slot
	r, g, b float64         // tint of the item (light)
	scaled  []float64       // size x size alpha
	tight   image.Rectangle // tight box of the visible pixels, relative to the square
}

type background struct {
	kind       int
	c0, c1     [3]float64
	period     float64
	angle      float64
	noise      float64
	phase      float64
	noiseField []float64
}

// Synthesize renders the frames (BGR, w*h*3 bytes each) and the truth.
// The video is cut into scenes of 10-25 frames; each scene has its own
// textured background (noise, gradient, stripes or checks, dark to mid grey
// with a colour cast) and 1-3 items from the test split, each scaled to
// 40-90 px, tinted light and moving (bouncing) inside its own slot so that
// items never overlap.
func Synthesize(cfg SynthConfig, emit func(i int, bgr []byte) error) (*Truth, error) {
	if cfg.Frames <= 0 || cfg.W < 64 || cfg.H < 64 || cfg.N <= 0 {
		return nil, errors.New("synth-video: need at least 1 frame, a frame of at least 64x64 and some images")
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed))
	t := &Truth{Width: cfg.W, Height: cfg.H, FPS: 10, Seed: cfg.Seed, Source: cfg.Source, Classes: cfg.Names}
	buf := make([]byte, cfg.W*cfg.H*3)
	var items []*synthItem
	var bg *background
	sceneLeft := 0
	for f := 0; f < cfg.Frames; f++ {
		if sceneLeft == 0 {
			sceneLeft = 10 + rng.IntN(16)
			bg = newBackground(rng, cfg.W, cfg.H)
			items = newScene(rng, cfg)
		}
		sceneLeft--
		bg.render(buf, cfg.W, cfg.H)
		tf := TruthFrame{Index: f, Items: []TruthItem{}}
		for _, it := range items {
			box := it.draw(buf, cfg.W, cfg.H)
			if !box.Empty() {
				tf.Items = append(tf.Items, TruthItem{Class: it.class, Label: cfg.Names[it.class], Box: ToXYWH(box), TestIndex: it.testIdx})
			}
			it.move()
		}
		t.Frames = append(t.Frames, tf)
		if err := emit(f, buf); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func newScene(rng *rand.Rand, cfg SynthConfig) []*synthItem {
	k := 1 + rng.IntN(3)
	// Slots: k columns when the frame is wide enough, else rows.
	var slots []image.Rectangle
	for i := 0; i < k; i++ {
		if cfg.W >= cfg.H {
			slots = append(slots, image.Rect(i*cfg.W/k, 0, (i+1)*cfg.W/k, cfg.H))
		} else {
			slots = append(slots, image.Rect(0, i*cfg.H/k, cfg.W, (i+1)*cfg.H/k))
		}
	}
	var items []*synthItem
	for _, s := range slots {
		maxSide := min(90, min(s.Dx(), s.Dy())-4)
		if maxSide < 20 {
			continue
		}
		lo := min(40, maxSide)
		size := lo + rng.IntN(maxSide-lo+1)
		idx := rng.IntN(cfg.N)
		it := &synthItem{
			img:     cfg.Images[idx*784 : (idx+1)*784],
			class:   int(cfg.Labels[idx]),
			testIdx: idx,
			size:    size,
			slot:    s,
		}
		it.x = float64(s.Min.X) + rng.Float64()*float64(s.Dx()-size)
		it.y = float64(s.Min.Y) + rng.Float64()*float64(s.Dy()-size)
		speed := 1 + rng.Float64()*3
		ang := rng.Float64() * 2 * math.Pi
		it.vx, it.vy = speed*math.Cos(ang), speed*math.Sin(ang)
		base := 215 + rng.Float64()*40
		it.r, it.g, it.b = base-rng.Float64()*25, base-rng.Float64()*25, base-rng.Float64()*25
		it.scale()
		items = append(items, it)
	}
	return items
}

// scale resizes the 28x28 item to size x size (bilinear) and finds the tight
// box of its visible pixels (alpha >= 0.1).
func (it *synthItem) scale() {
	n := it.size
	it.scaled = make([]float64, n*n)
	x0, y0, x1, y1 := n, n, -1, -1
	for y := 0; y < n; y++ {
		sy := (float64(y)+0.5)*28/float64(n) - 0.5
		for x := 0; x < n; x++ {
			sx := (float64(x)+0.5)*28/float64(n) - 0.5
			v := bilinear(it.img, 28, sx, sy)
			it.scaled[y*n+x] = v
			if v >= 0.1 {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			}
		}
	}
	if x1 >= 0 {
		it.tight = image.Rect(x0, y0, x1+1, y1+1)
	}
}

func bilinear(img []float32, n int, x, y float64) float64 {
	x = math.Max(0, math.Min(float64(n-1), x))
	y = math.Max(0, math.Min(float64(n-1), y))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, n-1), min(y0+1, n-1)
	fx, fy := x-float64(x0), y-float64(y0)
	a := float64(img[y0*n+x0])*(1-fx) + float64(img[y0*n+x1])*fx
	b := float64(img[y1*n+x0])*(1-fx) + float64(img[y1*n+x1])*fx
	return a*(1-fy) + b*fy
}

// draw blends the item over buf (alpha = the item's grey level) and
// returns its tight box in frame coordinates.
func (it *synthItem) draw(buf []byte, w, h int) image.Rectangle {
	ox, oy := int(math.Round(it.x)), int(math.Round(it.y))
	n := it.size
	for y := 0; y < n; y++ {
		fy := oy + y
		if fy < 0 || fy >= h {
			continue
		}
		for x := 0; x < n; x++ {
			fx := ox + x
			a := it.scaled[y*n+x]
			if fx < 0 || fx >= w || a <= 0 {
				continue
			}
			p := buf[(fy*w+fx)*3:]
			p[0] = byte(float64(p[0])*(1-a) + it.b*a + 0.5)
			p[1] = byte(float64(p[1])*(1-a) + it.g*a + 0.5)
			p[2] = byte(float64(p[2])*(1-a) + it.r*a + 0.5)
		}
	}
	return it.tight.Add(image.Pt(ox, oy)).Intersect(image.Rect(0, 0, w, h))
}

// move advances the item, bouncing off its slot's edges.
func (it *synthItem) move() {
	it.x += it.vx
	it.y += it.vy
	s := it.slot
	if it.x < float64(s.Min.X) || it.x > float64(s.Max.X-it.size) {
		it.vx = -it.vx
		it.x = math.Max(float64(s.Min.X), math.Min(float64(s.Max.X-it.size), it.x))
	}
	if it.y < float64(s.Min.Y) || it.y > float64(s.Max.Y-it.size) {
		it.vy = -it.vy
		it.y = math.Max(float64(s.Min.Y), math.Min(float64(s.Max.Y-it.size), it.y))
	}
}

func newBackground(rng *rand.Rand, w, h int) *background {
	bg := &background{kind: rng.IntN(4)}
	dark := 10 + rng.Float64()*50
	mid := 60 + rng.Float64()*70
	for c := 0; c < 3; c++ {
		bg.c0[c] = dark + rng.Float64()*25
		bg.c1[c] = mid + rng.Float64()*30
	}
	bg.period = 8 + rng.Float64()*24
	bg.angle = rng.Float64() * math.Pi
	bg.noise = 6 + rng.Float64()*14
	bg.noiseField = make([]float64, w*h)
	for i := range bg.noiseField {
		bg.noiseField[i] = rng.NormFloat64()
	}
	return bg
}

// render fills buf with the background; the noise field drifts a little
// every frame.
func (bg *background) render(buf []byte, w, h int) {
	bg.phase += 0.7
	ca, sa := math.Cos(bg.angle), math.Sin(bg.angle)
	diag := math.Hypot(float64(w), float64(h))
	shift := int(bg.phase) % len(bg.noiseField)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			u := float64(x)*ca + float64(y)*sa
			var t float64
			switch bg.kind {
			case 0: // noise over a flat level
				t = 0.5
			case 1: // gradient
				t = (u/diag + 1) / 2
			case 2: // stripes
				t = 0.5 + 0.5*math.Sin(2*math.Pi*(u+bg.phase)/bg.period)
			default: // checks
				if (int(math.Floor(float64(x)/bg.period))+int(math.Floor(float64(y)/bg.period)))%2 == 0 {
					t = 1
				}
			}
			nz := bg.noise * bg.noiseField[(y*w+x+shift)%len(bg.noiseField)]
			p := buf[(y*w+x)*3:]
			for c := 0; c < 3; c++ {
				v := bg.c0[c] + (bg.c1[c]-bg.c0[c])*t + nz
				p[c] = byte(math.Max(0, math.Min(255, v)))
			}
		}
	}
}
