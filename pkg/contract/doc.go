// Package contract is what a section plugin writes against on the client side: the
// diffed rows (Row, Comparison), the findings its rules return (Finding, Rule), and its
// part in the diagnosis (Analysis, Probe). Plugins import it, never the diff engine.
package contract
