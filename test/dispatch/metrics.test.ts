import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/core/metrics.js';
import { dispatcherObserver } from '../../src/dispatch/metrics.js';
import { FAILURE_REASONS } from '../../src/dispatch/protocol.js';

describe('dispatcher metrics before the first event', () => {
  it('exist at 0 for every failure reason and both batch outcomes, so rate() has samples from the first scrape', async () => {
    const registry = createRegistry('dispatcher');
    dispatcherObserver(registry);
    const text = await registry.metrics();
    for (const reason of Object.values(FAILURE_REASONS)) expect(text).toMatch(new RegExp(`netlab_dispatch_attempts_failed_total\\{[^}]*reason="${reason}"[^}]*\\} 0\n`));
    for (const reported of ['true', 'false']) expect(text).toMatch(new RegExp(`netlab_dispatch_report_latency_seconds_count\\{[^}]*reported="${reported}"[^}]*\\} 0\n`));
  });
});
