import { Injectable, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { validationError } from './api-error';

@Injectable()
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    private readonly schema: S,
    private readonly code = 'request_invalid',
  ) {}

  transform(value: unknown): z.output<S> {
    const r = this.schema.safeParse(value ?? {});
    if (!r.success) throw validationError(this.code, r.error);
    return r.data;
  }
}
