/**
 * The process entry of the CLI. `bin/stash-hooks.js` loads the compiled form of this file
 * (`dist/cli/bin.js`); tests and benchmarks that want the sources run it through tsx.
 */
import { noteExitReason } from './exit-reason.js';
import { main } from './main.js';

await main(process.argv.slice(2));
// The command is done (a role has stopped and closed what it opened). A handle some library left
// open (a socket, a reconnect timer) must not keep the process alive after that: exit within 5 s,
// saying why. Unref'd, so a process with nothing left open exits at once as usual.
setTimeout(() => {
  noteExitReason('handles were still open 5 s after the role stopped; exiting anyway');
  process.exit();
}, 5000).unref();
