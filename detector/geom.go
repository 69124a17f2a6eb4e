package detector

import (
	"image"
	"math"
	"sort"
)

// Seed filter constants: the seed's demo kept proposals of at least 2000 px
// on its camera frames (640x480 assumed, a webcam's default), with w/h and
// h/w both <= 1.2, and merged pairs whose mean |dx, dy, dw, dh| < 15.
const (
	SeedMinSize   = 2000
	SeedFrameArea = 640 * 480
	SeedMaxAspect = 1.2
	SeedMergeDist = 15
)

// MinSizeFor scales the seed's 2000 px minimum to a frame of w x h pixels in
// proportion to its area, so that a proposal must cover the same fraction of
// the frame (0.65%) as in the seed: 500 px at 320x240.
func MinSizeFor(w, h int) int {
	return int(math.Round(SeedMinSize * float64(w*h) / SeedFrameArea))
}

// IoU is the intersection over union of two rectangles (0 when either is empty).
func IoU(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ia := float64(in.Dx() * in.Dy())
	u := float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - ia
	if u <= 0 {
		return 0
	}
	return ia / u
}

// FilterSeed keeps the proposals the seed kept: not a duplicate, area >=
// minSize, and w/h and h/w both <= maxAspect. Order is kept.
func FilterSeed(rects []image.Rectangle, minSize int, maxAspect float64) []image.Rectangle {
	seen := map[image.Rectangle]bool{}
	var out []image.Rectangle
	for _, r := range rects {
		if seen[r] || r.Empty() {
			continue
		}
		seen[r] = true
		w, h := float64(r.Dx()), float64(r.Dy())
		if r.Dx()*r.Dy() < minSize || w/h > maxAspect || h/w > maxAspect {
			continue
		}
		out = append(out, r)
	}
	return out
}

// MergeSeed repeats the seed's merge until nothing changes: two boxes whose
// mean |dx, dy, dw, dh| (as x, y, w, h) is below dist are replaced by their
// element-wise maximum (max x, max y, max w, max h), clipped to bounds.
func MergeSeed(rects []image.Rectangle, dist float64, bounds image.Rectangle) []image.Rectangle {
	type xywh [4]int
	bs := make([]xywh, len(rects))
	for i, r := range rects {
		bs[i] = xywh{r.Min.X, r.Min.Y, r.Dx(), r.Dy()}
	}
	for changed := true; changed; {
		changed = false
	outer:
		for i := 0; i < len(bs); i++ {
			for j := i + 1; j < len(bs); j++ {
				a, b := bs[i], bs[j]
				d := 0.0
				for k := range 4 {
					d += math.Abs(float64(a[k] - b[k]))
				}
				if d/4 < dist {
					var m xywh
					for k := range 4 {
						m[k] = max(a[k], b[k])
					}
					bs[i] = m
					bs = append(bs[:j], bs[j+1:]...)
					changed = true
					break outer
				}
			}
		}
	}
	var out []image.Rectangle
	for _, b := range bs {
		r := image.Rect(b[0], b[1], b[0]+b[2], b[1]+b[3]).Intersect(bounds)
		if !r.Empty() {
			out = append(out, r)
		}
	}
	return out
}

// NMS is greedy non-maximum suppression: boxes in order of decreasing score,
// each kept unless it overlaps an already kept box by IoU > iouThresh. It
// returns the indices of the kept boxes, best first. Ties keep input order.
func NMS(boxes []image.Rectangle, scores []float64, iouThresh float64) []int {
	return NMSNested(boxes, scores, iouThresh, 2)
}

// NMSNested is NMS that also drops a box when more than nestThresh of the
// smaller of it and a kept box lies inside the other (a part of an item
// inside the item's box, or the item inside a box around it): nested boxes
// have a low IoU and plain NMS keeps them. nestThresh > 1 turns this off.
func NMSNested(boxes []image.Rectangle, scores []float64, iouThresh, nestThresh float64) []int {
	idx := make([]int, len(boxes))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	var keep []int
	for _, i := range idx {
		ok := true
		for _, k := range keep {
			if IoU(boxes[i], boxes[k]) > iouThresh || nested(boxes[i], boxes[k]) > nestThresh {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, i)
		}
	}
	return keep
}

// scaleRect maps r from a w0 x h0 image to a w1 x h1 one.
func scaleRect(r image.Rectangle, w0, h0, w1, h1 int) image.Rectangle {
	sx, sy := float64(w1)/float64(w0), float64(h1)/float64(h0)
	return image.Rect(
		int(math.Floor(float64(r.Min.X)*sx)), int(math.Floor(float64(r.Min.Y)*sy)),
		int(math.Ceil(float64(r.Max.X)*sx)), int(math.Ceil(float64(r.Max.Y)*sy)),
	).Intersect(image.Rect(0, 0, w1, h1))
}

// nested is the area of a ∩ b over the smaller area of a and b.
func nested(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	return float64(in.Dx()*in.Dy()) / float64(min(a.Dx()*a.Dy(), b.Dx()*b.Dy()))
}
