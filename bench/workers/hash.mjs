// piscina's side of the hash service: the same work as examples/tasks.ts's hashBody.
import { createHash } from 'node:crypto';

export default function hash({ body, rounds }) {
  let digest = createHash('sha256').update(body).digest();
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest();
  return digest.toString('hex');
}
