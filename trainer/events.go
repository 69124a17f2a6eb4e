package trainer

import (
	"time"

	"fmnist/archs"
)

// Status of a run as it appears in events and run records.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusDone      = "done"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Event is anything a training run reports. Consumers (the headless printer,
// the run recorder, the dashboard) switch on the concrete type.
type Event interface {
	Run() string // the run ID
}

// RunQueued: a run was accepted and waits for a free slot.
type RunQueued struct {
	ID    string
	Model string
	Index int // position in the order the runs were asked for
	// Epochs is the epoch count the run is to reach (Job.PlannedEpochs); 0:
	// not known.
	Epochs int `json:",omitempty"`
}

// RunStarted: training began.
type RunStarted struct {
	ID        string
	Model     string
	Params    int
	Layers    []string // one-line summaries of the layers
	Recipe    archs.Recipe
	Epochs    int // total epochs this run will train
	TrainSize int
	ValSize   int // validation images held out of the training set (Job.Val)
	TestSize  int
	Seed      int64
	Time      time.Time
	// Resumed: the run continues an earlier one (Job.Resume) whose finished
	// epochs are History; training goes on with epoch len(History)+1.
	Resumed bool
	History []EpochStats
	// Worker is who trains it, when that is not this process: a cluster
	// worker's name and machine (its OpenBLAS kernel and cores).
	Worker string `json:",omitempty"`
}

// BatchProgress: sent after every few training batches (at most ~10 per second).
type BatchProgress struct {
	ID           string
	Epoch        int // 1-based
	Epochs       int
	Batch        int // batches done in this epoch
	Batches      int
	Loss         float64 // running mean over this epoch so far
	Acc          float64
	ImagesPerSec float64
}

// EpochStats are the figures of one finished epoch.
type EpochStats struct {
	Epoch        int     `json:"epoch"`
	TrainSeconds float64 `json:"train_seconds"` // excludes evaluation
	EvalSeconds  float64 `json:"eval_seconds"`
	TrainLoss    float64 `json:"train_loss"`
	TrainAcc     float64 `json:"train_acc"`
	TestLoss     float64 `json:"test_loss"`
	TestAcc      float64 `json:"test_acc"`
	// ValLoss and ValAcc are on the held-out validation images (Job.Val);
	// absent when the run has none.
	ValLoss float64 `json:"val_loss,omitempty"`
	ValAcc  float64 `json:"val_acc,omitempty"`
	// Extra holds a run's own figures (a detector's: precision, recall and
	// the threshold chosen on validation scenes), by name.
	Extra map[string]float64 `json:"extra,omitempty"`
	// Concurrent is the most runs the Manager trained at once during the
	// epoch, this one included, when more than one: the epoch shared the
	// machine's cores, and its seconds do not compare with a run's alone.
	Concurrent int `json:"concurrent,omitempty"`
}

// EpochEnd: an epoch finished and was evaluated on the test set.
type EpochEnd struct {
	ID     string
	Epochs int
	Stats  EpochStats
	// Checkpoint is the run's full state after this epoch (a copy owned by
	// the event), for saving the model and resuming; nil in synthetic events.
	Checkpoint *Checkpoint
}

// RunFinished: the run ended with Status done, failed or cancelled.
type RunFinished struct {
	ID     string
	Status string
	Err    string // why it failed, for Status failed
	Time   time.Time
}

func (e RunQueued) Run() string     { return e.ID }
func (e RunStarted) Run() string    { return e.ID }
func (e BatchProgress) Run() string { return e.ID }
func (e EpochEnd) Run() string      { return e.ID }
func (e RunFinished) Run() string   { return e.ID }
