package trainer

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"fmnist/archs"
)

// key identifies an image by its pixels and label.
func imageKey(d *Dataset, i int) string {
	var b strings.Builder
	img := make([]float32, Pixels)
	d.Image(i, img)
	for _, v := range img {
		b.WriteByte(byte(v * 255))
	}
	b.WriteByte(d.Labels[i])
	return b.String()
}

func TestSplitValIsDisjointAndFixedBySeed(t *testing.T) {
	full, _ := loadSlice(t, 3000, 10)
	train, val, err := SplitVal(full, 500, 4)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 2500 || val.N != 500 || train.values() != 2500*Pixels || len(val.Labels) != 500 {
		t.Fatalf("sizes: train %d (%d values), val %d (%d labels)", train.N, train.values(), val.N, len(val.Labels))
	}
	// Every image is in exactly one of the two (as often as in the full set).
	count := map[string]int{}
	for i := range full.N {
		count[imageKey(full, i)]++
	}
	for _, d := range []*Dataset{train, val} {
		for i := range d.N {
			k := imageKey(d, i)
			if count[k] == 0 {
				t.Fatalf("image %d of a split is not in the data set, or is in both parts", i)
			}
			count[k]--
		}
	}
	for _, c := range count {
		if c != 0 {
			t.Fatal("an image of the data set is in neither part")
		}
	}
	// The same seed holds out the same images; another seed others.
	_, again, _ := SplitVal(full, 500, 4)
	if !reflect.DeepEqual(val, again) {
		t.Error("the same seed held out different images")
	}
	_, other, _ := SplitVal(full, 500, 5)
	if reflect.DeepEqual(val.Labels, other.Labels) && slices.Equal(val.Floats(), other.Floats()) {
		t.Error("seeds 4 and 5 held out the same images")
	}
	// All classes are there, roughly in proportion (500 of 3000 at random).
	var per [NumClasses]int
	for _, l := range val.Labels {
		per[l]++
	}
	for c, n := range per {
		if n < 20 {
			t.Errorf("class %d: %d validation images of 500", c, n)
		}
	}
	for _, n := range []int{3000, 4000} {
		if _, _, err := SplitVal(full, n, 1); err == nil || !strings.Contains(err.Error(), "none of the 3000") {
			t.Errorf("SplitVal(%d of 3000): %v, want an error", n, err)
		}
	}
}

// A run with a validation set trains on the rest, evaluates both, and says
// so in its events; resuming it checks the same split.
func TestTrainWithValidationSet(t *testing.T) {
	full, te := loadSlice(t, 2400, 500)
	var started RunStarted
	var eps []EpochStats
	var last *Checkpoint
	status, err := Train(t.Context(), full, te, Job{ID: "v", Model: "CNN2", Epochs: 2, Seed: 3, Val: 400}, func(e Event) {
		switch e := e.(type) {
		case RunStarted:
			started = e
		case EpochEnd:
			eps = append(eps, e.Stats)
			last = e.Checkpoint
		}
	})
	if err != nil || status != StatusDone {
		t.Fatalf("status %s, err %v", status, err)
	}
	if started.TrainSize != 2000 || started.ValSize != 400 || started.TestSize != 500 {
		t.Fatalf("started with train %d, val %d, test %d; want 2000, 400, 500", started.TrainSize, started.ValSize, started.TestSize)
	}
	for _, e := range eps {
		if e.ValAcc <= 0.2 || e.ValLoss <= 0 || e.TestAcc <= 0.2 {
			t.Errorf("epoch %d: val %.3f (loss %.3f), test %.3f", e.Epoch, e.ValAcc, e.ValLoss, e.TestAcc)
		}
	}
	if last.ValSize != 400 || last.TrainSize != 2000 {
		t.Fatalf("checkpoint sizes train %d val %d", last.TrainSize, last.ValSize)
	}
	if err := CheckResume(last, Job{ID: "v", Model: "CNN2", Seed: 3}, full, te); err != nil {
		t.Errorf("resume check on the full training set: %v", err)
	}
	other, _ := loadSlice(t, 2401, 500)
	if err := CheckResume(last, Job{ID: "v", Model: "CNN2", Seed: 3}, other, te); err == nil {
		t.Error("resume check passed on a different training set")
	}
	if _, err := Train(t.Context(), full, te, Job{ID: "w", Model: "CNN2", Epochs: 1, Seed: 3, Val: 2400}, func(Event) {}); err == nil {
		t.Error("a validation set as large as the training set was accepted")
	}
}

