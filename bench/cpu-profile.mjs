// Preloaded with `node --import ./bench/cpu-profile.mjs` by the runner when
// BENCH_PROFILE is set: SIGWINCH starts the V8 CPU profiler, the next SIGWINCH stops
// it and writes the profile to $BENCH_CPU_PROFILE_FILE (.cpuprofile, readable by
// Chrome DevTools), then the next one starts again, and so on.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const file = process.env.BENCH_CPU_PROFILE_FILE;
if (file) {
  const session = new Session();
  session.connect();
  let running = false;
  let count = 0;
  const post = (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  process.on('SIGWINCH', () => {
    if (!running) {
      running = true;
      void post('Profiler.enable')
        .then(() => post('Profiler.setSamplingInterval', { interval: 200 }))
        .then(() => post('Profiler.start'));
      return;
    }
    running = false;
    void post('Profiler.stop').then(({ profile }) => {
      const target = file.replace(/(\.cpuprofile)?$/, `-${++count}.cpuprofile`);
      writeFileSync(target, JSON.stringify(profile));
      process.stderr.write(`cpu profile written to ${target}\n`);
    });
  });
}
