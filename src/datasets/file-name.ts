/**
 * The client's file name is kept for display and for Content-Disposition on download, never used as a path
 * (storage keys are content hashes). It is Unicode-normalised (NFC: a Korean name typed on macOS, which sends
 * decomposed jamo, round-trips as the same string as one typed on Windows), stripped of any directory part,
 * control and bidi-override characters, and shortened to MAX_NAME characters keeping its extension.
 */
const MAX_NAME = 255;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export interface DisplayName {
  fileName: string;
  /** Lower-case extension without the dot, when the name has a plausible one. */
  extension: string | null;
}

export function displayFileName(raw: string | undefined): DisplayName {
  let name = (raw ?? '').normalize('NFC').replace(CONTROL, '');
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1).trim();
  if (name === '.' || name === '..') name = '';
  const extMatch = /\.([A-Za-z0-9]{1,16})$/.exec(name);
  const extension = extMatch ? extMatch[1]!.toLowerCase() : null;
  const chars = [...name];
  if (chars.length > MAX_NAME) {
    const ext = extMatch ? [...extMatch[0]] : [];
    name =
      chars
        .slice(0, MAX_NAME - ext.length)
        .join('')
        .trimEnd() + ext.join('');
  }
  return { fileName: name || 'dataset', extension };
}

/** The client's Content-Type for the part, kept for the record when it looks like a media type. */
export function claimedMediaType(raw: string | undefined): string | null {
  const t = (raw ?? '').trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/.test(t) ? t : null;
}
