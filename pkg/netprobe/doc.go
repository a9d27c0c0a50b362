// Package netprobe holds what the active probe plugins share: name resolution cached per
// process, raw-syscall connects with bounded deadlines, and the summaries (errno histogram,
// latency min/median/max) that turn repeated attempts into comparable facts.
package netprobe
