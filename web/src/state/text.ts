// Whether typed text shows anything, by the server's rule (src/core/utf8 is_blank_text):
// Unicode White_Space, default-ignorable characters (zero-width space and joiners, BOM, bidi
// controls, variation selectors, Hangul fillers, tags) and U+2800 alone are blank, and the
// server refuses blank content. String.trim() misses some of these (U+0085, U+200B, U+3164).
const INVISIBLE =
  /^[\t-\r \u0085\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u206f\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\u{1bca0}-\u{1bca3}\u{1d173}-\u{1d17a}\u{e0000}-\u{e0fff}]*$/u;

export function isBlank(text: string): boolean {
  return INVISIBLE.test(text);
}
