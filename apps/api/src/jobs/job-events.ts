import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

/** In-process signal that a job reached a final state (wakes `?wait=` requests at once). */
@Injectable()
export class JobEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  finished(jobId: string): void {
    this.emitter.emit(jobId);
  }

  /** Resolves when the job is reported final here, or after `ms`; whichever comes first. */
  waitFinished(jobId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(jobId, done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.emitter.once(jobId, done);
    });
  }
}
