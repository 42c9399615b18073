import type { Request, Response } from 'express';
import type { RunInTransaction } from '../http/context';
import { problems } from '../problems';
import { formatFrame, formatPosition, RETRY_FRAME } from './frames';
import type { LiveHub, StreamSubject, Subscriber } from './hub';
import { readOpening } from './opening';
import { parseSnapshot, type Snapshot } from './snapshot';
import { ticketOrganization } from './tickets';

/**
 * Bytes a stream may have waiting for a slow client before it is closed: the
 * client reconnects with its Last-Event-ID and catches up from the database,
 * instead of this process holding its backlog.
 */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** The client's position: the Last-Event-ID header, else the lastEventId query parameter (400 when not one of ours). */
export function lastEventIdOf(req: Request, query: { lastEventId?: string }): Snapshot | undefined {
  const header = req.header('last-event-id');
  const text = header ?? query.lastEventId;
  if (text === undefined) return undefined;
  const snapshot = parseSnapshot(text.trim());
  if (!snapshot) {
    const path = header !== undefined ? '/header/last-event-id' : '/query/lastEventId';
    throw problems.validation('Last-Event-ID is not an id this API sent: send the `id` of the last frame received, as it was.', [
      { path, message: 'is not a stream position', code: 'format' },
    ]);
  }
  return snapshot;
}

/**
 * Opens a Server-Sent Events stream: takes one of the caller's places, reads
 * the subject's state and what the client missed (one normal, metered
 * request as the caller), sends them, then hands the stream to the hub for
 * what comes next. Problems before the first byte leave as problem+json.
 */
export async function openStream(
  deps: { hub: LiveHub | undefined; inTransaction: RunInTransaction },
  req: Request,
  res: Response,
  subject: StreamSubject,
  from: Snapshot | undefined,
): Promise<void> {
  const hub = deps.hub;
  if (!hub) throw problems.unavailable('Live events are not running on this server.');
  const identity = req.identity;
  if (!identity) throw problems.unauthorized('Authentication is required.');
  if (identity.role === 'service_role') throw problems.forbidden('Streams are for signed-in users and API keys, not service tokens.');

  const subscriber: Subscriber = {
    identity,
    subject,
    organizationId: '',
    position: undefined,
    lastSentId: '',
    outputOffset: 0,
    write(text) {
      if (res.destroyed || res.writableEnded) return true;
      res.write(text);
      return res.writableLength <= MAX_BUFFERED_BYTES;
    },
    end() {
      if (!res.writableEnded) res.end();
    },
  };
  const release = await hub.admit(subscriber);
  res.on('close', release);
  let opening;
  try {
    opening = await deps.inTransaction(req, (tx) => readOpening(tx, subject, from), { organizationId: ticketOrganization(req) });
  } catch (error) {
    release();
    throw error;
  }
  if (res.destroyed) {
    release();
    return;
  }
  subscriber.organizationId = opening.organizationId;
  subscriber.position = opening.position;
  subscriber.outputOffset = opening.outputOffset;

  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('X-Accel-Buffering', 'no');
  res.setHeader('Connection', 'keep-alive');
  res.flushHeaders();
  // No Nagle delay: a frame leaves when written.
  res.socket?.setNoDelay(true);

  let text = RETRY_FRAME;
  opening.frames.forEach((frame, index) => {
    text += formatFrame(frame, index === opening.frames.length - 1 ? opening.position.text : opening.base.text);
  });
  if (opening.frames.length === 0) text += formatPosition(opening.position.text);
  subscriber.lastSentId = opening.position.text;
  res.write(text);
  hub.opened(subscriber);
}
