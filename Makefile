# nstance-issuer — a cert-manager external issuer.
#
#   make test   every check CI runs: generated files up to date, vet, lint,
#               unit + fuzz-seed tests (race), integration tests against a
#               real kube-apiserver + etcd built from Go modules, and the e2e
#               suite with cert-manager's real controllers, install tests, and
#               a small run of the load harness.
#   make demo   the product's main job on a local stack.
#
# Tools are built from pinned Go modules into bin/ (git-ignored), one file
# per version, so a second run builds nothing.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

BIN := $(CURDIR)/bin

CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
CRD_REF_DOCS_VERSION ?= v0.3.0
CYCLONEDX_GOMOD_VERSION ?= v1.10.0
KUBE_VERSION ?= v1.37.2
ETCD_VERSION ?= v3.6.16

CONTROLLER_GEN := $(BIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT := $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
CRD_REF_DOCS := $(BIN)/crd-ref-docs-$(CRD_REF_DOCS_VERSION)
CYCLONEDX_GOMOD := $(BIN)/cyclonedx-gomod-$(CYCLONEDX_GOMOD_VERSION)
ENVTEST_ASSETS := $(BIN)/envtest/k8s-$(KUBE_VERSION)-etcd-$(ETCD_VERSION)
# Kubernetes 1.36 serves PodCertificateRequests at v1beta1 only (behind
# feature gates): the v1beta1 path is tested against it.
KUBE_VERSION_BETA ?= v1.36.3
ENVTEST_ASSETS_BETA := $(BIN)/envtest/k8s-$(KUBE_VERSION_BETA)-etcd-$(ETCD_VERSION)

# The AWS KMS emulator the tests and the benchmark run (hack/local-kms
# pins its version), built from Go modules; see also pkcs11-deps.
LOCAL_KMS_VERSION := $(shell awk '$$1 == "github.com/nsmithuk/local-kms" {print $$2}' hack/local-kms/go.mod)
LOCAL_KMS := $(BIN)/local-kms-$(LOCAL_KMS_VERSION)

# Packages whose tests need no API server; they run with -race. internal/test/...
# includes the check that the manager binary links none of the test tree.
CORE_PKGS := ./api/... ./internal/pki/... ./internal/keys/... ./internal/rotation/... ./internal/controller/... ./internal/app/... ./internal/image/... ./internal/test/... ./internal/webhook/... ./internal/explain/... ./internal/dashboard/... ./cmd/kubectl-nstance/...

.PHONY: help
help: ## Show the targets.
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

##@ Development

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code from the API types.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and the manager's RBAC from markers (and config/scoped's split of it), and the CSR annotation policy from its code.
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=manager-role paths=./internal/... output:rbac:artifacts:config=config/rbac
	go test ./internal/controller/kubecsr/ -count=1 -run '^TestCSRPolicyManifestIsGenerated$$' -args -update >/dev/null
	go test ./internal/test/install/ -count=1 -run '^TestScopedRBACFiles$$' -args -update >/dev/null

.PHONY: api-docs
api-docs: $(CRD_REF_DOCS) ## Generate the API reference docs/api.md from the API types.
	$(CRD_REF_DOCS) --source-path=./api --config=hack/crd-ref-docs.yaml --renderer=markdown --output-path=docs/api.md --log-level=WARN

.PHONY: dashboards
dashboards: ## Generate the Grafana dashboard (charts/nstance-issuer/files/dashboards/nstance-issuer.json) from internal/dashboard.
	go test ./internal/dashboard/ -count=1 -run '^TestDashboardFileIsGenerated$$' -args -update >/dev/null

DASHBOARDS := charts/nstance-issuer/files/dashboards

.PHONY: verify
verify: generate manifests api-docs dashboards ## Fail when generated files differ from what is committed, a tracked file exceeds 1 MiB or a Go file lacks its license header.
	@if [ -n "$$(git status --porcelain -- api config docs/api.md $(DASHBOARDS))" ]; then \
		echo "generated files are stale; run 'make generate manifests api-docs dashboards' and commit:"; \
		git status --porcelain -- api config docs/api.md $(DASHBOARDS); git --no-pager diff --stat -- api config docs/api.md $(DASHBOARDS); exit 1; fi
	hack/verify-repo.sh

