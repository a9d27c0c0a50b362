package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PlatformRoot is one platform of the image and the directory that becomes its layer.
type PlatformRoot struct {
	Platform string // os/arch, e.g. linux/amd64
	Dir      string
}

// Options say what to build and where to write it.
type Options struct {
	Ref            string
	Platforms      []PlatformRoot
	Entrypoint     []string
	Cmd            []string
	DockerTar      string
	DockerPlatform string
	OCILayout      string
}

// Build makes one image per platform and writes the requested outputs.
func Build(o Options) error {
	if o.Ref == "" || len(o.Platforms) == 0 {
		return errors.New("need -ref and at least one -rootfs")
	}
	if o.DockerTar == "" && o.OCILayout == "" {
		return errors.New("nothing to write: give -docker-tar and/or -oci-layout")
	}
	tag, err := parseTag(o.Ref)
	if err != nil {
		return err
	}
	// Docker media types for the docker-archive (what `docker load` expects), OCI ones
	// for the OCI layout.
	imgs, ociImgs := map[string]v1.Image{}, map[string]v1.Image{}
	for _, pr := range o.Platforms {
		img, err := platformImage(pr, o.Entrypoint, o.Cmd, false)
		if err != nil {
			return err
		}
		imgs[pr.Platform] = img
		if o.OCILayout != "" {
			if ociImgs[pr.Platform], err = platformImage(pr, o.Entrypoint, o.Cmd, true); err != nil {
				return err
			}
		}
	}
	if o.DockerTar != "" {
		p := o.DockerPlatform
		if p == "" {
			if len(o.Platforms) != 1 {
				return errors.New("-docker-tar with several -rootfs needs -docker-platform")
			}
			p = o.Platforms[0].Platform
		}
		img, ok := imgs[p]
		if !ok {
			return fmt.Errorf("-docker-platform %s: no -rootfs for it", p)
		}
		if err := writeDockerTar(o.DockerTar, tag, img); err != nil {
			return err
		}
	}
	if o.OCILayout != "" {
		if err := writeOCILayout(o.OCILayout, tag, o.Platforms, ociImgs); err != nil {
			return err
		}
	}
	return nil
}

// parseTag keeps an unqualified reference unqualified, so the tarball says
// "netdiff/netdiff-prober:v1" and containerd normalises it exactly as the kubelet does.
func parseTag(ref string) (name.Tag, error) {
	last := ref[strings.LastIndex(ref, "/")+1:]
	if !strings.Contains(last, ":") {
		return name.Tag{}, fmt.Errorf("-ref %q: want REPOSITORY:TAG, with an explicit tag", ref)
	}
	t, err := name.NewTag(ref, name.WithDefaultRegistry(""))
	if err != nil {
		return name.Tag{}, fmt.Errorf("-ref %q: want REPOSITORY:TAG: %w", ref, err)
	}
	return t, nil
}

func platformImage(pr PlatformRoot, entrypoint, cmd []string, oci bool) (v1.Image, error) {
	osName, arch, ok := strings.Cut(pr.Platform, "/")
	if !ok || osName == "" || arch == "" {
		return nil, fmt.Errorf("platform %q: want OS/ARCH", pr.Platform)
	}
	data, err := tarDir(pr.Dir)
	if err != nil {
		return nil, err
	}
	base, layerType := empty.Image, types.DockerLayer
	if oci {
		base = mutate.ConfigMediaType(mutate.MediaType(base, types.OCIManifestSchema1), types.OCIConfigJSON)
		layerType = types.OCILayer
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(layerType), tarball.WithCompressionLevel(gzip.BestCompression))
	if err != nil {
		return nil, fmt.Errorf("layer of %s: %w", pr.Dir, err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = osName, arch
	cf.Config.Entrypoint = entrypoint
	cf.Config.Cmd = cmd
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	return mutate.ConfigFile(img, cf)
}

// tarDir archives dir with fixed owners and times, so the same input gives the same digest.
func tarDir(dir string) ([]byte, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read root file system %s: %w", dir, err)
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return nil, err
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		rel, _ := filepath.Rel(dir, p)
		h.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		h.ModTime, h.AccessTime, h.ChangeTime = time.Unix(0, 0), time.Time{}, time.Time{}
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return nil, err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeDockerTar(path string, tag name.Tag, img v1.Image) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// writeOCILayout writes a fresh layout whose index names the tag the way both OCI tools
// (org.opencontainers.image.ref.name) and `ctr images import` (io.containerd.image.name) read it.
func writeOCILayout(dir string, tag name.Tag, prs []PlatformRoot, imgs map[string]v1.Image) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	var idx v1.ImageIndex = empty.Index
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	for _, pr := range prs {
		osName, arch, _ := strings.Cut(pr.Platform, "/")
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        imgs[pr.Platform],
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: osName, Architecture: arch}},
		})
	}
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	return lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag.TagStr(),
		"io.containerd.image.name":          tag.String(),
	}))
}
