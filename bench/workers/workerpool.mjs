// workerpool's worker script: registers the workloads by name.
import workerpool from 'workerpool';
import { mapChunk, WORK } from './work.mjs';

workerpool.worker({ ...WORK, mapChunk });
