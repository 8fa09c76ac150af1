/**
 * Reference data every screen labels with: domains and capabilities (public, cached by the server for an
 * hour), plus testbeds and pilots looked up by id and kept for the session.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { get, getAll } from './api.js';
import type { Lang } from './i18n.js';
import type { Capability, CapabilityList, Domain, DomainList, Pilot, Testbed } from './types.js';

export interface Catalog {
  domains: Domain[];
  capabilities: Capability[];
}

export async function loadCatalog(): Promise<Catalog> {
  const [domains, capabilities] = await Promise.all([
    get<DomainList>('/v1/domains'),
    get<CapabilityList>('/v1/capabilities').catch((): CapabilityList => ({ data: [] })),
  ]);
  return { domains: domains.data, capabilities: capabilities.data };
}

export const CatalogContext = createContext<Catalog>({ domains: [], capabilities: [] });
export const useCatalog = () => useContext(CatalogContext);

export function domainLabel(catalog: Catalog, code: string, lang: Lang): string {
  return catalog.domains.find((d) => d.code === code)?.label[lang] ?? code;
}

export function subdomainLabel(catalog: Catalog, domain: string, code: string, lang: Lang): string {
  return catalog.domains.find((d) => d.code === domain)?.subdomains.find((s) => s.code === code)?.label[lang] ?? code;
}

export function capabilityLabel(catalog: Catalog, code: string, lang: Lang): string {
  return catalog.capabilities.find((c) => c.code === code)?.label[lang] ?? code;
}

let testbeds: Promise<Testbed[]> | undefined;
const pilots = new Map<string, Promise<Pilot | null>>();

export function allTestbeds(refresh = false): Promise<Testbed[]> {
  if (!testbeds || refresh) {
    testbeds = getAll<Testbed>('/v1/testbeds');
    testbeds.catch(() => {
      testbeds = undefined;
    });
  }
  return testbeds;
}

/** A pilot by id, or null when it is gone or not visible. */
export function pilotById(id: string): Promise<Pilot | null> {
  let p = pilots.get(id);
  if (!p) {
    p = get<Pilot>(`/v1/pilots/${id}`).catch(() => null);
    pilots.set(id, p);
  }
  return p;
}

export function rememberPilots(list: Pilot[]): void {
  for (const p of list) pilots.set(p.id, Promise.resolve(p));
}

/** Forget everything tied to the signed-in user. */
export function clearSessionCache(): void {
  testbeds = undefined;
  pilots.clear();
}
