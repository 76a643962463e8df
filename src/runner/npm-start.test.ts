import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('npm start', () => {
  it('prints the address and opens no browser (a machine without a desktop gets no error)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'npm-start-'));
    // Vite opens a browser through $BROWSER when asked to: this one only leaves a mark.
    const browser = join(dir, 'browser');
    const opened = join(dir, 'opened');
    writeFileSync(browser, `#!/bin/sh\necho "$@" > ${opened}\n`);
    chmodSync(browser, 0o755);
    // Its own process group, so that stopping it stops Vite too. Vite moves on to the next free port
    // when its default one is taken.
    const child = spawn('npm', ['start'], { env: { ...process.env, BROWSER: browser }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start printed no address in 60 s:\n${output}`)), 60_000);
      const read = (chunk: Buffer) => {
        // Where colour is on (FORCE_COLOR, a terminal), Vite styles the address: read it without the escapes.
        output += chunk.toString().replace(/\u001b\[[0-9;]*m/g, '');
        if (/Local:\s+http:\/\/localhost:\d+\//.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
    });
    try {
      await ready;
      // Vite would open the browser right after printing the address: give it the time to.
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
    }
    expect(existsSync(opened)).toBe(false);
    expect(output).not.toMatch(/Error|ENOENT/);
  });
});
