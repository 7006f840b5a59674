// Command gen renders the Go-template golden corpus with Go's own text/template: it reads the
// cases (JSON, converted from cases.yaml by ../regenerate.sh) on stdin and writes, for each case,
// the exact output or the error and whether Go failed while parsing or executing.
package main

import (
	"bytes"
	"encoding/json"
	"os"
	"text/template"

	"stash-hooks/gotemplategen/v1beta1"
)

type testCase struct {
	Name     string          `json:"name"`
	Template string          `json:"template"`
	Summary  v1beta1.Summary `json:"summary"`
}

type result struct {
	Name   string  `json:"name"`
	Output *string `json:"output,omitempty"`
	Error  string  `json:"error,omitempty"`
	Kind   string  `json:"kind,omitempty"`
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	results := make([]result, 0, len(cases))
	for _, c := range cases {
		results = append(results, render(c))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(results); err != nil {
		panic(err)
	}
}

// render does what Stash's pkg/hooks/hook.go does (missingkey=default, *Summary as data), per field.
func render(c testCase) result {
	tpl, err := template.New("hook-template").Funcs(funcMap()).Parse(c.Template)
	if err != nil {
		return result{Name: c.Name, Error: err.Error(), Kind: "parse"}
	}
	tpl.Option("missingkey=default")
	var buf bytes.Buffer
	summary := c.Summary
	if err := tpl.Execute(&buf, &summary); err != nil {
		return result{Name: c.Name, Error: err.Error(), Kind: "exec"}
	}
	out := buf.String()
	return result{Name: c.Name, Output: &out}
}