.PHONY: fmt
fmt: ## Format the code.
	go fmt ./...

.PHONY: vet
vet: pkcs11-deps ## Run go vet (and again with the PKCS#11 build tag, which needs cgo).
	go vet -tags integration,e2e ./...
	CGO_ENABLED=1 go vet -tags integration,e2e,pkcs11 ./internal/keys/... ./internal/controller/cakeysuite/... ./internal/image/... ./internal/test/... ./cmd/... ./e2e/...

.PHONY: lint
lint: $(GOLANGCI_LINT) pkcs11-deps ## Run golangci-lint (with the pkcs11 build tag: it needs cgo).
	CGO_ENABLED=1 $(GOLANGCI_LINT) run --allow-serial-runners ./...

.PHONY: build
build: ## Build the manager binary (static, no cgo, no PKCS#11) and the kubectl plugin (kubectl-nstance: kubectl nstance explain) into bin/.
	CGO_ENABLED=0 go build -trimpath -o $(BIN)/nstance-issuer ./cmd/nstance-issuer
	CGO_ENABLED=0 go build -trimpath -o $(BIN)/kubectl-nstance ./cmd/kubectl-nstance

.PHONY: build-pkcs11
build-pkcs11: pkcs11-deps ## Build the manager with PKCS#11 (cgo, build tag pkcs11, dynamically linked against glibc) into bin/nstance-issuer-pkcs11.
	CGO_ENABLED=1 go build -tags pkcs11 -trimpath -o $(BIN)/nstance-issuer-pkcs11 ./cmd/nstance-issuer

.PHONY: pkcs11-deps
pkcs11-deps: ## Install gcc (cgo) and Debian's softhsm2 when missing (apt-get, as root): the PKCS#11 build and its tests need them.
	@hack/pkcs11-deps.sh

.PHONY: local-kms
local-kms: $(LOCAL_KMS) ## Build the AWS KMS emulator local-kms from Go modules into bin/ (the tests and make bench run it).
	@echo $(LOCAL_KMS)

$(LOCAL_KMS):
	@echo "building the AWS KMS emulator local-kms $(LOCAL_KMS_VERSION) (first time only)..." >&2
	cd hack/local-kms && GOFLAGS=-buildvcs=false go build -o $@ .

##@ Tests

.PHONY: test
test: verify vet lint test-unit test-integration test-pkcs11 test-e2e verify-chart test-install test-release bench-smoke chaos-smoke ## Everything CI runs.

.PHONY: test-unit
test-unit: ## Unit tests and fuzz seed corpora of the core packages, with -race.
	go test -race -count=1 $(CORE_PKGS)

.PHONY: test-integration
test-integration: envtest-assets envtest-assets-beta ## Integration tests against a real kube-apiserver + etcd (and the v1beta1 pod certificate and ClusterTrustBundle paths on 1.36); CA keys in a KMS or an HSM are test-pkcs11's.
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) go test -tags integration -count=1 -timeout 20m $$(go list ./internal/controller/... | grep -v /cakeysuite) ./internal/test/localstack/... ./internal/webhook/... ./cmd/kubectl-nstance/...
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS_BETA) go test -tags integration -count=1 -timeout 10m ./internal/test/podcertbeta/...

.PHONY: test-pkcs11
test-pkcs11: envtest-assets pkcs11-deps $(LOCAL_KMS) ## CA keys against the AWS KMS emulator and in SoftHSM2 tokens (PKCS#11, cgo): the keys package, and the manager against a real kube-apiserver.
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) LOCAL_KMS=$(LOCAL_KMS) CGO_ENABLED=1 go test -tags integration,pkcs11 -count=1 -p 1 -timeout 20m ./internal/keys/... ./internal/controller/cakeysuite/...

.PHONY: e2e
e2e: envtest-assets pkcs11-deps ## End-to-end suite with cert-manager's controllers: on the local stack (with a SoftHSM-backed issuer: PKCS#11 build), or on KUBECONFIG's cluster when set.
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) CGO_ENABLED=1 go test -tags e2e,pkcs11 -count=1 -timeout 30m ./e2e/... -ginkgo.v

