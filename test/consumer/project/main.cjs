const mpool = require('mpool');
const tasks = require('./tasks.cjs');

import('./exercise.mjs').then(({ exercise }) => exercise(mpool, tasks));
