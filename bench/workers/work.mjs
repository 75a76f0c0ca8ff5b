// The workloads, as plain JavaScript: every library's worker thread can load this file without tsx,
// and mpool receives the same functions as source text. Each function is self-contained for that reason.

/** The tiny task. */
export const inc = (x) => x + 1;

/** The seed's map function. */
export const double = (x) => x * 2;

/** A CPU-bound busy loop; the harness calibrates `n` so that one call takes about 4 ms. */
export const spin = (n) => {
  let acc = 0;
  for (let i = 0; i < n; i++) acc = (acc + Math.sqrt(i + acc)) % 1e9;
  return acc;
};

/** The large-object task: reads every nested field of a record, returns a small summary. */
export const summarize = (record) => {
  let sum = 0;
  let max = -Infinity;
  for (const r of record.readings) {
    sum += r.value;
    if (r.value > max) max = r.value;
  }
  return {
    id: record.id,
    mean: sum / record.readings.length,
    max,
    tags: record.tags.length,
    city: record.owner.address.city,
  };
};

export const WORK = { inc, double, spin, summarize };

/** Maps one chunk in a worker: how peers without a map API get a fair equivalent of mpool's chunked map. */
export const mapChunk = ({ name, items }) => items.map(WORK[name]);

/** A record of a few KB with nested fields (about 5 KB as JSON); bench/python/pool_bench.py builds the same. */
export const makeRecord = (i) => ({
  id: i,
  name: `record-${i}`,
  tags: Array.from({ length: 8 }, (_, j) => `tag-${(i + j) % 50}`),
  owner: {
    id: i % 997,
    name: `owner-${i % 997}`,
    email: `owner${i % 997}@example.com`,
    address: { street: `${i % 300} Main Street`, city: `city-${i % 40}`, zip: String(10000 + (i % 89999)) },
  },
  readings: Array.from({ length: 150 }, (_, j) => ({
    t: j,
    value: ((i * 31 + j * 17) % 1000) / 10,
    ok: (i + j) % 7 !== 0,
  })),
});
