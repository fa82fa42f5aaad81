import { describeRef, type Names } from './audit-names';

const T = '11111111-1111-4111-8111-111111111111';
const H = '22222222-2222-4222-8222-222222222222';
const W = '33333333-3333-4333-8333-333333333333';
const names: Names = { tokens: [{ id: T, name: 'ci-deploy' }], hosts: [{ id: H, name: 'kvm-07' }], webhooks: [{ id: W, url: 'https://ci.example/hook' }] };

describe('names in the audit log', () => {
  it('shows the name behind a known token, host or webhook; a host links to its page', () => {
    expect(describeRef(`token:${T}`, names)).toEqual({ name: 'token ci-deploy' });
    expect(describeRef(`token:${T}:ci-deploy`, names)).toEqual({ name: 'token ci-deploy' });
    expect(describeRef(`host:${H}`, names)).toEqual({ name: 'host kvm-07', href: `/hosts/${H}` });
    expect(describeRef(`webhook:${W}`, names)).toEqual({ name: 'webhook https://ci.example/hook' });
  });

  it('links jobs and VMs by id, shortens join tokens, and leaves what it does not know as it is', () => {
    expect(describeRef(`job:${T}`, names)).toEqual({ name: 'job 11111111', href: `/jobs/${T}` });
    expect(describeRef(`vm:${H}`, names)).toEqual({ name: 'VM 22222222', href: `/vms/${H}` });
    expect(describeRef(`join-token:${W}`, names)).toEqual({ name: 'join token 33333333' });
    expect(describeRef(`token:${W}`, names)).toEqual({ name: `token:${W}` });
    expect(describeRef(`host:${T}`, names)).toEqual({ name: `host:${T}` });
    expect(describeRef('anonymous', names)).toEqual({ name: 'anonymous' });
  });
});
