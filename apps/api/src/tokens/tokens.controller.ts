import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Prisma, type ApiToken } from '@prisma/client';
import { z } from 'zod';
import { actorOf, AuditService } from '../audit/audit.service';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import { TokenService } from '../auth/token.service';
import { hashToken, newToken, SCOPES, type Principal } from '../auth/tokens';
import { ApiError } from '../common/api-error';
import { ZodPipe } from '../common/zod.pipe';
import { PrismaService } from '../db/prisma.service';
import { toOpenApi } from '../openapi/schemas';

const createTokenBody = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lowercase letters, digits, ".", "_" or "-"'),
  scopes: z.array(z.enum(SCOPES)).min(1),
});

function tokenView(t: ApiToken) {
  return {
    id: t.id,
    name: t.name,
    scopes: t.scopes,
    createdAt: t.createdAt.toISOString(),
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
  };
}

/** API tokens: stored as SHA-256 only; the token itself is answered once. */
@ApiTags('tokens')
@ApiBearerAuth()
@RequireScope('admin')
@Controller('v1/tokens')
export class TokensController {
  constructor(
    private readonly db: PrismaService,
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Make an API token with scopes read, operate and/or admin; the token is shown once' })
  @ApiBody({ schema: toOpenApi(createTokenBody, 'input') })
  async create(@Body(new ZodPipe(createTokenBody)) body: z.infer<typeof createTokenBody>, @CurrentPrincipal() who: Principal) {
    const token = newToken('api');
    try {
      const row = await this.db.apiToken.create({ data: { name: body.name, scopes: body.scopes, tokenHash: hashToken(token) } });
      await this.audit.record(actorOf(who), 'token.create', `token:${row.id}`, { name: body.name, scopes: body.scopes });
      return { token, ...tokenView(row) };
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        throw new ApiError(409, 'token_name_taken', `a token named ${body.name} exists`);
      }
      throw err;
    }
  }

  @Get()
  async list() {
    return { items: (await this.db.apiToken.findMany({ orderBy: { createdAt: 'asc' } })).map(tokenView) };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a token (at once on this API replica; within 5 s on the others)' })
  async revoke(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() who: Principal) {
    const n = await this.db.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
    if (!n.count) throw new ApiError(404, 'token_not_found', `no live token ${id}`);
    this.tokens.forget();
    await this.audit.record(actorOf(who), 'token.revoke', `token:${id}`);
  }
}
