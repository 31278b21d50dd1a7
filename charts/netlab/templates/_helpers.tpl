{{/*
Chart name, truncated to the 63 characters of a DNS label.
*/}}
{{- define "netlab.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: the release name, with the chart name unless it already contains it.
Component names are appended to it, so it leaves room for them.
*/}}
{{- define "netlab.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Name of one component's objects. Argument: (dict "ctx" $ "component" "messenger").
*/}}
{{- define "netlab.componentName" -}}
{{- printf "%s-%s" (include "netlab.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "netlab.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels of one component: stable for the life of the release, so never add to them.
Argument: (dict "ctx" $ "component" "messenger").
*/}}
{{- define "netlab.selectorLabels" -}}
app.kubernetes.io/name: {{ include "netlab.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
All labels of one component's objects. Argument: (dict "ctx" $ "component" "messenger").
*/}}
{{- define "netlab.labels" -}}
helm.sh/chart: {{ include "netlab.chart" .ctx }}
{{ include "netlab.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: netlab
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Pod labels: the component's labels plus the global and the role's podLabels.
Argument: (dict "ctx" $ "component" "messenger" "values" .Values.messenger).
*/}}
{{- define "netlab.podLabels" -}}
{{ include "netlab.labels" . }}
{{- with merge (dict) (.values.podLabels | default dict) .ctx.Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Pod annotations: global and the role's podAnnotations. Argument as for netlab.podLabels.
*/}}
{{- define "netlab.podAnnotations" -}}
{{- with merge (dict) (.values.podAnnotations | default dict) .ctx.Values.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "netlab.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "netlab.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The netlab image.
*/}}
{{- define "netlab.image" -}}
image: {{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
{{- end }}

{{/*
An image of a dependency. Argument: the image values (repository, tag, pullPolicy).
*/}}
{{- define "netlab.dependencyImage" -}}
image: {{ printf "%s:%s" .repository .tag | quote }}
imagePullPolicy: {{ .pullPolicy }}
{{- end }}

{{/*
What every netlab pod spec starts with: service account, pull secrets, security context.
*/}}
{{- define "netlab.podSpecCommon" -}}
serviceAccountName: {{ include "netlab.serviceAccountName" . }}
# No <SERVICE>_PORT=tcp://... variables: they could collide with a netlab env twin (PORT, METRICS_PORT...).
enableServiceLinks: false
automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/*
Node placement: the role's nodeSelector, tolerations and affinity, else the global ones.
Argument: (dict "ctx" $ "values" .Values.messenger).
*/}}
{{- define "netlab.scheduling" -}}
{{- with (.values.nodeSelector | default .ctx.Values.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.values.tolerations | default .ctx.Values.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.values.affinity | default .ctx.Values.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
The environment every netlab role reads: log level, metrics port, grace period.
Argument: (dict "ctx" $ "grace" 10).
*/}}
{{- define "netlab.roleEnv" -}}
- name: LOG_LEVEL
  value: {{ .ctx.Values.logLevel | quote }}
- name: METRICS_PORT
  value: {{ .ctx.Values.metricsPort | quote }}
- name: GRACE
  value: {{ printf "%ds" (int .grace) | quote }}
- name: NODE_ENV
  value: production
{{- end }}

{{/*
The metrics container port every netlab role has.
*/}}
{{- define "netlab.metricsPort" -}}
- name: metrics
  containerPort: {{ .Values.metricsPort }}
  protocol: TCP
{{- end }}

{{/*
Probes of a role without an HTTP port of its own: its /metrics server answers once the role runs.
Argument: $.
*/}}
{{- define "netlab.metricsProbes" -}}
startupProbe:
  httpGet: { path: /metrics, port: metrics }
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: { path: /metrics, port: metrics }
  periodSeconds: 20
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet: { path: /metrics, port: metrics }
  periodSeconds: 10
  timeoutSeconds: 5
{{- end }}

{{/*
The read-only root filesystem's writable /tmp.
*/}}
{{- define "netlab.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end }}
{{- define "netlab.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/*
preStop pause and the grace period that covers it plus the role's drain and a margin to exit.
Argument: (dict "preStop" 5 "grace" 10).
*/}}
{{- define "netlab.terminationGracePeriod" -}}
{{- add (int (.preStop | default 0)) (int .grace) 5 }}
{{- end }}
{{- define "netlab.preStop" -}}
{{- if .preStop }}
lifecycle:
  preStop:
    exec:
      command: ["sleep", {{ .preStop | quote }}]
{{- end }}
{{- end }}

{{/*
DATABASE_URL for the messenger. The in-chart PostgreSQL's password comes from its Secret and is
substituted by the kubelet ($(VAR) expansion), so it never appears in the pod spec.
*/}}
{{- define "netlab.databaseEnv" -}}
{{- if .Values.postgresql.enabled }}
- name: NETLAB_PG_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "netlab.postgresqlSecretName" . }}
      key: password
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(NETLAB_PG_PASSWORD)@%s:5432/%s" .Values.postgresql.auth.username (include "netlab.componentName" (dict "ctx" . "component" "postgresql")) .Values.postgresql.auth.database | quote }}
{{- else }}
{{- if not (or .Values.externalDatabase.url .Values.externalDatabase.existingSecret) }}
{{- fail "postgresql.enabled is false: set externalDatabase.url or externalDatabase.existingSecret" }}
{{- end }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      {{- if .Values.externalDatabase.existingSecret }}
      name: {{ .Values.externalDatabase.existingSecret }}
      key: {{ .Values.externalDatabase.existingSecretKey }}
      {{- else }}
      name: {{ include "netlab.componentName" (dict "ctx" . "component" "external-database") }}
      key: DATABASE_URL
      {{- end }}
{{- end }}
{{- end }}

{{/*
The AMQP URL, in the env variable `.name`. Argument: (dict "ctx" $ "name" "TICK_BUS").
*/}}
{{- define "netlab.amqpEnv" -}}
{{- $ctx := .ctx }}
{{- if $ctx.Values.rabbitmq.enabled }}
- name: NETLAB_AMQP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "netlab.rabbitmqSecretName" $ctx }}
      key: password
- name: {{ .name }}
  value: {{ printf "amqp://%s:$(NETLAB_AMQP_PASSWORD)@%s:5672" $ctx.Values.rabbitmq.auth.username (include "netlab.componentName" (dict "ctx" $ctx "component" "rabbitmq")) | quote }}
{{- else }}
{{- if not (or $ctx.Values.externalRabbitmq.url $ctx.Values.externalRabbitmq.existingSecret) }}
{{- fail "rabbitmq.enabled is false: set externalRabbitmq.url or externalRabbitmq.existingSecret (or tick.buses.rabbitmq=false)" }}
{{- end }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      {{- if $ctx.Values.externalRabbitmq.existingSecret }}
      name: {{ $ctx.Values.externalRabbitmq.existingSecret }}
      key: {{ $ctx.Values.externalRabbitmq.existingSecretKey }}
      {{- else }}
      name: {{ include "netlab.componentName" (dict "ctx" $ctx "component" "external-rabbitmq") }}
      key: AMQP_URL
      {{- end }}
{{- end }}
{{- end }}

{{- define "netlab.natsUrl" -}}
{{- if .Values.nats.enabled }}
{{- printf "nats://%s:4222" (include "netlab.componentName" (dict "ctx" . "component" "nats")) }}
{{- else }}
{{- required "nats.enabled is false: set externalNats.url (or tick.buses.nats=false)" .Values.externalNats.url }}
{{- end }}
{{- end }}

{{- define "netlab.postgresqlSecretName" -}}
{{- .Values.postgresql.auth.existingSecret | default (include "netlab.componentName" (dict "ctx" . "component" "postgresql")) }}
{{- end }}
{{- define "netlab.rabbitmqSecretName" -}}
{{- .Values.rabbitmq.auth.existingSecret | default (include "netlab.componentName" (dict "ctx" . "component" "rabbitmq")) }}
{{- end }}

{{/*
A password kept across upgrades: the given one, else the one already in the cluster's Secret, else a
new random one (letters and digits: safe inside a URL). Argument: (dict "ctx" $ "secret" "name" "given" "").
*/}}
{{- define "netlab.password" -}}
{{- if .given }}
{{- .given }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .secret }}
{{- if and $existing (hasKey ($existing.data | default dict) "password") }}
{{- index $existing.data "password" | b64dec }}
{{- else }}
{{- randAlphaNum 24 }}
{{- end }}
{{- end }}
{{- end }}

{{/*
An optional block: the text indented on new lines, or nothing at all when it is empty (so an unset
option leaves no blank line). Argument: (list 6 (include "netlab.scheduling" $component)).
*/}}
{{- define "netlab.block" -}}
{{- $text := index . 1 | trim }}
{{- if $text }}
{{- $text | nindent (index . 0) }}
{{- end }}
{{- end }}

{{/*
An init container that waits until the messenger Service answers /readyz, with the netlab image's own
Node (no extra image to pull).
*/}}
{{- define "netlab.waitForMessenger" -}}
- name: wait-for-messenger
  {{- include "netlab.image" . | nindent 2 }}
  command:
    - node
    - --input-type=module
    - -e
    - |
      const url = process.argv[1];
      for (;;) {
        try { if ((await fetch(url, { signal: AbortSignal.timeout(2000) })).ok) process.exit(0); } catch {}
        console.log(`waiting for ${url}`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    - {{ printf "http://%s:%v/readyz" (include "netlab.componentName" (dict "ctx" . "component" "messenger")) .Values.messenger.service.port | quote }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  resources:
    requests: { cpu: 10m, memory: 32Mi }
    limits: { memory: 96Mi }
  volumeMounts:
    {{- include "netlab.tmpVolumeMount" . | nindent 4 }}
{{- end }}

{{/*
Whether to render a Prometheus Operator object: the values switch, or (when it is null) whether the
cluster serves the kind. Argument: (dict "ctx" $ "enabled" .Values.monitoring.podMonitor.enabled "kind" "PodMonitor").
*/}}
{{- define "netlab.monitoringEnabled" -}}
{{- if kindIs "invalid" .enabled }}
{{- if .ctx.Capabilities.APIVersions.Has (printf "monitoring.coreos.com/v1/%s" .kind) }}true{{ end }}
{{- else if .enabled }}true{{ end }}
{{- end }}
