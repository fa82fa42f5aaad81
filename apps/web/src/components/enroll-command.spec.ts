import { enrollCommand, shellWord } from './enroll-command';

describe('the enroll command of the "Add a host" page', () => {
  it('is virtfleet-agent enroll with the API and the join token', () => {
    expect(enrollCommand({ api: 'http://10.0.0.5:8080', token: 'vfj_Ab3-d_9' })).toBe('virtfleet-agent enroll --api http://10.0.0.5:8080 --token vfj_Ab3-d_9');
  });

  it('adds --name and --labels when given, labels joined as the agent reads them', () => {
    expect(enrollCommand({ api: 'https://fleet.example', token: 'vfj_x', name: ' kvm-07 ', labels: 'rack=r3, zone=a\n' })).toBe(
      'virtfleet-agent enroll --api https://fleet.example --token vfj_x --name kvm-07 --labels rack=r3,zone=a',
    );
    expect(enrollCommand({ api: 'http://a', token: 't', name: '  ', labels: ' , ' })).toBe('virtfleet-agent enroll --api http://a --token t');
  });

  it('quotes what the shell would split or expand', () => {
    expect(shellWord('plain-word_1.2:3=4,5@6%7+8')).toBe('plain-word_1.2:3=4,5@6%7+8');
    expect(shellWord('two words')).toBe(`'two words'`);
    expect(shellWord(`it's $HOME`)).toBe(`'it'\\''s $HOME'`);
    expect(enrollCommand({ api: 'http://a', token: 't', labels: 'team=ops & dev' })).toBe(`virtfleet-agent enroll --api http://a --token t --labels 'team=ops & dev'`);
  });
});
