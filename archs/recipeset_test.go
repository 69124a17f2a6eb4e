package archs

import (
	"strings"
	"testing"
)

func TestRecipeWithSet(t *testing.T) {
	cnn2, _ := Lookup("CNN2")
	m5, _ := Lookup("model5")
	set, err := ParseSet(" lr=4e-3, batch=128,wd=0 ,LS=0.05,warmup=2,flip=false,shift=1,erase=0.25")
	if err != nil {
		t.Fatal(err)
	}
	r, err := cnn2.RecipeFor(RecipeImproved, set)
	if err != nil {
		t.Fatal(err)
	}
	p := r.Phases[0]
	if p.LR != 0.004 || p.Batch != 128 || r.WeightDecay != 0 || r.LabelSmoothing != 0.05 || r.WarmupEpochs != 2 || r.Schedule != "cosine" ||
		r.Augment == nil || *r.Augment != (Augment{Shift: 1, Erase: 0.25}) || r.Epochs() != 35 {
		t.Errorf("changed recipe %+v, augment %+v", r, r.Augment)
	}
	if got := strings.Join(r.Set, ","); got != "lr=0.004,batch=128,wd=0,ls=0.05,warmup=2,flip=false,shift=1,erase=0.25" {
		t.Errorf("recorded changes %q", got)
	}
	if l := r.Label(); l != "improved+lr0.004+batch128+wd0+ls0.05+warmup2+noflip+shift1+erase0.25" {
		t.Errorf("label %q", l)
	}
	// The spec's own recipe is untouched, and a changed run of today's
	// recipe is current: its label names the changes, not "old".
	if imp, _ := cnn2.RecipeNamed(RecipeImproved); imp.Phases[0].LR != 0.008 || !imp.Augment.Flip || imp.Set != nil {
		t.Errorf("RecipeFor changed the spec's recipe: %+v", imp)
	}
	if ch := cnn2.Changes(r.WithEpochs(2)); ch != nil {
		t.Errorf("a changed run of today's recipe has changes %v", ch)
	}
	// A changed run of an older recipe names both.
	old := r
	old.Phases = []Phase{r.Phases[0]}
	old.Phases[0].Epochs = 35
	old.LabelSmoothing = 0.1 // differs from what ls=0.05 gives today
	if ch := strings.Join(cnn2.Changes(old), " "); ch != "ls0.1" {
		t.Errorf("changed run of an older recipe: changes %q", ch)
	}
	// A constant rate: the schedule's token names it.
	if r, err := cnn2.RecipeFor(RecipeImproved, []string{"schedule=const"}); err != nil || r.Schedule != "" || r.Label() != "improved+const" {
		t.Errorf("schedule=const: %q, %q, %v", r.Schedule, r.Label(), err)
	}
	// Flips off leave no augmentation at all, as the seed recipe has none.
	if r, err := cnn2.RecipeFor(RecipeImproved, []string{"flip=0"}); err != nil || r.Augment != nil || r.Label() != "improved+noflip" {
		t.Errorf("flip=0: %+v, %v", r.Augment, err)
	}
	// Values the recipe has already change nothing: the run is the
	// recipe's, and only the real changes name it.
	rac, _ := Lookup("reduced_all_cnn")
	if r, err := rac.RecipeFor(RecipeImproved, []string{"lr=0.03", "ls=0", "wd=0"}); err != nil || len(r.Set) != 0 || r.Label() != "improved" {
		t.Errorf("reduced_all_cnn improved with its own values: set %q, label %q, %v", r.Set, r.Label(), err)
	}
	if r, err := rac.RecipeFor(RecipeImproved, []string{"lr=0.03", "ls=0.1"}); err != nil || r.LabelSmoothing != 0.1 || r.Label() != "improved+ls0.1" {
		t.Errorf("reduced_all_cnn improved with ls=0.1: set %q, label %q, %v", r.Set, r.Label(), err)
	}
	// A later phase by its number; model5's seed recipe has two.
	if r, err := m5.RecipeFor(RecipeSeed, []string{"p2lr=0.002", "p2batch=512"}); err != nil || r.Phases[1].LR != 0.002 || r.Phases[1].Batch != 512 || r.Phases[0].LR != 0.01 {
		t.Errorf("model5 p2: %+v, %v", r.Phases, err)
	}
	for _, c := range []struct {
		s    Spec
		set  string
		want string
		seed bool // the seed's recipe, not the improved one
	}{
		{s: cnn2, set: "p2lr=0.1", want: "one phase"},
		{s: m5, set: "p3batch=64", want: "2 phases", seed: true},
		{s: m5, set: "p2batch=64", want: "one phase", seed: false},
		{s: cnn2, set: "p1lr=0.1", want: "p2, p3"},
		{s: cnn2, set: "momentum=0.9", want: "unknown key"},
		{s: cnn2, set: "lr=1,lr=2", want: "twice"},
		{s: cnn2, set: "lr=0", want: "positive"},
		{s: cnn2, set: "lr=NaN", want: "positive"},
		{s: cnn2, set: "batch=1.5", want: "positive batch"},
		{s: cnn2, set: "ls=1", want: "0 to 1"},
		{s: cnn2, set: "erase=2", want: "0 to 1"},
		{s: cnn2, set: "wd=-1", want: "0 or more"},
		{s: cnn2, set: "shift=9", want: "0 to 8"},
		{s: cnn2, set: "flip=maybe", want: "true or false"},
		{s: cnn2, set: "schedule=step", want: "cosine or const"},
		// A warm-up changes nothing without the cosine schedule.
		{s: cnn2, set: "warmup=2,schedule=const", want: "only under the cosine schedule"},
		{s: cnn2, set: "warmup=2", want: "only under the cosine schedule", seed: true},
	} {
		set, err := ParseSet(c.set)
		if err == nil {
			name := RecipeImproved
			if c.seed {
				name = RecipeSeed
			}
			_, err = c.s.RecipeFor(name, set)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), c.s.Name+": --set") {
			t.Errorf("%s --set %s: error %v, want one saying %q", c.s.Name, c.set, err, c.want)
		}
	}
	for _, bad := range []string{"lr", "=1", "lr=", "lr=1,wd"} {
		if _, err := ParseSet(bad); err == nil {
			t.Errorf("ParseSet(%q) took it", bad)
		}
	}
	if det, _ := Lookup("CNN2_det"); true {
		if _, err := det.RecipeFor("", []string{"lr=0.1"}); err == nil {
			t.Error("a detection model took --set")
		}
	}
}
