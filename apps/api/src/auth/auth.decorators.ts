import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Principal, Scope } from './tokens';

export type AuthRule = { kind: 'public' } | { kind: 'scope'; scope: Scope } | { kind: 'agent' };
export const AUTH_RULE = 'virtfleet:auth';

export const Public = () => SetMetadata(AUTH_RULE, { kind: 'public' } satisfies AuthRule);
export const RequireScope = (scope: Scope) => SetMetadata(AUTH_RULE, { kind: 'scope', scope } satisfies AuthRule);
/** Only a host agent's own token. */
export const AgentOnly = () => SetMetadata(AUTH_RULE, { kind: 'agent' } satisfies AuthRule);

export interface AuthedRequest {
  principal?: Principal;
}

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal | undefined => {
  return ctx.switchToHttp().getRequest<AuthedRequest>().principal;
});
