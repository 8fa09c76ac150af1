/**
 * Korean business registration numbers (사업자등록번호): 10 digits, usually written 123-45-67890. The last
 * digit is a check digit over the first nine with weights 1,3,7,1,3,7,1,3,5, plus the tens digit of 5 × the
 * ninth digit.
 */
const WEIGHTS = [1, 3, 7, 1, 3, 7, 1, 3, 5];

/** Digits only, or undefined when the shape is wrong (dashes and spaces in the usual places are fine). */
export function normalizeBusinessNumber(input: string): string | undefined {
  const trimmed = input.trim();
  if (!/^\d{3}-?\d{2}-?\d{5}$/.test(trimmed)) return undefined;
  return trimmed.replace(/-/g, '');
}

export function businessNumberCheckDigit(firstNine: string): number {
  const d = [...firstNine].map(Number);
  let sum = 0;
  WEIGHTS.forEach((w, i) => (sum += (d[i] ?? 0) * w));
  sum += Math.floor(((d[8] ?? 0) * 5) / 10);
  return (10 - (sum % 10)) % 10;
}

export function isValidBusinessNumber(input: string): boolean {
  const digits = normalizeBusinessNumber(input);
  if (!digits) return false;
  return businessNumberCheckDigit(digits.slice(0, 9)) === Number(digits[9]);
}
