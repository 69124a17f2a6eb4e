// Package trainertest holds what the tests of several packages need from the
// trainer: the real data set, or a failed test.
package trainertest

import (
	"testing"

	"fmnist/trainer"
)

// Load loads the first nTrain training and nTest test images of the real
// data set (the Debian package dataset-fashion-mnist, or $FASHION_MNIST_DIR),
// or fails the test: it trains on them, and skipping it would pass a machine
// that cannot train.
func Load(t testing.TB, nTrain, nTest int) (train, test *trainer.Dataset) {
	t.Helper()
	train, test, err := trainer.Load(trainer.DefaultDataDir(), nTrain, nTest)
	if err != nil {
		t.Fatalf("these tests train on the real data set (or on $FASHION_MNIST_DIR): %v", err)
	}
	return train, test
}

// NeedData fails the test when the real data set cannot be read, for tests
// that train on it through a command or a dashboard rather than Load.
func NeedData(t testing.TB) {
	t.Helper()
	Load(t, 1, 1)
}
