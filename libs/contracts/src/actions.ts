import type { JobType } from './catalog';

// The action routes of the REST API and the job each one becomes: part of the public contract,
// read by the API (to route) and the SDK (to type the bodies).

/** POST /v1/vms/:id/actions/:action. */
export const VM_ACTIONS = {
  start: 'start-vm',
  shutdown: 'shutdown-vm',
  destroy: 'destroy-vm',
  reboot: 'reboot-vm',
  suspend: 'suspend-vm',
  resume: 'resume-vm',
  'set-autostart': 'set-autostart',
  'set-vcpus': 'set-vcpus',
  'set-memory': 'set-memory',
} as const satisfies Record<string, JobType>;
export type VmAction = keyof typeof VM_ACTIONS;

/** POST /v1/hosts/:hostId/networks/:name/actions/:action. */
export const NETWORK_ACTIONS = {
  start: 'start-network',
  stop: 'stop-network',
  'set-autostart': 'set-network-autostart',
} as const satisfies Record<string, JobType>;
export type NetworkAction = keyof typeof NETWORK_ACTIONS;
