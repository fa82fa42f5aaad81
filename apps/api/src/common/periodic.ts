/**
 * A background loop of the API: runs `task` every `ms` and on demand, never two runs at once
 * (a run asked for meanwhile happens right after), errors handed to `onError`, never thrown.
 */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private again = false;

  constructor(
    private readonly ms: number,
    private readonly task: () => Promise<unknown>,
    private readonly onError: (err: Error) => void,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.run(), this.ms);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Run now, or right after the run in progress. */
  run(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    void this.task()
      .catch((err: Error) => this.onError(err))
      .finally(() => {
        this.busy = false;
        if (this.again) {
          this.again = false;
          this.run();
        }
      });
  }
}
