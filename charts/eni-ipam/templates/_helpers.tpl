{{- define "eni-ipam.fullname" -}}{{ .Release.Name }}-eni-ipam{{- end -}}
{{- define "eni-ipam.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}
{{- define "eni-ipam.labels" -}}
app.kubernetes.io/name: eni-ipam
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}
{{- define "eni-ipam.clusterName" -}}{{ required "clusterName is required: it tags and scopes every ENI eni-ipam creates" .Values.clusterName }}{{- end -}}
