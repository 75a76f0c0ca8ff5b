// Every scheduling constant in one place, for both sides of the wire: how much work a batch holds and when a
// second one goes (the pool, runtime/schedule.ts), and how long a worker holds results and runs before it lets
// its event loop turn (the worker, worker/loop.ts). They are tuned together: change them together.

// ---- The pool's side ------------------------------------------------------------------------------------

// A batch holds about this much work, so per-message cost is amortised but no worker hoards the queue.
export const BATCH_TARGET_MS = 2;
export const BATCH_MAX = 1024;
// Chunks measured shorter than this may be prefetched: a second batch sent before the first is done.
export const PREFETCH_BELOW_MS = 20;
// A prefetched batch of chunks that run a millisecond or more each (as their worker measured it: chunks that
// cost mostly copying are not slow in this sense) holds about this much work, so that the worker can return
// their results together (see HOLD_SLOW_MS below) and wake the pool's thread less often: with as
// many workers as cores, each wake-up there takes its time from a worker.
export const PREFETCH_SLOW_MS = 48;
// To a thread, whose unstarted chunks the pool can take back, such a batch goes this deep (at most a fair
// share): a bound on one message's size, for chunks whose arguments are large, not on balance.
export const ROBBABLE_SLOW_MS = 200;
export const SLOW_CHUNK_MS = 1;
// Chunks that cost the pool at least this many times what they run in their worker (the rest is copying their
// arguments and results: large objects) never go deep: one message of many of them cannot be read by the
// worker until all of it has been written, and what another worker takes back must be written again.
export const COPY_BOUND = 2;
// A report that a function's items got dearer moves its estimate by the share of items it holds, against
// the items before it; those count half once this many milliseconds of its run time have passed since (the
// estimate follows a function whose items grow dearer, yet one chunk held up by a preemption or GC pause
// barely moves it).
export const ITEM_COST_HALF_LIFE_MS = 50;

// ---- The worker's side ----------------------------------------------------------------------------------

// Results are batched to cut per-task cost, but held no longer than this, so a slow or dying chunk
// that follows fast ones cannot strand their results.
export const FLUSH_AFTER_MS = 1;
// Results of slower chunks (a millisecond or more each) from batches the pool sent well ahead are held while
// at least two more chunks wait here, but no longer than this: every message wakes the pool's thread, which
// on a machine with as many workers as cores takes its time from a worker. Before the last waiting chunk
// starts they go, so the pool can send more work while that chunk runs. About one prefetched batch's worth
// (PREFETCH_SLOW_MS above).
export const HOLD_SLOW_MS = 50;
// Chunks run back to back, and waiting work is taken between them without a turn of the event loop; after
// this long, the loop lets the event loop turn before the next chunk, so a task's own timers still run.
export const YIELD_AFTER_MS = 50;

// ---- A Redis worker node --------------------------------------------------------------------------------

// A chunk that its function's measured cost says runs in less than this (ms) runs on the node's own thread
// (redis/runner.ts): a round trip to a worker thread costs a node about 0.2 ms, more than such a chunk's work.
// `mpool worker --inline-under MS` changes it; 0 sends every chunk to the node's workers.
export const NODE_INLINE_UNDER_MS = 0.5;
