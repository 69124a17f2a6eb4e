// Package cluster spreads runs over many machines through NATS JetStream: an
// embedded NATS server (StartServer; loopback, or a password or nkeys) holds
// a work queue of jobs, a stream of every run's events, an object store of
// checkpoints and a key-value bucket of leases; workers anywhere (Worker)
// take jobs, hold each run's lease while they train it with the trainer's
// own code, and publish the same events (progress live only); a sweep
// (Queue) adds jobs, deduplicated by run ID; and Events brings the events,
// checkpoints attached, to a hub, which records them as it records local
// runs. A single machine needs none of it.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"fmnist/trainer"
)

// Names of the streams, subjects and buckets.
const (
	JobsStream       = "FMNIST_JOBS"
	JobsSubject      = "fmnist.jobs"
	EventsStream     = "FMNIST_EVENTS"
	EventsPrefix     = "fmnist.events."   // + run ID
	CancelPrefix     = "fmnist.cancel."   // + run ID (core NATS: the worker training it listens)
	ProgressPrefix   = "fmnist.progress." // + run ID (core NATS: progress reports are not kept)
	CheckpointBucket = "fmnist-checkpoints"
	LeaseBucket      = "fmnist-leases"  // run ID -> the worker training it (expires AckWait after its last renewal)
	CancelBucket     = "fmnist-cancels" // run IDs cancelled, queued or not
	workersConsumer  = "workers"
)

// AckWait is how long a job may go without news from its worker before it
// is handed to another (workers report every AckWait/3), and how long a
// run's lease outlives its last renewal. The cluster's first client sets it
// (Connect creates the queue's consumer and the lease bucket); workers
// follow the consumer's.
var AckWait = 30 * time.Second

// ServerConfig is an embedded NATS server.
type ServerConfig struct {
	Listen   string // host:port; port 0 picks a free one
	StoreDir string // JetStream's storage
	// User and Password, if set, are required of every client; or NKeys,
	// the public nkeys (U...) of the users let in, each proving its key by
	// signing the server's challenge with its seed. A server listening
	// beyond loopback refuses to start without one or the other.
	User, Password string
	NKeys          []string
}

// StartServer starts an embedded NATS server with JetStream and waits until
// it accepts connections.
func StartServer(cfg ServerConfig) (*server.Server, error) {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats listen address %q: %v", cfg.Listen, err)
	}
	var p int
	if _, err := fmt.Sscan(port, &p); err != nil || p < 0 || p > 65535 {
		return nil, fmt.Errorf("nats listen address %q: bad port", cfg.Listen)
	}
	if !isLoopback(host) && (cfg.User == "" || cfg.Password == "") && len(cfg.NKeys) == 0 {
		return nil, fmt.Errorf("nats: listening on %s beyond loopback needs a user and password (--nats-user, --nats-password-file) or nkeys (--nats-nkeys)", cfg.Listen)
	}
	if len(cfg.NKeys) > 0 && cfg.User != "" {
		return nil, errors.New("nats: either a user and password or nkeys, not both")
	}
	var nk []*server.NkeyUser
	for _, k := range cfg.NKeys {
		if !nkeys.IsValidPublicUserKey(k) {
			return nil, fmt.Errorf("nats: %q is not a public user nkey (U...)", short(k))
		}
		nk = append(nk, &server.NkeyUser{Nkey: k})
	}
	if p == 0 {
		p = -1 // the server's "any free port"
	}
	opts := &server.Options{Host: host, Port: p, JetStream: true, StoreDir: cfg.StoreDir, NoLog: true, NoSigs: true,
		Username: cfg.User, Password: cfg.Password, Nkeys: nk, ServerName: "fmnist"}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("nats: the server on %s did not start", cfg.Listen)
	}
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Auth is how a client proves who it is: a user and password, or the file
// of an nkey seed (SU...); neither for a loopback server without auth.
type Auth struct {
	User, Password string
	NKeySeedFile   string
}

