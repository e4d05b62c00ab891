{{- define "eni-ipam.fullname" -}}{{ .Release.Name }}-eni-ipam{{- end -}}
{{- define "eni-ipam.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}
{{- define "eni-ipam.labels" -}}
app.kubernetes.io/name: eni-ipam
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{- define "eni-ipam.clusterName" -}}{{ required "clusterName is required: it tags and scopes every ENI eni-ipam creates" .Values.clusterName }}{{- end -}}

{{/* Selector labels of one component: include with (dict "ctx" . "component" "allocator"). */}}
{{- define "eni-ipam.selectorLabels" -}}
app.kubernetes.io/name: eni-ipam
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The allocator has its own ServiceAccount: it is the only role with AWS credentials (IRSA). */}}
{{- define "eni-ipam.allocatorServiceAccount" -}}{{ include "eni-ipam.fullname" . }}-allocator{{- end -}}
{{- define "eni-ipam.schedulerServiceAccount" -}}{{ include "eni-ipam.fullname" . }}-scheduler{{- end -}}
{{- define "eni-ipam.extenderService" -}}{{ include "eni-ipam.fullname" . }}-extender{{- end -}}
{{- define "eni-ipam.webhookService" -}}{{ include "eni-ipam.fullname" . }}-webhook{{- end -}}

{{/* The secret holding the webhook's serving certificate (tls.crt, tls.key, ca.crt). */}}
{{- define "eni-ipam.webhookTLSSecret" -}}{{ .Values.webhook.tls.secretName | default (printf "%s-webhook-tls" (include "eni-ipam.fullname" .)) }}{{- end -}}

{{/* extenders[] of the KubeSchedulerConfiguration, as YAML. */}}
{{- define "eni-ipam.schedulerExtenders" -}}
{{- $scheme := ternary "https" "http" .Values.extender.tls.enabled }}
{{- $base := .Values.extender.url | default (printf "%s://%s.%s.svc:%v" $scheme (include "eni-ipam.extenderService" .) .Release.Namespace .Values.extender.port) | trimSuffix "/" }}
- urlPrefix: {{ $base }}{{ .Values.extender.prefix }}
  filterVerb: filter
  prioritizeVerb: prioritize
  {{- if .Values.extender.tls.enabled }}
  # Mutual TLS: the scheduler checks the extender's certificate and presents its own (same CA).
  enableHTTPS: true
  tlsConfig:
    caFile: /etc/eni-ipam-scheduler/tls/ca.crt
    certFile: /etc/eni-ipam-scheduler/tls/client.crt
    keyFile: /etc/eni-ipam-scheduler/tls/client.key
  {{- end }}
  weight: {{ .Values.schedulerExtender.weight }}
  nodeCacheCapable: true
  ignorable: {{ .Values.schedulerExtender.ignorable }}
  httpTimeout: {{ .Values.schedulerExtender.httpTimeout }}
{{- if .Values.schedulerExtender.branchResource }}
- urlPrefix: {{ $base }}{{ .Values.extender.prefix }}/branch
  managedResources:
    - name: {{ .Values.schedulerExtender.branchResource }}
      ignoredByScheduler: true
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by the eni-ipam Deployments. */}}
{{- define "eni-ipam.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
securityContext: {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* Spread replicas of one component over nodes (include with the selectorLabels dict). */}}
{{- define "eni-ipam.spread" -}}
topologySpreadConstraints:
  # Zones first, then hosts: losing a zone or a node leaves the other replicas serving.
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels: {{- include "eni-ipam.selectorLabels" . | nindent 8 }}
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels: {{- include "eni-ipam.selectorLabels" . | nindent 8 }}
{{- end -}}

{{- /*
Helm-generated TLS Secrets (webhook and extender) are renewed by `helm upgrade` once they are within
renewBeforeDays of their end: each carries its end in the annotation eni-ipam.io/not-after. Returns
"reuse" or "renew" for the Secret named .name (dict: ctx, name, renewBeforeDays). `helm template`
has no cluster to look in, so it always renders a fresh pair.
*/}}
{{- define "eni-ipam.tlsRenewal" -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .name -}}
{{- if not $existing -}}renew
{{- else -}}
{{- $notAfter := index ($existing.metadata.annotations | default dict) "eni-ipam.io/not-after" -}}
{{- if not $notAfter -}}reuse
{{- else if lt (sub (toDate "2006-01-02T15:04:05Z07:00" $notAfter).Unix (mul (int .renewBeforeDays) 86400)) now.Unix -}}renew
{{- else -}}reuse
{{- end -}}
{{- end -}}
{{- end -}}
{{- define "eni-ipam.notAfter" -}}{{ now | dateModify (printf "+%dh" (mul (int .) 24)) | date "2006-01-02T15:04:05Z07:00" }}{{- end -}}
{{- /* The first certificate of a PEM bundle (the previous CA kept beside a new one). */}}
{{- define "eni-ipam.firstCert" -}}{{ regexFind "(?s)-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----" . }}{{- end -}}
{{- /* Changes exactly when the extender's TLS Secret is (re)generated: its current end, or "renewed". */}}
{{- define "eni-ipam.extenderTLSGeneration" -}}
{{- $name := printf "%s-extender-tls" (include "eni-ipam.fullname" .) -}}
{{- if eq (include "eni-ipam.tlsRenewal" (dict "ctx" . "name" $name "renewBeforeDays" .Values.extender.tls.renewBeforeDays)) "reuse" -}}
{{- index ((lookup "v1" "Secret" .Release.Namespace $name).metadata.annotations | default dict) "eni-ipam.io/not-after" | default "kept" -}}
{{- else -}}renewed {{ now | date "2006-01-02T15:04" }}
{{- end -}}
{{- end -}}
