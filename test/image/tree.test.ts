/**
 * FileTree: layers applied in order with OCI whiteout semantics (removals hit the layers beneath
 * only), files and directories replacing each other, implicit parents, and `resolve` following
 * symbolic links the way the kernel would with the image as root.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FileTree, ImageError, type FileNode, type LayerChanges } from '../../src/image/index.js';

type Entry = Omit<FileNode, 'layer'>;

const file = (path: string, size = 1, mode = 0o644): Entry => ({ path, type: 'file', mode, size, linkname: '', uid: 0, gid: 0 });
const dir = (path: string, mode = 0o755): Entry => ({ path, type: 'directory', mode, size: 0, linkname: '', uid: 0, gid: 0 });
const symlink = (path: string, target: string): Entry => ({ path, type: 'symlink', mode: 0o777, size: 0, linkname: target, uid: 0, gid: 0 });
const hardlink = (path: string, target: string): Entry => ({ path, type: 'hardlink', mode: 0o644, size: 0, linkname: target, uid: 0, gid: 0 });

function layer(entries: Entry[], whiteouts: string[] = [], opaques: string[] = []): LayerChanges {
  return { entries, whiteouts, opaques };
}

function paths(tree: FileTree): string[] {
  return [...tree.values()].map((n) => n.path).sort();
}

/** Every node's parent is a directory node and lists it; every listed child exists. */
function assertConsistent(tree: FileTree): void {
  for (const n of tree.values()) {
    const slash = n.path.lastIndexOf('/');
    const parent = slash < 0 ? '' : n.path.slice(0, slash);
    if (parent !== '') assert.equal(tree.get(parent)?.type, 'directory', `the parent of ${n.path} is a directory`);
    assert.ok(tree.list(parent).includes(n.path.slice(slash + 1)), `${parent || '/'} lists ${n.path}`);
  }
  const walk = (d: string): void => {
    for (const name of tree.list(d)) {
      const p = d === '' ? name : `${d}/${name}`;
      assert.ok(tree.get(p) !== undefined, `listed child ${p} exists`);
      if (tree.get(p)?.type === 'directory') walk(p);
    }
  };
  walk('');
}

