// Package trainertest holds what the tests of several packages need from the
// trainer: for now, the real data set or a failed test.
package trainertest

import (
	"testing"

	"fmnist/trainer"
)

// NeedData fails the test when the real data set cannot be read (the Debian
// package dataset-fashion-mnist, or $FASHION_MNIST_DIR): the test trains on
// it, and skipping it would pass a machine that cannot train.
func NeedData(t testing.TB) {
	t.Helper()
	if _, _, err := trainer.Load(trainer.DefaultDataDir(), 1, 1); err != nil {
		t.Fatalf("these tests train on the real data set (or on $FASHION_MNIST_DIR): %v", err)
	}
}
