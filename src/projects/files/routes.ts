import express, { type Router } from 'express';
import type { RunInTransaction } from '../../http/context';

export function filesRouter(_inTransaction: RunInTransaction): Router {
  const router = express.Router();
  return router;
}
