// Package v1beta1 mirrors the hook summary Stash passes to text/template
// (stash.appscode.dev/apimachinery/apis/stash/v1beta1 Summary, rendered by pkg/hooks/hook.go).
package v1beta1

import v1 "stash-hooks/gotemplategen/v1"

// Summary is what a hook template sees as ".".
type Summary struct {
	Name      string                       `json:"name,omitempty"`
	Namespace string                       `json:"namespace,omitempty"`
	Invoker   v1.TypedLocalObjectReference `json:"invoker,omitempty"`
	Target    TargetRef                    `json:"target,omitempty"`
	Status    TargetStatus                 `json:"status,omitempty"`
	RetryLeft int32                        `json:"retryLeft,omitempty"`
}

// TargetRef names the backup or restore target.
type TargetRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Name       string `json:"name,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
}

// TargetStatus is the outcome the hook reports on.
type TargetStatus struct {
	Phase    string `json:"phase,omitempty"`
	Duration string `json:"duration,omitempty"`
	Error    string `json:"error,omitempty"`
}
