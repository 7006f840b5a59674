#!/usr/bin/env node
// The CLI runs the TypeScript sources through tsx's loader, so the package needs no build
// step to run (the Docker image does the same). See docs/dependencies.md.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
await main(process.argv.slice(2));
