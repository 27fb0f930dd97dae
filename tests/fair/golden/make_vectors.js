// Writes the golden vectors (JSON on stdout) with the real seedrandom npm package:
//   cd tests/fair/golden && npm ci && node make_vectors.js > vectors.json
// Every search below is deterministic (fixed candidate names), so rerunning reproduces the file.
'use strict';
const { replayGame, seedrandom } = require('./rugs_game.js');

const GAME_ID = '20251207-e8186dbf38e046d1'; // a real game id shape; seeds below are made up
const hex = (k) => require('crypto').createHash('sha256').update('rugslab-golden-' + k).digest('hex');

const rawKeys = [
  'hello.', '', 'a', 'é', 'ÿĀ', '日本語の種', '🎲🚀', '\u00e9\u0301', 'x'.repeat(256), 'x'.repeat(257),
  'ab'.repeat(300), ('sëed🎲' + 'z'.repeat(40)).repeat(8), hex(0) + '-' + GAME_ID,
];
const raw = rawKeys.map((key) => {
  const rng = seedrandom(key);
  const draws = [];
  for (let i = 0; i < 8; i++) draws.push(rng());
  return { key, draws };
});

const games = [];
function add(tag, serverSeed, gameId, version, maxTicks) {
  const g = replayGame(serverSeed, gameId, version, maxTicks === undefined ? 5000 : maxTicks);
  const rec = { tag, server_seed: serverSeed, game_id: gameId, version,
    prices: g.prices, peak_multiplier: g.peak_multiplier, rugged: g.rugged,
    total_ticks: g.total_ticks, god_candle_ticks: g.god_candle_ticks };
  if (maxTicks !== undefined) rec.max_ticks = maxTicks;
  games.push(rec);
  return g;
}

// Plain games, every version.
for (let k = 1; k <= 4; k++) for (const v of ['v1', 'v2', 'v3']) add('plain', hex(k), GAME_ID, v);

// A game that rugs on the first draw (prices == [1.0]).
for (let k = 0; ; k++) {
  const s = hex('first-rug-' + k);
  if (seedrandom(s + '-' + GAME_ID)() < 0.005) {
    for (const v of ['v1', 'v2', 'v3']) add('first_tick_rug', s, GAME_ID, v);
    break;
  }
}

// v3 god candles: the first two seeds whose v3 path has one.
for (let k = 0, found = 0; found < 2; k++) {
  const s = hex('god-' + k);
  const g = replayGame(s, GAME_ID, 'v3', 5000, false);
  if (g.god_candle_ticks.length) { add('god_candle', s, GAME_ID, 'v3'); found++; }
}

// Prices above 100 where v1 and v2 part (v2 caps the volatility at sqrt(price) = 10).
for (let k = 0, found = 0; found < 2; k++) {
  const s = hex('above100-' + k);
  const g2 = replayGame(s, GAME_ID, 'v2', 5000, false);
  if (g2.peak_multiplier > 100) {
    const g1 = replayGame(s, GAME_ID, 'v1', 5000, false);
    if (g1.peak_multiplier !== g2.peak_multiplier || g1.total_ticks !== g2.total_ticks) {
      add('above_100', s, GAME_ID, 'v1');
      add('above_100', s, GAME_ID, 'v2');
      add('above_100', s, GAME_ID, 'v3');
      found++;
    }
  }
}

// Odd server seeds: non-ASCII, emoji, longer than 256 code units, empty.
const odd = ['sëed-ünïcode', '日本語シード', '🎲🚀💎 moon', 'q'.repeat(300), ('Ωμέγα🙂' + hex(9)).repeat(5), ''];
for (const s of odd) for (const v of ['v2', 'v3']) add('odd_seed', s, GAME_ID, v);
add('odd_game_id', hex(11), '', 'v3');

// The tick cap: a game that does not rug within a small cap ends unrugged.
for (let k = 0; ; k++) {
  const s = hex('cap-' + k);
  const g = replayGame(s, GAME_ID, 'v3', 60, false);
  if (!g.rugged) { add('tick_cap', s, GAME_ID, 'v3', 60); break; }
}

process.stdout.write(JSON.stringify({
  generator: 'tests/fair/golden/make_vectors.js',
  seedrandom: require('seedrandom/package.json').version,
  node: process.version,
  raw,
  games,
}) + '\n');
