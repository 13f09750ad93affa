{{/*
tidemark chart helpers: names, labels and the controller's RBAC rules (one list for the
ClusterRole and for the per-namespace Roles of watchNamespaces).
*/}}

{{- define "tidemark.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "tidemark" for a release named tidemark (the kustomize names), else RELEASE-tidemark. */}}
{{- define "tidemark.fullname" -}}
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

{{- define "tidemark.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tidemark.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Labels of every object: kustomize's two, then Helm's. */}}
{{- define "tidemark.labels" -}}
app.kubernetes.io/name: {{ include "tidemark.name" . }}
app.kubernetes.io/part-of: tidemark
{{ include "tidemark.helmLabels" . }}
{{- end }}

{{- define "tidemark.helmLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The controller pods: the Deployment's selector, the Service's, the NetworkPolicy's. */}}
{{- define "tidemark.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tidemark.name" . }}
app.kubernetes.io/component: controller
{{- end }}

{{/*
What the controller does with each resource (manifests/rbac.yaml says why, rule by rule).
Keep it identical to the ClusterRole tidemark-controller there: tests/unit/
chart_matches_kustomize.sh fails when they differ.
*/}}
{{- define "tidemark.controllerRules" -}}
- apiGroups: ["tidemark.dev"]
  resources: ["dbschemas", "dbinstances", "dbrollouts"]
  verbs: ["list", "watch"]
- apiGroups: ["tidemark.dev"]
  resources: ["dbinstances"]
  verbs: ["get", "patch"]
- apiGroups: ["tidemark.dev"]
  resources: ["dbrollouts"]
  verbs: ["get"]
- apiGroups: ["tidemark.dev"]
  resources: ["dbschemas/status", "dbinstances/status", "dbrollouts/status"]
  verbs: ["patch"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["apps"]
  resources: ["replicasets"]
  verbs: ["list"]
- apiGroups: ["argoproj.io"]
  resources: ["rollouts"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["list", "watch", "create"]
{{- end }}
