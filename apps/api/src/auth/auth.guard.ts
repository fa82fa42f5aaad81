import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../common/api-error';
import { AUTH_RULE, type AuthRule, type AuthedRequest } from './auth.decorators';
import { TokenService } from './token.service';
import { scopeAllows } from './tokens';

/** Global guard: every route states its rule; a route without one needs the admin scope. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.getAllAndOverride<AuthRule | undefined>(AUTH_RULE, [ctx.getHandler(), ctx.getClass()]) ?? {
      kind: 'scope',
      scope: 'admin',
    };
    if (rule.kind === 'public') return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest & AuthedRequest>();
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m?.[1]) throw new ApiError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <token>)');
    const principal = await this.tokens.resolve(m[1]);
    if (!principal) throw new ApiError(401, 'unauthorized', 'unknown or revoked token');
    if (rule.kind === 'agent' && principal.kind !== 'agent') {
      throw new ApiError(403, 'forbidden', 'this endpoint is for host agents');
    }
    if (rule.kind === 'scope' && (principal.kind !== 'user' || !scopeAllows(principal.scopes, rule.scope))) {
      throw new ApiError(403, 'forbidden', `this call needs the ${rule.scope} scope`);
    }
    req.principal = principal;
    return true;
  }
}
