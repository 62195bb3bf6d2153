# Tailscale Gateway. `make dev` runs it, `make test` tests it; both do their own set-up.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

GO          ?= go
BIN         := $(CURDIR)/bin
TOOLS       := $(GO) -C hack/tools tool
ENVTEST_DIR  = $(shell hack/envtest-binaries.sh)
ENVOY_GATEWAY = $(shell hack/envoy-gateway-binary.sh)
TEST_FLAGS  ?= -race -count=1 -timeout 30m
# One version source: the VERSION file (the binaries, the images' tags, the
# chart's version and appVersion). The commit is HEAD's, or "unknown"
# outside a git checkout (a source tarball).
VERSION     := $(shell cat VERSION)
COMMIT      := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
MODULE      := github.com/tailscale-gateway/tailscale-gateway
LDFLAGS      = -X $(MODULE)/internal/version.Version=$(VERSION) -X $(MODULE)/internal/version.Commit=$(COMMIT)
EXT_LDFLAGS  = -X $(MODULE)/envoy-extension/internal/version.Version=$(VERSION) -X $(MODULE)/envoy-extension/internal/version.Commit=$(COMMIT)
# Every file in the images carries this time: the commit's, so that one
# commit always builds the same bytes (0 outside git).
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
RELEASE     := $(BIN)/release

.PHONY: all
all: generate build

##@ Development

.PHONY: generate
generate: ## Regenerate deepcopy, CRDs and RBAC from the API types and markers.
	$(TOOLS) controller-gen object:headerFile=../../hack/boilerplate.go.txt paths=../../api/...
	$(TOOLS) controller-gen crd:allowDangerousTypes=false paths=../../api/... output:crd:artifacts:config=../../config/crd/bases
	$(TOOLS) controller-gen rbac:roleName=tsgw-operator paths=../../internal/... output:rbac:artifacts:config=../../config/rbac
	$(GO) run ./hack/chartgen

.PHONY: build
build: ## Build every binary into bin/.
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

.PHONY: build-envoy-extension
build-envoy-extension: ## Build the Envoy Gateway extension server (its own module) into bin/.
	$(GO) -C envoy-extension build -ldflags '$(EXT_LDFLAGS)' -o $(BIN)/envoy-extension .

.PHONY: images
images: ## OCI images (linux/amd64 + arm64) of the operator, tsgw-proxy and envoy-extension into bin/images/, no Docker.
	$(GO) -C hack/tools run ./imagebuild --repo $(CURDIR) --out $(BIN)/images \
		--version $(VERSION) --commit $(COMMIT) --source-date-epoch $(SOURCE_DATE_EPOCH)

