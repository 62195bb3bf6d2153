// Command package-chart packages the Helm chart the way `helm package` does,
// with Helm's own Go SDK (no helm binary to download), setting the chart's
// version and appVersion to the release's version and every file's time to
// the commit's, so the same commit packages to the same bytes.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"helm.sh/helm/v4/pkg/action"
)

func main() {
	chartDir := flag.String("chart", "", "the chart's directory")
	out := flag.String("out", "", "directory to write <name>-<version>.tgz into")
	version := flag.String("version", "", "the release's version (the VERSION file); a leading v is dropped from the chart's version, which must be SemVer")
	date := flag.Int64("date", 0, "Unix time stamped on every file (the commit's time); 0 keeps the files' own")
	flag.Parse()
	if *chartDir == "" || *out == "" || *version == "" {
		flag.Usage()
		os.Exit(2)
	}
	path, err := Package(*chartDir, *out, *version, *date)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(path)
}

// Package writes the chart's archive into out and returns its path.
func Package(chartDir, out, version string, date int64) (string, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	p := action.NewPackage()
	p.Destination = out
	p.Version = strings.TrimPrefix(version, "v")
	p.AppVersion = version
	if date != 0 {
		t := time.Unix(date, 0).UTC()
		p.SourceDateEpoch = &t
	}
	return p.Run(chartDir, nil)
}
