package results

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"fmnist/trainer"
)

// BenchmarkRecordEpochEnd: what recording one epoch's end costs a hub (run
// record, best and final model files, checkpoint), for CNN2. It bounds how
// many epochs a second one hub records, whatever trains them.
func BenchmarkRecordEpochEnd(b *testing.B) {
	if _, err := os.Stat(filepath.Join(trainer.DefaultDataDir(), "train-images-idx3-ubyte.gz")); err != nil {
		b.Skip("no Fashion-MNIST data set")
	}
	train, test, err := trainer.Load("", 256, 100)
	if err != nil {
		b.Fatal(err)
	}
	var started trainer.RunStarted
	var end trainer.EpochEnd
	for ev := range trainer.Start(context.Background(), trainer.Config{Train: train, Test: test, Parallel: 1}, []trainer.Job{{ID: "r", Model: "CNN2", Epochs: 1, Seed: 1}}) {
		switch e := ev.(type) {
		case trainer.RunStarted:
			started = e
		case trainer.EpochEnd:
			end = e
		}
	}
	if end.Checkpoint == nil {
		b.Fatal("no checkpoint")
	}
	rec := NewRecorder(b.TempDir())
	if err := rec.Handle(started); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		e := end
		e.Stats.Epoch = i + 1
		e.Stats.TestAcc = float64(i) // every epoch a new best: best/ written too
		if err := rec.Handle(e); err != nil {
			b.Fatal(err)
		}
	}
}