.PHONY: test-e2e
test-e2e: ## The end-to-end suite on the local stack, whatever KUBECONFIG says (what CI runs).
	env -u KUBECONFIG $(MAKE) e2e

.PHONY: envtest-assets
envtest-assets: ## Build kube-apiserver and etcd from Go modules into bin/ (once per version).
	KUBE_VERSION=$(KUBE_VERSION) ETCD_VERSION=$(ETCD_VERSION) hack/envtest-assets.sh $(ENVTEST_ASSETS) >/dev/null

.PHONY: envtest-assets-beta
envtest-assets-beta: ## Build the Kubernetes 1.36 kube-apiserver and etcd (the v1beta1 PodCertificateRequest path).
	KUBE_VERSION=$(KUBE_VERSION_BETA) ETCD_VERSION=$(ETCD_VERSION) hack/envtest-assets.sh $(ENVTEST_ASSETS_BETA) >/dev/null

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (30s; or executions: 10000000x), print executions per target, fail on a crash.
	hack/fuzz.sh

##@ Tools

$(CONTROLLER_GEN):
	hack/go-install-tool.sh $@ sigs.k8s.io/controller-tools/cmd/controller-gen $(CONTROLLER_TOOLS_VERSION)

$(CRD_REF_DOCS):
	hack/go-install-tool.sh $@ github.com/elastic/crd-ref-docs $(CRD_REF_DOCS_VERSION)

$(GOLANGCI_LINT):
	hack/go-install-tool.sh $@ github.com/golangci/golangci-lint/v2/cmd/golangci-lint $(GOLANGCI_LINT_VERSION)

$(CYCLONEDX_GOMOD):
	hack/go-install-tool.sh $@ github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod $(CYCLONEDX_GOMOD_VERSION)

##@ Demo

.PHONY: demo
demo: envtest-assets ## Run nstance-issuer on a local API server, sign samples, stay up until Ctrl-C.
	@echo "==> building the demo (first run also built kube-apiserver and etcd into bin/)"
	go build -o $(BIN)/nstance-demo ./cmd/nstance-demo
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) $(BIN)/nstance-demo

##@ Install artifacts

HELM_VERSION ?= v3.22.0
# Kubernetes minor version of helm's client-go, for helm's default capabilities.
HELM_K8S_MINOR ?= 37
HELM := $(BIN)/helm-$(HELM_VERSION)
KUSTOMIZE_VERSION ?= v5.7.1
KUSTOMIZE := $(BIN)/kustomize-$(KUSTOMIZE_VERSION)
CHART := charts/nstance-issuer
IMAGE ?= ghcr.io/nstance-dev/nstance-issuer:$(shell awk '/^appVersion:/ {print $$2}' $(CHART)/Chart.yaml)

.PHONY: chart-rbac
chart-rbac: manifests ## Copy the generated manager RBAC (config/rbac/role.yaml, config/scoped's split of it) into the chart.
	cp config/rbac/role.yaml $(CHART)/files/rbac/role.yaml
	cp config/scoped/manager_role.yaml config/scoped/secret_writer_role.yaml $(CHART)/files/rbac/scoped/

