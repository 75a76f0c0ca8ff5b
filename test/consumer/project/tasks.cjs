// Module tasks in CommonJS, declared with __filename.
const { task } = require('mpool');

let offset = 0;
exports.setOffset = task(__filename, (value) => {
  offset = value;
});
exports.addOffset = task(__filename, (x) => x + offset);
exports.add = task(__filename, (a, b) => a + b);
exports.later = task(__filename, async (x) => {
  await new Promise((resolve) => setTimeout(resolve, 2));
  return x * 10;
});
exports.fails = task(__filename, (x) => {
  throw new RangeError(`bad ${x}`);
});
