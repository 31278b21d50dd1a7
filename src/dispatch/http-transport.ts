import { Agent, request, type IncomingMessage } from 'node:http';

/**
 * The worker's HTTP: node:http rather than undici or fetch, because a worker process is restarted
 * often (the > 900 rule) and node:http costs nothing to load; a swarm shares one keep-alive agent.
 */
export function createAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: Infinity });
}

/** GET that resolves with the response once its headers arrive; the body is read by the caller. */
export function openStream(url: URL, agent: Agent, signal: AbortSignal, idleTimeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, signal, headers: { accept: 'text/event-stream' } }, (res) => {
      // No byte for this long: the peer or the path is dead (the dispatcher pings far more often).
      res.socket.setTimeout(idleTimeoutMs, () => res.destroy(new Error(`no data for ${idleTimeoutMs} ms`)));
      resolve(res);
    });
    req.once('error', reject);
    req.end();
  });
}

/** POST a JSON body; resolves with the status and the response text. */
export function postJson(url: URL, agent: Agent, headers: Record<string, string>, body: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, signal: AbortSignal.timeout(timeoutMs), headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}