.PHONY: chart-crds
chart-crds: manifests ## Copy the generated CRDs (config/crd/bases) into the chart.
	rm -f $(CHART)/files/crds/*.yaml
	cp config/crd/bases/*.yaml $(CHART)/files/crds/

.PHONY: chart-csr-policy
chart-csr-policy: manifests ## Copy the generated CSR annotation policy (config/csr-policy/policy.yaml) into the chart.
	cp config/csr-policy/policy.yaml $(CHART)/files/csr-policy/policy.yaml

.PHONY: docs-flags
docs-flags: ## Regenerate the flags table of docs/operations.md from the manager's FlagSet.
	go test ./internal/app/ -count=1 -run '^TestDocsFlagsTable$$' -args -update

.PHONY: chart-docs
chart-docs: ## Regenerate the chart README's values table from values.yaml.
	go test ./internal/test/install/ -count=1 -run '^TestChartREADMEValuesTable$$' -args -update

.PHONY: chart
chart: chart-rbac chart-crds chart-csr-policy chart-docs ## Refresh every generated file of the Helm chart.

.PHONY: verify-chart
verify-chart: manifests ## Fail when the chart's copies of generated files, its values table or its RBAC table are stale.
	go test ./internal/test/install/ -count=1

.PHONY: test-install
test-install: envtest-assets $(HELM) $(KUSTOMIZE) $(CYCLONEDX_GOMOD) ## helm lint/template, kustomize and RBAC tests against a real kube-apiserver + etcd; the OCI image and its SBOMs.
	HELM=$(HELM) KUSTOMIZE=$(KUSTOMIZE) KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) CYCLONEDX_GOMOD=$(CYCLONEDX_GOMOD) \
		go test -tags integration -count=1 -timeout 20m ./internal/test/install/...

.PHONY: test-release
test-release: envtest-assets $(CYCLONEDX_GOMOD) pkcs11-deps ## The -fips image's binary on a local stack with cert-manager: FIPS 140-3 mode, approved key types issue, the others are refused by name; the -pkcs11 image's filesystem (chroot, root only) signing through a SoftHSM2 token.
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) CYCLONEDX_GOMOD=$(CYCLONEDX_GOMOD) \
		go test -tags integration -count=1 -timeout 20m ./internal/image/...
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) CYCLONEDX_GOMOD=$(CYCLONEDX_GOMOD) CGO_ENABLED=1 \
		go test -tags integration,pkcs11 -count=1 -timeout 20m -run TestPKCS11Image ./internal/image/...

$(KUSTOMIZE):
	hack/go-install-tool.sh $@ sigs.k8s.io/kustomize/kustomize/v5 $(KUSTOMIZE_VERSION)

.PHONY: helm-lint
helm-lint: $(HELM) ## Lint the chart.
	$(HELM) lint --strict $(CHART)

IMAGE_ARCHES ?= amd64 arm64
APP_VERSION := $(shell awk '/^appVersion:/ {print $$2}' $(CHART)/Chart.yaml)
# Go's frozen FIPS 140-3 Cryptographic Module for the -fips image (go doc
# crypto/fips140; $(go env GOROOT)/lib/fips140 lists the snapshots this Go
# carries: v1.0.0 is the certified one, "latest" is not a validated module).
GOFIPS140_VERSION ?= v1.0.0
# What the labels say of the source: the commit and its time (so that a
# rebuild of one commit gives the same digests); empty outside git.
GIT_REVISION := $(shell git rev-parse HEAD 2>/dev/null)
GIT_COMMIT_TIME := $(shell git log -1 --format=%ct 2>/dev/null)
IMAGE_ENV = CYCLONEDX_GOMOD=$(CYCLONEDX_GOMOD) IMAGE_ARCHES="$(IMAGE_ARCHES)" VERSION=$(APP_VERSION) \
	REVISION=$(GIT_REVISION) CREATED=$(GIT_COMMIT_TIME) GOFIPS140=$(GOFIPS140_VERSION)

.PHONY: image
image: $(CYCLONEDX_GOMOD) ## Build the controller's OCI image (linux/amd64 and linux/arm64, user 65532, no shell, a CycloneDX SBOM per binary in its index) into bin/image/oci, without a container engine.
	$(IMAGE_ENV) hack/build-image.sh $(BIN)/image

.PHONY: image-fips
image-fips: $(CYCLONEDX_GOMOD) ## The same image built against Go's FIPS 140-3 module (GOFIPS140_VERSION, v1.0.0; FIPS mode on by default, tag it -fips) into bin/image-fips/oci.
	$(IMAGE_ENV) hack/build-image.sh $(BIN)/image-fips fips

.PHONY: image-pkcs11
image-pkcs11: $(CYCLONEDX_GOMOD) pkcs11-deps ## The image with PKCS#11 (HSM) CA keys: the cgo binary built with the pkcs11 tag, for this machine's architecture, and the glibc loader and libc it needs (tag it -pkcs11) into bin/image-pkcs11/oci.
	$(IMAGE_ENV) hack/build-image.sh $(BIN)/image-pkcs11 pkcs11

.PHONY: release
release: $(CYCLONEDX_GOMOD) $(HELM) ## Into bin/release: both images as OCI archives (default and -fips), the CycloneDX SBOM of every binary, the packaged Helm chart (version and appVersion in step), SHA256SUMS.
	@v=$$(awk '/^version:/ {print $$2}' $(CHART)/Chart.yaml); a=$$(awk '/^appVersion:/ {print $$2}' $(CHART)/Chart.yaml); \
		if [ "v$$v" != "$$a" ]; then echo "Chart.yaml: version $$v and appVersion $$a are not in step (want appVersion v$$v)"; exit 1; fi
	@if [ -z "$(ALLOW_DIRTY)" ] && [ -n "$$(git status --porcelain 2>/dev/null)" ]; then \
		echo "the working tree has uncommitted changes: the images' revision label would name a commit they do not hold; commit them (or ALLOW_DIRTY=1 for a trial)"; exit 1; fi
	rm -rf $(BIN)/release && mkdir -p $(BIN)/release
	$(IMAGE_ENV) ARCHIVE=$(BIN)/release/nstance-issuer-$(APP_VERSION).oci.tar hack/build-image.sh $(BIN)/image
	$(IMAGE_ENV) ARCHIVE=$(BIN)/release/nstance-issuer-$(APP_VERSION)-fips.oci.tar hack/build-image.sh $(BIN)/image-fips fips
	for a in $(IMAGE_ARCHES); do \
		cp $(BIN)/image/nstance-issuer-linux-$$a.cdx.json $(BIN)/release/nstance-issuer-$(APP_VERSION)-linux-$$a.cdx.json; \
		cp $(BIN)/image-fips/nstance-issuer-linux-$$a.cdx.json $(BIN)/release/nstance-issuer-$(APP_VERSION)-fips-linux-$$a.cdx.json; done
	$(HELM) package $(CHART) -d $(BIN)/release
	cd $(BIN)/release && sha256sum -- * > SHA256SUMS
	@echo "release artifacts in $(BIN)/release (docs/release.md says how to push and verify them):"; ls -1 $(BIN)/release

.PHONY: docker-build
docker-build: ## Build the controller image IMAGE (needs a Docker engine; there is none on the dev machines).
	docker build -t $(IMAGE) .

# helm with its version and default Kubernetes version stamped in, as its own
# Makefile does (a plain go install reports v3.22 and renders for v1.20).
$(HELM):
	@echo "building helm $(HELM_VERSION) (first time only, ~90 s)..." >&2
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
		GOBIN=$$tmp GOFLAGS=-buildvcs=false go install -ldflags "-s -w \
		-X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
		-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(HELM_K8S_MINOR) \
		-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(HELM_K8S_MINOR)" \
		helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) && \
		mkdir -p $(BIN) && mv $$tmp/helm $@

##@ Performance

# BENCH_N Certificates / CertificateRequests per issuer and scenario; 1000 for
# published figures (make bench BENCH_N=1000). Other flags: BENCH_FLAGS, see
# bin/nstance-bench -h.
BENCH_N ?= 50
BENCH_FLAGS ?=
# The scale sweep (make scale): CertificateRequests per point, the arrival
# rate of its paced stage (requests per second; 0: none) and the namespaces
# trust is published into; plots go to SCALE_PLOTS.
SCALE_POINTS ?= 1000,3000,10000
# Exact counts of finished CertificateRequests at which make scale reads the
# manager's memory at rest (after a forced GC), before its sweep: about 3
# minutes for 1000,10000; 30000 adds about 4.5 (SCALE_MEMORY_POINTS=1000,10000,30000).
SCALE_MEMORY_POINTS ?= 1000,10000
SCALE_RATE ?= 40
SCALE_NAMESPACES ?= 1000
# The re-issue after rotate-now (make scale): Certificates, and the
# manager's --reissue-batch-size / --reissue-interval for it.
SCALE_REISSUE ?= 5000
# 100 per 30 s: the pace measured for 5,000 (docs/performance.md); faster
# paces queue Certificates in cert-manager on this 2-core machine.
SCALE_REISSUE_BATCH ?= 100
SCALE_REISSUE_INTERVAL ?= 30s
SCALE_PLOTS ?= docs/performance

.PHONY: bench-build
bench-build: build-pkcs11 $(LOCAL_KMS) ## Build the benchmark harness and the manager binary it runs as its own process, both with PKCS#11 (cgo) for the keys phase.
	CGO_ENABLED=1 go build -tags pkcs11 -o $(BIN)/nstance-bench ./cmd/nstance-bench

.PHONY: bench
bench: envtest-assets bench-build ## nstance-issuer vs cert-manager's CA issuer on the local stack (BENCH_N=50); results in bin/bench/results.json.
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) LOCAL_KMS=$(LOCAL_KMS) $(BIN)/nstance-bench -n $(BENCH_N) -manager-binary $(BIN)/nstance-issuer-pkcs11 -out $(BIN)/bench/results.json $(BENCH_FLAGS)

.PHONY: bench-smoke
bench-smoke: envtest-assets bench-build ## The benchmark at N=20 with small memory scenarios: checks it runs, asserts no timing.
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) LOCAL_KMS=$(LOCAL_KMS) $(BIN)/nstance-bench -n 20 -manager-binary $(BIN)/nstance-issuer-pkcs11 -raw-patches 100 -small-secrets 200 -large-secrets 5 -benchtime 100x -scale-points 10,20 -scale-memory-points 10,20 -scale-namespaces 10 -scale-reissue 20 -scale-reissue-batch 10 -scale-reissue-interval 5s -out $(BIN)/bench/smoke.json $(BENCH_FLAGS)

# The scale phase runs the static manager (make build), the one the default
# image ships, so that its memory is what users run: the PKCS#11 build, which
# the keys phase of make bench needs, holds 14 MiB more of RSS at rest (its
# binary's and shared libraries' pages).
.PHONY: scale
scale: envtest-assets bench-build build ## How cost grows with N (SCALE_POINTS, SCALE_MEMORY_POINTS, SCALE_RATE, SCALE_NAMESPACES, SCALE_REISSUE; not in make test): bin/bench/scale.json and the plots in docs/performance.
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) $(BIN)/nstance-bench -only scale -manager-binary $(BIN)/nstance-issuer -scale-memory-points $(SCALE_MEMORY_POINTS) -scale-points $(SCALE_POINTS) -scale-rate $(SCALE_RATE) -scale-namespaces $(SCALE_NAMESPACES) -scale-reissue $(SCALE_REISSUE) -scale-reissue-batch $(SCALE_REISSUE_BATCH) -scale-reissue-interval $(SCALE_REISSUE_INTERVAL) -out $(BIN)/bench/scale.json $(BENCH_FLAGS)
	$(BIN)/nstance-bench -plot $(BIN)/bench/scale.json -plot-dir $(SCALE_PLOTS)

.PHONY: bench-core
bench-core: ## Only the PKI core's go test benchmarks against raw x509.CreateCertificate.
	go test -run '^$$' -bench . -benchmem ./internal/pki/

##@ Reliability

# CHAOS_N Certificates per issuer and scenario; 1000 for published figures
# (make chaos CHAOS_N=1000). Other flags: CHAOS_FLAGS, see bin/nstance-chaos -h.
CHAOS_N ?= 100
CHAOS_FLAGS ?=

.PHONY: chaos-build
chaos-build: build ## Build the fault harness (and the manager binary it kills and restarts).
	go build -o $(BIN)/nstance-chaos ./cmd/nstance-chaos

.PHONY: chaos
chaos: envtest-assets chaos-build ## Fault scenarios for nstance-issuer and cert-manager's CA issuer on the local stack (CHAOS_N=100); results in bin/chaos/results.json.
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) $(BIN)/nstance-chaos -n $(CHAOS_N) -out $(BIN)/chaos/results.json $(CHAOS_FLAGS)

.PHONY: chaos-smoke
chaos-smoke: envtest-assets chaos-build ## Every fault scenario but the outages (each over a minute) at N=12 with faster faults: asserts the counts (nothing lost, Failed, stuck or signed twice), no timing.
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) $(BIN)/nstance-chaos -n 12 -kill-every 1s -backoff-initial 200ms -backoff-max 1s -settle 2s -ca-fault-hold 2s -reissue-watch 2s -leader-sigkills 1 -leader-sigterms 1 -lease-duration 4s -renew-deadline 3s -retry-period 500ms -skip apiserver-down,etcd-down -out $(BIN)/chaos/smoke.json $(CHAOS_FLAGS)