describe('FileTree.apply', () => {
  test('layers stack; each node remembers the layer that put it there', () => {
    const t = new FileTree();
    t.apply(0, layer([dir('etc'), file('etc/passwd', 10), file('etc/motd', 5), dir('usr'), file('usr/bin', 3)]));
    t.apply(1, layer([file('etc/passwd', 20), file('etc/hosts', 7)]));
    assert.deepEqual(paths(t), ['etc', 'etc/hosts', 'etc/motd', 'etc/passwd', 'usr', 'usr/bin']);
    assert.equal(t.get('etc/passwd')?.layer, 1);
    assert.equal(t.get('etc/passwd')?.size, 20);
    assert.equal(t.get('etc/motd')?.layer, 0);
    assert.equal(t.size, 6);
    assertConsistent(t);
  });

  test('a whiteout removes a file, or a directory with everything below, from the layers beneath', () => {
    const t = new FileTree();
    t.apply(0, layer([dir('etc'), file('etc/motd'), dir('var'), dir('var/cache'), dir('var/cache/apt'), file('var/cache/apt/pkgcache.bin'), file('var/cache/x')]));
    t.apply(1, layer([], ['etc/motd', 'var/cache', 'does/not/exist']));
    assert.deepEqual(paths(t), ['etc', 'var']);
    assert.deepEqual(t.list('var'), []);
    assert.deepEqual(t.list('etc'), []);
    assert.equal(t.get('var/cache/apt/pkgcache.bin'), undefined);
    assertConsistent(t);
  });

  test('same-layer entries survive the whiteouts and opaques of their own layer', () => {
    const t = new FileTree();
    t.apply(0, layer([dir('app'), file('app/old.js'), dir('app/lib'), file('app/lib/a.js'), file('cfg')]));
    // Replace /app wholesale (opaque) and /cfg (whiteout + new file), in one layer.
    t.apply(1, layer([dir('app'), file('app/new.js'), file('cfg', 99)], ['cfg'], ['app']));
    assert.deepEqual(paths(t), ['app', 'app/new.js', 'cfg']);
    assert.equal(t.get('cfg')?.size, 99);
    assert.equal(t.get('cfg')?.layer, 1);
    assert.equal(t.get('app')?.layer, 1);
    assertConsistent(t);
  });

  test('an opaque directory hides what lower layers put in it, not the directory itself, and not later layers', () => {
    const t = new FileTree();
    t.apply(0, layer([dir('opt'), dir('opt/a'), file('opt/a/x'), file('opt/b'), file('keep')]));
    t.apply(1, layer([], [], ['opt']));
    assert.deepEqual(paths(t), ['keep', 'opt']);
    t.apply(2, layer([file('opt/c')]));
    assert.deepEqual(paths(t), ['keep', 'opt', 'opt/c']);
    assertConsistent(t);
  });

  test('an opaque root directory clears everything beneath', () => {
    const t = new FileTree();
    t.apply(0, layer([dir('a'), file('a/b'), file('c')]));
    t.apply(1, layer([file('d')], [], ['']));
    assert.deepEqual(paths(t), ['d']);
    assertConsistent(t);
  });

  test('a file replacing a directory drops its subtree; a directory replacing a file', () => {
    const t = new FileTree();
    t.apply(0, layer([dir('lib'), dir('lib/modules'), file('lib/modules/x.ko'), file('bin')]));
    t.apply(1, layer([symlink('lib', 'usr/lib'), dir('bin'), file('bin/sh')]));
    assert.deepEqual(paths(t), ['bin', 'bin/sh', 'lib']);
    assert.equal(t.get('lib')?.type, 'symlink');
    assert.deepEqual(t.list('lib'), []);
    assert.equal(t.get('bin')?.type, 'directory');
    // And back: a directory again where the symlink was; the old subtree does not come back.
    t.apply(2, layer([dir('lib'), file('lib/new')]));
    assert.deepEqual(paths(t), ['bin', 'bin/sh', 'lib', 'lib/new']);
    assertConsistent(t);
  });

  test('a directory entry over a directory keeps its children and takes the new metadata', () => {
    const t = new FileTree();
    t.apply(0, layer([dir('tmp', 0o755), file('tmp/x')]));
    t.apply(1, layer([dir('tmp', 0o1777)]));
    assert.equal(t.get('tmp')?.mode, 0o1777);
    assert.equal(t.get('tmp')?.layer, 1);
    assert.deepEqual(t.list('tmp'), ['x']);
    assertConsistent(t);
  });

  test('implicit parent directories are made (tars may omit them), in the layer of their first child', () => {
    const t = new FileTree();
    t.apply(3, layer([file('usr/share/doc/pkg/copyright')]));
    assert.deepEqual(paths(t), ['usr', 'usr/share', 'usr/share/doc', 'usr/share/doc/pkg', 'usr/share/doc/pkg/copyright']);
    for (const p of ['usr', 'usr/share', 'usr/share/doc', 'usr/share/doc/pkg']) {
      assert.equal(t.get(p)?.type, 'directory', p);
      assert.equal(t.get(p)?.layer, 3, p);
    }
    // A later explicit entry for the directory takes over.
    t.apply(4, layer([dir('usr/share', 0o700)]));
    assert.equal(t.get('usr/share')?.mode, 0o700);
    assert.deepEqual(t.list('usr/share'), ['doc']);
    assertConsistent(t);
  });

  test('a file where a later layer needs a directory is replaced by an implicit directory', () => {
    const t = new FileTree();
    t.apply(0, layer([file('data')]));
    t.apply(1, layer([file('data/inner')]));
    assert.equal(t.get('data')?.type, 'directory');
    assert.deepEqual(paths(t), ['data', 'data/inner']);
    assertConsistent(t);
  });

  test('an entry whose omitted parent is a symlink in a lower layer is written through the link, as runtimes do', () => {
    // Debian's merged /usr: lib -> usr/lib. `umoci insert ... /lib/extra.so` writes a layer holding
    // only lib/extra.so; containerd (fs.RootPath), moby and umoci resolve the parent inside the
    // root and create usr/lib/extra.so, keeping the link.
    const t = new FileTree();
    t.apply(0, layer([dir('usr'), dir('usr/lib'), file('usr/lib/libc.so.6', 2000), symlink('lib', 'usr/lib')]));
    t.apply(1, layer([file('lib/extra.so', 10)]));
    assert.equal(t.get('lib')?.type, 'symlink', 'the merged-/usr link survives');
    assert.equal(t.resolve('lib/libc.so.6').node?.size, 2000, 'libc is still reachable through /lib');
    assert.equal(t.resolve('lib/extra.so').path, 'usr/lib/extra.so');
    assert.equal(t.get('usr/lib/extra.so')?.layer, 1);
    assertConsistent(t);
  });

  test('a whiteout followed by a re-add in the same later layer, over many layers', () => {
    const t = new FileTree();
    t.apply(0, layer([dir('x'), file('x/1'), file('x/2')]));
    t.apply(1, layer([file('x/3')], ['x']));
    t.apply(2, layer([file('x/4')]));
    t.apply(3, layer([], ['x/3']));
    assert.deepEqual(paths(t), ['x', 'x/4']);
    assert.equal(t.get('x')?.layer, 1, 'the implicit x came back in layer 1');
    assertConsistent(t);
  });
});