// Connect connects to the server at url and makes sure the streams and the
// checkpoint bucket exist.
func Connect(ctx context.Context, url string, auth Auth, name string) (*nats.Conn, jetstream.JetStream, error) {
	opts := []nats.Option{nats.Name(name), nats.Timeout(5 * time.Second), nats.MaxReconnects(-1)}
	if auth.User != "" {
		opts = append(opts, nats.UserInfo(auth.User, auth.Password))
	}
	if auth.NKeySeedFile != "" {
		o, err := nats.NkeyOptionFromSeed(auth.NKeySeedFile)
		if err != nil {
			return nil, nil, fmt.Errorf("nkey seed %s: %v", auth.NKeySeedFile, err)
		}
		opts = append(opts, o)
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("nats %s: %v", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("nats %s: %v", url, err)
	}
	if err := ensure(ctx, js); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("nats %s: %v", url, err)
	}
	return nc, js, nil
}

func ensure(ctx context.Context, js jetstream.JetStream) error {
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: JobsStream, Subjects: []string{JobsSubject},
		Retention: jetstream.WorkQueuePolicy, Duplicates: 24 * time.Hour, Storage: jetstream.FileStorage}); err != nil {
		return fmt.Errorf("jobs stream: %v", err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: EventsStream, Subjects: []string{EventsPrefix + ">"},
		Storage: jetstream.FileStorage}); err != nil {
		return fmt.Errorf("events stream: %v", err)
	}
	if _, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: CheckpointBucket, Storage: jetstream.FileStorage}); err != nil {
		return fmt.Errorf("checkpoint bucket: %v", err)
	}
	if _, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: CancelBucket, Storage: jetstream.FileStorage}); err != nil {
		return fmt.Errorf("cancel bucket: %v", err)
	}
	// Created once, by the first client: later ones keep their settings.
	if _, err := js.KeyValue(ctx, LeaseBucket); errors.Is(err, jetstream.ErrBucketNotFound) {
		if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: LeaseBucket, TTL: AckWait, Storage: jetstream.FileStorage}); err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
			return fmt.Errorf("lease bucket: %v", err)
		}
	} else if err != nil {
		return fmt.Errorf("lease bucket: %v", err)
	}
	if _, err := js.Consumer(ctx, JobsStream, workersConsumer); errors.Is(err, jetstream.ErrConsumerNotFound) {
		if _, err := js.CreateConsumer(ctx, JobsStream, jetstream.ConsumerConfig{Durable: workersConsumer,
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: AckWait, MaxAckPending: -1}); err != nil && !errors.Is(err, jetstream.ErrConsumerExists) {
			return fmt.Errorf("workers consumer: %v", err)
		}
	} else if err != nil {
		return fmt.Errorf("workers consumer: %v", err)
	}
	return nil
}

// Job is a run queued for any worker: what trainer.Job says, and the data
// slice it trains on, with the slice's fingerprints when the sweep knew them.
type Job struct {
	ID         string   `json:"id"`
	Model      string   `json:"model"`
	Epochs     int      `json:"epochs,omitempty"`
	Seed       int64    `json:"seed"`
	LimitTrain int      `json:"limit_train,omitempty"`
	LimitTest  int      `json:"limit_test,omitempty"`
	Val        int      `json:"val,omitempty"`    // trainer.Job.Val
	Recipe     string   `json:"recipe,omitempty"` // trainer.Job.Recipe
	Set        []string `json:"set,omitempty"`    // trainer.Job.Set
	TrainHash  string   `json:"train_hash,omitempty"`
	TestHash   string   `json:"test_hash,omitempty"`
}

