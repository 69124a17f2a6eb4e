package results

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"fmnist/trainer"
)

func tableRuns() []*Run {
	return []*Run{
		{ID: "CNN2-1", Model: "CNN2", Status: "done", Params: 211950, Epochs: []trainer.EpochStats{
			{Epoch: 1, TrainSeconds: 30, EvalSeconds: 2, TestAcc: 0.90},
			{Epoch: 2, TrainSeconds: 26, EvalSeconds: 2, TestAcc: 0.9250},
			{Epoch: 3, TrainSeconds: 28, EvalSeconds: 2, TestAcc: 0.9204},
		}},
		{ID: "mine-1", Model: "my_net", Status: "failed", Params: 1234567, Epochs: []trainer.EpochStats{
			{Epoch: 1, TrainSeconds: 60, EvalSeconds: 0, TestAcc: 0.5},
		}},
		{ID: "m5", Model: "model5", Status: "running", Params: 192218, Epochs: []trainer.EpochStats{}},
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestRows(t *testing.T) {
	rows := Rows(tableRuns())
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[0]
	if r.ID != "CNN2-1" || r.Model != "CNN2" || r.Status != "done" || r.Params != 211950 || r.Epochs != 3 {
		t.Errorf("row 0 = %+v", r)
	}
	if !near(r.TotalMinutes, 90.0/60) || !near(r.SecPerEpoch, 28) || !near(r.BestAcc, 0.925) || !near(r.FinalAcc, 0.9204) {
		t.Errorf("row 0 figures = %+v", r)
	}
	if !r.HasSeed || r.SeedSecPerEpoch != 28.07 || r.SeedAcc != 0.9204 {
		t.Errorf("row 0 seed = %+v", r)
	}
	if rows[1].HasSeed || rows[1].SeedAcc != 0 {
		t.Errorf("row 1 should have no seed: %+v", rows[1])
	}
	z := rows[2]
	if z.Epochs != 0 || z.TotalMinutes != 0 || z.SecPerEpoch != 0 || z.BestAcc != 0 || z.FinalAcc != 0 || !z.HasSeed {
		t.Errorf("zero-epoch row = %+v", z)
	}
}

func TestWriteTableMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, Rows(tableRuns()), "md"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 2+3 {
		t.Fatalf("%d lines, want header + separator + 3 runs:\n%s", len(lines), b.String())
	}
	head := lines[0]
	for _, col := range []string{"Run", "Model", "Recipe", "Seed", "Status", "Params", "Epochs", "Total (min)", "s/epoch", "Best acc", "Best chosen on", "Final acc", "Study s/epoch", "Study acc"} {
		if !strings.Contains(head, "| "+col+" |") {
			t.Errorf("header lacks %q: %s", col, head)
		}
	}
	if !strings.HasPrefix(lines[1], "|---") {
		t.Errorf("no separator line: %s", lines[1])
	}
	cells := func(line string) []string {
		parts := strings.Split(strings.Trim(line, "|"), "|")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts
	}
	want := [][]string{
		{"CNN2-1", "CNN2", "seed", "0", "done", "211,950", "3", "1.50", "28.00", "92.50%", "test (the seed's way)", "92.04%", "28.07", "92.04%"},
		{"mine-1", "my_net", "seed", "0", "failed", "1,234,567", "1", "1.00", "60.00", "50.00%", "test (the seed's way)", "50.00%", "—", "—"},
		{"m5", "model5", "seed", "0", "running", "192,218", "0", "0.00", "—", "—", "test (the seed's way)", "—", "150.95", "93.24%"},
	}
	for i, w := range want {
		got := cells(lines[2+i])
		if strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("line %d:\n got %q\nwant %q", i, got, w)
		}
	}
}

func TestWriteTableCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, Rows(tableRuns()), "csv"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("%d records", len(recs))
	}
	if strings.Join(recs[0], ",") != "id,model,recipe,seed,status,params,epochs,total_minutes,sec_per_epoch,best_test_acc,chosen_on,final_test_acc,seed_sec_per_epoch,seed_test_acc" {
		t.Errorf("header = %v", recs[0])
	}
	if strings.Join(recs[1], ",") != "CNN2-1,CNN2,seed,0,done,211950,3,1.50,28.00,0.9250,test,0.9204,28.07,0.9204" {
		t.Errorf("row 1 = %v", recs[1])
	}
	if strings.Join(recs[2], ",") != "mine-1,my_net,seed,0,failed,1234567,1,1.00,60.00,0.5000,test,0.5000,," {
		t.Errorf("row 2 = %v", recs[2])
	}
}

func TestWriteTableJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, Rows(tableRuns()), "json"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "[\n  {") {
		t.Errorf("not an indented array:\n%s", b.String())
	}
	var got []map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d objects", len(got))
	}
	wantKeys := "best_test_acc,chosen_on,epochs,final_test_acc,id,model,params,recipe,sec_per_epoch,seed,seed_sec_per_epoch,seed_test_acc,status,total_minutes"
	for i, o := range got {
		if k := strings.Join(keys(o), ","); k != wantKeys {
			t.Errorf("object %d keys = %s", i, k)
		}
	}
	o := got[0]
	if o["id"] != "CNN2-1" || o["params"] != 211950.0 || o["epochs"] != 3.0 || !near(o["best_test_acc"].(float64), 0.925) ||
		o["seed_test_acc"] != 0.9204 || o["seed_sec_per_epoch"] != 28.07 || !near(o["total_minutes"].(float64), 1.5) {
		t.Errorf("object 0 = %v", o)
	}
	if got[1]["seed_test_acc"] != nil || got[1]["seed_sec_per_epoch"] != nil {
		t.Errorf("no-seed object should have null seed fields: %v", got[1])
	}

	// No rows is an empty array, not null.
	b.Reset()
	WriteTable(&b, nil, "json")
	if strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("empty table = %q", b.String())
	}
}

func TestWriteTableUnknownFormat(t *testing.T) {
	err := WriteTable(&bytes.Buffer{}, nil, "xlsx")
	if err == nil || err.Error() != `unknown table format "xlsx" (want md, text, csv or json)` {
		t.Errorf("err = %v", err)
	}
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 211950: "211,950", 1248202: "1,248,202", -4500: "-4,500"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Percent(0.9204); got != "92.04%" {
		t.Errorf("Percent = %q", got)
	}
}

// A run with an epoch trained beside others is Shared, and its s/epoch
// says so in Markdown and JSON.
func TestSharedRuns(t *testing.T) {
	mk := func(id string, conc int) *Run {
		return &Run{ID: id, Model: "CNN2", Status: "done", Epochs: []trainer.EpochStats{
			{Epoch: 1, TrainSeconds: 10, TestAcc: 0.9}, {Epoch: 2, TrainSeconds: 12, TestAcc: 0.91, Concurrent: conc}}}
	}
	rows := Rows([]*Run{mk("alone", 0), mk("beside", 3)})
	if rows[0].Shared || !rows[1].Shared {
		t.Fatalf("Shared: %v, %v; want false, true", rows[0].Shared, rows[1].Shared)
	}
	var md, js strings.Builder
	WriteTable(&md, rows, "md")
	WriteTable(&js, rows, "json")
	if !strings.Contains(md.String(), "| 11.00 (shared) |") || strings.Count(md.String(), "(shared)") != 1 {
		t.Errorf("markdown:\n%s", md.String())
	}
	if strings.Count(js.String(), `"shared_cores": true`) != 1 {
		t.Errorf("json:\n%s", js.String())
	}
	if g := Groups([]*Run{mk("alone", 0), mk("beside", 3)}); len(g) != 1 || !g[0].Shared {
		t.Errorf("the group of both is not Shared: %+v", g)
	}
}