describe('FileTree.resolve', () => {
  function tree(): FileTree {
    const t = new FileTree();
    t.apply(0, layer([
      dir('usr'),
      dir('usr/lib'),
      dir('usr/bin'),
      file('usr/bin/busybox', 900),
      symlink('bin', 'usr/bin'), // relative, merged-/usr style
      symlink('lib', '/usr/lib'), // absolute
      symlink('usr/bin/sh', 'busybox'),
      symlink('usr/bin/ash', './sh'),
      file('usr/lib/libc.so.6', 2000),
      symlink('usr/lib/libc.so', 'libc.so.6'),
      dir('etc'),
      file('etc/passwd', 50),
      symlink('etc/alternatives', '../usr/lib'),
      symlink('escape', '../../../../etc/passwd'),
      symlink('abs-escape', '/../../etc/passwd'),
      symlink('dangling', 'nowhere/at/all'),
      symlink('loop1', 'loop2'),
      symlink('loop2', 'loop1'),
      symlink('self', 'self'),
      symlink('dirloop', 'dirloop/x'),
      hardlink('etc/passwd-hard', 'etc/passwd'),
    ]));
    return t;
  }

  test('absolute and relative links, in the last and in middle components', () => {
    const t = tree();
    assert.deepEqual(t.resolve('bin/sh').path, 'usr/bin/busybox');
    assert.equal(t.resolve('bin/sh').node?.size, 900);
    assert.equal(t.resolve('bin/ash').path, 'usr/bin/busybox');
    assert.equal(t.resolve('lib/libc.so').path, 'usr/lib/libc.so.6');
    assert.equal(t.resolve('/lib/libc.so').path, 'usr/lib/libc.so.6', 'a leading slash is the image root');
    assert.equal(t.resolve('etc/alternatives/libc.so.6').path, 'usr/lib/libc.so.6');
    assert.equal(t.resolve('usr/bin/busybox').path, 'usr/bin/busybox', 'no link: the path itself');
  });

  test('followLast=false leaves the last component alone, but follows the middle ones', () => {
    const t = tree();
    const r = t.resolve('bin/sh', false);
    assert.equal(r.path, 'usr/bin/sh');
    assert.equal(r.node?.type, 'symlink');
  });

  test('.. is clamped at the root: links pointing outside stay inside', () => {
    const t = tree();
    assert.equal(t.resolve('escape').path, 'etc/passwd');
    assert.equal(t.resolve('escape').node?.size, 50);
    assert.equal(t.resolve('abs-escape').path, 'etc/passwd');
    assert.equal(t.resolve('../../etc/passwd').path, 'etc/passwd');
    assert.equal(t.resolve('usr/../../../etc/./passwd').path, 'etc/passwd');
  });

  test('.. after a symlinked directory goes up from its target, as the kernel does', () => {
    const t = tree();
    // bin -> usr/bin, so bin/.. is usr, not the root.
    assert.equal(t.resolve('bin/../lib/libc.so.6').path, 'usr/lib/libc.so.6');
  });

  test('a dangling link resolves to its target path with no node', () => {
    const t = tree();
    const r = t.resolve('dangling');
    assert.equal(r.path, 'nowhere/at/all');
    assert.equal(r.node, undefined);
    assert.equal(t.resolve('no/such/file').node, undefined);
  });

  test('hard links resolve to the node they link to', () => {
    const t = tree();
    const r = t.resolve('etc/passwd-hard');
    assert.equal(r.node?.type, 'file');
    assert.equal(r.node?.size, 50);
  });

  test('loops: LINK_LOOP, for two links, a self link, and a link through itself', () => {
    const t = tree();
    for (const p of ['loop1', 'self', 'dirloop', 'loop1/below']) {
      assert.throws(
        () => t.resolve(p),
        (err: unknown) => err instanceof ImageError && err.code === 'LINK_LOOP',
        p,
      );
    }
    // Not followed as the last component: no loop.
    assert.equal(t.resolve('self', false).node?.type, 'symlink');
  });

  test('40 links in a chain resolve; 41 are a loop (Linux ELOOP)', () => {
    const t = new FileTree();
    const chain = (n: number, prefix: string): Entry[] => [...Array.from({ length: n }, (_, i) => symlink(`${prefix}${i}`, `${prefix}${i + 1}`)), file(`${prefix}${n}`)];
    t.apply(0, layer([...chain(40, 'a'), ...chain(41, 'b')]));
    assert.equal(t.resolve('a0').path, 'a40');
    assert.throws(() => t.resolve('b0'), (err: unknown) => err instanceof ImageError && err.code === 'LINK_LOOP');
  });

  test('resolution sees the squashed tree: a link whited out, or replaced, in a later layer', () => {
    const t = tree();
    t.apply(1, layer([symlink('usr/bin/sh', '/bin/dash'), file('usr/bin/dash', 120)], ['lib']));
    assert.equal(t.resolve('bin/sh').path, 'usr/bin/dash');
    assert.equal(t.resolve('bin/sh').node?.layer, 1);
    assert.equal(t.resolve('lib/libc.so').node, undefined, 'the lib symlink is gone');
  });
});
