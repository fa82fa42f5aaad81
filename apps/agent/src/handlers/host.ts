import type { JobPayload, JobResult } from '@virtfleet/contracts';
import type { JobContext } from '../job-context';
import type { HostFactsCollector } from '../host/host-facts';

export function refreshHostHandler(collector: Pick<HostFactsCollector, 'collect'>, onFacts: (facts: JobResult<'refresh-host'>) => void) {
  return async (p: JobPayload<'refresh-host'>, ctx: JobContext): Promise<JobResult<'refresh-host'>> => {
    const facts = await collector.collect((cmd, opts) => ctx.run(cmd, { ...opts, allowFailure: true }), {
      reprobeKvm: p.reprobeKvm,
    });
    onFacts(facts);
    return facts;
  };
}
