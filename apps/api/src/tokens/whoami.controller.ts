import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import type { Principal } from '../auth/tokens';
import { ApiError } from '../common/api-error';
import { PrismaService } from '../db/prisma.service';

/** GET /v1/whoami: the calling token's name and scopes, so a client can offer only what it may do. */
@ApiTags('tokens')
@ApiBearerAuth()
@Controller('v1/whoami')
export class WhoamiController {
  constructor(private readonly db: PrismaService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'The calling API token: its id, name and scopes (any scope may ask)' })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['tokenId', 'name', 'scopes'],
      properties: {
        tokenId: { type: 'string', format: 'uuid' },
        name: { type: 'string' },
        scopes: { type: 'array', items: { type: 'string', enum: ['read', 'operate', 'admin'] } },
      },
    },
  })
  async whoami(@CurrentPrincipal() who: Principal) {
    if (who.kind !== 'user') throw new ApiError(403, 'forbidden', 'this call is for API tokens');
    const row = await this.db.apiToken.findUnique({ where: { id: who.tokenId }, select: { id: true, name: true, scopes: true } });
    if (!row) throw new ApiError(401, 'unauthorized', 'unknown or revoked token');
    return { tokenId: row.id, name: row.name, scopes: row.scopes };
  }
}
