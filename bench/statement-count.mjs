/**
 * Preload (node --import ./bench/statement-count.mjs) that counts the SQL statements a process sends, by kind,
 * on either engine, and prints them to stderr when the process exits: round trips per delivery are read from
 * this against the deliveries made. Plain JavaScript so that it loads before or after tsx.
 */
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';

const counts = new Map();
const started = performance.now();
const kind = (sql) => {
  const text = String(sql).replace(/\s+/g, ' ').trim();
  // The first words, and the table a data statement touches, tell the statements of this code base apart.
  const m = /^(WITH \w+|SELECT|INSERT INTO \w+|UPDATE \w+|DELETE FROM \w+|\w+)/i.exec(text);
  return `${m ? m[0] : text.slice(0, 20)} … ${text.length > 60 ? text.slice(-40) : ''}`.slice(0, 110);
};
const count = (sql) => counts.set(kind(sql), (counts.get(kind(sql)) ?? 0) + 1);

const clientQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, ...rest) {
  count(typeof config === 'string' ? config : (config?.text ?? '?'));
  return clientQuery.call(this, config, ...rest);
};

const query = PGlite.prototype.query;
PGlite.prototype.query = function (sql, ...rest) {
  count(sql);
  return query.call(this, sql, ...rest);
};
const exec = PGlite.prototype.exec;
PGlite.prototype.exec = function (sql, ...rest) {
  count(sql);
  return exec.call(this, sql, ...rest);
};
const transaction = PGlite.prototype.transaction;
PGlite.prototype.transaction = function (fn) {
  count('BEGIN');
  return transaction.call(this, (tx) =>
    fn({
      ...tx,
      query: (sql, ...rest) => {
        count(sql);
        return tx.query(sql, ...rest);
      },
      exec: (sql, ...rest) => {
        count(sql);
        return tx.exec(sql, ...rest);
      },
    }),
  );
};

process.on('exit', () => {
  const rows = [...counts].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((s, [, n]) => s + n, 0);
  const lines = rows.slice(0, 25).map(([k, n]) => `${String(n).padStart(8)}  ${k}`);
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  process.stderr.write(`\nstatements of pid ${process.pid} over ${seconds} s: ${total}\n${lines.join('\n')}\n`);
});
