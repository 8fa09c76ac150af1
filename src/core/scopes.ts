/**
 * API keys carry scopes, "<area>:read" or "<area>:write"; write implies read. Login sessions hold every scope
 * their role allows. Which areas a role may act on at all is decided by the services, not by scopes.
 */
const AREAS = ['pilots', 'testbeds', 'datasets', 'matching', 'bookings', 'webhooks', 'reports', 'keys'] as const;
type Area = (typeof AREAS)[number];
export type Scope = `${Area}:${'read' | 'write'}`;

export const ALL_SCOPES: Scope[] = AREAS.flatMap((a) => [`${a}:read`, `${a}:write`] as Scope[]);

export function isScope(s: string): s is Scope {
  return (ALL_SCOPES as string[]).includes(s);
}

export function grants(held: ReadonlySet<Scope>, needed: Scope): boolean {
  if (held.has(needed)) return true;
  const [area, level] = needed.split(':') as [Area, string];
  return level === 'read' && held.has(`${area}:write`);
}
