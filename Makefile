# nstance-issuer — a cert-manager external issuer.
#
#   make test   every check CI runs: generated files up to date, vet, lint,
#               unit + fuzz-seed tests (race) and integration tests against a
#               real kube-apiserver + etcd built from Go modules.
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
KUBE_VERSION ?= v1.36.3
ETCD_VERSION ?= v3.6.16

CONTROLLER_GEN := $(BIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT := $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
ENVTEST_ASSETS := $(BIN)/envtest/k8s-$(KUBE_VERSION)-etcd-$(ETCD_VERSION)

# Packages whose tests need no API server; they run with -race.
CORE_PKGS := ./api/... ./internal/pki/... ./internal/controller/...

.PHONY: help
help: ## Show the targets.
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

##@ Development

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code from the API types.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and the manager's RBAC from markers.
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=manager-role paths=./internal/... output:rbac:artifacts:config=config/rbac

.PHONY: verify
verify: generate manifests ## Fail when generated files differ from what is committed.
	@if [ -n "$$(git status --porcelain -- api config)" ]; then \
		echo "generated files are stale; run 'make generate manifests' and commit:"; \
		git status --porcelain -- api config; git --no-pager diff --stat -- api config; exit 1; fi

.PHONY: fmt
fmt: ## Format the code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint.
	$(GOLANGCI_LINT) run ./...

.PHONY: build
build: ## Build the manager binary into bin/.
	CGO_ENABLED=0 go build -trimpath -o $(BIN)/nstance-issuer ./cmd/nstance-issuer

##@ Tests

.PHONY: test
test: verify vet lint test-unit test-integration ## Everything CI runs.

.PHONY: test-unit
test-unit: ## Unit tests and fuzz seed corpora of the core packages, with -race.
	go test -race -count=1 $(CORE_PKGS)

.PHONY: test-integration
test-integration: envtest-assets ## Integration tests against a real kube-apiserver + etcd.
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) go test -tags integration -count=1 -timeout 20m ./internal/controller/...

.PHONY: envtest-assets
envtest-assets: ## Build kube-apiserver and etcd from Go modules into bin/ (once per version).
	KUBE_VERSION=$(KUBE_VERSION) ETCD_VERSION=$(ETCD_VERSION) hack/envtest-assets.sh $(ENVTEST_ASSETS) >/dev/null

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 30s).
	for t in $$(go test -list 'Fuzz.*' ./internal/pki/ | grep ^Fuzz); do \
		go test -run '^$$' -fuzz "^$$t$$" -fuzztime $${FUZZTIME:-30s} ./internal/pki/; done

.PHONY: bench
bench: ## Benchmarks of the PKI core against raw x509.CreateCertificate.
	go test -run '^$$' -bench . -benchmem ./internal/pki/

##@ Tools

$(CONTROLLER_GEN):
	hack/go-install-tool.sh $@ sigs.k8s.io/controller-tools/cmd/controller-gen $(CONTROLLER_TOOLS_VERSION)

$(GOLANGCI_LINT):
	hack/go-install-tool.sh $@ github.com/golangci/golangci-lint/v2/cmd/golangci-lint $(GOLANGCI_LINT_VERSION)

##@ Demo

.PHONY: demo
demo: envtest-assets ## Run nstance-issuer on a local API server, sign samples, stay up until Ctrl-C.
	@echo "==> building the demo (first run also built kube-apiserver and etcd into bin/)"
	go build -o $(BIN)/nstance-demo ./cmd/nstance-demo
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) $(BIN)/nstance-demo
