package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"fmnist/archs"
	"fmnist/detector"
	"fmnist/trainer"
)

func benchCmd(fs *flag.FlagSet) runFunc {
	models := fs.String("models", "CNN2,CNN2_dropout,CNN3_dropout,reduced_all_cnn,model5", "comma-separated models, or 'all'")
	limitTrain := fs.Int("limit-train", 12800, "training images timed per model")
	limitTest := fs.Int("limit-test", 10000, "test images timed for inference")
	data := dataFlag(fs)
	seed := fs.Int64("seed", 1, "random seed")
	asJSON := fs.Bool("json", false, "one JSON object per model")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole benchmark to this file")
	recipe := fs.String("recipe", "seed", "the recipe whose first phase is timed: seed or improved (augmentation and all)")
	set := fs.String("set", "", "change the recipe as train --set does (`KEY=VALUE,...`), e.g. batch=128")
	return func(_ []string, stdout, _ io.Writer) error {
		if *limitTrain <= 0 || *limitTest <= 0 {
			return exitError{2, fmt.Errorf("bench: --limit-train and --limit-test must be positive")}
		}
		names, err := parseModels(*models)
		if err != nil {
			return exitError{2, fmt.Errorf("bench: --models: %v", err)}
		}
		if err := checkRecipe(*recipe); err != nil {
			return exitError{2, fmt.Errorf("bench: %v", err)}
		}
		changes, err := archs.ParseSet(*set)
		if err == nil {
			_, err = recipeChoice{*recipe, changes}.check(names, 0)
		}
		if err != nil {
			return exitError{2, fmt.Errorf("bench: %v", err)}
		}
		train, test, err := trainer.Load(*data, *limitTrain, *limitTest)
		if err != nil {
			return err
		}
		// The profile goes to a temporary file beside --cpuprofile, renamed
		// to it once every model has run: a failed or cancelled bench leaves
		// a file already there as it was.
		var endProfile func(keep bool) error
		if *cpuProfile != "" {
			if err := detector.CheckWritable(*cpuProfile, "CPU profile"); err != nil {
				return exitError{2, fmt.Errorf("bench: %v", err)}
			}
			f, err := os.CreateTemp(filepath.Dir(*cpuProfile), "."+filepath.Base(*cpuProfile)+".*.part")
			if err != nil {
				return fmt.Errorf("bench: %v", err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				f.Close()
				os.Remove(f.Name())
				return fmt.Errorf("bench: %v", err)
			}
			endProfile = func(keep bool) error {
				pprof.StopCPUProfile()
				err := f.Chmod(0o644) // as os.Create made it: the temporary file was private
				if err == nil {
					err = f.Sync()
				}
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if keep && err == nil {
					err = os.Rename(f.Name(), *cpuProfile)
				}
				if !keep || err != nil {
					os.Remove(f.Name())
				}
				return err
			}
			defer func() {
				if endProfile != nil {
					endProfile(false)
				}
			}()
		}
		ctx, stop := signalContext()
		defer stop()
		rate := archs.SGEMMRate(time.Second)
		if !*asJSON {
			fmt.Fprintf(stdout, "%s; set %s to choose another kernel\n", archs.BLASInfo(), archs.BLASCoreEnv)
			fmt.Fprintf(stdout, "SGEMM %.0f GFLOP/s on %d workers (1024x1024 each); floor: the training time over that of its FLOPs at this rate\n", rate, runtime.GOMAXPROCS(0))
			fmt.Fprintln(stdout, trainer.BenchHeader())
		}
		for _, n := range names {
			r, err := trainer.Bench(ctx, n, *recipe, changes, train, test, *seed)
			if ctx.Err() != nil {
				return errCancelled("bench: cancelled")
			}
			if err != nil {
				return fmt.Errorf("bench %s: %v", n, err)
			}
			r.SetSGEMMRate(rate)
			if *asJSON {
				b, _ := json.Marshal(r)
				fmt.Fprintf(stdout, "%s\n", b)
			} else {
				fmt.Fprintln(stdout, r)
			}
		}
		if endProfile != nil {
			err := endProfile(true)
			endProfile = nil
			if err != nil {
				return fmt.Errorf("bench: CPU profile: %v", err)
			}
		}
		return nil
	}
}
