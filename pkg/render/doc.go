// Package render prints a diff.Result for people (table, wide) and for programs (json,
// yaml, whose shape is the stable contract documented in docs/diff-json.md).
package render
