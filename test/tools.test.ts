import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolPath } from './tools.ts';

test('toolPath: ENI_IPAM_BIN_DIR first, then PATH; undefined when absent or not executable', () => {
  const a = mkdtempSync(join(tmpdir(), 'tools-a-'));
  const b = mkdtempSync(join(tmpdir(), 'tools-b-'));
  try {
    const name = `eni-ipam-fake-tool-${process.pid}`;
    writeFileSync(join(a, name), '#!/bin/sh\n');
    chmodSync(join(a, name), 0o755);
    writeFileSync(join(b, name), '#!/bin/sh\n');
    chmodSync(join(b, name), 0o755);
    writeFileSync(join(b, 'not-executable'), '');
    assert.equal(toolPath(name, { ENI_IPAM_BIN_DIR: a, PATH: b }), join(a, name));
    assert.equal(toolPath(name, { PATH: `/nonexistent:${b}` }), join(b, name));
    assert.equal(toolPath('not-executable', { PATH: b }), undefined);
    assert.equal(toolPath(name, { PATH: '' }), undefined);
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});
