#!/bin/sh
# Regenerates golden.json from cases.yaml with Go's own text/template (Go 1.19, Debian golang-go).
# Usage: test/corpus/go-templates/regenerate.sh   (from anywhere; needs node and go, no network)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cd "$root"
node --input-type=module -e '
import { readFileSync } from "node:fs";
import { parse } from "yaml";
const doc = parse(readFileSync(process.argv[1], "utf8"));
const cases = doc.cases.map((c) => ({ name: c.name, template: c.template, summary: doc.summaries[c.summary ?? "seed"] }));
process.stdout.write(JSON.stringify(cases));
' "$here/cases.yaml" > "$here/.cases.json"
(cd "$here/gen" && GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on TZ=UTC go run . < "$here/.cases.json") > "$here/golden.json.tmp"
rm -f "$here/.cases.json"
mv "$here/golden.json.tmp" "$here/golden.json"
echo "wrote $here/golden.json ($(grep -c '"name"' "$here/golden.json") cases, $(go version))"
