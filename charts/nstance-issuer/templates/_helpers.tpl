{{/* Chart name, truncated to the 63 characters of a label value. */}}
{{- define "nstance-issuer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name, the prefix of every resource name: the release name, plus the
chart name unless the release name already contains it.
*/}}
{{- define "nstance-issuer.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "nstance-issuer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the controller's pods; never change them after install. */}}
{{- define "nstance-issuer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nstance-issuer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels on every object of the release. */}}
{{- define "nstance-issuer.labels" -}}
{{ include "nstance-issuer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: nstance-issuer
helm.sh/chart: {{ include "nstance-issuer.chart" . }}
{{- end }}

{{- define "nstance-issuer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "nstance-issuer.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "nstance-issuer.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The CSR annotation policy and its binding; the controller checks it by this name. */}}
{{- define "nstance-issuer.csrAnnotationPolicy" -}}
{{- printf "%s-csr-annotations" (include "nstance-issuer.fullname" .) }}
{{- end }}

{{/* Where NstanceClusterIssuers read CA Secrets. */}}
{{- define "nstance-issuer.clusterResourceNamespace" -}}
{{- .Values.clusterResourceNamespace | default .Release.Namespace }}
{{- end }}

{{/* Where the leader election Lease lives: the manager's default is the cluster resource namespace. */}}
{{- define "nstance-issuer.leaseNamespace" -}}
{{- .Values.leaderElection.namespace | default (include "nstance-issuer.clusterResourceNamespace" .) }}
{{- end }}

{{/*
The manager's RBAC rules, generated from +kubebuilder:rbac markers by
`make manifests` into config/rbac/role.yaml and copied verbatim into
files/rbac/role.yaml by `make chart-rbac` (`make verify-chart` fails when
the copy is stale). Call with the kind: "ClusterRole" or "Role", and
optionally the file: files/rbac/scoped/ holds the split of the
ClusterRole for rbac.secretWriteScope=namespaces (config/scoped's
generated files, copied the same way).
*/}}
{{- define "nstance-issuer.generatedRules" -}}
{{- $kind := .kind }}
{{- $file := .file | default "files/rbac/role.yaml" }}
{{- $found := list }}
{{- range $doc := regexSplit "(?m)^---\\s*$" (.root.Files.Get $file) -1 }}
{{- $obj := fromYaml $doc }}
{{- if and $obj (eq ($obj.kind | default "") $kind) }}
{{- $found = append $found $obj }}
{{- end }}
{{- end }}
{{- if ne (len $found) 1 }}
{{- fail (printf "%s must hold exactly one %s, found %d: run make chart-rbac" $file $kind (len $found)) }}
{{- end }}
{{- toYaml (index $found 0).rules }}
{{- end }}

{{/*
Whether Secret writes are granted by RoleBindings in some namespaces only
(rbac.secretWriteScope=namespaces) rather than cluster-wide: "true" or "".
*/}}
{{- define "nstance-issuer.secretWritesScoped" -}}
{{- if eq .Values.rbac.secretWriteScope "namespaces" }}true{{ end }}
{{- end }}

{{/*
The namespaces where the controller may write Secrets when they are scoped,
as a JSON list: the cluster resource namespace (NstanceClusterIssuers'
ca.generate and rotation), then rbac.secretWriteNamespaces.
*/}}
{{- define "nstance-issuer.secretWriteNamespaces" -}}
{{- prepend .Values.rbac.secretWriteNamespaces (include "nstance-issuer.clusterResourceNamespace" .) | uniq | toJson }}
{{- end }}

{{/* Fail early on settings that contradict each other. */}}
{{- define "nstance-issuer.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicaCount > 1 requires leaderElection.enabled: replicas without leader election sign concurrently and fight during upgrades" }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (not (kindIs "invalid" .Values.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" .Values.podDisruptionBudget.maxUnavailable)) }}
{{- fail "podDisruptionBudget: set at most one of minAvailable and maxUnavailable" }}
{{- end }}
{{- if and .Values.rbac.secretWriteNamespaces (not (include "nstance-issuer.secretWritesScoped" .)) }}
{{- fail (printf "rbac.secretWriteNamespaces lists %s, but rbac.secretWriteScope is %q, which lets the controller write Secrets in every namespace: set rbac.secretWriteScope=namespaces to limit Secret writes to these namespaces and the cluster resource namespace, or empty rbac.secretWriteNamespaces" (join ", " .Values.rbac.secretWriteNamespaces) .Values.rbac.secretWriteScope) }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not (and .Values.metrics.enabled .Values.metrics.service.enabled)) }}
{{- fail "metrics.serviceMonitor.enabled requires metrics.enabled and metrics.service.enabled" }}
{{- end }}
{{- end }}

{{/* The webhook's Service, ValidatingWebhookConfiguration and (with certificate.source=cert-manager) Certificate. */}}
{{- define "nstance-issuer.webhookName" -}}
{{- printf "%s-webhook" (include "nstance-issuer.fullname" .) }}
{{- end }}

{{/* The Secret where the controller keeps the webhook's CA (certificate.source=self). */}}
{{- define "nstance-issuer.webhookCASecret" -}}
{{- printf "%s-webhook-ca" (include "nstance-issuer.fullname" .) }}
{{- end }}
