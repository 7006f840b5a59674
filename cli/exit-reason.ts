/**
 * Why a role process ends, said on stderr every time (issue 15: a worker that ended by itself
 * left no trace). The reason is the last one noted: a signal, an uncaught error, the role's own
 * return, or the forced exit after shutdown; Node's own output for a crash still comes first.
 */
let reason = 'the role returned';
let armed = false;

/** Notes why the process is about to end (the last note wins). */
export function noteExitReason(why: string): void {
  reason = why;
}

/** From now on the process's end is always reported with its code and reason. */
export function reportExitAlways(role: string): void {
  if (armed) return;
  armed = true;
  process.on('uncaughtExceptionMonitor', (err, origin) => {
    reason = `${origin}: ${err instanceof Error ? err.message : String(err)}`;
  });
  process.on('exit', (code) => {
    process.stderr.write(`stash-hooks ${role}: process ${process.pid} exiting with code ${code}: ${reason}\n`);
  });
}
