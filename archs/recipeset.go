package archs

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// SetKeys are the keys of `--set KEY=VALUE,...`, a user's change to a named
// recipe, with what each takes.
var SetKeys = []struct{ Key, Value string }{
	{"lr", "learning rate of the first phase (the peak under a schedule); p2lr the second phase's"},
	{"batch", "batch size of the first phase; p2batch the second phase's"},
	{"wd", "decoupled weight decay (0: none)"},
	{"ls", "label smoothing, 0 to below 1"},
	{"warmup", "epochs of linear warm-up under the cosine schedule"},
	{"schedule", "cosine or const"},
	{"flip", "true or false: random mirror images"},
	{"shift", "random shifts of up to N pixels, 0 to 8"},
	{"erase", "probability of random erasing, 0 to 1"},
}

// SetKeyNames lists SetKeys' keys, "lr, batch, ...".
func SetKeyNames() string {
	keys := make([]string, len(SetKeys))
	for i, sk := range SetKeys {
		keys[i] = sk.Key
	}
	return strings.Join(keys, ", ")
}

var phaseKey = regexp.MustCompile(`^(?:p([0-9]+))?(lr|batch)$`)

// ParseSet splits `--set`'s value ("lr=0.004,wd=0") into its entries,
// checking only their form; Recipe.WithSet checks each against a recipe.
func ParseSet(s string) ([]string, error) {
	var set []string
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("--set %q: want KEY=VALUE", kv)
		}
		set = append(set, strings.ToLower(strings.TrimSpace(k))+"="+strings.TrimSpace(v))
	}
	return set, nil
}

// RecipeFor is the spec's recipe of that name (RecipeNamed) with a user's
// changes applied (Recipe.WithSet).
func (s Spec) RecipeFor(name string, set []string) (Recipe, error) {
	r, err := s.RecipeNamed(name)
	if err != nil || len(set) == 0 {
		return r, err
	}
	if s.Detection {
		return Recipe{}, fmt.Errorf("--set: %s trains on its own recipe", s.Name)
	}
	r, err = r.WithSet(set)
	if err != nil {
		return Recipe{}, fmt.Errorf("%s: %v", s.Name, err)
	}
	return r, nil
}

// WithSet returns r changed by set's KEY=VALUE entries (SetKeys), which it
// records, in canonical form, in Set: the run's label names them (Label)
// and Spec.Changes compares a record with today's recipe changed the same
// way. An entry that changes nothing (a value r has already) is left out of
// Set: the run is one of r's, and groups with them. An entry that r cannot
// take (an unknown key, a value out of range, a phase r lacks, a key given
// twice) is an error.
func (r Recipe) WithSet(set []string) (Recipe, error) {
	out, err := r.withSet(set)
	if err != nil {
		return out, err
	}
	var kept []string
	for i, kv := range out.Set {
		o, err := r.withSet(slices.Concat(out.Set[:i], out.Set[i+1:]))
		if err != nil || !sameRecipe(o, out) {
			kept = append(kept, kv)
		}
	}
	out.Set = kept
	return out, nil
}

// sameRecipe reports whether a and b train alike, whatever their Set says.
func sameRecipe(a, b Recipe) bool {
	a.Set, b.Set = nil, nil
	return reflect.DeepEqual(a, b)
}

