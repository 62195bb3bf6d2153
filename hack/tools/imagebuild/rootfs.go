package main

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// The unprivileged user the images run as, the same UID and GID as
// distroless' nonroot, so existing securityContexts (runAsUser: 65532) fit.
const (
	nonrootID    = 65532
	nonrootUser  = "65532:65532"
	binDir       = "/usr/local/bin"
	caBundlePath = "etc/ssl/certs/ca-certificates.crt"
)

// fsEntry is one file or directory of an image's single layer.
type fsEntry struct {
	path     string // relative, no leading slash
	mode     int64  // permission bits, with 01000 (sticky) for /tmp
	dir      bool
	uid, gid int
	data     []byte
}

// rootFS is everything an image holds: no shell, no package manager, no
// libc (the binary is static), just what a Go server needs at run time.
func rootFS(c component, binary []byte) ([]fsEntry, error) {
	roots, err := caBundle()
	if err != nil {
		return nil, err
	}
	dirs := []string{"etc", "etc/ssl", "etc/ssl/certs", "home", "usr", "usr/local", "usr/local/bin"}
	var entries []fsEntry
	for _, d := range dirs {
		entries = append(entries, fsEntry{path: d, mode: 0o755, dir: true})
	}
	return append(entries,
		// os.TempDir and pod mode's default state directory; a pod with a
		// read-only root filesystem mounts an emptyDir over it.
		fsEntry{path: "tmp", mode: 0o1777, dir: true},
		fsEntry{path: "home/nonroot", mode: 0o700, dir: true, uid: nonrootID, gid: nonrootID},
		fsEntry{path: "etc/passwd", mode: 0o644, data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n" +
				"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		fsEntry{path: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		fsEntry{path: caBundlePath, mode: 0o644, data: roots},
		fsEntry{path: binDir[1:] + "/" + c.binary, mode: 0o755, data: binary},
	), nil
}

// caBundle is the PEM bundle of the Mozilla (NSS) roots that
// golang.org/x/crypto/x509roots/fallback embeds: pinned by hack/tools'
// go.sum, so the image never depends on the build host's /etc/ssl. Roots
// carrying a constraint (distrust after a date) are left out: a PEM file
// cannot express the constraint, and trusting them without it would be
// wider than NSS does.
func caBundle() ([]byte, error) {
	var buf bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		if err := pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate}); err != nil {
			return nil, err
		}
	}
	if buf.Len() == 0 {
		return nil, fmt.Errorf("x509roots/fallback has no unconstrained roots")
	}
	return buf.Bytes(), nil
}

// layerTar writes entries as an uncompressed tar sorted by path (a parent
// sorts before its children) with every time set to mtime and no user or
// group names, so the bytes depend on the content alone.
func layerTar(entries []fsEntry, mtime time.Time) ([]byte, error) {
	entries = slices.Clone(entries)
	slices.SortFunc(entries, func(a, b fsEntry) int { return strings.Compare(a.path, b.path) })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    e.path,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: mtime,
			Format:  tar.FormatUSTAR,
		}
		if e.dir {
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
