package engine

import (
	"sync/atomic"
	"time"
)

// After SIGINT or SIGTERM the run's context is cancelled and the run winds down: the
// probers stop with their exec streams, and reference and node pods are deleted (each
// delete has a deadline of its own). A run with nothing to clean up in the cluster (only
// -f files) has no reason to take longer than a moment: reading, diffing and rendering
// watch the context, and main ends the process once the grace is over in case one step
// does not (one section's facts, one json/yaml encoder call). A second signal ends it at
// once.
const (
	offlineGrace = 500 * time.Millisecond
	liveGrace    = 20 * time.Second // the cleanup deletes' own deadline (15s) and some
)

var grace atomic.Int64

func init() { grace.Store(int64(liveGrace)) }

// InterruptGrace is how long main lets the run wind down after a first signal.
func InterruptGrace() time.Duration { return time.Duration(grace.Load()) }

// ExitInterrupted is the exit status of a run ended by the grace or a second signal.
const ExitInterrupted = 130
