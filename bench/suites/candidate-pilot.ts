/**
 * The pilot both candidate benchmarks measure: 8 GPU hours in spring 2027 on transport-safety testbeds, submitted
 * through the API, and how many generated slots pass its hard filters (the work the candidates query does).
 */
import type pg from 'pg';
import { json } from '../harness.js';

export async function submitCandidatePilot(
  client: pg.Client,
  base: string,
  auth: Record<string, string>,
  title: string,
): Promise<{ pilotId: string; suitable: number }> {
  const pilot = (
    await json(`${base}/v1/pilots`, {
      method: 'POST',
      headers: auth,
      body: {
        title,
        summary: 'Generated for the benchmark.',
        domain: 'transport-safety',
        requirements: {
          capabilities: ['gpu-cluster'],
          units: 1,
          durationHours: 8,
          earliestStart: '2027-03-01T00:00:00Z',
          latestEnd: '2027-06-01T00:00:00Z',
        },
      },
    })
  ).body as { id: string };
  await json(`${base}/v1/pilots/${pilot.id}/submit`, { method: 'POST', headers: auth });
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM slots s JOIN testbeds t ON t.id = s.testbed_id
      WHERE t.domains @> ARRAY['transport-safety'] AND t.capabilities @> ARRAY['gpu-cluster']
        AND s.start_at >= '2027-03-01' AND s.end_at <= '2027-06-01' AND s.booked_units < s.capacity`,
  );
  return { pilotId: pilot.id, suitable: Number(rows[0]!.n) };
}
