package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ApplyDir creates every object of every YAML file in dir (in file-name
// order), creating their namespaces first. Objects that exist are left alone,
// so a restarted dev environment keeps what the user changed.
func ApplyDir(ctx context.Context, c client.Client, dir string) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return 0, err
	}
	sort.Strings(files)
	n := 0
	for _, file := range files {
		objs, err := ReadObjects(file)
		if err != nil {
			return n, err
		}
		for _, obj := range objs {
			if err := create(ctx, c, obj); err != nil {
				return n, fmt.Errorf("%s: %s %s: %w", file, obj.GetKind(), obj.GetName(), err)
			}
			n++
		}
	}
	return n, nil
}

// ReadObjects reads every YAML document of a file.
func ReadObjects(file string) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if m != nil {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

func create(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	if ns := obj.GetNamespace(); ns != "" {
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if err := c.Create(ctx, nsObj); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	err := c.Create(ctx, obj, client.FieldValidation("Strict"))
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
