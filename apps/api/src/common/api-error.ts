import { HttpException } from '@nestjs/common';
import type { ZodError } from 'zod';

/** Every error the API answers with: { error: { code, message, details? } }. Codes are wire data. */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super({ error: { code, message, ...(details ? { details } : {}) } }, status);
  }
}

export interface IssueDetail {
  path: string;
  message: string;
}

/** A 400 naming every field that failed, e.g. "payload.name: must be 1-64 letters…". */
/** A record's bad key: zod says "Invalid key in record" and keeps the key rule's own words inside. */
function issueMessage(i: ZodError['issues'][number]): string {
  if (i.code === 'invalid_key' && i.issues.length) return `key ${JSON.stringify(String(i.path[i.path.length - 1] ?? ''))}: ${i.issues.map((n) => n.message).join('; ')}`;
  return i.message;
}

export function validationError(code: string, err: ZodError, prefix: string[] = []): ApiError {
  const issues: IssueDetail[] = err.issues.map((i) => ({
    path: [...prefix, ...i.path.map(String)].join('.') || '(body)',
    message: issueMessage(i),
  }));
  return new ApiError(400, code, issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
}

/** An `unmanaged` VM is shown, never touched: what every route that would touch one answers. */
export function vmUnmanagedError(vm: { id: string; name: string }): ApiError {
  return new ApiError(409, 'vm_unmanaged', `${vm.name} was not created through virtfleet: adopt it first (POST /v1/vms/${vm.id}/adopt)`, { vmId: vm.id });
}
