// Package diff lines up the facts of two or more reports, normalises what differs by
// nature (own IPs, MACs, pids), and runs the plugins' rules to explain what remains.
package diff
