package results

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Stat is a figure over a group's runs: the mean and the sample standard
// deviation (n-1; NaN for a single run).
type Stat struct {
	Mean, SD float64
	N        int
}

// NewStat summarises xs.
func NewStat(xs []float64) Stat {
	s := Stat{N: len(xs), SD: math.NaN()}
	if len(xs) == 0 {
		s.Mean = math.NaN()
		return s
	}
	for _, x := range xs {
		s.Mean += x
	}
	s.Mean /= float64(len(xs))
	if len(xs) > 1 {
		var ss float64
		for _, x := range xs {
			ss += (x - s.Mean) * (x - s.Mean)
		}
		s.SD = math.Sqrt(ss / float64(len(xs)-1))
	}
	return s
}

// Group is the runs of one model trained the same way (recipe, epochs,
// data sizes and how the best epoch is chosen) with different seeds.
type Group struct {
	Model, Recipe, ChosenOn string
	RecipeText              string // the recipe in one line
	Params, Epochs          int    // Epochs: planned, per run
	TrainSize, ValSize      int
	TestSize                int
	IDs                     []string
	Seeds                   []int64
	Done                    int // runs that finished every epoch
	// Over the runs with at least one finished epoch: best accuracy (test
	// accuracy at the chosen epoch), final test accuracy, training seconds
	// per epoch.
	Best, Final, SecPerEpoch Stat
	// Shared: some run's epochs trained beside other runs (Row.Shared).
	Shared                   bool
	HasSeed                  bool
	SeedSecPerEpoch, SeedAcc float64
}

// N is the number of runs with at least one finished epoch.
func (g Group) N() int { return g.Best.N }

// NCell is N as a table shows it: "3", or "3 (1 done)" while some of the
// runs behind the mean are still training or were stopped early, so that a
// mean over unfinished runs is not read as a result.
func (g Group) NCell() string {
	if g.Done < g.N() {
		return fmt.Sprintf("%d (%d done)", g.N(), g.Done)
	}
	return strconv.Itoa(g.N())
}

// Groups gathers runs into groups in the order of their first run. Runs
// with no finished epoch are counted in IDs only.
func Groups(runs []*Run) []Group {
	var out []Group
	index := map[string]int{}
	type acc struct{ best, final, spe []float64 }
	var accs []acc
	rows := Rows(runs)
	k := 0
	for _, r := range runs {
		if r == nil {
			continue
		}
		row := rows[k]
		k++
		// row.Recipe is r.RecipeKind(), worked out once for the row.
		text := r.Recipe.String()
		key := fmt.Sprintf("%s|%s|%s|%d|%d|%d", r.Model, row.Recipe, text, r.TrainSize, r.ValSize, r.TestSize)
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			g := Group{Model: r.Model, Recipe: row.Recipe, ChosenOn: r.ChosenOn(), RecipeText: text,
				Params: r.Params, Epochs: r.EpochsPlanned, TrainSize: r.TrainSize, ValSize: r.ValSize, TestSize: r.TestSize,
				HasSeed: row.HasSeed, SeedSecPerEpoch: row.SeedSecPerEpoch, SeedAcc: row.SeedAcc}
			out = append(out, g)
			accs = append(accs, acc{})
		}
		g := &out[i]
		g.IDs = append(g.IDs, r.ID)
		g.Seeds = append(g.Seeds, r.Seed)
		if r.Status == "done" {
			g.Done++
		}
		if row.Epochs > 0 {
			a := &accs[i]
			a.best = append(a.best, row.BestAcc)
			a.final = append(a.final, row.FinalAcc)
			a.spe = append(a.spe, row.SecPerEpoch)
			g.Shared = g.Shared || row.Shared
		}
	}
	for i := range out {
		out[i].Best = NewStat(accs[i].best)
		out[i].Final = NewStat(accs[i].final)
		out[i].SecPerEpoch = NewStat(accs[i].spe)
	}
	return out
}

// PlusMinus formats a stat as "92.31 ± 0.12" (scale 100, for accuracies as
// percentages) or "13.40 ± 0.52"; the spread is left out for one run and
// the whole is "—" for none.
func PlusMinus(s Stat, scale float64) string {
	if s.N == 0 || math.IsNaN(s.Mean) {
		return none
	}
	if s.N == 1 || math.IsNaN(s.SD) {
		return fmt.Sprintf("%.2f", s.Mean*scale)
	}
	return fmt.Sprintf("%.2f ± %.2f", s.Mean*scale, s.SD*scale)
}

var groupHeader = []string{"Model", "Recipe", "Best chosen on", "n", "Params", "Epochs", "s/epoch", "Best acc (%)", "Final acc (%)", "Study s/epoch", "Study acc"}

