import * as mpool from 'mpool';
import { exercise } from './exercise.mjs';
import * as tasks from './tasks.mjs';

await exercise(mpool, tasks);
