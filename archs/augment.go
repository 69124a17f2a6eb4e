package archs

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Augment alters a training image as it is batched: light changes that
// keep its label (a few pixels' shift, a mirror image, an erased patch).
type Augment struct {
	Shift int     `json:"shift,omitempty"` // up to this many pixels each way, the edge filled with 0
	Flip  bool    `json:"flip,omitempty"`  // left-right mirror with probability 1/2
	Erase float64 `json:"erase,omitempty"` // probability of erasing one patch (2-20% of the image, aspect 0.3-3.3) with uniform noise
}

func (a Augment) String() string {
	var x []string
	if a.Shift > 0 {
		x = append(x, fmt.Sprintf("shifts of up to %d px", a.Shift))
	}
	if a.Flip {
		x = append(x, "flips")
	}
	if a.Erase > 0 {
		x = append(x, fmt.Sprintf("erasing %g", a.Erase))
	}
	return strings.Join(x, ", ")
}

// Apply alters img (side x side, row-major) in place, drawing from rng;
// tmp is scratch of at least side*side values.
func (a Augment) Apply(img, tmp []float32, side int, rng *rand.Rand) {
	n := side * side
	if a.Shift > 0 || a.Flip {
		dx, dy := 0, 0
		if a.Shift > 0 {
			dx, dy = rng.IntN(2*a.Shift+1)-a.Shift, rng.IntN(2*a.Shift+1)-a.Shift
		}
		flip := a.Flip && rng.IntN(2) == 1
		if dx != 0 || dy != 0 || flip {
			t := tmp[:n]
			copy(t, img[:n])
			for y := 0; y < side; y++ {
				sy := y - dy
				row := img[y*side : (y+1)*side]
				if sy < 0 || sy >= side {
					clear(row)
					continue
				}
				src := t[sy*side : (sy+1)*side]
				for x := range row {
					sx := x - dx
					if flip {
						sx = side - 1 - x - dx
					}
					if sx < 0 || sx >= side {
						row[x] = 0
					} else {
						row[x] = src[sx]
					}
				}
			}
		}
	}
	if a.Erase > 0 && rng.Float64() < a.Erase {
		for range 10 { // a patch that fits, as random erasing draws it
			area := (0.02 + 0.18*rng.Float64()) * float64(n)
			aspect := 0.3 * math.Pow(3.3/0.3, rng.Float64()) // log-uniform in [0.3, 3.3]
			h, w := int(math.Sqrt(area*aspect)+0.5), int(math.Sqrt(area/aspect)+0.5)
			if h < 1 || w < 1 || h >= side || w >= side {
				continue
			}
			y0, x0 := rng.IntN(side-h+1), rng.IntN(side-w+1)
			for y := y0; y < y0+h; y++ {
				for x := x0; x < x0+w; x++ {
					img[y*side+x] = rng.Float32()
				}
			}
			break
		}
	}
}