// WriteGroups writes groups as "md" (mean ± sd, n), "text" (the same,
// aligned for a terminal), "csv" or "json" (raw
// means and standard deviations, accuracies as fractions; sd null for a
// single run).
func WriteGroups(w io.Writer, groups []Group, format string) error {
	switch format {
	case "md":
		var b strings.Builder
		b.WriteString("| " + strings.Join(groupHeader, " | ") + " |\n")
		b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, g := range groups {
			chosen := chosenCell(g.ChosenOn)
			recipe := g.Recipe
			if recipe == "" {
				recipe = "own"
			}
			cells := []string{mdEscape(g.Model), recipe, chosen, g.NCell(), Thousands(g.Params), strconv.Itoa(g.Epochs),
				PlusMinus(g.SecPerEpoch, 1) + SharedMark(g.Shared), PlusMinus(g.Best, 100), PlusMinus(g.Final, 100), none, none}
			if g.HasSeed {
				cells[9] = fmt.Sprintf("%.2f", g.SeedSecPerEpoch)
				cells[10] = Percent(g.SeedAcc)
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
		_, err := io.WriteString(w, b.String())
		return err
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"model", "recipe", "chosen_on", "n", "params", "epochs", "train_size", "val_size", "test_size",
			"sec_per_epoch_mean", "sec_per_epoch_sd", "best_test_acc_mean", "best_test_acc_sd", "final_test_acc_mean", "final_test_acc_sd",
			"seed_sec_per_epoch", "seed_test_acc", "runs", "done"})
		f := func(v float64, prec int) string {
			if math.IsNaN(v) {
				return ""
			}
			return strconv.FormatFloat(v, 'f', prec, 64)
		}
		for _, g := range groups {
			rec := []string{g.Model, g.Recipe, g.ChosenOn, strconv.Itoa(g.N()), strconv.Itoa(g.Params), strconv.Itoa(g.Epochs),
				strconv.Itoa(g.TrainSize), strconv.Itoa(g.ValSize), strconv.Itoa(g.TestSize),
				f(g.SecPerEpoch.Mean, 2), f(g.SecPerEpoch.SD, 2), f(g.Best.Mean, 4), f(g.Best.SD, 4), f(g.Final.Mean, 4), f(g.Final.SD, 4),
				"", "", strings.Join(g.IDs, " "), strconv.Itoa(g.Done)}
			if g.HasSeed {
				rec[15], rec[16] = f(g.SeedSecPerEpoch, 2), f(g.SeedAcc, 4)
			}
			cw.Write(rec)
		}
		cw.Flush()
		return cw.Error()
	case "json":
		out := make([]jsonGroup, 0, len(groups))
		for _, g := range groups {
			j := jsonGroup{Model: g.Model, Recipe: g.Recipe, RecipeText: g.RecipeText, ChosenOn: g.ChosenOn, N: g.N(), Done: g.Done,
				Params: g.Params, Epochs: g.Epochs, TrainSize: g.TrainSize, ValSize: g.ValSize, TestSize: g.TestSize,
				SecPerEpoch: jsonStat(g.SecPerEpoch), Shared: g.Shared, BestTestAcc: jsonStat(g.Best), FinalTestAcc: jsonStat(g.Final),
				Runs: g.IDs, Seeds: g.Seeds}
			j.SeedSecPerEpoch, j.SeedTestAcc = seedRef(g.HasSeed, g.SeedSecPerEpoch, g.SeedAcc)
			out = append(out, j)
		}
		return writeIndentedJSON(w, out)
	case "text":
		return writeText(w, func(b io.Writer) error { return WriteGroups(b, groups, "md") })
	}
	return fmt.Errorf("unknown table format %q (want md, text, csv or json)", format)
}

type jsonGroup struct {
	Model           string        `json:"model"`
	Recipe          string        `json:"recipe"`
	RecipeText      string        `json:"recipe_text"`
	ChosenOn        string        `json:"chosen_on"`
	N               int           `json:"n"`
	Done            int           `json:"done"`
	Params          int           `json:"params"`
	Epochs          int           `json:"epochs"`
	TrainSize       int           `json:"train_size"`
	ValSize         int           `json:"val_size"`
	TestSize        int           `json:"test_size"`
	SecPerEpoch     jsonStatValue `json:"sec_per_epoch"`
	Shared          bool          `json:"shared_cores,omitempty"`
	BestTestAcc     jsonStatValue `json:"best_test_acc"`
	FinalTestAcc    jsonStatValue `json:"final_test_acc"`
	SeedSecPerEpoch *float64      `json:"seed_sec_per_epoch"`
	SeedTestAcc     *float64      `json:"seed_test_acc"`
	Runs            []string      `json:"runs"`
	Seeds           []int64       `json:"seeds"`
}

type jsonStatValue struct {
	Mean *float64 `json:"mean"`
	SD   *float64 `json:"sd"`
}

func jsonStat(s Stat) jsonStatValue {
	var j jsonStatValue
	if !math.IsNaN(s.Mean) {
		m := s.Mean
		j.Mean = &m
	}
	if !math.IsNaN(s.SD) {
		d := s.SD
		j.SD = &d
	}
	return j
}
