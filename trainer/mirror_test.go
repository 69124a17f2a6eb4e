package trainer

import (
	"context"
	"math"
	"slices"
	"testing"

	"fmnist/archs"
)

// Mirror flips each image left to right; PredictMirrored gives the same
// answer for an image and its mirror image, and its logits' softmax is the
// mean of the two passes' softmaxes.
func TestPredictMirrored(t *testing.T) {
	_, test, err := Load(DefaultDataDir(), 1, 300)
	if err != nil {
		t.Fatal(err) // scripts/setup.sh installs the data set
	}
	imgs := test.Images[:test.N*Pixels]
	mir := Mirror(imgs)
	for _, px := range [][2]int{{0, 0}, {5, 3}, {27, 27}, {14, 20}} {
		r, c := px[0], px[1]
		if got, want := mir[7*Pixels+r*ImageSize+c], imgs[7*Pixels+r*ImageSize+ImageSize-1-c]; got != want {
			t.Fatalf("mirror pixel (%d,%d) = %v, want %v", r, c, got, want)
		}
	}
	if slices.Equal(mir[7*Pixels:8*Pixels], imgs[7*Pixels:8*Pixels]) {
		t.Fatal("the mirror image of test image 7 is the image itself")
	}
	for i, v := range Mirror(mir) {
		if v != imgs[i] {
			t.Fatalf("mirroring twice changed value %d", i)
		}
	}
	m, err := archs.New("CNN2", 3)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := m.Spec.NumClasses()
	collect := func(f func(context.Context, *archs.Model, []float32, int, func(int, []float32)) error, x []float32) []float32 {
		out := make([]float32, test.N*k)
		if err := f(ctx, m, x, test.N, func(i int, l []float32) { copy(out[i*k:], l) }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := collect(PredictMirrored, imgs), collect(PredictMirrored, mir)
	plain, flipped := collect(Predict, imgs), collect(Predict, mir)
	differ := 0
	for i := 0; i < test.N; i++ {
		for j := 0; j < k; j++ {
			if a[i*k+j] != b[i*k+j] {
				t.Fatalf("image %d: mirrored prediction %v of the image, %v of its mirror", i, a[i*k:(i+1)*k], b[i*k:(i+1)*k])
			}
		}
		p, q := softmax64(plain[i*k:(i+1)*k]), softmax64(flipped[i*k:(i+1)*k])
		got := softmax64(a[i*k : (i+1)*k])
		for j := range got {
			if want := (p[j] + q[j]) / 2; math.Abs(got[j]-want) > 1e-5 {
				t.Fatalf("image %d class %d: softmax %v, want the mean %v", i, j, got[j], want)
			}
		}
		if Argmax(plain[i*k:(i+1)*k]) != Argmax(flipped[i*k:(i+1)*k]) {
			differ++
		}
	}
	if differ == 0 {
		t.Errorf("an untrained CNN2 answers the same for all %d images and their mirrors: the mirror pass is not a different input", test.N)
	}
}

func softmax64(l []float32) []float64 {
	out := make([]float64, len(l))
	logSoftmax(l, out)
	for i, v := range out {
		out[i] = math.Exp(v)
	}
	return out
}

// The mean of two probabilities, taken in log space, stays finite where one
// of them underflows in float64.
func TestLogMeanExp(t *testing.T) {
	for _, c := range []struct{ a, b, want float64 }{
		{0, 0, 0},
		{math.Log(0.2), math.Log(0.6), math.Log(0.4)},
		{-800, -2000, -800 - math.Ln2},
		{-2000, -800, -800 - math.Ln2},
	} {
		if got := logMeanExp(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("logMeanExp(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
