package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"
)

// fakeSums gives every archive the release would publish for tag a distinct checksum.
func fakeSums(tag string) Checksums {
	sums := Checksums{}
	for _, p := range Platforms {
		os, arch, _ := strings.Cut(p, "/")
		ext := "tar.gz"
		if os == "windows" {
			ext = "zip"
		}
		name := fmt.Sprintf("kubectl-netdiff_%s_%s_%s.%s", tag, os, arch, ext)
		sums[name] = fmt.Sprintf("%x", sha256.Sum256([]byte(name)))
	}
	return sums
}

func committedTemplate(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../../krew-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCommittedTemplateRendersAndLints(t *testing.T) {
	const tag = "v1.2.3"
	sums := fakeSums(tag)
	out, err := Render(committedTemplate(t), tag, sums, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := Lint(out); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for name, sum := range sums {
		want := "https://github.com/netdiff/kubectl-netdiff/releases/download/" + tag + "/" + name + "\n    sha256: " + sum
		if !strings.Contains(string(out), want) {
			t.Errorf("rendered manifest lacks uri+sha256 for %s", name)
		}
	}
	if strings.Contains(string(out), "{{") {
		t.Errorf("template left unrendered:\n%s", out)
	}

	local, err := Render(committedTemplate(t), tag, sums, "http://127.0.0.1:1234/")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(local), "uri: http://127.0.0.1:1234/kubectl-netdiff_"+tag+"_"); n != len(Platforms) {
		t.Errorf("base URL replaced %d uris, want %d", n, len(Platforms))
	}
}

func TestRenderNamesMissingArchive(t *testing.T) {
	sums := fakeSums("v1.2.3")
	delete(sums, "kubectl-netdiff_v1.2.3_darwin_arm64.tar.gz")
	_, err := Render(committedTemplate(t), "v1.2.3", sums, "")
	if err == nil || !strings.Contains(err.Error(), "darwin_arm64") {
		t.Fatalf("err = %v, want it to name the missing darwin_arm64 archive", err)
	}
}

func TestLintRejects(t *testing.T) {
	const tag = "v1.2.3"
	good, err := Render(committedTemplate(t), tag, fakeSums(tag), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, errHas string }{
		{"long short description", "shortDescription: ", "shortDescription: " + strings.Repeat("x", 40), "shortDescription has"},
		{"overlapping selectors", "os: darwin\n        arch: arm64", "os: darwin\n        arch: amd64", "both select darwin/amd64"},
		{"unwrapped description", "description: |\n    ", "description: |\n    " + strings.Repeat("y", 81) + " ", "description line 1"},
		{"no license", "- from: LICENSE\n      to: .\n  - selector", "- from: README.md\n      to: .\n  - selector", "LICENSE is not extracted"},
		{"wrong windows bin", "bin: kubectl-netdiff.exe", "bin: kubectl-netdiff", "want \"kubectl-netdiff.exe\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(good), tc.old, tc.new, 1)
			if bad == string(good) {
				t.Fatalf("test edit %q did not apply", tc.old)
			}
			if err := Lint([]byte(bad)); err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("Lint = %v, want error containing %q", err, tc.errHas)
			}
		})
	}
}

func TestParseChecksums(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	got, err := ParseChecksums(strings.NewReader(sum + "  a.tar.gz\n\n" + sum + " *b.zip\n"))
	if err != nil || got["a.tar.gz"] != sum || got["b.zip"] != sum || len(got) != 2 {
		t.Fatalf("ParseChecksums = %v, %v", got, err)
	}
	if _, err := ParseChecksums(strings.NewReader("nothex  a.tar.gz\n")); err == nil {
		t.Fatal("ParseChecksums accepted a line without a sha256")
	}
}