// withSet is WithSet, keeping every entry in Set.
func (r Recipe) withSet(set []string) (Recipe, error) {
	out := r
	out.Phases = append([]Phase(nil), r.Phases...)
	out.Set = nil
	var aug Augment
	if r.Augment != nil {
		aug = *r.Augment
	}
	seen := map[string]bool{}
	for _, kv := range set {
		k, v, _ := strings.Cut(kv, "=")
		if seen[k] {
			return Recipe{}, fmt.Errorf("--set %s: given twice", k)
		}
		seen[k] = true
		bad := func(want string) (Recipe, error) {
			return Recipe{}, fmt.Errorf("--set %s=%s: want %s", k, v, want)
		}
		num := func() (float64, bool) {
			x, err := strconv.ParseFloat(v, 64)
			return x, err == nil && !math.IsNaN(x) && !math.IsInf(x, 0)
		}
		integer := func() (int, bool) {
			n, err := strconv.Atoi(v)
			return n, err == nil
		}
		switch m := phaseKey.FindStringSubmatch(k); {
		case m != nil:
			p := 0
			if m[1] != "" {
				p, _ = strconv.Atoi(m[1])
				if p < 2 {
					return Recipe{}, fmt.Errorf("--set %s: phases are p2, p3, ... (the first is plain %s)", k, m[2])
				}
				p--
			}
			if p >= len(out.Phases) {
				n := fmt.Sprintf("%d phases", len(out.Phases))
				if len(out.Phases) == 1 {
					n = "one phase"
				}
				return Recipe{}, fmt.Errorf("--set %s: the recipe has %s", k, n)
			}
			if m[2] == "lr" {
				x, ok := num()
				if !ok || x <= 0 {
					return bad("a positive learning rate")
				}
				out.Phases[p].LR, v = x, strconv.FormatFloat(x, 'g', -1, 64)
			} else {
				n, ok := integer()
				if !ok || n < 1 {
					return bad("a positive batch size")
				}
				out.Phases[p].Batch, v = n, strconv.Itoa(n)
			}
		case k == "wd" || k == "ls" || k == "warmup" || k == "erase":
			x, ok := num()
			switch {
			case !ok || x < 0:
				return bad("a number, 0 or more")
			case k == "ls" && x >= 1, k == "erase" && x > 1:
				return bad("a number from 0 to 1")
			}
			v = strconv.FormatFloat(x, 'g', -1, 64)
			switch k {
			case "wd":
				out.WeightDecay = x
			case "ls":
				out.LabelSmoothing = x
			case "warmup":
				out.WarmupEpochs = x
			case "erase":
				aug.Erase = x
			}
		case k == "schedule":
			switch strings.ToLower(v) {
			case "cosine":
				out.Schedule = "cosine"
			case "const", "constant", "none":
				out.Schedule = ""
			default:
				return bad("cosine or const")
			}
			v = sched(out)
		case k == "flip":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return bad("true or false")
			}
			aug.Flip, v = b, strconv.FormatBool(b)
		case k == "shift":
			n, ok := integer()
			if !ok || n < 0 || n > 8 {
				return bad("0 to 8 pixels")
			}
			aug.Shift, v = n, strconv.Itoa(n)
		default:
			return Recipe{}, fmt.Errorf("--set %s: unknown key (want %s)", k, SetKeyNames())
		}
		out.Set = append(out.Set, k+"="+v)
	}
	if seen["warmup"] && out.Schedule != "cosine" {
		return Recipe{}, fmt.Errorf("--set warmup: a warm-up applies only under the cosine schedule (add schedule=cosine)")
	}
	out.Augment = nil
	if aug != (Augment{}) {
		out.Augment = &aug
	}
	return out, nil
}

// sched names r's schedule as --set and Spec.Changes do: "cosine" or "const".
func sched(r Recipe) string {
	if r.Schedule == "" {
		return "const"
	}
	return r.Schedule
}

// flipToken is the label token of flips on or off (setTokens, Spec.Changes).
func flipToken(on bool) string {
	if on {
		return "flip"
	}
	return "noflip"
}

// setTokens are Set's entries as label tokens: "lr0.004", "flip"/"noflip",
// "cosine"/"const" (the form of Spec.Changes' tokens).
func (r Recipe) setTokens() []string {
	var t []string
	for _, kv := range r.Set {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "flip":
			t = append(t, flipToken(v == "true"))
		case "schedule":
			t = append(t, v)
		default:
			t = append(t, k+v)
		}
	}
	return t
}
