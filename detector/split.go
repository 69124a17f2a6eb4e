package detector

import (
	"fmt"

	"fmnist/trainer"
)

// Split is the part of the data set a synthetic scene draws its items from.
type Split struct {
	Name   string
	Images []float32 // n x 784
	Labels []uint8
	N      int
	Offset int    // index of the first image in its file
	Source string // the file, for the truth's source
}

// LoadSplit loads a split's images from the Fashion-MNIST directory dir
// (the default one when empty): train and val from the training file, test
// from the test file.
func LoadSplit(dir, name string) (*Split, error) {
	if _, _, err := SplitRange(name, 60000); err != nil {
		return nil, err
	}
	if dir == "" {
		dir = trainer.DefaultDataDir()
	}
	var d *trainer.Dataset
	var file string
	if name == SplitTest {
		_, test, err := trainer.Load(dir, 1, 0)
		if err != nil {
			return nil, err
		}
		d, file = test, "test file (t10k)"
	} else {
		train, _, err := trainer.Load(dir, 0, 1)
		if err != nil {
			return nil, err
		}
		d, file = train, "training file"
	}
	return SplitOf(d, name, fmt.Sprintf("Fashion-MNIST %s, %s", file, dir))
}

// SplitOf cuts split name out of d, the whole file it comes from.
func SplitOf(d *trainer.Dataset, name, source string) (*Split, error) {
	lo, hi, err := SplitRange(name, d.N)
	if err != nil {
		return nil, err
	}
	if hi <= lo {
		return nil, fmt.Errorf("split %s of %d images is empty", name, d.N)
	}
	return &Split{Name: name, Images: d.Slice(lo, hi).Floats(), Labels: d.Labels[lo:hi], N: hi - lo,
		Offset: lo, Source: fmt.Sprintf("%s, images %d-%d (%s split)", source, lo, hi-1, name)}, nil
}

// SynthConfig is a synthetic video of this split's items.
func (s *Split) SynthConfig(frames, w, h int, seed int64) SynthConfig {
	return SynthConfig{Frames: frames, W: w, H: h, Seed: seed, Images: s.Images, Labels: s.Labels, N: s.N,
		Offset: s.Offset, Split: s.Name, Source: s.Source, Names: trainer.ClassNames[:]}
}
