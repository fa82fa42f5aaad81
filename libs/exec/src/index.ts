export * from './command';
export { NodeCommandRunner, type NodeRunnerOptions } from './node-runner';
export { FakeRunner, type FakeOutcome } from './fake-runner';
export { ManagedProcess, type ManagedProcessOptions } from './managed-process';
