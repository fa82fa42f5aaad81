import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { PgService } from './pg.service';

/**
 * The newest migration this build's code needs (prisma/migrations; a unit test keeps it the
 * newest folder there). Migrations only ever add (docs/upgrade.md), so an API runs on a database
 * migrated further than it knows (the previous version's replicas during a rolling upgrade), never
 * on one migrated less.
 */
export const REQUIRED_MIGRATION = '20261126090000_job_delivery';

export class SchemaTooOldError extends Error {}

/** Refuses to start the API on a database its migrations have not reached: migrations run first. */
@Injectable()
export class SchemaCheck implements OnApplicationBootstrap {
  constructor(private readonly pg: PgService) {}

  async onApplicationBootstrap(): Promise<void> {
    const rows = await this.pg.rows<{ applied: boolean }>({
      name: 'schema-check',
      text: `SELECT EXISTS (SELECT 1 FROM "_prisma_migrations" WHERE "migration_name" = $1 AND "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL) AS "applied"`,
      values: [REQUIRED_MIGRATION],
    });
    if (!rows[0]?.applied) {
      throw new SchemaTooOldError(
        `the database has not been migrated to ${REQUIRED_MIGRATION}, which this API needs: run the migrations first ` +
          '(`npx prisma migrate deploy`, or the compose file\'s migrate service), then start the API (docs/upgrade.md)',
      );
    }
  }
}
