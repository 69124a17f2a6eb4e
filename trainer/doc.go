// Package trainer owns the data set (IDX loading, the train/test slices,
// batching, turning image files into samples), the training loop with its
// recipes' phases and evaluation, and the stream of metric events a run
// sends to its consumers. Train runs one job; a Manager runs jobs submitted
// at any time, a few at once, on one event channel, and cancels them. A run
// ends every epoch with a Checkpoint (weights, optimizer and random state),
// from which CheckResume and Train continue it bit for bit. A Job may bring
// its own data (DataSource: a detection model's crops, phase by phase).
// Bench measures training and inference speed for `fmnist bench`.
package trainer
