// Package plugintest holds the helpers every probe plugin's tests share: running the real
// diff engine on a plugin's section, and benchmarking a collection. It is for the tests of
// packages under plugins/ only; production code must not import it.
package plugintest
