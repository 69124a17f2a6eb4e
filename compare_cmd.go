package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"fmnist/results"
	"fmnist/trainer"
)

// compareCmd is `fmnist compare A B`: whether two models (or groups of
// runs, or runs) differ by more than chance, across seeds and per test image.
func compareCmd(fs *flag.FlagSet) runFunc {
	runsDir := runsFlag(fs)
	data := dataFlag(fs)
	format := fs.String("format", "text", "text, md or json")
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) != 2 {
			return exitError{2, fmt.Errorf("compare: want two models, groups or runs (e.g. compare CNN2 model5, or compare CNN2:seed CNN2:improved), got %d", len(args))}
		}
		if *format != "text" && *format != "md" && *format != "json" {
			return exitError{2, fmt.Errorf("compare: unknown --format %q (want text, md or json)", *format)}
		}
		runs, err := loadRuns(*runsDir, stderr)
		if err != nil {
			return err
		}
		var sides [2]results.Side
		for i, a := range args {
			if sides[i], err = results.SelectSide(runs, a); err != nil {
				return exitError{2, fmt.Errorf("compare: %v", err)}
			}
		}
		c, err := results.Compare(sides[0], sides[1], correctOnTest(*runsDir, *data))
		if err != nil {
			return fmt.Errorf("compare: %v", err)
		}
		if *format == "json" {
			return writeComparisonJSON(stdout, c)
		}
		return c.Write(stdout, *format == "md")
	}
}

// correctOnTest evaluates a run's saved best model on the run's test slice,
// image by image.
func correctOnTest(runsDir, dataDir string) results.Correct {
	var test *trainer.Dataset
	return func(r *results.Run) ([]bool, error) {
		if test == nil || test.N != r.TestSize {
			_, te, err := trainer.Load(dataDir, 1, r.TestSize)
			if err != nil {
				return nil, err
			}
			if te.N != r.TestSize {
				return nil, fmt.Errorf("the run was tested on %d images, the data set has %d", r.TestSize, te.N)
			}
			test = te
		}
		m, _, err := results.LoadModel(filepath.Join(runsDir, r.ID, results.BestDir))
		if err != nil {
			return nil, err
		}
		out := make([]bool, test.N)
		err = trainer.Predict(context.Background(), m, test.Images, test.N, func(i int, logits []float32) {
			out[i] = trainer.Argmax(logits) == int(test.Labels[i])
		})
		if err == nil && len(out) == 0 {
			err = errors.New("no test images")
		}
		return out, err
	}
}

type jsonSide struct {
	Name     string    `json:"name"`
	Model    string    `json:"model"`
	Recipe   string    `json:"recipe"`
	ChosenOn string    `json:"chosen_on"`
	Runs     []string  `json:"runs"`
	BestAccs []float64 `json:"best_test_accs"`
	Best     string    `json:"best_run"`
}

func writeComparisonJSON(w io.Writer, c results.Comparison) error {
	side := func(s results.Side, best *results.Run) jsonSide {
		j := jsonSide{Name: s.Name, Model: s.Runs[0].Model, Recipe: s.Runs[0].RecipeKind(), ChosenOn: s.Runs[0].ChosenOn(), BestAccs: s.Accs(), Best: best.ID}
		for _, r := range s.Runs {
			j.Runs = append(j.Runs, r.ID)
		}
		return j
	}
	out := struct {
		A        jsonSide         `json:"a"`
		B        jsonSide         `json:"b"`
		TestSize int              `json:"test_size"`
		Welch    *results.Welch   `json:"welch"`
		McNemar  *results.McNemar `json:"mcnemar"`
	}{side(c.A, c.BestA), side(c.B, c.BestB), c.TestSize, c.Welch, c.McNemar}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}
