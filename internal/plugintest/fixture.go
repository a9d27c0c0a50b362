package plugintest

import (
	"os"
	"path/filepath"
	"testing"
)

// Fixture reads testdata/name of the package under test: a file captured from a real system.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Seed adds the named fixtures to a fuzz target's seed corpus.
func Seed(f *testing.F, names ...string) {
	for _, n := range names {
		f.Add(Fixture(f, n))
	}
}
