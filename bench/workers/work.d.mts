// Types for work.mjs, which stays plain JavaScript so that peers' worker threads can load it without tsx.
export type WorkName = 'inc' | 'double' | 'spin' | 'summarize';

export interface BenchRecord {
  id: number;
  name: string;
  tags: string[];
  owner: {
    id: number;
    name: string;
    email: string;
    address: { street: string; city: string; zip: string };
  };
  readings: { t: number; value: number; ok: boolean }[];
}

export interface Summary {
  id: number;
  mean: number;
  max: number;
  tags: number;
  city: string;
}

export declare const inc: (x: number) => number;
export declare const double: (x: number) => number;
export declare const spin: (n: number) => number;
export declare const summarize: (record: BenchRecord) => Summary;
export declare const WORK: {
  inc: typeof inc;
  double: typeof double;
  spin: typeof spin;
  summarize: typeof summarize;
};
export declare const mapChunk: (chunk: { name: WorkName; items: unknown[] }) => unknown[];
export declare const makeRecord: (i: number) => BenchRecord;
