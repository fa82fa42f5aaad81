import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { actorOf, AuditService } from '../audit/audit.service';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import type { Principal } from '../auth/tokens';
import { ZodPipe } from '../common/zod.pipe';
import { toOpenApi } from '../openapi/schemas';
import { createWebhookBody, deliveryView, webhookView, WebhooksService, type CreateWebhookBody } from './webhooks.service';

@ApiTags('webhooks')
@ApiBearerAuth()
@RequireScope('admin')
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(
    private readonly hooks: WebhooksService,
    private readonly audit: AuditService,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Subscribe a URL to job ends',
    description: 'Answers the signing secret once. Deliveries are POSTs signed with X-Virtfleet-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.',
  })
  @ApiBody({ schema: toOpenApi(createWebhookBody, 'input') })
  async create(@Body(new ZodPipe(createWebhookBody)) body: CreateWebhookBody, @CurrentPrincipal() who: Principal) {
    const { webhook, secret } = await this.hooks.create(body);
    await this.audit.record(actorOf(who), 'webhook.create', `webhook:${webhook.id}`, { url: webhook.url });
    return { webhook: webhookView(webhook), secret };
  }

  @Get()
  async list() {
    return { items: (await this.hooks.list()).map(webhookView) };
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() who: Principal) {
    await this.hooks.remove(id);
    await this.audit.record(actorOf(who), 'webhook.delete', `webhook:${id}`);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: 'The delivery log: each event, its attempts, the last answer' })
  async deliveries(@Param('id', new ParseUUIDPipe()) id: string) {
    return { items: (await this.hooks.deliveries(id)).map(deliveryView) };
  }
}
