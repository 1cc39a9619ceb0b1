// hype-bot from the e2e tests: the binary beside HYPE_BIN (or HYPE_BOT_BIN), run to the end
// with --json; resolves with its exit code and JSON report.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const HYPE_BIN = process.env.HYPE_BIN;
export const BOT_BIN = process.env.HYPE_BOT_BIN ?? (HYPE_BIN ? join(dirname(HYPE_BIN), '..', 'bot', 'hype-bot') : '');
/** A reason to skip bot tests, or false. */
export const botSkip = !HYPE_BIN ? 'HYPE_BIN not set' : !existsSync(BOT_BIN) ? `hype-bot not built (${BOT_BIN})` : false;

export function runBots(url, args) {
  return new Promise((resolve, reject) => {
    execFile(BOT_BIN, ['--server', url, '--json', ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop();
      try {
        resolve({ code: err?.code ?? 0, report: JSON.parse(line), stderr });
      } catch {
        reject(new Error(`hype-bot failed: ${err?.message ?? ''} ${stderr} ${stdout}`));
      }
    });
  });
}
