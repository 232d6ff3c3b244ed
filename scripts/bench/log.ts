// Progress lines on stdout, stamped with the seconds since the run began.

const started = performance.now();

export const elapsedSeconds = () => (performance.now() - started) / 1000;

export const log = (msg: string) =>
  console.log(`[bench ${elapsedSeconds().toFixed(0).padStart(3)} s] ${msg}`);
