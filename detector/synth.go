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
	Source  string       `json:"source"`          // where the items come from
	Split   string       `json:"split,omitempty"` // train, val or test: which images
	Classes []string     `json:"classes"`
	Frames  []TruthFrame `json:"frames"`
}

// TruthFrame lists the items of one frame.
type TruthFrame struct {
	Index int         `json:"index"`
	Items []TruthItem `json:"items"`
}

// TruthItem is one item: its class, its box (the tight bounding box of the
// item's visible pixels, x, y, w, h in frame pixels) and which image of its
// split's file it is (Index; TestIndex too for the test split).
type TruthItem struct {
	Class     int    `json:"class"`
	Label     string `json:"label"`
	Box       XYWH   `json:"box"`
	Index     int    `json:"index"`
	TestIndex int    `json:"test_index,omitempty"`
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

// Splits of the synthetic scenes' items. Train and val come from the data
// set's training file (its first 55,000 and last 5,000 images), test from the
// test file: a detector trained and tuned on train and val scenes is measured
// on items it has never seen.
const (
	SplitTrain = "train"
	SplitVal   = "val"
	SplitTest  = "test"
	// ValStart is the first training-file image of the val split.
	ValStart = 55000
)

// SplitRange is the range [lo, hi) of the split's images in its file, given
// the file's n images (a shorter file, as in tests, is cut at 11/12).
func SplitRange(split string, n int) (lo, hi int, err error) {
	v := min(ValStart, n*11/12)
	switch split {
	case SplitTrain:
		return 0, v, nil
	case SplitVal:
		return v, n, nil
	case SplitTest:
		return 0, n, nil
	}
	return 0, 0, fmt.Errorf("unknown split %q (want train, val or test)", split)
}

// SynthConfig describes a synthetic video.
type SynthConfig struct {
	Frames int
	W, H   int
	Seed   int64
	// Images (n x 784, [0,1]) and Labels are the items to draw from:
	// the split's images; Offset is the index of Images[0] in its file.
	Images []float32
	Labels []uint8
	N      int
	Offset int
	Split  string
	Source string
	Names  []string // class names
	// SceneFrames, when > 0, fixes the frames per scene (training data
	// wants many short scenes); 0 draws 10-25.
	SceneFrames int
	// Distractors adds 1-3 objects that are not items to each scene's
	// background: solid bars (poles, window frames), rectangles and
	// ellipses, in any grey level. Training scenes have them, so that a
	// detection model learns that not every object is a fashion item.
	Distractors bool
	// Photos, when given, are backgrounds too: 3 scenes in 10 have a piece
	// of one (photoTexture). Without them the video is as it always was.
	Photos []*Photo
}

type synthItem struct {
	img     []float32 // 28x28 in [0,1]
	class   int
	index   int
	size    int     // side of the scaled 28x28 square
	x, y    float64 // top-left of the square
	vx, vy  float64
	slot    image.Rectangle // the item's square stays inside its slot
	r, g, b float64         // colour of the item
	scaled  []float64       // size x size alpha
	tight   image.Rectangle // tight box of the visible pixels, relative to the square
}

// background is a scene's backdrop: a texture larger than the frame,
// panned slowly (a hand-held camera), with fresh sensor noise every frame.
type background struct {
	kind       int       // bgClouds, ...
	base       []float32 // (w+2m) x (h+2m) x 3
	bw, bh     int
	m          int
	px, py     float64 // pan offset
	vx, vy     float64
	noise      float64
	noiseField []float32
	frame      int
}

// Synthesize renders the frames (BGR, w*h*3 bytes each) and the truth.
// The video is cut into scenes of 10-25 frames; each scene has its own
// background (fractal "cloud" textures, dead-leaves clutter that looks like
// a photograph's, stripes, checks or gradients; dark with light items or
// light with dark ones, with a colour cast) panned slowly, and 1-3 items
// of the split, each 12.5-46% of the frame's shorter side (30-110 px at
// 320x240), coloured, blended over the background with its grey level as
// opacity and moving (bouncing) inside its own slot, so items never
// overlap; items at the frame's edges may be partly outside it (at most a
// third of their square). It is deterministic per seed.
func Synthesize(cfg SynthConfig, emit func(i int, bgr []byte) error) (*Truth, error) {
	return synthesize(cfg, func(i int, bgr []byte, _ []TruthItem) error { return emit(i, bgr) })
}

// synthesize is Synthesize, telling emit each frame's truth too.
func synthesize(cfg SynthConfig, emit func(i int, bgr []byte, items []TruthItem) error) (*Truth, error) {
	if cfg.Frames <= 0 || cfg.W < 64 || cfg.H < 64 || cfg.N <= 0 || len(cfg.Images) < cfg.N*784 || len(cfg.Labels) < cfg.N {
		return nil, errors.New("synth-video: need at least 1 frame, a frame of at least 64x64 and some images")
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed))
	t := &Truth{Width: cfg.W, Height: cfg.H, FPS: 10, Seed: cfg.Seed, Source: cfg.Source, Split: cfg.Split, Classes: cfg.Names}
	buf := make([]byte, cfg.W*cfg.H*3)
	var items []*synthItem
	var bg *background
	sceneLeft := 0
	for f := 0; f < cfg.Frames; f++ {
		if sceneLeft == 0 {
			sceneLeft = 10 + rng.IntN(16)
			if cfg.SceneFrames > 0 {
				sceneLeft = cfg.SceneFrames
			}
			var light bool
			bg, light = newBackground(rng, cfg.W, cfg.H, cfg.Photos)
			if cfg.Distractors {
				bg.distractors(rng, min(cfg.W, cfg.H))
			}
			items = newScene(rng, cfg, light)
		}
		sceneLeft--
		bg.render(buf, cfg.W, cfg.H)
		tf := TruthFrame{Index: f, Items: []TruthItem{}}
		for _, it := range items {
			box := it.draw(buf, cfg.W, cfg.H)
			if !box.Empty() {
				ti := TruthItem{Class: it.class, Label: cfg.Names[it.class], Box: ToXYWH(box), Index: it.index}
				if cfg.Split == SplitTest || cfg.Split == "" {
					ti.TestIndex = it.index
				}
				tf.Items = append(tf.Items, ti)
			}
			it.move()
		}
		t.Frames = append(t.Frames, tf)
		if err := emit(f, buf, tf.Items); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// newScene places 1-3 items, one per slot (columns of a wide frame, rows of
// a tall one). Slots at the frame's edges reach past it by a third of the
// largest item, so items there may be partly outside. Items contrast with
// the background: dark on a light one, light on a dark one.
func newScene(rng *rand.Rand, cfg SynthConfig, lightBg bool) []*synthItem {
	k := 1 + rng.IntN(3)
	short := min(cfg.W, cfg.H)
	lo, hi := max(12, short/8), max(16, short*46/100)
	out := hi / 3
	var slots []image.Rectangle
	for i := 0; i < k; i++ {
		if cfg.W >= cfg.H {
			slots = append(slots, image.Rect(i*cfg.W/k, -out, (i+1)*cfg.W/k, cfg.H+out))
		} else {
			slots = append(slots, image.Rect(-out, i*cfg.H/k, cfg.W+out, (i+1)*cfg.H/k))
		}
	}
	if cfg.W >= cfg.H {
		slots[0].Min.X -= out
		slots[k-1].Max.X += out
	} else {
		slots[0].Min.Y -= out
		slots[k-1].Max.Y += out
	}
	var items []*synthItem
	for _, s := range slots {
		maxSide := min(hi, min(s.Dx(), s.Dy())-4)
		if maxSide < 12 {
			continue
		}
		l := min(lo, maxSide)
		// Sizes uniform in log scale: as many small items as large ones.
		size := int(math.Round(float64(l) * math.Pow(float64(maxSide)/float64(l), rng.Float64())))
		idx := rng.IntN(cfg.N)
		it := &synthItem{
			img:   cfg.Images[idx*784 : (idx+1)*784],
			class: int(cfg.Labels[idx]),
			index: cfg.Offset + idx,
			size:  size,
		}
		// The square stays at least two thirds inside the frame.
		fr := image.Rect(-size/3, -size/3, cfg.W+size/3, cfg.H+size/3)
		it.slot = s.Intersect(fr)
		if it.slot.Dx() < size || it.slot.Dy() < size {
			continue
		}
		it.x = float64(it.slot.Min.X) + rng.Float64()*float64(it.slot.Dx()-size)
		it.y = float64(it.slot.Min.Y) + rng.Float64()*float64(it.slot.Dy()-size)
		speed := 1 + rng.Float64()*3
		ang := rng.Float64() * 2 * math.Pi
		it.vx, it.vy = speed*math.Cos(ang), speed*math.Sin(ang)
		var base float64
		if lightBg {
			base = 10 + rng.Float64()*50
		} else {
			base = 200 + rng.Float64()*55
		}
		sat := rng.Float64() * 45
		it.r, it.g, it.b = clamp255(base+sat*(rng.Float64()*2-1)), clamp255(base+sat*(rng.Float64()*2-1)), clamp255(base+sat*(rng.Float64()*2-1))
		it.scale()
		items = append(items, it)
	}
	return items
}

func clamp255(v float64) float64 { return math.Max(0, math.Min(255, v)) }

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
// returns the tight box of its visible pixels in frame coordinates.
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
	// The visible part: the tight box of the alpha >= 0.1 pixels inside the frame.
	x0, y0, x1, y1 := w, h, -1, -1
	tb := it.tight.Add(image.Pt(ox, oy)).Intersect(image.Rect(0, 0, w, h))
	for fy := tb.Min.Y; fy < tb.Max.Y; fy++ {
		row := it.scaled[(fy-oy)*n:]
		for fx := tb.Min.X; fx < tb.Max.X; fx++ {
			if row[fx-ox] >= 0.1 {
				x0, y0, x1, y1 = min(x0, fx), min(y0, fy), max(x1, fx), max(y1, fy)
			}
		}
	}
	if x1 < 0 {
		return image.Rectangle{}
	}
	return image.Rect(x0, y0, x1+1, y1+1)
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

// Background kinds.
const (
	bgClouds     = iota // fractal (1/f) noise: walls, fabric, sky
	bgDeadLeaves        // overlapping discs and rectangles of many sizes: clutter
	bgStripes
	bgChecks
	bgGradient
	bgPhoto
)

// newBackground draws a scene's texture. It is light (items will be dark)
// or dark (items light), with a colour cast; photograph-like textures
// (clouds and dead leaves) are drawn twice as often as the others. With
// photos, 3 in 10 backgrounds are pieces of them, at a wider range of levels
// (real scenes have white skies and black shadows).
func newBackground(rng *rand.Rand, w, h int, photos []*Photo) (*background, bool) {
	kinds := []int{bgClouds, bgClouds, bgDeadLeaves, bgDeadLeaves, bgStripes, bgChecks, bgGradient}
	kind := kinds[rng.IntN(len(kinds))]
	if len(photos) > 0 && rng.IntN(10) < 3 {
		kind = bgPhoto
	}
	light := rng.IntN(2) == 0
	m := 24
	bg := &background{kind: kind, bw: w + 2*m, bh: h + 2*m, m: m, noise: 3 + rng.Float64()*9}
	bg.base = make([]float32, bg.bw*bg.bh*3)
	// Levels: a dark or light range, each channel with its own cast.
	var lo, hi [3]float64
	l0, l1 := 5+rng.Float64()*40, 70+rng.Float64()*70
	if light {
		l0, l1 = 120+rng.Float64()*60, 200+rng.Float64()*55
	}
	if kind == bgPhoto { // after the draws above, so that recorded scenes stay the same
		l0, l1 = rng.Float64()*20, 110+rng.Float64()*100
		if light {
			l0, l1 = 40+rng.Float64()*80, 225+rng.Float64()*30
		}
	}
	for c := 0; c < 3; c++ {
		cast := (rng.Float64()*2 - 1) * 25
		lo[c], hi[c] = clamp255(l0+cast), clamp255(l1+cast)
	}
	var t []float64 // 0..1 per pixel, mapped to lo..hi below (not for photos)
	if kind != bgPhoto {
		t = make([]float64, bg.bw*bg.bh)
	}
	var tint [][3]float64 // dead leaves: one colour per leaf
	switch kind {
	case bgClouds:
		fractal(rng, t, bg.bw, bg.bh)
	case bgDeadLeaves:
		tint = deadLeaves(rng, t, bg.bw, bg.bh)
	case bgPhoto:
		photoTexture(rng, photos, bg.base, bg.bw, bg.bh, lo, hi)
	case bgStripes, bgChecks, bgGradient:
		period := 6 + rng.Float64()*30
		ang := rng.Float64() * math.Pi
		ca, sa := math.Cos(ang), math.Sin(ang)
		diag := math.Hypot(float64(bg.bw), float64(bg.bh))
		for y := 0; y < bg.bh; y++ {
			for x := 0; x < bg.bw; x++ {
				u := float64(x)*ca + float64(y)*sa
				var v float64
				switch kind {
				case bgStripes:
					v = 0.5 + 0.5*math.Sin(2*math.Pi*u/period)
				case bgChecks:
					if (int(math.Floor(float64(x)/period))+int(math.Floor(float64(y)/period)))%2 == 0 {
						v = 1
					}
				default:
					v = (u/diag + 1) / 2
				}
				t[y*bg.bw+x] = v
			}
		}
	}
	for i, v := range t {
		for c := 0; c < 3; c++ {
			x := lo[c] + (hi[c]-lo[c])*v
			if tint != nil {
				x = clamp255(x + tint[i][c])
			}
			bg.base[i*3+c] = float32(x)
		}
	}
	bg.vx, bg.vy = (rng.Float64()*2-1)*0.8, (rng.Float64()*2-1)*0.8
	bg.px, bg.py = float64(m)+(rng.Float64()*2-1)*float64(m)/2, float64(m)+(rng.Float64()*2-1)*float64(m)/2
	bg.noiseField = make([]float32, w*h+997)
	for i := range bg.noiseField {
		bg.noiseField[i] = float32(rng.NormFloat64())
	}
	return bg, light
}

// distractors draws 1-3 objects that are not items into the texture: bars
// (long, 4-18% of the frame's shorter side thick, near-vertical or
// near-horizontal), rectangles and ellipses (12-45% of the shorter side),
// each of one grey level with a slight shading and a colour cast.
func (bg *background) distractors(rng *rand.Rand, short int) {
	for n := 1 + rng.IntN(3); n > 0; n-- {
		kind := rng.IntN(3)
		sf := float64(short)
		var hw, hh float64 // half sizes before rotation
		ang := (rng.Float64()*2 - 1) * math.Pi / 12
		switch kind {
		case 0: // bar
			hw = sf * (0.04 + rng.Float64()*0.14) / 2
			hh = float64(max(bg.bw, bg.bh)) * (0.4 + rng.Float64()*1.1) / 2
			if rng.IntN(2) == 0 {
				ang += math.Pi / 2
			}
		default:
			hw = sf * (0.12 + rng.Float64()*0.33) / 2
			hh = sf * (0.12 + rng.Float64()*0.33) / 2
			ang = rng.Float64() * math.Pi
		}
		cx, cy := rng.Float64()*float64(bg.bw), rng.Float64()*float64(bg.bh)
		level := rng.Float64() * 255
		shade := (rng.Float64()*2 - 1) * 20
		var cast [3]float64
		for c := range cast {
			cast[c] = (rng.Float64()*2 - 1) * 20
		}
		ca, sa := math.Cos(ang), math.Sin(ang)
		r := math.Hypot(hw, hh)
		for y := max(0, int(cy-r)); y < min(bg.bh, int(cy+r)+1); y++ {
			for x := max(0, int(cx-r)); x < min(bg.bw, int(cx+r)+1); x++ {
				dx, dy := float64(x)-cx, float64(y)-cy
				u, v := (dx*ca+dy*sa)/hw, (-dx*sa+dy*ca)/hh
				inside := math.Abs(u) <= 1 && math.Abs(v) <= 1
				if kind == 2 {
					inside = u*u+v*v <= 1
				}
				if !inside {
					continue
				}
				for c := 0; c < 3; c++ {
					bg.base[(y*bg.bw+x)*3+c] = float32(clamp255(level + shade*u + cast[c]))
				}
			}
		}
	}
}

// fractal fills t (w x h) with 1/f noise in [0,1]: octaves of smoothly
// interpolated random grids, each half the size and amplitude of the last.
func fractal(rng *rand.Rand, t []float64, w, h int) {
	amp := 1.0
	cell := float64(max(w, h)) / 2
	for o := 0; o < 6 && cell >= 2; o++ {
		gw, gh := int(float64(w)/cell)+2, int(float64(h)/cell)+2
		g := make([]float64, gw*gh)
		for i := range g {
			g[i] = rng.Float64()*2 - 1
		}
		for y := 0; y < h; y++ {
			fy := float64(y) / cell
			y0 := int(fy)
			sy := smooth(fy - float64(y0))
			for x := 0; x < w; x++ {
				fx := float64(x) / cell
				x0 := int(fx)
				sx := smooth(fx - float64(x0))
				a := g[y0*gw+x0]*(1-sx) + g[y0*gw+x0+1]*sx
				b := g[(y0+1)*gw+x0]*(1-sx) + g[(y0+1)*gw+x0+1]*sx
				t[y*w+x] += amp * (a*(1-sy) + b*sy)
			}
		}
		amp *= 0.55
		cell /= 2
	}
	normalise01(t)
}

func smooth(f float64) float64 { return f * f * (3 - 2*f) }

// deadLeaves fills t with overlapping discs and rectangles of power-law
// sizes (the "dead leaves" model, whose statistics resemble a natural
// image's), each with its own level, and returns a colour offset per pixel.
func deadLeaves(rng *rand.Rand, t []float64, w, h int) [][3]float64 {
	tint := make([][3]float64, w*h)
	id := make([]int32, w*h)
	for i := range id {
		id[i] = -1
	}
	type leaf struct {
		v    float64
		tint [3]float64
	}
	var leaves []leaf
	rmin, rmax := 3.0, float64(max(w, h))/4
	// Leaves are drawn front to back: a pixel keeps the first leaf that covers it.
	left := w * h
	for n := 0; n < 4000 && left > w*h/200; n++ {
		r := rmin * math.Pow(rmax/rmin, math.Pow(rng.Float64(), 1.6)) // more small leaves than big ones
		cx, cy := rng.Float64()*float64(w), rng.Float64()*float64(h)
		rect := rng.IntN(3) == 0
		k := int32(len(leaves))
		l := leaf{v: rng.Float64()}
		for c := range l.tint {
			l.tint[c] = (rng.Float64()*2 - 1) * 20
		}
		leaves = append(leaves, l)
		x0, x1 := max(0, int(cx-r)), min(w-1, int(cx+r))
		y0, y1 := max(0, int(cy-r)), min(h-1, int(cy+r))
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				if id[y*w+x] >= 0 {
					continue
				}
				dx, dy := float64(x)-cx, float64(y)-cy
				if !rect && dx*dx+dy*dy > r*r {
					continue
				}
				id[y*w+x] = k
				left--
			}
		}
	}
	for i, k := range id {
		if k < 0 {
			t[i] = 0.5
			continue
		}
		t[i] = leaves[k].v
		tint[i] = leaves[k].tint
	}
	// A slight blur: edges of a real photograph are not one pixel sharp.
	boxBlur(t, w, h)
	return tint
}