// Queue publishes jobs, each with its run ID as the message ID, so that
// queuing a job twice adds it once. It returns the IDs newly queued. A job
// whose run has events already (queued, training or ended before) is not
// queued again: the server's memory of message IDs lasts only as long as
// the job is in the work queue once it restarts, the events stream keeps
// every run it has seen.
func Queue(ctx context.Context, js jetstream.JetStream, jobs []Job) ([]string, error) {
	events, err := js.Stream(ctx, EventsStream)
	if err != nil {
		return nil, fmt.Errorf("events stream: %v", err)
	}
	var added []string
	for _, j := range jobs {
		if _, err := events.GetLastMsgForSubject(ctx, EventsPrefix+j.ID); err == nil {
			continue // seen before
		} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
			return added, fmt.Errorf("queue %s: %v", j.ID, err)
		}
		data, err := json.Marshal(j)
		if err != nil {
			return added, err
		}
		ack, err := js.Publish(ctx, JobsSubject, data, jetstream.WithMsgID(j.ID))
		if err != nil {
			return added, fmt.Errorf("queue %s: %v", j.ID, err)
		}
		if ack.Duplicate {
			continue
		}
		added = append(added, j.ID)
		// Dashboards show it queued; its place is the job's sequence.
		ev, err := EncodeEvent(trainer.RunQueued{ID: j.ID, Model: j.Model, Index: int(ack.Sequence)}, "")
		if err == nil {
			_, err = js.Publish(ctx, EventsPrefix+j.ID, ev)
		}
		if err != nil {
			return added, fmt.Errorf("queue %s: %v", j.ID, err)
		}
	}
	return added, nil
}

// wire is an event as published: its type's name and the event.
type wire struct {
	Type  string          `json:"type"`
	Event json.RawMessage `json:"event"`
	// Worker is who published it.
	Worker string `json:"worker,omitempty"`
}

// EncodeEvent is ev as published (EpochEnd without its checkpoint, which
// goes to the object store).
func EncodeEvent(ev trainer.Event, worker string) ([]byte, error) {
	if e, ok := ev.(trainer.EpochEnd); ok {
		e.Checkpoint = nil
		ev = e
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%T", ev)
	name = name[strings.LastIndex(name, ".")+1:]
	return json.Marshal(wire{Type: name, Event: raw, Worker: worker})
}

// DecodeEvent is the event EncodeEvent published, and who published it.
func DecodeEvent(data []byte) (trainer.Event, string, error) {
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, "", fmt.Errorf("event: %v", err)
	}
	var ev trainer.Event
	var err error
	switch w.Type {
	case "RunQueued":
		ev, err = decodeAs[trainer.RunQueued](w.Event)
	case "RunStarted":
		ev, err = decodeAs[trainer.RunStarted](w.Event)
	case "BatchProgress":
		ev, err = decodeAs[trainer.BatchProgress](w.Event)
	case "EpochEnd":
		ev, err = decodeAs[trainer.EpochEnd](w.Event)
	case "RunFinished":
		ev, err = decodeAs[trainer.RunFinished](w.Event)
	default:
		return nil, "", fmt.Errorf("event of unknown type %q", w.Type)
	}
	if err != nil {
		return nil, "", fmt.Errorf("event %s: %v", w.Type, err)
	}
	return ev, w.Worker, nil
}

// decodeAs decodes raw as an event of type E.
func decodeAs[E trainer.Event](raw json.RawMessage) (trainer.Event, error) {
	var e E
	err := json.Unmarshal(raw, &e)
	return e, err
}

// checkpointName is where a run's checkpoint after epoch is kept.
func checkpointName(run string, epoch int) string { return fmt.Sprintf("%s/%04d", run, epoch) }

// errNoCheckpoint: the run has no checkpoint in the bucket.
var errNoCheckpoint = errors.New("no checkpoint")

// SweepID is the run ID of a grid point: the same grid point always has
// the same ID, so that queuing a sweep again adds nothing. (Run IDs are
// subject tokens here: no dots.)
func SweepID(model string, seed int64, epochs, limitTrain, limitTest int) string {
	return fmt.Sprintf("%s-seed%d-ep%d-train%d-test%d", model, seed, epochs, limitTrain, limitTest)
}

// SweepSuffix tells apart, in a sweep's run IDs, runs with a validation
// set ("-val5000") and with another recipe than the seed's, by its label
// (archs.Recipe.Label: "-improved", "-improved+lr0p004", its dots made p).
func SweepSuffix(val int, recipe string) string {
	s := ""
	if val > 0 {
		s += fmt.Sprintf("-val%d", val)
	}
	if recipe != "" && recipe != "seed" {
		s += "-" + strings.ReplaceAll(recipe, ".", "p")
	}
	return s
}
