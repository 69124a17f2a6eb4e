package trainer

import (
	"testing"

	"fmnist/archs"
)

// PlannedEpochs is the epoch count Train reckons: the recipe's own, Epochs
// (model5's phases scaled), a resumed run's recipe's; 0 for an unknown
// model or recipe.
func TestJobPlannedEpochs(t *testing.T) {
	cnn2, _ := archs.Lookup("CNN2")
	for _, c := range []struct {
		job  Job
		want int
	}{
		{Job{Model: "CNN2"}, cnn2.Recipe.Epochs()},
		{Job{Model: "cnn2", Epochs: 3}, 3},
		{Job{Model: "model5", Epochs: 8}, 8},
		{Job{Model: "model5", Epochs: 1}, 1},
		{Job{Model: "CNN2", Epochs: 3, Resume: &Checkpoint{Recipe: archs.Recipe{Phases: []archs.Phase{{Epochs: 7}}}}}, 7},
		{Job{Model: "CNN9"}, 0},
		{Job{Model: "CNN2", Recipe: "nonsense"}, 0},
	} {
		if got := c.job.PlannedEpochs(); got != c.want {
			t.Errorf("%+v: %d planned epochs, want %d", c.job, got, c.want)
		}
	}
}
