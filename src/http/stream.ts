import type { Response } from 'express';

/** The client went away mid-stream: the transaction rolls back and the connection returns to the pool. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the stream');
  }
}

/**
 * Writes a chunk of a streamed response and, when the socket's buffer is
 * full, waits until the client has read it (or has gone): the server holds
 * one batch at a time, however large the whole.
 */
export function send(res: Response, chunk: string): Promise<void> {
  // A socket that has already closed will emit neither 'drain' nor 'close' again.
  if (res.destroyed || res.write(chunk) || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const go = () => {
      res.off('drain', go);
      res.off('close', go);
      resolve();
    };
    res.on('drain', go);
    res.on('close', go);
  });
}
