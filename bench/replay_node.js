// Node side of bench/replay.py: replays the games in a JSON file with the real seedrandom
// (through tests/fair/golden/rugs_game.js) and prints {games, seconds, sum_ticks, sum_peak}.
// Usage: node bench/replay_node.js INPUT.json [repeats]
'use strict';
const fs = require('fs');
const path = require('path');
const { replayGame } = require(path.join(__dirname, '..', 'tests', 'fair', 'golden', 'rugs_game.js'));

const games = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const repeats = Number(process.argv[3] || 1);
// warm up the JIT on a slice, as the Python side warms up numba
for (let i = 0; i < Math.min(200, games.length); i++) replayGame(games[i][0], games[i][1], games[i][2]);
let best = Infinity;
let sumTicks = 0;
let sumPeak = 0;
for (let r = 0; r < repeats; r++) {
  sumTicks = 0;
  sumPeak = 0;
  const t0 = process.hrtime.bigint();
  for (const [seed, id, version] of games) {
    const g = replayGame(seed, id, version); // keeps the whole price path, like rugslab
    sumTicks += g.total_ticks;
    sumPeak += g.peak_multiplier;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (s < best) best = s;
}
process.stdout.write(JSON.stringify({ games: games.length, seconds: best, sum_ticks: sumTicks, sum_peak: sumPeak }) + '\n');
