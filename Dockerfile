# The nstance-issuer controller image: a static Go binary on distroless.
#
#   make docker-build IMAGE=registry.example.com/nstance-issuer:dev
#
# Not built in CI here (no container engine on the dev machines); the tests
# check the properties the deployment relies on instead: the binary builds
# static with CGO_ENABLED=0, and the image runs as the numeric non-root user
# that the Pod's runAsNonRoot requires.

# Build stage: the Go version of go.mod.
FROM golang:1.26.8 AS build
WORKDIR /src
# Dependencies first, so that a code change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
# Set by BuildKit from --platform; empty (the build machine's) otherwise.
ARG TARGETOS
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o /out/nstance-issuer ./cmd/nstance-issuer

# Run stage: no shell, no package manager; user 65532 (nonroot).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/nstance-issuer /nstance-issuer
USER 65532:65532
ENTRYPOINT ["/nstance-issuer"]
