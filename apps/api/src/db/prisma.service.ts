import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import { API_CONFIG, type ApiConfig } from '../config/api.config';

@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    const url = new URL(config.databaseUrl);
    const schema = url.searchParams.get('schema') ?? undefined;
    super({ adapter: new PrismaPg({ connectionString: config.databaseUrl }, schema ? { schema } : undefined) });
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }
}
