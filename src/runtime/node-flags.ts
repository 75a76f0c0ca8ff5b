// The parent's Node options, read by Node's own grammar, so that a flag and its value are kept or dropped
// together when a worker inherits them.

/** One option as Node reads it: the flag's token and, when the value is the next token, that token. */
export type NodeOption = readonly [flag: string, value?: string];

// Options whose value may be the next token even when it starts with `-` (a pattern, a path, code).
const TAKES_VALUE = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '-C',
  '--conditions',
  '-e',
  '--eval',
  '-p',
  '--print',
  '--input-type',
  '--env-file',
  '--env-file-if-exists',
  '--title',
  '--inspect-port',
  '--debug-port',
  '--test-name-pattern',
  '--test-skip-pattern',
  '--test-reporter',
  '--test-reporter-destination',
  '--test-timeout',
  '--test-concurrency',
  '--test-shard',
  '--watch-path',
  '--run',
]);

/**
 * Splits `process.execArgv` into options. The script and its arguments are never in execArgv, so a token
 * that is not an option is always the value of the option before it (`--test-timeout 60000`).
 */
export function parseNodeOptions(argv: readonly string[]): NodeOption[] {
  const options: NodeOption[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const next = argv[i + 1];
    const joined = token.includes('=') || !token.startsWith('-');
    if (!joined && next !== undefined && (TAKES_VALUE.has(token) || !next.startsWith('-'))) {
      options.push([token, next]);
      i++;
    } else {
      options.push([token]);
    }
  }
  return options;
}

/** The flag's name without a value written with `=`: `--import` for `--import=tsx`. */
export function optionName(option: NodeOption): string {
  const [flag] = option;
  const eq = flag.indexOf('=');
  return eq === -1 ? flag : flag.slice(0, eq);
}

/** The option's value, whichever way it was written. */
export function optionValue(option: NodeOption): string | undefined {
  const [flag, value] = option;
  if (value !== undefined) return value;
  const eq = flag.indexOf('=');
  return eq === -1 ? undefined : flag.slice(eq + 1);
}

// Options that would make a worker something else: a test runner, a debugger, a watcher, a REPL, or a
// runner of the parent's own `-e` code.
const RUNNER =
  /^--(test|experimental-test|inspect|debug|watch)(-|$)|^--(eval|print|interactive|check|run|input-type)$|^-[epic]$/;

const LOADERS = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader']);
const TSX = /^tsx(\/|$)|[\\/]tsx[\\/]dist[\\/]/;

/** Whether an option loads tsx (`--import tsx`, or the absolute paths that the `tsx` command adds). */
export function isTsxLoader(option: NodeOption): boolean {
  return LOADERS.has(optionName(option)) && TSX.test(optionValue(option) ?? '');
}

/** Where the tsx that the parent loads is installed (its package folder), if it loads one by path. */
export function tsxRoot(options: readonly NodeOption[]): string | undefined {
  for (const option of options) {
    if (!isTsxLoader(option)) continue;
    const value = optionValue(option)!.replace(/^file:\/\//, '');
    const at = value.search(/[\\/]tsx[\\/]dist[\\/]/);
    if (at !== -1) return decodeURIComponent(value.slice(0, at + 4));
  }
  return undefined;
}

/** Flattens options back into argv tokens. */
export function toArgv(options: readonly NodeOption[]): string[] {
  return options.flatMap(([flag, value]) => (value === undefined ? [flag] : [flag, value]));
}

/**
 * The parent's options for a worker: without those that make it a runner (with their values), and without
 * tsx, which a worker registers itself only when a task module needs it (most load natively, or are JS).
 */
export function workerOptions(argv: readonly string[]): NodeOption[] {
  return parseNodeOptions(argv).filter((option) => !RUNNER.test(optionName(option)) && !isTsxLoader(option));
}
