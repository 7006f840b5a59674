/**
 * The process entry of the CLI. `bin/stash-hooks.js` loads the compiled form of this file
 * (`dist/cli/bin.js`); tests and benchmarks that want the sources run it through tsx.
 */
import { main } from './main.js';

await main(process.argv.slice(2));