.PHONY: release
release: images ## Release artifacts in bin/release/: image tarballs, digests.txt, the chart package and SHA256SUMS over them all.
	rm -rf $(RELEASE) && mkdir -p $(RELEASE)
	$(MAKE) chart
	cp $(BIN)/images/*.tar $(BIN)/images/digests.txt $(RELEASE)/
	cd $(RELEASE) && sha256sum -- $$(ls | grep -vx SHA256SUMS) >SHA256SUMS
	@echo "release $(VERSION) in $(RELEASE):" && cat $(RELEASE)/SHA256SUMS

.PHONY: chart
chart: ## Package the Helm chart (charts/tailscale-gateway) into bin/release/.
	$(GO) -C test/chart run ./cmd/package-chart -chart ../../charts/tailscale-gateway -out $(BIN)/release \
	  -version $(VERSION) -date "$$(git log -1 --format=%ct)"

.PHONY: lint
lint: $(BIN)/staticcheck ## gofmt, go vet and staticcheck.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/staticcheck ./...
	$(GO) -C envoy-extension vet ./...
	cd envoy-extension && $(BIN)/staticcheck ./...
	$(GO) -C test/chart vet ./...
	cd test/chart && $(BIN)/staticcheck ./...
	$(GO) -C test/cluster vet ./...
	cd test/cluster && $(BIN)/staticcheck ./...
	$(GO) -C hack/tools vet ./imagebuild/... ./nodeimage/...
	cd hack/tools && $(BIN)/staticcheck ./imagebuild/...
	$(GO) -C hack/cluster/pause vet ./...
	cd hack/cluster/pause && $(BIN)/staticcheck ./...

$(BIN)/staticcheck: hack/tools/go.mod
	$(GO) build -C hack/tools -o $(BIN)/staticcheck honnef.co/go/tools/cmd/staticcheck

.PHONY: envtest
envtest: ## Build (once per machine) the kube-apiserver, etcd and kubectl the tests use.
	@hack/envtest-binaries.sh >/dev/null

.PHONY: envoy-gateway
envoy-gateway: ## Build (once per machine) Envoy Gateway v1.9.1, which envoy-extension's integration test runs.
	@hack/envoy-gateway-binary.sh >/dev/null

.PHONY: test
test: envtest envoy-gateway ## Unit, integration (envtest + emulator) and end-to-end (lab) tests.
	KUBEBUILDER_ASSETS=$(ENVTEST_DIR) $(GO) test $(TEST_FLAGS) $$($(GO) list ./... | grep -v /test/faults/)
	ENVOY_GATEWAY_BINARY=$(ENVOY_GATEWAY) KUBEBUILDER_ASSETS=$(ENVTEST_DIR) $(GO) -C envoy-extension test $(TEST_FLAGS) ./...
	# The chart's tests render templates and talk to an API server: no
	# concurrency of ours to race, and -race would double the cold build of Helm.
	KUBEBUILDER_ASSETS=$(ENVTEST_DIR) $(GO) -C test/chart test -count=1 -timeout 30m ./...
	IMAGEBUILD_TEST_PLATFORMS=linux/amd64 $(MAKE) test-images

# Fuzz targets of the fault-injection suite, "module:package FuzzName"
# separated by ";" (the module is a directory with its own go.mod).
FUZZ_TARGETS ?= .:./internal/tsapi FuzzEnsureServiceApprovers; \
	.:./internal/coordination FuzzParse; \
	.:./internal/coordination FuzzRegistryRoundTrip; \
	.:./internal/pool FuzzParseStatus; \
	.:./internal/planner FuzzStatusReport; \
	envoy-extension:./internal/translate FuzzCluster
FUZZ_TIME    ?= 15s
APISERVER_OUTAGE ?= 60s
# go test flags of make test-cluster (not -race: the harness, Helm included, is not what it tests).
CLUSTER_TEST_FLAGS ?= -v

.PHONY: test-faults
test-faults: envtest ## Fault-injection suite: API faults, the operator killed mid-write, hostile input (and fuzzing), termination under load.
	KUBEBUILDER_ASSETS=$(ENVTEST_DIR) $(GO) test $(TEST_FLAGS) ./test/faults/...
	@# Poisoned configuration, the API server frozen for APISERVER_OUTAGE, a proxy restarted: in the lab.
	E2E_APISERVER_OUTAGE=$(APISERVER_OUTAGE) KUBEBUILDER_ASSETS=$(ENVTEST_DIR) $(GO) test $(TEST_FLAGS) -run '^TestPoisonedConfigurationAndOutage$$' ./test/e2e/
	@# FUZZ_TIME=0 runs no new fuzzing (the seeds and every input found so far, in testdata/fuzz, run in make test).
	@set -e; [ "$(FUZZ_TIME)" != 0 ] || exit 0; echo "$(FUZZ_TARGETS)" | tr ';' '\n' | while read -r pkg target; do \
		[ -n "$$pkg" ] || continue; \
		echo "fuzzing $$target in $$pkg for $(FUZZ_TIME)"; \
		$(GO) -C "$${pkg%%:*}" test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZ_TIME) -fuzzminimizetime 5s "$${pkg#*:}"; \
	done

.PHONY: test-images
test-images: ## The image builder's test: reproducible digests, contents, binaries run from the image as 65532.
	@# Without -race: it would slow the gzip of six binaries and find nothing, the builder being sequential.
	$(GO) -C hack/tools test -count=1 -timeout 20m ./imagebuild/...

.PHONY: dev
dev: envtest build ## Run everything locally: API server, lab tailnet, operator, examples.
	KUBEBUILDER_ASSETS=$(ENVTEST_DIR) $(BIN)/dev --crds config/crd/bases --samples config/samples

.PHONY: cluster-binaries
cluster-binaries: ## Build (once per machine) kubelet, kube-scheduler, kube-proxy, CoreDNS and pause for cluster-up.
	@hack/cluster/binaries.sh >/dev/null

.PHONY: cluster-up
cluster-up: ## One real Kubernetes node on this machine, offline (root): prints its kubeconfig.
	hack/cluster/up.sh

.PHONY: cluster-down
cluster-down: ## Stop the node of cluster-up and remove everything it created (safe to run twice).
	hack/cluster/down.sh

.PHONY: test-cluster
test-cluster: ## End-to-end tests on a real node (root): the chart's operator and the proxies as pods, traffic through the lab tailnet.
	hack/cluster/run.sh test $(CLUSTER_TEST_FLAGS)

.PHONY: dev-cluster
dev-cluster: ## make dev on a real node (root): the chart installed from make images' images, the samples, until Ctrl-C.
	hack/cluster/run.sh dev

.PHONY: bench
bench: ## Go benchmarks of the data plane (see bench/RESULTS.md).
	$(GO) test -run '^$$' -bench . -benchmem ./internal/lb/... ./internal/proxy/...

.PHONY: bench-dataplane
bench-dataplane: build ## HAProxy and tsgw-proxy side by side under wrk; appends to bench/HISTORY.md.
	hack/bench-dataplane.sh

.PHONY: help
help:
	@awk 'BEGIN{FS=":.*##"} /^[a-zA-Z_-]+:.*##/{printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
