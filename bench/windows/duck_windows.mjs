// DuckDB side of the window-aggregation benchmark (issue 10).
//   node duck_windows.mjs SCALE OUTFILE [--runs 3] [--threads 2,1] [--methods frames,join_groupby]
//        [--single-run-above 120] [--timeout 900]
// Needs @duckdb/node-api in $DUCK_DIR (default $BENCH_WORK/duck) and the
// anchors' memsample.py ($ANCHORS). Loads the CSVs into an in-memory database,
// then times each method as CREATE TABLE out AS <query>, median of RUNS, per
// thread count, and appends one line per method to OUTFILE:
//   method <TAB> duckdb <TAB> scale <TAB> median s <TAB> runs <TAB> checksum <TAB> peak MB
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const WORK = process.env.BENCH_WORK || '/tmp/featstore-win-bench';
const DUCK_DIR = process.env.DUCK_DIR || path.join(WORK, 'duck');
const ANCHORS = process.env.ANCHORS || '/work/shared/brief/bench';
const require = createRequire(path.join(DUCK_DIR, 'package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');

const args = process.argv.slice(2);
const scale = args[0], outFile = args[1];
const opt = (k, d) => { const i = args.indexOf('--' + k); return i >= 0 ? args[i + 1] : d; };
const RUNS = +opt('runs', 3);
const THREADS = opt('threads', '2,1').split(',').map(Number);
const DATADIR = path.join(WORK, 'data', scale);
const TIMEOUT_MS = +opt('timeout', 900) * 1000;
const SINGLE_RUN_ABOVE = +opt('single-run-above', 120);   // a longer run anchors the method alone

const US = (h) => `${h * 3600 * 1000000 - 1}`;   // (t - w, t] on microseconds: w - 1 us PRECEDING
const FEATURES = `tx_count_1h, tx_amount_sum_1h, tx_count_24h, max_single_tx_24h,
  unique_merchants_7d, tx_amount_avg_30d, tx_amount_std_30d, last_merchant`;
const METHODS = {
  // RANGE frames over the union of events and spine rows, one sort by
  // (user_id, time); spine rows have NULL amount and merchant, so they count
  // nowhere; a frame's CURRENT ROW includes its peers, so events at t count
  frames: `WITH u AS (
      SELECT user_id, epoch_us(event_time) AS t, NULL::BIGINT AS spine_id, NULL::INTEGER AS label,
             amount, merchant_id, {'t': event_time, 'c': ingested_at} AS k
        FROM tx WHERE status <> 'declined'
      UNION ALL
      SELECT user_id, epoch_us(ts), spine_id, label, NULL, NULL, NULL FROM labels),
    w AS (
      SELECT spine_id, user_id, t, label,
        count(amount) OVER w1h AS tx_count_1h, sum(amount) OVER w1h AS tx_amount_sum_1h,
        count(amount) OVER w24h AS tx_count_24h, max(amount) OVER w24h AS max_single_tx_24h,
        count(DISTINCT merchant_id) OVER w7d AS unique_merchants_7d,
        avg(amount) OVER w30d AS tx_amount_avg_30d, stddev_samp(amount) OVER w30d AS tx_amount_std_30d,
        arg_max(merchant_id, k) OVER wall AS last_merchant
      FROM u
      WINDOW w1h AS (PARTITION BY user_id ORDER BY t RANGE BETWEEN ${US(1)} PRECEDING AND CURRENT ROW),
             w24h AS (PARTITION BY user_id ORDER BY t RANGE BETWEEN ${US(24)} PRECEDING AND CURRENT ROW),
             w7d AS (PARTITION BY user_id ORDER BY t RANGE BETWEEN ${US(168)} PRECEDING AND CURRENT ROW),
             w30d AS (PARTITION BY user_id ORDER BY t RANGE BETWEEN ${US(720)} PRECEDING AND CURRENT ROW),
             wall AS (PARTITION BY user_id ORDER BY t RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
    SELECT spine_id, user_id, make_timestamptz(t) AS ts, label, ${FEATURES}
      FROM w WHERE spine_id IS NOT NULL`,
  // a range join of the 30-day window with FILTER for the shorter ones,
  // GROUP BY the spine row, and the exact ASOF join (struct key, as the
  // anchors) for the unbounded last()
  join_groupby: `WITH e AS (SELECT * FROM tx WHERE status <> 'declined'),
    a AS (
      SELECT s.spine_id,
        count(*) FILTER (WHERE e.event_time > s.ts - INTERVAL '1 hour') AS tx_count_1h,
        sum(e.amount) FILTER (WHERE e.event_time > s.ts - INTERVAL '1 hour') AS tx_amount_sum_1h,
        count(*) FILTER (WHERE e.event_time > s.ts - INTERVAL '24 hours') AS tx_count_24h,
        max(e.amount) FILTER (WHERE e.event_time > s.ts - INTERVAL '24 hours') AS max_single_tx_24h,
        count(DISTINCT e.merchant_id) FILTER (WHERE e.event_time > s.ts - INTERVAL '168 hours') AS unique_merchants_7d,
        avg(e.amount) AS tx_amount_avg_30d, stddev_samp(e.amount) AS tx_amount_std_30d
      FROM labels s JOIN e ON e.user_id = s.user_id
       AND e.event_time > s.ts - INTERVAL '720 hours' AND e.event_time <= s.ts
      GROUP BY s.spine_id),
    l AS (
      SELECT s.spine_id, e.merchant_id AS last_merchant
        FROM (SELECT spine_id, user_id, {'t': ts, 'c': 'infinity'::TIMESTAMPTZ} AS k FROM labels) s
        ASOF LEFT JOIN (SELECT user_id, merchant_id, {'t': event_time, 'c': ingested_at} AS k FROM e) e
          ON s.user_id = e.user_id AND s.k >= e.k)
    SELECT s.spine_id, s.user_id, s.ts, s.label,
      coalesce(a.tx_count_1h, 0) AS tx_count_1h, a.tx_amount_sum_1h,
      coalesce(a.tx_count_24h, 0) AS tx_count_24h, a.max_single_tx_24h,
      coalesce(a.unique_merchants_7d, 0) AS unique_merchants_7d, a.tx_amount_avg_30d, a.tx_amount_std_30d,
      l.last_merchant
    FROM labels s LEFT JOIN a ON a.spine_id = s.spine_id LEFT JOIN l ON l.spine_id = s.spine_id`,
};
const methods = opt('methods', Object.keys(METHODS).join(',')).split(',');

// the same columns as sql/checksum.sql; floats as DECIMAL sums
const W = `(spine_id % 1009 + 1)`;
const CHECKSUM = `SELECT count(*)::VARCHAR || '|' || sum(spine_id)::VARCHAR || '|' ||
  sum(tx_count_1h * ${W})::VARCHAR || '|' || sum(tx_count_24h * ${W})::VARCHAR || '|' ||
  sum(unique_merchants_7d * ${W})::VARCHAR || '|' ||
  count(tx_amount_sum_1h)::VARCHAR || '/' || count(max_single_tx_24h)::VARCHAR || '/' ||
  count(tx_amount_avg_30d)::VARCHAR || '/' || count(tx_amount_std_30d)::VARCHAR || '/' || count(last_merchant)::VARCHAR || '|' ||
  sum(substr(last_merchant, 2)::BIGINT * ${W})::VARCHAR || '|' ||
  sum(tx_amount_sum_1h::DECIMAL(38, 10) * ${W})::VARCHAR || '|' || sum(max_single_tx_24h::DECIMAL(38, 10) * ${W})::VARCHAR || '|' ||
  sum(tx_amount_avg_30d::DECIMAL(38, 10) * ${W})::VARCHAR || '|' || sum(tx_amount_std_30d::DECIMAL(38, 10) * ${W})::VARCHAR AS c
  FROM out_x`;

const memFile = path.join(WORK, `duck_win_mem_${scale}.txt`);
const sampler = spawn('python3', [path.join(ANCHORS, 'memsample.py'), String(process.pid), memFile, '0.1'], { stdio: 'ignore' });
const peakMb = (t0, t1) => {
  const rows = fs.readFileSync(memFile, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number)).filter((r) => r.length === 3);
  const before = rows.filter((r) => r[0] <= t0), inside = rows.filter((r) => r[0] >= t0 && r[0] <= t1);
  if (!inside.length) return null;
  const base = before.length ? before[before.length - 1][1] : inside[0][1];
  return (Math.max(...inside.map((r) => r[1])) - base) / 1024;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
const q = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson();
await q(`SET TimeZone = 'UTC'`);
fs.mkdirSync(path.join(WORK, 'duck_tmp'), { recursive: true });
await q(`SET temp_directory = '${path.join(WORK, 'duck_tmp')}'`);
const version = (await q(`SELECT version() AS v`))[0].v;
const memLimit = (await q(`SELECT current_setting('memory_limit') AS m`))[0].m;
let t = performance.now();
await q(`CREATE TABLE labels0 AS SELECT * FROM read_csv('${DATADIR}/labels.csv', header = false, auto_detect = false,
  columns = {'user_id': 'BIGINT', 'ts': 'TIMESTAMPTZ', 'label': 'INTEGER'})`);
await q(`CREATE TABLE labels AS SELECT rowid + 1 AS spine_id, * FROM labels0 ORDER BY rowid`);
await q(`DROP TABLE labels0`);
await q(`CREATE TABLE tx AS SELECT * FROM read_csv('${DATADIR}/tx.csv', header = false, auto_detect = false,
  columns = {'user_id': 'BIGINT', 'event_time': 'TIMESTAMPTZ', 'ingested_at': 'TIMESTAMPTZ',
             'amount': 'DOUBLE', 'merchant_id': 'VARCHAR', 'status': 'VARCHAR'})`);
console.log(`[duck ${scale}] ${version} (memory_limit ${memLimit}) loaded in ${((performance.now() - t) / 1000).toFixed(1)} s`);

try {
  for (const th of THREADS) {
    await q(`SET threads = ${th}`);
    for (const m of methods) {
      const key = `duck_${m}@${th}t`, runs = [], mems = [];
      let err = null;
      for (let r = 0; r < RUNS && !err; r++) {
        await q(`DROP TABLE IF EXISTS out_x`);
        await sleep(250);
        const timer = setTimeout(() => con.interrupt(), TIMEOUT_MS);
        const t0 = Date.now(), p0 = performance.now();
        try {
          await con.run(`CREATE TABLE out_x AS ${METHODS[m]}`);
        } catch (e) {
          err = String(e.message || e).split('\n')[0];
        }
        clearTimeout(timer);
        const secs = (performance.now() - p0) / 1000;
        await sleep(250);
        if (err) break;
        runs.push(secs);
        mems.push(peakMb(t0, Date.now()));
        console.log(`[duck ${scale}] ${key} run ${r + 1}: ${secs.toFixed(3)} s`);
        if (secs > SINGLE_RUN_ABOVE) break;
      }
      let line;
      if (err) {
        line = `${key}\tduckdb\t${scale}\tNaN\t\tFAILED: ${err}\t`;
      } else {
        const s = [...runs].sort((a, b) => a - b), med = s[Math.floor((s.length - 1) / 2)];
        const sum = (await q(CHECKSUM))[0].c;
        const peak = Math.max(...mems.filter((x) => x !== null), 0);
        line = `${key}\tduckdb\t${scale}\t${med.toFixed(3)}\t${runs.map((x) => (x * 1000).toFixed(1)).join(',')},\t${sum}\tpeak ${peak.toFixed(0)} MB`;
      }
      console.log(line);
      fs.appendFileSync(outFile, line + '\n');
    }
  }
} finally {
  sampler.kill('SIGTERM');
}
