import assert from 'node:assert/strict';
import {
  businessNumberCheckDigit,
  isValidBusinessNumber,
  normalizeBusinessNumber,
} from '../src/auth/business-number.js';

describe('business registration number (사업자등록번호)', () => {
  it('accepts a number whose check digit is right, with or without dashes', () => {
    // 124-81-00998: the check digit worked by hand: 1·1+2·3+4·7+8·1+1·3+0·7+0·1+9·3+9·5 = 118, + ⌊9·5/10⌋ = 122 → 8.
    assert.equal(businessNumberCheckDigit('124810099'), 8);
    assert.equal(isValidBusinessNumber('124-81-00998'), true);
    assert.equal(isValidBusinessNumber('1248100998'), true);
  });

  it('refuses a wrong check digit', () => {
    for (let d = 0; d <= 9; d++) if (d !== 8) assert.equal(isValidBusinessNumber(`124810099${d}`), false, `digit ${d}`);
  });

  it('refuses wrong shapes', () => {
    for (const bad of [
      '',
      '12481009',
      '12481009988',
      '124-810-0998',
      'abcdefghij',
      '124 81 00998',
      '１２４８１００９９８',
    ]) {
      assert.equal(isValidBusinessNumber(bad), false, bad);
      assert.equal(normalizeBusinessNumber(bad), undefined, bad);
    }
  });

  it('counts the tens digit of 5 × the ninth digit', () => {
    // Ninth digit 0 vs 9 changes the sum by 45 + 4; a formula that forgot the extra term would disagree here.
    assert.equal(businessNumberCheckDigit('000000009'), (10 - ((9 * 5 + 4) % 10)) % 10);
    assert.equal(businessNumberCheckDigit('000000000'), 0);
  });
});
