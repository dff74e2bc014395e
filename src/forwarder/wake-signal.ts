/**
 * How the forwarder's loop sleeps: until `ms` pass or `wake()` is called. A wake-up while the
 * loop is busy is kept, so the next sleep returns at once and no signal (a NOTIFY, a finished
 * attempt) is lost between two sleeps.
 */
export interface WakeSignal {
  wake: () => void;
  sleep: (ms: number) => Promise<void>;
}

export function createWakeSignal(): WakeSignal {
  let wakeUp: (() => void) | undefined;
  let woken = false;
  return {
    wake: () => {
      woken = true;
      wakeUp?.();
    },
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        if (woken) {
          woken = false;
          resolve();
          return;
        }
        const timer = setTimeout(finish, ms);
        function finish() {
          clearTimeout(timer);
          wakeUp = undefined;
          woken = false;
          resolve();
        }
        wakeUp = finish;
      }),
  };
}
