import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32, zipStored } from './zip';

const PYTHON = process.env.PYTHON || '/usr/bin/python3';

describe('stored zip', () => {
  it('computes the standard CRC-32 check value', () => {
    // The check value every CRC-32 (IEEE) implementation gives for the ASCII digits 1–9.
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('lays out a local header, the bytes, a central directory entry and the end record', () => {
    const archive = zipStored([{ path: 'a.txt', data: 'hi' }]);
    const view = new DataView(archive.buffer);
    expect(archive.length).toBe(30 + 5 + 2 + 46 + 5 + 22);
    expect(view.getUint32(0, true)).toBe(0x04034b50);
    expect(view.getUint16(8, true)).toBe(0); // stored
    expect(view.getUint32(14, true)).toBe(crc32(new TextEncoder().encode('hi')));
    expect([view.getUint32(18, true), view.getUint32(22, true)]).toEqual([2, 2]);
    expect(new TextDecoder().decode(archive.subarray(30, 37))).toBe('a.txthi');
    const central = 37;
    expect(view.getUint32(central, true)).toBe(0x02014b50);
    expect(view.getUint32(central + 42, true)).toBe(0); // the local header's offset
    const end = archive.length - 22;
    expect(view.getUint32(end, true)).toBe(0x06054b50);
    expect(view.getUint16(end + 10, true)).toBe(1);
    expect([view.getUint32(end + 12, true), view.getUint32(end + 16, true)]).toEqual([46 + 5, central]);
  });

  it.skipIf(!existsSync(PYTHON))('is read by Python\'s zipfile, byte for byte', () => {
    const weights = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) % 256);
    const archive = zipStored([
      { path: 'project/train.py', data: 'print("é")\n' },
      { path: 'project/weights.safetensors', data: weights },
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'zip-'));
    try {
      writeFileSync(join(dir, 'p.zip'), archive);
      const script = 'import sys, zipfile, hashlib\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nfor i in z.infolist(): print(i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest())';
      const result = spawnSync(PYTHON, ['-c', script, join(dir, 'p.zip')], { encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
      const sha = (bytes: Uint8Array) => spawnSync(PYTHON, ['-c', 'import sys, hashlib; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'], { input: bytes, encoding: 'utf8' }).stdout.trim();
      expect(result.stdout.trim().split('\n')).toEqual([
        `project/train.py 12 ${sha(new TextEncoder().encode('print("é")\n'))}`,
        `project/weights.safetensors 1000 ${sha(weights)}`,
      ]);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
