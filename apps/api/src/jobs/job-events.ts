import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { JobView } from './job.view';

export type JobEvent =
  | { event: 'job.created' | 'job.updated' | 'job.finished'; job: JobView }
  | { event: 'job.progress'; job: Pick<JobView, 'id' | 'type' | 'hostId' | 'progress' | 'attempt'> };

/** An inventory change: a VM's state or status changed, or its row went away. */
export interface VmEvent {
  event: 'vm.updated' | 'vm.removed';
  vm: { id: string; hostId: string; uuid: string; name: string; status: string; state: string };
}

/**
 * Job and VM changes seen by this API process: they feed GET /v1/events (SSE) and wake `?wait=` readers
 * at once. (A reader on another replica still sees the change within a second: `?wait` re-reads.)
 */
@Injectable()
export class JobEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(e: JobEvent): void {
    this.emitter.emit('job', e);
    if (e.event === 'job.finished') this.emitter.emit(e.job.id);
  }

  subscribe(listener: (e: JobEvent) => void): () => void {
    this.emitter.on('job', listener);
    return () => this.emitter.off('job', listener);
  }

  publishVm(e: VmEvent): void {
    this.emitter.emit('vm', e);
  }

  subscribeVms(listener: (e: VmEvent) => void): () => void {
    this.emitter.on('vm', listener);
    return () => this.emitter.off('vm', listener);
  }

  /**
   * Listens for the job's end from now on: `ended` resolves when it is reported final here, or
   * after `ms`, whichever comes first. Listen before reading the row, or an end that lands
   * between the read and the listening is missed (the reader would sleep the full `ms`).
   */
  watchFinished(jobId: string, ms: number): { ended: Promise<void>; stop(): void } {
    let stop = () => undefined as void;
    const ended = new Promise<void>((resolve) => {
      stop = () => {
        clearTimeout(timer);
        this.emitter.off(jobId, stop);
        resolve();
      };
      const timer = setTimeout(stop, ms);
      this.emitter.once(jobId, stop);
    });
    return { ended, stop };
  }
}
