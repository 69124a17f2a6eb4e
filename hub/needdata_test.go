package hub

import (
	"testing"

	"fmnist/trainer"
)

// needData fails the test when the real data set cannot be read: these tests
// train on it, and skipping them would pass a machine that cannot train.
func needData(t *testing.T) {
	t.Helper()
	if _, _, err := trainer.Load(trainer.DefaultDataDir(), 1, 1); err != nil {
		t.Fatalf("these tests train on the real data set (or on $FASHION_MNIST_DIR): %v", err)
	}
}
