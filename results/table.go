package results

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Row is one line of a comparison table: a run's figures next to the seed
// experiment's for the same model.
type Row struct {
	ID, Model, Status string
	Recipe            string // "seed" or "improved" ("" for a detection model's own)
	ChosenOn          string // what the best epoch was chosen on: "val" or "test" (the seed's way)
	Seed              int64
	Params, Epochs    int
	TotalMinutes      float64 // training plus evaluation time
	SecPerEpoch       float64 // mean training seconds per epoch
	// Shared: some epoch trained beside other runs of its process
	// (trainer.EpochStats.Concurrent), so SecPerEpoch does not compare with
	// a run's alone.
	Shared            bool
	BestAcc, FinalAcc float64 // test accuracy as fractions
	SeedSecPerEpoch   float64
	SeedAcc           float64
	HasSeed           bool
}

// Rows summarises runs, one Row each, in the given order. A run with no
// finished epoch has zero times and accuracies.
func Rows(runs []*Run) []Row {
	rows := make([]Row, 0, len(runs))
	for _, r := range runs {
		if r == nil {
			continue
		}
		row := Row{
			ID:       r.ID,
			Model:    r.Model,
			Status:   r.Status,
			Recipe:   r.RecipeKind(),
			ChosenOn: r.ChosenOn(),
			Seed:     r.Seed,
			Params:   r.Params,
			Epochs:   len(r.Epochs),
		}
		if n := len(r.Epochs); n > 0 {
			var total, train float64
			for _, e := range r.Epochs {
				total += e.TrainSeconds + e.EvalSeconds
				train += e.TrainSeconds
				row.Shared = row.Shared || e.Concurrent > 1
			}
			row.TotalMinutes = total / 60
			row.SecPerEpoch = train / float64(n)
			row.BestAcc = r.Epochs[r.bestIndex()].TestAcc
			row.FinalAcc = r.Epochs[n-1].TestAcc
		}
		if s, ok := SeedReference(r.Model); ok {
			row.HasSeed = true
			row.SeedSecPerEpoch = s.SecPerEpoch
			row.SeedAcc = s.Acc
		}
		rows = append(rows, row)
	}
	return rows
}

// WriteTable writes rows as "md" (a GitHub Markdown table), "text" (the
// same, aligned for a terminal), "csv" (with a
// header line and raw numbers, accuracies as fractions) or "json" (an
// indented array of objects with snake_case keys; seed fields are null for
// models without a seed reference).
func WriteTable(w io.Writer, rows []Row, format string) error {
	switch format {
	case "md":
		return writeMarkdown(w, rows)
	case "csv":
		return writeCSV(w, rows)
	case "json":
		return writeJSON(w, rows)
	case "text":
		return writeText(w, func(b io.Writer) error { return writeMarkdown(b, rows) })
	}
	return fmt.Errorf("unknown table format %q (want md, text, csv or json)", format)
}

const none = "—"

var tableHeader = []string{"Run", "Model", "Recipe", "Seed", "Status", "Params", "Epochs", "Total (min)", "s/epoch", "Best acc", "Best chosen on", "Final acc", "Study s/epoch", "Study acc"}

// SharedMark follows the s/epoch of runs that trained beside others (Row.Shared).
func SharedMark(shared bool) string {
	if shared {
		return " (shared)"
	}
	return ""
}

// recipeCell and chosenCell are a row's recipe and choice of the best epoch
// as the tables show them.
func recipeCell(r string) string {
	if r == "" {
		return "own"
	}
	return r
}

func chosenCell(c string) string {
	switch c {
	case "test":
		return "test (the seed's way)"
	case "scenes":
		return "validation scenes (F1)"
	}
	return c
}

