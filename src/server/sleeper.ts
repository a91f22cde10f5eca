// Pauses of the self-hosted background loops.

/** Waits that a shutdown can cut short, so it does not wait out a backoff. */
export class Sleeper {
  private wakeUp: () => void = () => {};

  pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  wake(): void {
    this.wakeUp();
  }
}
