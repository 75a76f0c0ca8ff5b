// poolifier's worker script: a ThreadWorker with one task function per workload.
import { ThreadWorker } from 'poolifier';
import { mapChunk, WORK } from './work.mjs';

export default new ThreadWorker({ ...WORK, mapChunk });
