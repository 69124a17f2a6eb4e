package results

import "strings"

// SeedRef is what the seed experiment reported for one model.
type SeedRef struct {
	Model        string
	Params       int
	TotalMinutes float64
	SecPerEpoch  float64
	Acc          float64 // test accuracy as a fraction, 0.9204 for 92.04%
}

var seedRefs = []SeedRef{
	{Model: "CNN2", Params: 211950, TotalMinutes: 16.57, SecPerEpoch: 28.07, Acc: 0.9204},
	{Model: "CNN2_dropout", Params: 440910, TotalMinutes: 50.37, SecPerEpoch: 60.44, Acc: 0.9237},
	{Model: "CNN3_dropout", Params: 207758, TotalMinutes: 57.28, SecPerEpoch: 68.74, Acc: 0.9275},
	{Model: "all_cnn", Params: 1248202, TotalMinutes: 374.76, SecPerEpoch: 562.14, Acc: 0.9236},
	{Model: "reduced_all_cnn", Params: 139634, TotalMinutes: 62.78, SecPerEpoch: 94.17, Acc: 0.9254},
	{Model: "model5", Params: 192218, TotalMinutes: 100.63, SecPerEpoch: 150.95, Acc: 0.9324},
}

// SeedReference returns the seed experiment's figures for model. Names match
// exactly first, then ignoring case.
func SeedReference(model string) (SeedRef, bool) {
	for _, s := range seedRefs {
		if s.Model == model {
			return s, true
		}
	}
	for _, s := range seedRefs {
		if strings.EqualFold(s.Model, model) {
			return s, true
		}
	}
	return SeedRef{}, false
}
