// Package netns identifies the network namespace (and the target's pid, mnt, uts
// namespaces) by inode, to spot subjects that share one network world or a prober that
// is not where its target is.
package netns
