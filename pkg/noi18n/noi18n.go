// Package noi18n keeps kubectl's translations of its own help texts unloaded. netdiff uses
// kubectl's debug profiles; the packages they pull in translate kubectl's command help in
// their var initialisers, and the first translation loads and parses the whole catalogue
// (13 ms and 4 MB on every run, a quarter of the plugin's start). netdiff shows none of
// that text, and untranslated strings are the English originals. Import it blank from the
// main package, before any package that translates: its import path sorts first, and Go
// initialises such a package as soon as its own dependencies are.
package noi18n

import "k8s.io/kubectl/pkg/util/i18n"

func init() {
	// Errors only when translations were loaded already: then this package came too late
	// and the start is merely slower.
	_ = i18n.SetLoadTranslationsFunc(func() error { return nil })
}
