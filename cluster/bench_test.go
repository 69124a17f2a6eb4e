package cluster

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fmnist/hub"
	"fmnist/trainer"
)

// counter is a subscriber that counts what it is given.
type counter struct{ n atomic.Int64 }

func (c *counter) Push(trainer.Event) { c.n.Add(1) }
func (c *counter) Notify(hub.Notice)  {}

// BenchmarkHubIngest: simulated workers publish progress reports of their
// runs as fast as they can; the hub takes them from the server, records
// them and hands them to 10 dashboards' subscriptions. b.N events in all;
// events/s is what the hub sustains end to end on loopback.
func BenchmarkHubIngest(b *testing.B) {
	for _, workers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			s, err := StartServer(ServerConfig{Listen: "127.0.0.1:0", StoreDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Shutdown()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			nc, js, err := Connect(ctx, s.ClientURL(), Auth{}, "bench")
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			h := hub.New(ctx, hub.Settings{RunsDir: b.TempDir()})
			var dash []*counter
			for range 10 {
				c := &counter{}
				h.Subscribe(c)
				dash = append(dash, c)
			}
			evs, err := Events(ctx, js, nil)
			if err != nil {
				b.Fatal(err)
			}
			h.Attach(evs)
			per := max(1, b.N/workers)
			total := int64(per * workers)
			b.ResetTimer()
			t0 := time.Now()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := fmt.Sprintf("run%d", w)
					for i := range per {
						data, _ := EncodeEvent(trainer.BatchProgress{ID: id, Epoch: 1, Batch: i, Batches: per}, "w")
						if _, err := js.PublishAsync(EventsPrefix+id, data); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			<-js.PublishAsyncComplete()
			for dash[9].n.Load() < total {
				if time.Since(t0) > 2*time.Minute {
					b.Fatalf("%d of %d events after 2 min", dash[9].n.Load(), total)
				}
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(total)/time.Since(t0).Seconds(), "events/s")
		})
	}
}