// boxBlur blurs t with a 3x3 box, in place.
func boxBlur(t []float64, w, h int) {
	src := append([]float64(nil), t...)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float64
			n := 0
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := x+dx, y+dy
					if xx >= 0 && xx < w && yy >= 0 && yy < h {
						s += src[yy*w+xx]
						n++
					}
				}
			}
			t[y*w+x] = s / float64(n)
		}
	}
}

func normalise01(t []float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range t {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if hi-lo < 1e-12 {
		return
	}
	for i, v := range t {
		t[i] = (v - lo) / (hi - lo)
	}
}

// render fills buf with the background at this frame's pan offset, plus
// sensor noise that changes every frame.
func (bg *background) render(buf []byte, w, h int) {
	bg.frame++
	bg.px += bg.vx
	bg.py += bg.vy
	if bg.px < 0 || bg.px > float64(2*bg.m) {
		bg.vx = -bg.vx
		bg.px = math.Max(0, math.Min(float64(2*bg.m), bg.px))
	}
	if bg.py < 0 || bg.py > float64(2*bg.m) {
		bg.vy = -bg.vy
		bg.py = math.Max(0, math.Min(float64(2*bg.m), bg.py))
	}
	ox, oy := int(bg.px), int(bg.py)
	shift := (bg.frame * 7919) % 997
	for y := 0; y < h; y++ {
		src := bg.base[((y+oy)*bg.bw+ox)*3:]
		nf := bg.noiseField[y*w+shift:]
		for x := 0; x < w; x++ {
			nz := bg.noise * float64(nf[x])
			p := buf[(y*w+x)*3:]
			for c := 0; c < 3; c++ {
				p[c] = byte(clamp255(float64(src[x*3+c]) + nz))
			}
		}
	}
}
