package detector

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestPhotoBackgrounds(t *testing.T) {
	train, val, err := LoadPhotos(DefaultPhotoDir)
	if err != nil {
		t.Fatalf("OpenCV's sample photos (opencv-doc, which scripts/setup.sh installs): %v", err)
	}
	if len(train)+len(val) != len(PhotoNames) || len(val) != len(PhotoNames)/4 {
		t.Fatalf("%d training and %d validation photos of %d", len(train), len(val), len(PhotoNames))
	}
	seen := map[string]bool{}
	for _, p := range append(append([]*Photo(nil), train...), val...) {
		if seen[p.Name] {
			t.Errorf("photo %s is in both sets", p.Name)
		}
		seen[p.Name] = true
		// Stills only: never a frame of a video (tree.avi is what the
		// detector is measured on).
		if !strings.HasSuffix(p.Name, ".jpg") && !strings.HasSuffix(p.Name, ".png") || strings.Contains(p.Name, "tree") {
			t.Errorf("photo %s is not a still picture", p.Name)
		}
		if p.W < 200 || p.H < 150 || len(p.BGR) != p.W*p.H*3 {
			t.Errorf("photo %s: %dx%d, %d bytes", p.Name, p.W, p.H, len(p.BGR))
		}
	}

	// About 3 backgrounds in 10 are photos when there are photos, none
	// otherwise; a photo background keeps the chosen levels.
	rng := rand.New(rand.NewPCG(1, 2))
	photo := 0
	for i := 0; i < 300; i++ {
		bg, light := newBackground(rng, 160, 120, train)
		if bg.kind != bgPhoto {
			continue
		}
		photo++
		lo, hi := float32(255), float32(0)
		for _, v := range bg.base {
			lo, hi = min(lo, v), max(hi, v)
		}
		if hi-lo < 60 || light && hi < 200 || !light && lo > 60 {
			t.Errorf("photo background (light %v) has levels %.0f-%.0f", light, lo, hi)
		}
	}
	if photo < 60 || photo > 120 {
		t.Errorf("%d photo backgrounds in 300, want about 90", photo)
	}
	for i := 0; i < 100; i++ {
		if bg, _ := newBackground(rng, 160, 120, nil); bg.kind == bgPhoto {
			t.Fatal("a photo background without photos")
		}
	}

	// Scenes with photos are deterministic per seed.
	tf := trainFile(t)
	sp, err := SplitOf(tf, SplitTrain, "training file")
	if err != nil {
		t.Fatal(err)
	}
	render := func() [][]byte {
		sc := sp.SynthConfig(20, 160, 120, 9)
		sc.SceneFrames = 1
		sc.Photos = train
		var frames [][]byte
		if _, err := Synthesize(sc, func(_ int, b []byte) error {
			frames = append(frames, append([]byte(nil), b...))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return frames
	}
	a, b := render(), render()
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("frame %d differs between two renderings with the same seed and photos", i)
		}
	}
}
