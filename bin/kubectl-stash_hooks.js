#!/usr/bin/env node
// The kubectl plugin entry point: kubectl finds `kubectl-stash_hooks` on PATH (npm's bin links it
// there) and runs it for `kubectl stash-hooks …` with the remaining arguments (kubectl maps `-`
// in the command to `_` in the file name), so `kubectl stash-hooks describe backupsession/x -n
// demo` is `stash-hooks describe backupsession/x -n demo`; KUBECONFIG comes through the
// environment. It is the same CLI: whatever starts stash-hooks starts this.
import './stash-hooks.js';
