package results

import "testing"

func TestSeedReference(t *testing.T) {
	cases := []SeedRef{
		{"CNN2", 211950, 16.57, 28.07, 0.9204},
		{"CNN2_dropout", 440910, 50.37, 60.44, 0.9237},
		{"CNN3_dropout", 207758, 57.28, 68.74, 0.9275},
		{"all_cnn", 1248202, 374.76, 562.14, 0.9236},
		{"reduced_all_cnn", 139634, 62.78, 94.17, 0.9254},
		{"model5", 192218, 100.63, 150.95, 0.9324},
	}
	for _, want := range cases {
		got, ok := SeedReference(want.Model)
		if !ok || got != want {
			t.Errorf("SeedReference(%q) = %+v, %v; want %+v", want.Model, got, ok, want)
		}
	}
	if got, ok := SeedReference("cnn2"); !ok || got.Model != "CNN2" {
		t.Errorf("case-insensitive lookup: %+v %v", got, ok)
	}
	if _, ok := SeedReference("resnet50"); ok {
		t.Error("unknown model has a seed reference")
	}
}
