// What a prebuilt addon is, read from its bytes: ELF through binutils'
// `readelf` (any architecture), Mach-O by walking its load commands here
// (binutils on Linux does not read Mach-O). Used by install.test.mjs.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const readelf = (args, file) => execFileSync('readelf', [...args, '-W', file], { encoding: 'utf8' });

/**
 * An ELF shared object: its machine, whether it exports the napi entry point,
 * the newest glibc symbol version it needs (null: none, as on musl) and the
 * libraries it needs.
 */
export function elf(file) {
  const header = readelf(['-h'], file);
  const field = (name) => header.match(new RegExp(`^\\s*${name}:\\s*(.+)$`, 'm'))?.[1].trim();
  const dynsym = readelf(['--dyn-syms'], file);
  // A defined (section index, not UND), global function symbol.
  const exportsNapi = dynsym.split('\n').some((l) => /\bFUNC\s+GLOBAL\s+DEFAULT\s+\d+\s+napi_register_module_v1$/.test(l));
  const versions = [...readelf(['-V'], file).matchAll(/Name: GLIBC_([0-9.]+)/g)].map((m) => m[1]);
  const newest = versions.sort((a, b) => cmpVersion(b, a))[0] ?? null;
  const needed = [...readelf(['-d'], file).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  return { format: `ELF ${field('Class')} ${field('Type')?.split(' ')[0]}`, machine: field('Machine'), exportsNapi, newestGlibc: newest, needed };
}

export function cmpVersion(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

const LC = {
  SEGMENT_64: 0x19, SYMTAB: 0x2, DYSYMTAB: 0xb, ID_DYLIB: 0xd, LOAD_DYLIB: 0xc, UUID: 0x1b,
  CODE_SIGNATURE: 0x1d, VERSION_MIN_MACOSX: 0x24, BUILD_VERSION: 0x32,
};
const CPU = { 0x01000007: 'x86_64', 0x0100000c: 'arm64' };
const FILETYPE = { 6: 'dylib', 8: 'bundle' };

/**
 * A 64-bit Mach-O: its CPU and file type, its load commands checked for a
 * consistent layout (sizes add up, 8-byte aligned, everything they point to
 * inside the file), the minimum macOS, whether it carries a code signature
 * (arm64 macOS refuses to map unsigned code) and whether it exports the
 * napi entry point. Throws with the reason when the layout is inconsistent.
 */
export function macho(file) {
  const b = readFileSync(file);
  const bad = (why) => {
    throw new Error(`${file}: not a valid Mach-O: ${why}`);
  };
  if (b.length < 32 || b.readUInt32LE(0) !== 0xfeedfacf) bad('no 64-bit little-endian magic');
  const cpu = CPU[b.readUInt32LE(4)] ?? `cputype 0x${b.readUInt32LE(4).toString(16)}`;
  const filetype = FILETYPE[b.readUInt32LE(12)] ?? `filetype ${b.readUInt32LE(12)}`;
  const ncmds = b.readUInt32LE(16);
  const sizeofcmds = b.readUInt32LE(20);
  if (32 + sizeofcmds > b.length) bad('load commands run past the end of the file');
  const within = (what, off, len) => {
    if (off + len > b.length) bad(`${what} (${off}+${len}) lies outside the file (${b.length} bytes)`);
  };
  const commands = [];
  let at = 32;
  let symtab = null;
  let minMacos = null;
  let signature = null;
  for (let i = 0; i < ncmds; i++) {
    const cmd = b.readUInt32LE(at);
    const size = b.readUInt32LE(at + 4);
    if (size < 8 || size % 8 !== 0) bad(`load command ${i} (0x${cmd.toString(16)}) has size ${size}`);
    if (at + size > 32 + sizeofcmds) bad(`load command ${i} runs past sizeofcmds`);
    commands.push(cmd);
    if (cmd === LC.SEGMENT_64) {
      const name = b.toString('latin1', at + 8, at + 24).replace(/\0.*$/, '');
      within(`segment ${name}`, Number(b.readBigUInt64LE(at + 40)), Number(b.readBigUInt64LE(at + 48)));
    } else if (cmd === LC.SYMTAB) {
      symtab = { symoff: b.readUInt32LE(at + 8), nsyms: b.readUInt32LE(at + 12), stroff: b.readUInt32LE(at + 16), strsize: b.readUInt32LE(at + 20) };
      within('symbol table', symtab.symoff, symtab.nsyms * 16);
      within('string table', symtab.stroff, symtab.strsize);
    } else if (cmd === LC.CODE_SIGNATURE) {
      signature = { dataoff: b.readUInt32LE(at + 8), datasize: b.readUInt32LE(at + 12) };
      within('code signature', signature.dataoff, signature.datasize);
    } else if (cmd === LC.BUILD_VERSION || cmd === LC.VERSION_MIN_MACOSX) {
      const v = b.readUInt32LE(at + (cmd === LC.BUILD_VERSION ? 12 : 8));
      minMacos = `${v >>> 16}.${(v >> 8) & 0xff}`;
    }
    at += size;
  }
  if (at !== 32 + sizeofcmds) bad(`load commands add up to ${at - 32} bytes, header says ${sizeofcmds}`);
  let exportsNapi = false;
  if (symtab) {
    for (let s = 0; s < symtab.nsyms; s++) {
      const o = symtab.symoff + s * 16;
      const type = b[o + 4];
      // N_EXT and defined in a section (N_SECT): an exported symbol.
      if ((type & 0x01) === 0 || (type & 0x0e) !== 0x0e) continue;
      const strx = b.readUInt32LE(o);
      const end = b.indexOf(0, symtab.stroff + strx);
      if (b.toString('latin1', symtab.stroff + strx, end) === '_napi_register_module_v1') exportsNapi = true;
    }
  }
  const has = (name) => commands.includes(LC[name]);
  return {
    format: `Mach-O 64 ${filetype}`,
    cpu,
    ncmds,
    minMacos,
    signed: signature !== null,
    idDylib: has('ID_DYLIB'),
    uuid: has('UUID'),
    exportsNapi,
  };
}
