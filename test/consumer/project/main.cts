import * as mpool from 'mpool';
import * as tasks from './tasks.cjs';

import('./exercise.mjs').then(({ exercise }) => exercise(mpool, tasks));
