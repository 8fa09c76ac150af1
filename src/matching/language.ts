import type { Request, Response } from 'express';
import type { Lang } from './scoring.js';

/** Korean when Accept-Language prefers it, English otherwise; the answer says which and that it varies. */
export function languageOf(req: Request, res?: Response): Lang {
  const lang: Lang = req.get('Accept-Language') && req.acceptsLanguages('en', 'ko') === 'ko' ? 'ko' : 'en';
  if (res) res.set('Content-Language', lang).vary('Accept-Language');
  return lang;
}
