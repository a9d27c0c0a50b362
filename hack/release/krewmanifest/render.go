package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"
)

// Checksums maps an archive's file name to its sha256, as goreleaser's checksums.txt lists them.
type Checksums map[string]string

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseChecksums reads "<sha256>  <file name>" lines (sha256sum's and goreleaser's format).
func ParseChecksums(r io.Reader) (Checksums, error) {
	sums := Checksums{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 || !sha256Hex.MatchString(f[0]) {
			return nil, fmt.Errorf("checksums line %d: want \"<sha256> <file>\", got %q", n, line)
		}
		sums[strings.TrimPrefix(f[1], "*")] = f[0]
	}
	return sums, sc.Err()
}

// Render fills the krew manifest template the way krew-release-bot does: {{ .TagName }} is
// the release tag and {{ addURIAndSha "<uri>" .TagName }} becomes the uri and sha256 lines
// of that archive. The sha256 comes from sums by the uri's file name. A non-empty baseURL
// replaces everything before the file name, so the same template can point at a local copy
// of dist/ for an offline install test.
func Render(tmpl []byte, tag string, sums Checksums, baseURL string) ([]byte, error) {
	funcs := template.FuncMap{
		"addURIAndSha": func(uriTmpl, tag string) (string, error) {
			uri, err := execute("uri", uriTmpl, tag, nil)
			if err != nil {
				return "", err
			}
			name := path.Base(uri)
			sum, ok := sums[name]
			if !ok {
				return "", fmt.Errorf("no sha256 for %s in the checksums (did goreleaser build it? is the archive name template in .goreleaser.yaml the same?)", name)
			}
			if baseURL != "" {
				uri = strings.TrimSuffix(baseURL, "/") + "/" + name
			}
			// The template writes this at the platform's indentation (4 spaces).
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri, sum), nil
		},
	}
	out, err := execute("krew-manifest", string(tmpl), tag, funcs)
	if err != nil {
		return nil, err
	}
	return []byte(out), nil
}

func execute(name, text, tag string, funcs template.FuncMap) (string, error) {
	t := template.New(name).Option("missingkey=error")
	if funcs != nil {
		t = t.Funcs(funcs)
	}
	t, err := t.Parse(text)
	if err != nil {
		return "", fmt.Errorf("parse %s template: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, struct{ TagName string }{tag}); err != nil {
		return "", fmt.Errorf("render %s template: %w", name, err)
	}
	return b.String(), nil
}

// Manifest is the part of krew's Plugin (v1alpha2) that Lint looks at.
type Manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			Sha256 string `json:"sha256"`
			Bin    string `json:"bin"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
		} `json:"platforms"`
	} `json:"spec"`
}

// Platforms are the laptops netdiff ships for; krew must find exactly one archive for each.
var Platforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}

// Lint checks what krew's validator does not but the krew-index reviewers ask for: a short
// description of at most 50 characters, text wrapped at 80, one platform per os/arch we
// ship (matchLabels only, so overlap is decidable here), and LICENSE extracted everywhere.
func Lint(rendered []byte) error {
	var m Manifest
	if err := yaml.Unmarshal(rendered, &m); err != nil {
		return fmt.Errorf("rendered manifest is not YAML: %w", err)
	}
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if m.Metadata.Name != "netdiff" || m.Kind != "Plugin" || m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" {
		fail("want apiVersion krew.googlecontainertools.github.com/v1alpha2, kind Plugin, name netdiff; got %s %s %s", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	if n := len(m.Spec.ShortDescription); n == 0 || n > 50 {
		fail("shortDescription has %d characters, want 1..50", n)
	}
	for field, text := range map[string]string{"description": m.Spec.Description, "caveats": m.Spec.Caveats} {
		if strings.TrimSpace(text) == "" {
			fail("%s is empty", field)
		}
		for i, line := range strings.Split(text, "\n") {
			if len(line) > 80 {
				fail("%s line %d has %d characters, want <= 80", field, i+1, len(line))
			}
		}
	}
	seen := map[string]int{}
	for i, p := range m.Spec.Platforms {
		key := p.Selector.MatchLabels["os"] + "/" + p.Selector.MatchLabels["arch"]
		if len(p.Selector.MatchLabels) != 2 {
			fail("platform %d: selector must be matchLabels {os, arch}, got %v", i, p.Selector.MatchLabels)
		}
		if j, dup := seen[key]; dup {
			fail("platforms %d and %d both select %s", j, i, key)
		}
		seen[key] = i
		if !sha256Hex.MatchString(p.Sha256) || p.URI == "" {
			fail("platform %s: uri %q / sha256 %q not filled in", key, p.URI, p.Sha256)
		}
		wantBin := "kubectl-netdiff"
		if p.Selector.MatchLabels["os"] == "windows" {
			wantBin += ".exe"
		}
		if p.Bin != wantBin {
			fail("platform %s: bin %q, want %q", key, p.Bin, wantBin)
		}
		license := false
		for _, f := range p.Files {
			license = license || f.From == "LICENSE"
		}
		if !license {
			fail("platform %s: LICENSE is not extracted (krew's validator requires it)", key)
		}
	}
	for _, want := range Platforms {
		if _, ok := seen[want]; !ok {
			fail("no platform selects %s", want)
		}
	}
	if len(seen) != len(Platforms) {
		fail("%d platforms, want exactly %v", len(seen), Platforms)
	}
	if len(errs) > 0 {
		return fmt.Errorf("krew manifest: %s", strings.Join(errs, "; "))
	}
	return nil
}
