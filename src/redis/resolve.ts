// Which function a job runs on a node: a task of its --tasks modules by name (at the same module version as its
// submitter's), or a signed inline function where the node allows them. Anything else is refused, saying why.
import { TaskRefusedError } from '../errors.js';
import { loadFn } from '../worker/load.js';
import { type NodeTask, shortVersion } from './tasks.js';
import { type JobData, verify } from './wire.js';

type AnyFn = (...args: any[]) => unknown;

/** The function a job's chunk runs on this node; throws TaskRefusedError when the node must not run it. */
export function resolveTask(
  data: JobData,
  table: ReadonlyMap<string, NodeTask>,
  options: { allowInline: boolean; secret: string | null },
): AnyFn {
  if (data.fn.kind === 'name') {
    const known = table.get(data.fn.name);
    const wanted = data.fn.version;
    if (known && wanted !== undefined && wanted !== known.version) {
      throw new TaskRefusedError(
        `The task \`${data.fn.name}\` differs between its submitter and this node: the submitter's module is version ` +
          `${shortVersion(wanted)}, this node's (${known.path}) is ${shortVersion(known.version)}. ` +
          'Run the same version of the task module on both (restart the nodes after deploying a change).',
      );
    }
    if (known) return known.fn;
    throw new TaskRefusedError(
      `This worker node has no task named \`${data.fn.name}\`; it knows ${[...table.keys()].map((n) => `\`${n}\``).join(', ') || 'none'}. ` +
        'Start the nodes with --tasks pointing at the module that exports it.',
    );
  }
  const name = data.fn.name || 'anonymous';
  if (!options.allowInline) {
    throw new TaskRefusedError(
      `This worker node refuses inline functions (\`${name}\`): it runs only the tasks of its --tasks modules. ` +
        'Declare the function with task(import.meta.url, fn) in such a module, or start the nodes with --allow-inline and a shared MPOOL_SECRET.',
    );
  }
  if (options.secret === null || !verify(options.secret, data as JobData & { fn: { kind: 'inline' } })) {
    throw new TaskRefusedError(
      `The inline function \`${name}\` is not signed with this node's secret, so it was refused. ` +
        'The submitter (`secret` option or MPOOL_SECRET) and the nodes (MPOOL_SECRET) must share the same secret.',
    );
  }
  return loadFn({ kind: 'inline', source: data.fn.source, name: data.fn.name }) as AnyFn;
}
