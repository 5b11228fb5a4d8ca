// The server's Prometheus metrics (GET /metrics), through prom-client, on a registry of its own (so
// that two servers in one process, as in the tests, do not share counters).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds: from 50 µs to 5 s, for evaluations and tick-to-order latency. */
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class ServeMetrics {
  readonly registry = new Registry();
  readonly ticks = new Counter({ name: 'liq_ticks_total', help: 'Mark-price ticks accepted for application (in tick messages that decoded).', registers: [this.registry] });
  readonly updates = new Counter({ name: 'liq_updates_total', help: 'Account operations received in update messages that decoded.', registers: [this.registry] });
  readonly fills = new Counter({ name: 'liq_fills_total', help: 'Fills of liquidation orders received from consumers.', registers: [this.registry] });
  readonly refusals = new Counter({ name: 'liq_refusals_total', help: 'Refused frames, messages and operations, by code.', labelNames: ['code'], registers: [this.registry] });
  readonly evaluations = new Counter({ name: 'liq_evaluations_total', help: 'Incremental evaluations of the book.', registers: [this.registry] });
  readonly evaluationSeconds = new Histogram({ name: 'liq_evaluation_seconds', help: 'Time of one evaluation of the book (incremental, or a sweep).', buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly tickToOrderSeconds = new Histogram({
    name: 'liq_tick_to_order_seconds',
    help: 'From the arrival of the first tick of a batch to its orders being durable and handed to the consumers\' sockets.',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly orders = new Counter({ name: 'liq_orders_total', help: 'Liquidation orders journaled.', registers: [this.registry] });
  readonly connections = new Gauge({ name: 'liq_connections', help: 'Open WebSocket connections, by role.', labelNames: ['role'], registers: [this.registry] });
  readonly backpressureDisconnects = new Counter({ name: 'liq_backpressure_disconnects_total', help: 'Consumers disconnected for falling behind.', registers: [this.registry] });
  readonly journalSeq = new Gauge({ name: 'liq_journal_seq', help: 'The last sequence number of each journal.', labelNames: ['journal'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'liq_process_' });
    for (const role of ['publisher', 'consumer', 'observer']) this.connections.set({ role }, 0);
  }
}
