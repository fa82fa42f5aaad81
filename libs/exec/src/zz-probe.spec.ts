import { NodeCommandRunner } from './node-runner';
import { ManagedProcess } from './managed-process';
process.on('uncaughtException', (e) => console.log('UNCAUGHT', (e as Error).message));
async function main() {
  const r = new NodeCommandRunner({ baseEnv: { PATH: process.env.PATH } , killGraceMs: 200});
  console.log(await r.run({ cmd: '/nonexistent/x', args: [] }));
  console.log(await r.run({ cmd: '/nonexistent/x', args: [], input: 'hello' }));
  console.log(await r.run({ cmd: 'true', args: [], input: 'x'.repeat(4_000_000) }));
  let t = Date.now();
  console.log(await r.run({ cmd: 'sh', args: ['-c', 'sleep 2; echo done'], timeoutMs: 100 }), Date.now() - t);
  t = Date.now();
  console.log(await r.run({ cmd: 'sh', args: ['-c', 'trap "" TERM; sleep 2'], timeoutMs: 100 }), Date.now() - t);
  t = Date.now();
  console.log(await r.run({ cmd: 'sh', args: ['-c', 'trap "" TERM; exec sleep 2'], timeoutMs: 100 }), Date.now() - t);
  try { ManagedProcess.start('/nonexistent/y', [], { env: {}, logFile: '/tmp/probe.log' }); } catch (e) { console.log('threw', (e as Error).message); }
  await new Promise((r) => setTimeout(r, 100));
}
it("probe", main, 20000);
