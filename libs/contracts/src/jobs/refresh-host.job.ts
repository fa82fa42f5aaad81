import { z } from 'zod';
import { defineJob } from '../define-job';
import { hostFacts } from '../host-facts';

export const refreshHostJob = defineJob({
  name: 'refresh-host',
  summary: 'Collect the host facts again: CPU, memory, KVM usability (probed), tool versions, storage.',
  payload: z
    .object({
      // Boot-probe KVM again instead of reusing the agent's cached verdict.
      reprobeKvm: z.boolean().default(true),
    })
    .strict(),
  result: hostFacts,
  timeoutMs: 120_000,
  attempts: 3,
});
