import { describe, expect, it } from 'vitest';
import { isBlank } from './text';

describe('isBlank', () => {
  it('treats Unicode spaces and invisible characters as blank, like the server', () => {
    for (const s of ['', '  \n\t', '\u3000', '\u00a0\u00a0', '\u2028\u2029', '\u0085', '\u200b\u200d', '\ufeff', '\u3164', '\u2800', '\u{e0001}\ufe0f'])
      expect(isBlank(s), JSON.stringify(s)).toBe(true);
  });
  it('keeps anything visible', () => {
    for (const s of ['a', '\u3000x', '😀', '\u200d😀', '.', '\u2801'])
      expect(isBlank(s), JSON.stringify(s)).toBe(false);
  });
});