// The improved recipe's extras reach the run: its record names it, and
// training with it differs from the seed recipe's (same seed).
func TestImprovedRecipeTrains(t *testing.T) {
	tr, te := loadSlice(t, 1024, 300)
	run := func(recipe string) ([]EpochStats, archs.Recipe) {
		var rc archs.Recipe
		var eps []EpochStats
		status, err := Train(t.Context(), tr, te, Job{ID: "i", Model: "CNN2", Epochs: 2, Seed: 1, Recipe: recipe}, func(e Event) {
			switch e := e.(type) {
			case RunStarted:
				rc = e.Recipe
			case EpochEnd:
				eps = append(eps, e.Stats)
			}
		})
		if err != nil || status != StatusDone {
			t.Fatalf("%s: status %s, err %v", recipe, status, err)
		}
		return eps, rc
	}
	seedEps, seedRc := run("seed")
	impEps, impRc := run("improved")
	if seedRc.Kind() != "seed" || impRc.Kind() != "improved" || impRc.Augment == nil || impRc.LabelSmoothing == 0 || impRc.Epochs() != 2 {
		t.Fatalf("recipes: %+v / %+v", seedRc, impRc)
	}
	if seedEps[1].TrainLoss == impEps[1].TrainLoss {
		t.Error("the improved recipe trained exactly as the seed's")
	}
	// It learns: in a 2-epoch budget the warm-up takes the first epoch and
	// the cosine the second, so well above chance (0.1) is what to expect
	// (0.30 with the seed recipe's rates, 0.297 at twice the peak rate).
	if impEps[1].TestAcc < 0.2 || impEps[1].TrainLoss >= impEps[0].TrainLoss {
		t.Errorf("improved recipe: test accuracy %.3f after 2 short epochs, train loss %.3f -> %.3f", impEps[1].TestAcc, impEps[0].TrainLoss, impEps[1].TrainLoss)
	}
	if _, err := Train(t.Context(), tr, te, Job{ID: "x", Model: "CNN2", Epochs: 1, Recipe: "best"}, func(Event) {}); err == nil {
		t.Error("an unknown recipe was accepted")
	}
}

// The training images are kept as bytes; read as floats, hashed, or split,
// they are the same as a float32 copy of them.
func TestByteStorageMatchesFloats(t *testing.T) {
	train, _ := loadSlice(t, 300, 10)
	if train.Pix == nil || train.Images != nil {
		t.Fatal("the training images are not kept as bytes")
	}
	f := &Dataset{Images: train.Floats(), Labels: train.Labels, N: train.N}
	if DataHash(f) != DataHash(train) {
		t.Error("the fingerprint depends on the storage")
	}
	img := make([]float32, Pixels)
	batch := make([]float32, 3*Pixels)
	train.Fill(7, 10, batch)
	for i := 7; i < 10; i++ {
		train.Image(i, img)
		if !slices.Equal(img, f.Images[i*Pixels:(i+1)*Pixels]) || !slices.Equal(batch[(i-7)*Pixels:(i-6)*Pixels], img) {
			t.Fatalf("image %d differs between bytes and floats", i)
		}
	}
	a, av, _ := SplitVal(train, 50, 3)
	b, bv, _ := SplitVal(f, 50, 3)
	if a.Pix == nil || !slices.Equal(a.Floats(), b.Images) || !slices.Equal(av.Floats(), bv.Images) || !slices.Equal(a.Labels, b.Labels) {
		t.Error("splitting the bytes differs from splitting the floats")
	}
}
