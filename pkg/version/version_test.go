package version

import "testing"

func TestFromModule(t *testing.T) {
	for in, want := range map[string]string{"v0.2.0": "v0.2.0", "(devel)": unset, "": unset} {
		if got := fromModule(in); got != want {
			t.Errorf("fromModule(%q) = %q, want %q", in, got, want)
		}
	}
}
