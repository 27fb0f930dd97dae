// The rugs.fun provably-fair game loop in JavaScript, on the real `seedrandom` npm package.
// Written from ../shared/PROTOCOL.md ("Provably fair"), independently of rugslab's Python, so
// that the vectors it produces check the Python port. Used by make_vectors.js and by
// bench/replay_node.js.
'use strict';
const seedrandom = require('seedrandom');

const RUG_PROB = 0.005;
const GOD_CANDLE_CHANCE = 0.00001;
const GOD_CANDLE_MOVE = 10;
const BIG_MOVE_CHANCE = 0.125;
const BIG_MOVE_MIN = 0.15;
const BIG_MOVE_MAX = 0.25;
const DRIFT_MIN = -0.02;
const DRIFT_MAX = 0.03;
const MAX_TICKS = 5000;

function driftPrice(price, rand, version) {
  if (version === 'v3' && rand() < GOD_CANDLE_CHANCE && price <= 100) {
    return { price: price * GOD_CANDLE_MOVE, god: true };
  }
  let change;
  if (rand() < BIG_MOVE_CHANCE) {
    const size = BIG_MOVE_MIN + rand() * (BIG_MOVE_MAX - BIG_MOVE_MIN);
    change = rand() > 0.5 ? size : -size;
  } else {
    const drift = DRIFT_MIN + rand() * (DRIFT_MAX - DRIFT_MIN);
    const volatility = version === 'v1'
      ? 0.005 * Math.sqrt(price)
      : 0.005 * Math.min(10, Math.sqrt(price));
    change = drift + volatility * (2 * rand() - 1);
  }
  let next = price * (1 + change);
  if (next < 0) next = 0;
  return { price: next, god: false };
}

// Returns {prices, peak_multiplier, rugged, total_ticks, god_candle_ticks}.
// keepPrices=false skips building the array (summary only).
function replayGame(serverSeed, gameId, version, maxTicks = MAX_TICKS, keepPrices = true) {
  const rand = seedrandom(serverSeed + '-' + gameId);
  let price = 1.0;
  let peak = price;
  const prices = keepPrices ? [price] : null;
  const godTicks = [];
  let n = 1;
  let rugged = false;
  for (let tick = 0; tick < maxTicks; tick++) {
    if (rand() < RUG_PROB) { rugged = true; break; }
    const r = driftPrice(price, rand, version);
    if (r.god) godTicks.push(n);
    price = r.price;
    if (keepPrices) prices.push(price);
    n++;
    if (price > peak) peak = price;
  }
  return { prices, peak_multiplier: peak, rugged, total_ticks: n - 1, god_candle_ticks: godTicks };
}

module.exports = { replayGame, seedrandom, MAX_TICKS };
