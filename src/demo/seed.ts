import type { Db } from '../db/client.js';

export async function loadDemoData(_db: Db): Promise<Record<string, number>> {
  return {};
}
