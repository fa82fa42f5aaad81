import { Injectable } from '@nestjs/common';
import { VIRTFLEET_VERSION } from '@virtfleet/contracts';
import { PgService } from '../db/pg.service';

interface Known {
  at: number;
  name: string;
  version: string | null;
  jobTypes: Set<string> | null;
}

const TTL_MS = 2_000;

/**
 * Which job types each host's agent runs, from the facts it announced (HostFacts.jobTypes, with
 * versions.agent). The dispatcher sends a host only those: during a rolling upgrade the API may
 * know job types its agents do not yet. A job of another type waits, and says why. Agents older
 * than 0.2.0 announce nothing and are sent every type, as before. Read from PostgreSQL and kept
 * 2 s, so every replica sees an upgraded agent within a heartbeat or two.
 */
@Injectable()
export class AgentJobTypes {
  private readonly known = new Map<string, Known>();

  constructor(private readonly pg: PgService) {}

  /** Why `hostId`'s agent will not be sent a `type` job, or undefined when it will. */
  async refusal(hostId: string, type: string): Promise<string | undefined> {
    const k = await this.of(hostId);
    if (!k?.jobTypes || k.jobTypes.has(type)) return undefined;
    return `the agent of host ${k.name} (virtfleet-agent ${k.version ?? 'of unknown version'}) does not run ${type} jobs; the job is sent when the agent is upgraded (to ${VIRTFLEET_VERSION}, this API's version)`;
  }

  private async of(hostId: string): Promise<Known | undefined> {
    const cached = this.known.get(hostId);
    if (cached && Date.now() - cached.at < TTL_MS) return cached;
    const [row] = await this.pg.rows<{ name: string; version: string | null; jobTypes: string[] | null }>({
      name: 'agent-job-types',
      text: `SELECT "name", "facts"->'versions'->>'agent' AS "version", "facts"->'jobTypes' AS "jobTypes" FROM "Host" WHERE "id" = $1::uuid`,
      values: [hostId],
    });
    if (!row) return undefined;
    const k = { at: Date.now(), name: row.name, version: row.version, jobTypes: Array.isArray(row.jobTypes) ? new Set(row.jobTypes) : null };
    this.known.set(hostId, k);
    return k;
  }
}
