package archs

import "testing"

func TestParamCountsMatchKeras(t *testing.T) {
	want := map[string]int{
		"CNN2": 211950, "CNN2_dropout": 440910, "CNN3_dropout": 207758,
		"reduced_all_cnn": 139634, "all_cnn": 1248202, "model5": 192218,
	}
	for _, s := range Specs() {
		m, err := New(s.Name, 1)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if got := m.ParamCount(); got != want[s.Name] {
			t.Errorf("%s: %d parameters, want %d", s.Name, got, want[s.Name])
			for _, l := range m.Layers {
				t.Log(l)
			}
		}
	}
	if len(Specs()) != len(want) {
		t.Errorf("%d specs, want %d", len(Specs()), len(want))
	}
}
