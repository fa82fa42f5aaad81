import type {
  DiskFormat,
  DoctorReport,
  DomainDisk,
  DomainInterface,
  DomainInventory,
  DomainSnapshot,
  HostFacts,
  IsoFile,
  JobPayloadInput,
  NetworkInventory,
  PoolInventory,
  PowerState,
} from '@virtfleet/contracts';

// What the API shows that libs/contracts does not declare: the API's own views of its rows. Each
// type is written once here, next to the file it mirrors; apps/api/test/sdk.int.spec.ts checks at
// compile time that their fields match the API's view functions.

/** One page of a cursor-paged list; pass nextCursor back as `cursor` for the next one (null: the last page). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Labels on hosts and VMs (key=value). */
export type Labels = NonNullable<JobPayloadInput<'create-vm'>['labels']>;

/** apps/api/src/hosts/host.view.ts */
export interface Host {
  id: string;
  name: string;
  /** revoked: DELETE /v1/hosts/:id; enrolling again brings it back. */
  state: 'online' | 'offline' | 'revoked';
  maintenance: boolean;
  labels: Labels;
  /** The agent's facts; an empty object until its first heartbeat. */
  facts: Partial<HostFacts>;
  doctor: DoctorReport | null;
  enrolledAt: string | null;
  lastHeartbeatAt: string | null;
  networks: NetworkInventory[];
  pools: PoolInventory[];
  inventoryAt: string | null;
  createdAt: string;
}

/** POST /v1/hosts/join-tokens (apps/api/src/hosts/enrollment.service.ts); the token is shown once. */
export interface JoinToken {
  id: string;
  token: string;
  expiresAt: string;
}

/** apps/api/src/vms/vm.view.ts */
export interface Vm {
  id: string;
  hostId: string;
  name: string;
  uuid: string;
  /** creating: its create-vm/define-vm job runs; unmanaged: found on the host, adopt it first; missing: its domain vanished. */
  status: 'creating' | 'managed' | 'unmanaged' | 'missing';
  /** libvirt power state ("nostate" before the first report). */
  state: PowerState;
  reason: string | null;
  persistent: boolean;
  autostart: boolean;
  vcpus: number;
  maxVcpus: number;
  memoryMiB: number;
  maxMemoryMiB: number;
  virtType: string | null;
  disks: DomainDisk[];
  interfaces: DomainInterface[];
  graphics: DomainInventory['graphics'];
  snapshots: DomainSnapshot[];
  serialLog: string | null;
  labels: Labels;
  seenAt: string | null;
  stateChangedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** apps/api/src/vms/placement.ts: where POST /v1/vms put a VM (or, with dryRun, would), and why. */
export interface PlacementDecision {
  hostId: string | null;
  hostName: string | null;
  reason: string;
  hosts: Array<{
    hostId: string;
    name: string;
    fits: boolean;
    /** Why it does not fit; empty when it does. */
    reasons: string[];
    freeMemoryMiB: number;
    freeVcpus: number;
    score: number;
  }>;
}

/** apps/api/src/disks/disk.view.ts */
export interface Disk {
  id: string;
  hostId: string;
  name: string;
  format: DiskFormat;
  /** creating: its create-disk or convert-disk job has not finished. */
  state: 'creating' | 'ready';
  path: string | null;
  virtualSize: number | null;
  actualSize: number | null;
  backingFile: string | null;
  backingFormat: string | null;
  /** Why the image guard refused the file (never used while set). */
  refused: string | null;
  /** The VMs on its host that have it as a disk. */
  usedBy: Array<{ id: string; name: string }>;
  seenAt: string | null;
  createdAt: string;
}

/** GET /v1/isos (apps/api/src/disks/disks.service.ts): a file in a host's iso root. */
export type Iso = IsoFile & { hostId: string; host: string };

/** apps/api/src/networks/networks.service.ts (NetworkView): a host's report of one network. */
export type Network = NetworkInventory & { hostId: string; hostName: string };

/** apps/api/src/jobs/job.view.ts (jobLogView): one command the agent ran for a job. */
export interface JobLog {
  attempt: number;
  seq: number;
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  startedAt: string;
  stdoutTail: string;
  stderrTail: string;
}

/** API token scopes: admin ⊇ operate ⊇ read (apps/api/src/auth/tokens.ts). */
export type Scope = 'read' | 'operate' | 'admin';

/** apps/api/src/tokens/tokens.controller.ts (tokenView) */
export interface ApiToken {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** apps/api/src/tokens/whoami.controller.ts: GET /v1/whoami */
export interface Whoami {
  tokenId: string;
  name: string;
  scopes: Scope[];
}

/** apps/api/src/webhooks/webhooks.service.ts (webhookView) */
export interface Webhook {
  id: string;
  url: string;
  events: Array<'job.finished'>;
  hostId: string | null;
  jobType: string | null;
  createdAt: string;
}

/** apps/api/src/webhooks/webhooks.service.ts (deliveryView) */
export interface WebhookDelivery {
  id: string;
  event: string;
  jobId: string;
  state: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** apps/api/src/audit/audit.service.ts: who ("token:<id>:<name>", "host:<id>" …) did what to what. */
export interface AuditEvent {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  details: unknown;
}
