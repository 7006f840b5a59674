// Package v1 holds the one Kubernetes core type the hook summary uses, so that Go's error
// messages name it as Stash's would ("v1.TypedLocalObjectReference").
package v1

// TypedLocalObjectReference is core/v1's, except APIGroup: a string here (Kubernetes: *string),
// a deliberate deviation documented in docs/templating.md.
type TypedLocalObjectReference struct {
	APIGroup string `json:"apiGroup"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
}
