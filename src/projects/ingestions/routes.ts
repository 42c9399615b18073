import express, { type Router } from 'express';
import type { RunInTransaction } from '../../http/context';

export function ingestionsRouter(_inTransaction: RunInTransaction): Router {
  const router = express.Router();
  return router;
}
