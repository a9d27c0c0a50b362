package resolvconf

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		file  string
		want  Config
		ndots int
	}{
		{"host-resolv.conf", Config{Nameservers: []string{"10.255.255.53"}, Search: []string{}, Options: []string{}}, 1},
		{"k8s-clusterfirst.conf", Config{
			Nameservers: []string{"10.96.0.10"},
			Search:      []string{"default.svc.cluster.local", "svc.cluster.local", "cluster.local"},
			Options:     []string{"ndots:5"},
		}, 5},
		{"mixed.conf", Config{
			Nameservers: []string{"127.0.0.53", "::1", "fe80::1%eth0"},
			Search:      []string{"a.example", "b.example"},
			Options:     []string{"edns0", "trust-ad", "ndots:2", "timeout:1", "attempts:3", "rotate"},
			Sortlist:    []string{"130.155.160.0/255.255.240.0"},
			Unknown:     []string{"lookup file bind"},
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("Parse =\n %+v\nwant\n %+v", *got, tt.want)
			}
			if n := got.Ndots(); n != tt.ndots {
				t.Errorf("Ndots = %d, want %d", n, tt.ndots)
			}
		})
	}
}

func TestParseRules(t *testing.T) {
	c, err := Parse(strings.NewReader("search a b\ndomain c\nnameserver 1.1.1.1\nnameserver 2.2.2.2\nnameserver 3.3.3.3\nnameserver 4.4.4.4\noptions ndots:99 ndots:x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Search, []string{"c"}) {
		t.Errorf("last of search/domain must win, got %v", c.Search)
	}
	if len(c.Nameservers) != 3 || !reflect.DeepEqual(c.Ignored, []string{"4.4.4.4"}) {
		t.Errorf("MAXNS not applied: %v ignored %v", c.Nameservers, c.Ignored)
	}
	if c.Ndots() != 1 {
		t.Errorf("unparsable last ndots should fall back to 1, got %d", c.Ndots())
	}
	c, _ = Parse(strings.NewReader("options ndots:99\n"))
	if c.Ndots() != 15 {
		t.Errorf("ndots cap: got %d, want 15", c.Ndots())
	}
}

func TestReadTarget(t *testing.T) {
	proc := t.TempDir()
	etc := filepath.Join(proc, "42", "root", "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("nameserver 10.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadTarget(proc, 42)
	if err != nil || len(c.Nameservers) != 1 || c.Nameservers[0] != "10.0.0.1" {
		t.Fatalf("ReadTarget = %+v, %v", c, err)
	}
	if _, err := ReadTarget(proc, 43); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want ErrNotExist", err)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.conf")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(c.Nameservers) > MaxNameservers {
			t.Fatalf("%d nameservers kept", len(c.Nameservers))
		}
		if n := c.Ndots(); n < 0 || n > 15 {
			t.Fatalf("ndots %d out of range", n)
		}
	})
}
