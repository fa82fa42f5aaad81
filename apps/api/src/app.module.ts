import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AgentsController } from './agents/agents.controller';
import { ReportsService } from './agents/reports.service';
import { AuditController } from './audit/audit.controller';
import { AuditService } from './audit/audit.service';
import { AuthGuard } from './auth/auth.guard';
import { TokenService } from './auth/token.service';
import { EventsController } from './events/events.controller';
import { ErrorFilter } from './common/error.filter';
import { API_CONFIG, type ApiConfig } from './config/api.config';
import { JobSql } from './db/job-sql.service';
import { Leases } from './db/leases.service';
import { SchemaCheck } from './db/schema-check';
import { AgentJobTypes } from './hosts/agent-job-types';
import { PgService } from './db/pg.service';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsService } from './metrics/metrics.service';
import { PrismaService } from './db/prisma.service';
import { HealthController } from './health/health.controller';
import { HostsController } from './hosts/hosts.controller';
import { EnrollmentService } from './hosts/enrollment.service';
import { HostsService } from './hosts/hosts.service';
import { Dispatcher } from './jobs/dispatcher.service';
import { JobEvents } from './jobs/job-events';
import { JobEventLog } from './jobs/job-event-log.service';
import { JobLifecycle } from './jobs/job-lifecycle.service';
import { JobsController } from './jobs/jobs.controller';
import { JobsService } from './jobs/jobs.service';
import { Reconciler } from './jobs/reconciler.service';
import { HostQueues } from './queue/host-queues.service';
import { RedisAcl } from './queue/redis-acl.service';
import { TokensController } from './tokens/tokens.controller';
import { WhoamiController } from './tokens/whoami.controller';
import { ConsoleService } from './vms/console.service';
import { DisksController } from './disks/disks.controller';
import { DisksService } from './disks/disks.service';
import { InventoryService } from './vms/inventory.service';
import { VmsController } from './vms/vms.controller';
import { VmsService } from './vms/vms.service';
import { NetworksController } from './networks/networks.controller';
import { NetworksService } from './networks/networks.service';
import { WebhookSender } from './webhooks/webhook-sender.service';
import { WebhooksController } from './webhooks/webhooks.controller';
import { WebhooksService } from './webhooks/webhooks.service';

@Module({})
export class AppModule {
  static forConfig(config: ApiConfig): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController, MetricsController, JobsController, HostsController, AgentsController, EventsController, WebhooksController, TokensController, WhoamiController, AuditController, VmsController, DisksController, NetworksController],
      providers: [
        { provide: API_CONFIG, useValue: config },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ErrorFilter },
        PrismaService,
        PgService,
        Leases,
        SchemaCheck,
        AgentJobTypes,
        MetricsService,
        JobSql,
        HostQueues,
        TokenService,
        JobEvents,
        JobEventLog,
        JobLifecycle,
        Dispatcher,
        Reconciler,
        JobsService,
        ReportsService,
        HostsService,
        EnrollmentService,
        RedisAcl,
        AuditService,
        WebhooksService,
        WebhookSender,
        InventoryService,
        ConsoleService,
        DisksService,
        VmsService,
        NetworksService,
      ],
    };
  }
}
