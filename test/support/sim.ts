// The small book the simulator's tests build on: BTC (tick 0.1, lot 0.001: q = 100 micro a size
// unit and price unit) at 50,000 and ETH (tick 0.01, lot 0.001: q = 10) at 2,500, both 0.5% up to
// a notional of 250,000 (100x) and 1% above it (20x); accounts as book JSON.
import { Engine } from '../../src/engine/engine.js';
import { bookFromJsonValue } from '../../src/book/json.js';

export function engineWith(accounts: unknown[]): Engine {
  const tiers = [
    { upToNotional: '250000', maintenanceRate: '0.005', maxLeverage: '100' },
    { upToNotional: null, maintenanceRate: '0.01', maxLeverage: '20' },
  ];
  return Engine.fromBook(
    bookFromJsonValue({
      instruments: [
        { symbol: 'BTC', markPrice: '50000', tickSize: '0.1', lotSize: '0.001', fundingIndex: '0', tiers },
        { symbol: 'ETH', markPrice: '2500', tickSize: '0.01', lotSize: '0.001', fundingIndex: '0', tiers },
      ],
      accounts,
    }),
  );
}
