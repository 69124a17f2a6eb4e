// Package trainer owns the data set (IDX loading, batching), the training loop,
// evaluation, and the stream of metric events that training runs send to their
// consumers (the headless printer, the run recorder, the dashboard).
package trainer
