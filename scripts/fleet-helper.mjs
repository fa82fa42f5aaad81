// Small HTTP steps of `npm run up`, in Node rather than curl + shell JSON parsing.
//   fleet-helper.mjs wait-ready URL SECONDS
//   fleet-helper.mjs join-token URL ADMIN_TOKEN_FILE        (prints a one-time join token)
//   fleet-helper.mjs wait-online URL ADMIN_TOKEN_FILE AGENT_JSON SECONDS
import { readFileSync } from 'node:fs';

const [cmd, url, ...rest] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const token = (file) => readFileSync(file, 'utf8').trim();

async function call(path, init = {}) {
  const res = await fetch(new URL(path, url), { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function until(seconds, what, probe) {
  const deadline = Date.now() + seconds * 1000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await probe();
      if (r === true) return;
      last = r || '';
    } catch (e) {
      last = e.message;
    }
    await sleep(200);
  }
  throw new Error(`${what} not reached within ${seconds}s${last ? ` (${last})` : ''}`);
}

try {
  if (cmd === 'wait-ready') {
    await until(Number(rest[0]), `${url}/readyz`, async () => (await call('/readyz')).status === 200 || 'not ready');
  } else if (cmd === 'join-token') {
    const [tokenFile] = rest;
    const r = await call('/v1/hosts/join-tokens', {
      method: 'POST',
      headers: { authorization: `Bearer ${token(tokenFile)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ttlSeconds: 600 }),
    });
    if (r.status !== 201) throw new Error(`join token: ${r.status} ${JSON.stringify(r.body)}`);
    console.log(r.body.token);
  } else if (cmd === 'wait-online') {
    const [tokenFile, agentJson, seconds] = rest;
    const { hostId } = JSON.parse(readFileSync(agentJson, 'utf8'));
    await until(Number(seconds), `host ${hostId} online`, async () => {
      const r = await call(`/v1/hosts/${hostId}`, { headers: { authorization: `Bearer ${token(tokenFile)}` } });
      if (r.status !== 200) return `${r.status} ${JSON.stringify(r.body)}`;
      return r.body.state === 'online' || `state ${r.body.state}`;
    });
  } else {
    throw new Error(`unknown step ${cmd}`);
  }
} catch (e) {
  console.error(`virtfleet: ${e.message}`);
  process.exit(1);
}
