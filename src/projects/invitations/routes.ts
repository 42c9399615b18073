import express, { type Router } from 'express';
import type { RunInTransaction } from '../../http/context';

export function invitationsRouter(_inTransaction: RunInTransaction): Router {
  const router = express.Router();
  return router;
}
