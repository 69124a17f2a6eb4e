package archs

import "testing"

// CNN2 by hand: conv2d_1 2*9*32*784, conv2d_2 2*288*32*196, dense_1
// 2*1568*128, dense_2 2*128*10; every layer reads a computed tensor (the
// first convolution reads BatchNorm's output), so training is three times.
func TestFLOPsCountsMatrixProducts(t *testing.T) {
	fwd, train, err := FLOPs("CNN2")
	if err != nil {
		t.Fatal(err)
	}
	want := float64(2*9*32*784 + 2*288*32*196 + 2*1568*128 + 2*128*10)
	if fwd != want || train != 3*want {
		t.Errorf("CNN2: forward %.0f, train %.0f; want %.0f and %.0f", fwd, train, want, 3*want)
	}
	// model5: its first convolution reads the image (no input gradient),
	// and its per-position dense runs at each of 10x10 positions.
	fwd, train, err = FLOPs("model5")
	if err != nil {
		t.Fatal(err)
	}
	c1 := float64(2 * 9 * 32 * 26 * 26)
	want = c1 + 2*288*64*24*24 + 2*576*64*10*10 + 2*64*128*10*10 + 2*12800*10
	if fwd != want || train != 3*want-c1 {
		t.Errorf("model5: forward %.0f, train %.0f; want %.0f and %.0f", fwd, train, want, 3*want-c1)
	}
	if _, _, err := FLOPs("CNN9"); err == nil {
		t.Error("an unknown model has no FLOPs")
	}
}
