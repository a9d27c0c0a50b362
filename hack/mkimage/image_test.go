package main

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func rootfs(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "netdiff-prober"), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDockerTarKeepsUnqualifiedTagAndFiles(t *testing.T) {
	out := filepath.Join(t.TempDir(), "img.tar")
	err := Build(Options{
		Ref: "netdiff/netdiff-prober:v9.9.9", Entrypoint: []string{"/netdiff-prober"},
		Platforms: []PlatformRoot{{Platform: "linux/arm64", Dir: rootfs(t, "binary")}},
		DockerTar: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(out) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || len(m[0].RepoTags) != 1 || m[0].RepoTags[0] != "netdiff/netdiff-prober:v9.9.9" {
		t.Fatalf("RepoTags = %+v, want exactly netdiff/netdiff-prober:v9.9.9 (no registry host)", m)
	}
	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "arm64" || cf.OS != "linux" || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/netdiff-prober" {
		t.Fatalf("config = %s/%s entrypoint %q", cf.OS, cf.Architecture, cf.Config.Entrypoint)
	}
	files := map[string]*tar.Header{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h
	}
	if h := files["netdiff-prober"]; h == nil || h.Mode&0o111 == 0 || h.Uid != 0 {
		t.Fatalf("netdiff-prober entry = %+v, want an executable owned by root", h)
	}
	if h := files["tmp"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode&0o1777 != 0o1777 {
		t.Fatalf("tmp entry = %+v, want a sticky world-writable directory", h)
	}
}

func TestOCILayoutIndexesEveryPlatformAndIsReproducible(t *testing.T) {
	build := func() string {
		dir := filepath.Join(t.TempDir(), "oci")
		err := Build(Options{
			Ref: "netdiff/netdiff-prober:v1.0.0",
			Platforms: []PlatformRoot{
				{Platform: "linux/amd64", Dir: rootfs(t, "amd64")},
				{Platform: "linux/arm64", Dir: rootfs(t, "arm64")},
			},
			OCILayout: dir,
		})
		if err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dir := build()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Manifests) != 1 || top.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v1.0.0" {
		t.Fatalf("layout index = %+v, want one index tagged v1.0.0", top.Manifests)
	}
	inner, err := idx.ImageIndex(top.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := inner.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var archs []string
	for _, d := range im.Manifests {
		if d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("%s manifest media type %s, want OCI", d.Platform.Architecture, d.MediaType)
		}
		archs = append(archs, d.Platform.OS+"/"+d.Platform.Architecture)
	}
	if len(archs) != 2 || archs[0] != "linux/amd64" || archs[1] != "linux/arm64" {
		t.Fatalf("platforms = %v, want [linux/amd64 linux/arm64]", archs)
	}
	again, err := layout.ImageIndexFromPath(build())
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := idx.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Fatalf("same input gave digests %s and %s: the build is not reproducible", d1, d2)
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	dir := rootfs(t, "x")
	for name, o := range map[string]Options{
		"no ref":        {Platforms: []PlatformRoot{{"linux/amd64", dir}}, DockerTar: "x"},
		"no output":     {Ref: "a/b:c", Platforms: []PlatformRoot{{"linux/amd64", dir}}},
		"bad platform":  {Ref: "a/b:c", Platforms: []PlatformRoot{{"amd64", dir}}, DockerTar: filepath.Join(t.TempDir(), "x")},
		"ambiguous tar": {Ref: "a/b:c", Platforms: []PlatformRoot{{"linux/amd64", dir}, {"linux/arm64", dir}}, DockerTar: "x"},
		"no tag":        {Ref: "a/b", Platforms: []PlatformRoot{{"linux/amd64", dir}}, DockerTar: "x"},
	} {
		if err := Build(o); err == nil {
			t.Errorf("%s: Build succeeded, want an error", name)
		}
	}
}