func writeMarkdown(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString("| " + strings.Join(tableHeader, " | ") + " |\n")
	b.WriteString("|---|---|---|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|\n")
	for _, r := range rows {
		cells := []string{
			mdEscape(r.ID), mdEscape(r.Model), recipeCell(r.Recipe), strconv.FormatInt(r.Seed, 10), mdEscape(r.Status),
			Thousands(r.Params), strconv.Itoa(r.Epochs),
			fmt.Sprintf("%.2f", r.TotalMinutes),
			none, none, chosenCell(r.ChosenOn), none, none, none,
		}
		if r.Epochs > 0 {
			cells[8] = fmt.Sprintf("%.2f", r.SecPerEpoch) + SharedMark(r.Shared)
			cells[9] = Percent(r.BestAcc)
			cells[11] = Percent(r.FinalAcc)
		}
		if r.HasSeed {
			cells[12] = fmt.Sprintf("%.2f", r.SeedSecPerEpoch)
			cells[13] = Percent(r.SeedAcc)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscape keeps a value inside its Markdown table cell.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

var csvHeader = []string{"id", "model", "recipe", "seed", "status", "params", "epochs", "total_minutes", "sec_per_epoch", "best_test_acc", "chosen_on", "final_test_acc", "seed_sec_per_epoch", "seed_test_acc"}

func writeCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, r := range rows {
		rec := []string{
			r.ID, r.Model, r.Recipe, strconv.FormatInt(r.Seed, 10), r.Status,
			strconv.Itoa(r.Params), strconv.Itoa(r.Epochs),
			strconv.FormatFloat(r.TotalMinutes, 'f', 2, 64),
			strconv.FormatFloat(r.SecPerEpoch, 'f', 2, 64),
			strconv.FormatFloat(r.BestAcc, 'f', 4, 64),
			r.ChosenOn,
			strconv.FormatFloat(r.FinalAcc, 'f', 4, 64),
			"", "",
		}
		if r.HasSeed {
			rec[12] = strconv.FormatFloat(r.SeedSecPerEpoch, 'f', 2, 64)
			rec[13] = strconv.FormatFloat(r.SeedAcc, 'f', 4, 64)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

type jsonRow struct {
	ID              string   `json:"id"`
	Model           string   `json:"model"`
	Recipe          string   `json:"recipe"`
	Seed            int64    `json:"seed"`
	ChosenOn        string   `json:"chosen_on"`
	Status          string   `json:"status"`
	Params          int      `json:"params"`
	Epochs          int      `json:"epochs"`
	TotalMinutes    float64  `json:"total_minutes"`
	SecPerEpoch     float64  `json:"sec_per_epoch"`
	Shared          bool     `json:"shared_cores,omitempty"`
	BestTestAcc     float64  `json:"best_test_acc"`
	FinalTestAcc    float64  `json:"final_test_acc"`
	SeedSecPerEpoch *float64 `json:"seed_sec_per_epoch"`
	SeedTestAcc     *float64 `json:"seed_test_acc"`
}

func writeJSON(w io.Writer, rows []Row) error {
	out := make([]jsonRow, 0, len(rows))
	for _, r := range rows {
		j := jsonRow{
			ID: r.ID, Model: r.Model, Recipe: r.Recipe, Seed: r.Seed, ChosenOn: r.ChosenOn, Status: r.Status,
			Params: r.Params, Epochs: r.Epochs,
			TotalMinutes: r.TotalMinutes, SecPerEpoch: r.SecPerEpoch, Shared: r.Shared,
			BestTestAcc: r.BestAcc, FinalTestAcc: r.FinalAcc,
		}
		j.SeedSecPerEpoch, j.SeedTestAcc = seedRef(r.HasSeed, r.SeedSecPerEpoch, r.SeedAcc)
		out = append(out, j)
	}
	return writeIndentedJSON(w, out)
}

// seedRef is the seed study's s/epoch and accuracy for JSON: null (nil)
// for a model it did not train.
func seedRef(has bool, sec, acc float64) (*float64, *float64) {
	if !has {
		return nil, nil
	}
	return &sec, &acc
}

// writeIndentedJSON writes v as indented JSON and a newline.
func writeIndentedJSON(w io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// Thousands formats n with comma thousands separators: 211950 -> "211,950".
func Thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Percent formats a fraction as a percentage with two decimals: 0.9204 -> "92.04%".
func Percent(f float64) string {
	return fmt.Sprintf("%.2f%%", f*100)
}
