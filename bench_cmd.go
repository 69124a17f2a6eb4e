package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"

	"fmnist/archs"
	"fmnist/trainer"
)

func cmdBench(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	models := fs.String("models", "CNN2,CNN2_dropout,CNN3_dropout,reduced_all_cnn,model5", "comma-separated models, or 'all'")
	limitTrain := fs.Int("limit-train", 12800, "training images timed per model")
	limitTest := fs.Int("limit-test", 10000, "test images timed for inference")
	data := fs.String("data", "", "Fashion-MNIST directory")
	seed := fs.Int64("seed", 1, "random seed")
	asJSON := fs.Bool("json", false, "one JSON object per model")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole benchmark to this file")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *limitTrain <= 0 || *limitTest <= 0 {
		return exitError{2, fmt.Errorf("bench: --limit-train and --limit-test must be positive")}
	}
	names, err := parseModels(*models)
	if err != nil {
		return exitError{2, fmt.Errorf("bench: --models: %v", err)}
	}
	train, test, err := trainer.Load(*data, *limitTrain, *limitTest)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if !*asJSON {
		fmt.Fprintf(stdout, "%s; set %s to choose another kernel\n", archs.BLASInfo(), archs.BLASCoreEnv)
	}
	for _, n := range names {
		r, err := trainer.Bench(ctx, n, train, test, *seed)
		if err != nil {
			return fmt.Errorf("bench %s: %v", n, err)
		}
		if *asJSON {
			b, _ := json.Marshal(r)
			fmt.Fprintf(stdout, "%s\n", b)
		} else {
			fmt.Fprintln(stdout, r)
		}
	}
	return nil
}
