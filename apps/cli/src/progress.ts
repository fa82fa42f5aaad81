import { Presets, SingleBar } from 'cli-progress';

/** What the progress display needs of a job. */
export interface ProgressJob {
  id: string;
  type: string;
  state: string;
  progress: number;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A live view of one job on stderr (stdout stays clean for --json): a spinner while the job
 * reports no progress, a bar once it does. Nothing when stderr is not a terminal.
 */
export class JobProgress {
  private bar: SingleBar | undefined;
  private spinner: NodeJS.Timeout | undefined;
  private frame = 0;
  private last: ProgressJob | undefined;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  get enabled(): boolean {
    return Boolean(this.stream.isTTY);
  }

  update(job: ProgressJob): void {
    this.last = job;
    if (!this.enabled) return;
    if (job.progress > 0 && !this.bar) {
      this.startBar(job);
    } else if (this.bar) {
      this.bar.update(job.progress, { state: job.state });
    } else if (!this.spinner) {
      this.spinner = setInterval(() => this.spin(), 100);
      this.spin();
    }
  }

  /** The final state: the bar at its end (100 % only if it succeeded), the spinner line cleared. */
  stop(final?: ProgressJob): void {
    const job = final ?? this.last;
    this.stopSpinner();
    // A job that made progress (or ended well) before the first event shows its bar all the same.
    if (!this.bar && this.enabled && job && (job.progress > 0 || job.state === 'succeeded')) this.startBar(job);
    if (this.bar) {
      if (job) this.bar.update(job.state === 'succeeded' ? 100 : job.progress, { state: job.state });
      this.bar.stop();
      this.bar = undefined;
    }
  }

  private startBar(job: ProgressJob): void {
    this.stopSpinner();
    this.bar = new SingleBar(
      { stream: this.stream, format: `${job.type} {bar} {percentage}% | {state}`, hideCursor: true, clearOnComplete: false },
      Presets.shades_classic,
    );
    this.bar.start(100, job.progress, { state: job.state });
  }

  private spin(): void {
    const job = this.last;
    this.frame = (this.frame + 1) % FRAMES.length;
    this.stream.write(`\r${FRAMES[this.frame]} ${job ? `${job.type} ${job.state}` : 'waiting'}\u001b[K`);
  }

  private stopSpinner(): void {
    if (!this.spinner) return;
    clearInterval(this.spinner);
    this.spinner = undefined;
    this.stream.write('\r\u001b[K');
  }
}
