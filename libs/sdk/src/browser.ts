// @virtfleet/sdk for any JavaScript runtime with fetch, browsers included (the web console,
// apps/web): the whole client, without webhook signature checks (they need node:crypto and a
// secret, which belong on a server). package.json's "browser" field points bundlers here.
export { VirtfleetClient } from './client';
export { SDK_VERSION, type CallOptions, type ClientOptions } from './http';
export { ApiError, ApiUnreachableError, JobFailedError, TimeoutError, VirtfleetError } from './errors';
export type {
  ChildOutcome,
  GroupJob,
  GroupJobType,
  GroupPayloads,
  GroupResult,
  Job,
  JobChangeEvent,
  JobEvent,
  JobFields,
  JobProgressEvent,
  JobRef,
  LeafJob,
  Succeeded,
  VmEvent,
  WatchEvent,
  WatchEventName,
} from './job';
export { JobsResource, type BatchItem, type JobFilter, type RunOptions, type SubmitOptions, type WaitOptions, type WatchFilter } from './jobs.resource';
export {
  VM_ACTIONS,
  VmsResource,
  type AttachInterfaceBody,
  type BodyArgs,
  type CloneVmBody,
  type CreateSnapshotBody,
  type CreateVmBody,
  type DefineVmBody,
  type DetachInterfaceOptions,
  type JobLimits,
  type NoFields,
  type Placement,
  type UndefineVmOptions,
  type VmAction,
  type VmActionBody,
  type VmActionJobType,
  type VmFilter,
} from './vms.resource';
export { DisksResource, type ConvertDiskBody, type CreateDiskBody, type DiskFilter, type ResizeDiskBody } from './disks.resource';
export {
  NETWORK_ACTIONS,
  NetworksResource,
  type DefineNetworkBody,
  type NetworkAction,
  type NetworkActionBody,
  type NetworkActionJobType,
} from './networks.resource';
export { HostsResource } from './hosts.resource';
export { AuditResource, TokensResource, WebhooksResource, type AuditFilter, type CreateWebhookBody } from './admin.resource';
export type { ListFilter } from './paging';
export type { LabelSelector } from './labels';
export { parseEventStream, type ServerSentEvent } from './sse';
export type {
  ApiToken,
  Whoami,
  AuditEvent,
  Disk,
  Host,
  Iso,
  JobLog,
  JoinToken,
  Labels,
  Network,
  Page,
  PlacementDecision,
  Scope,
  Vm,
  Webhook,
  WebhookDelivery,
} from './views';
