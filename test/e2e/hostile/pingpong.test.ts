import { describe, expect, it } from 'vitest';
import { probeReusePort } from '../../../src/core/net.js';
import { REJECTION_LOG_BURST } from '../../../src/core/rejections.js';
import { BAD_LINE_REASONS } from '../../../src/pingpong/protocol.js';
import { freePort, startNetlabPerTest } from '../../helpers/netlab-process.js';
import { metricValue, tcpPeer } from '../../pingpong/tcp-peer.js';

// Every process a test starts is stopped after it, even when the test fails half-way.
const startNetlab = startNetlabPerTest();
const reusePort = await probeReusePort();
const threadCounts = reusePort.supported ? [1, 2] : [1];

const FLOOD_BYTES = 64 * 1024;
/** High enough that thousands of bad lines are read (and counted) before the client is dropped. */
const MAX_BAD_LINES = 5000;

describe('pingpong-server under a flood of bad lines', () => {
  it.each(threadCounts)('with %i thread(s): 64 KiB of bare newlines are all counted, logged at a bounded rate, and the client dropped', async (threads) => {
    const port = await freePort();
    const metricsPort = await freePort();
    const server = startNetlab(
      ['pingpong-server', '--port', String(port), '--log', '', '--quiet', '--threads', String(threads), '--max-bad-lines', String(MAX_BAD_LINES)],
      { METRICS_PORT: String(metricsPort) },
    );
    await server.waitFor(/listening/);
    const peer = await tcpPeer(port);
    peer.send('\n'.repeat(FLOOD_BYTES));
    await peer.closed;
    // The drop is counted once the server has handled the line past the limit.
    const dropped = async () => (await metricValue(metricsPort, 'netlab_pingpong_clients_dropped_total', { reason: 'bad_lines' })) ?? 0;
    while ((await dropped()) < 1) await new Promise((r) => setTimeout(r, 50));
    let counted = 0;
    for (const reason of BAD_LINE_REASONS) counted += (await metricValue(metricsPort, 'netlab_pingpong_bad_lines_total', { reason })) ?? 0;
    const logged = server.output().split('\n').filter((l) => l.includes('bad line from client')).length;
    // Every bad line read is counted, past the limit (the rest of the chunk in hand is read too) ...
    expect(counted).toBeGreaterThan(MAX_BAD_LINES);
    expect(counted).toBeLessThanOrEqual(FLOOD_BYTES);
    // ... while the log holds a burst of them per thread, not one line each.
    expect(logged).toBeGreaterThan(0);
    expect(logged).toBeLessThanOrEqual(REJECTION_LOG_BURST * threads);
    expect(server.output().length).toBeLessThan(64 * 1024);
    expect(await server.stop()).toBe(0);
  });
});
