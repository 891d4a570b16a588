/**
 * The squashed file tree of an image: layers applied in order with OCI whiteout semantics, each
 * node remembering the layer that put it there. Links are resolved inside the image root only, as
 * a container runtime would see them with the image as `/`.
 */
import { ImageError } from './errors.js';
import type { TarEntryType } from './tar.js';

export interface FileNode {
  readonly path: string;
  readonly type: TarEntryType;
  readonly mode: number;
  readonly size: number;
  /** Symlink target as stored, or the (normalized) path a hard link points at. */
  readonly linkname: string;
  readonly uid: number;
  readonly gid: number;
  /** Index of the layer that holds this version of the file. */
  readonly layer: number;
}

/** What one layer changes: removals first (they apply to the layers beneath), then its entries. */
export interface LayerChanges {
  readonly whiteouts: readonly string[];
  readonly opaques: readonly string[];
  readonly entries: readonly Omit<FileNode, 'layer'>[];
}

/** Linux's limit on links followed in one lookup (ELOOP past it). */
const MAX_LINKS = 40;

export class FileTree {
  private readonly nodes = new Map<string, FileNode>();
  /** Children names of each directory path ('' is the root), for removing whole subtrees. */
  private readonly children = new Map<string, Set<string>>();

  /** Applies one layer on top of what is there. */
  apply(layer: number, changes: LayerChanges): void {
    for (const dir of changes.opaques) {
      for (const child of [...(this.children.get(dir) ?? [])]) this.remove(dir === '' ? child : `${dir}/${child}`);
    }
    for (const path of changes.whiteouts) this.remove(path);
    for (const entry of changes.entries) this.add({ ...entry, layer });
  }

  get size(): number {
    return this.nodes.size;
  }

  /** The node at exactly this path (no link followed), or undefined. */
  get(path: string): FileNode | undefined {
    return this.nodes.get(path);
  }

  /** Every node, in no particular order. */
  values(): IterableIterator<FileNode> {
    return this.nodes.values();
  }

  /** Names directly inside a directory. */
  list(dir: string): string[] {
    return [...(this.children.get(dir) ?? [])];
  }

  /**
   * Follows symbolic links (in every path component, and the last one when `followLast`) the way
   * the kernel would with the image as root: absolute targets start at the image root, `..` stops
   * at it. Returns the final path and its node (undefined when nothing is there); throws LINK_LOOP
   * after 40 links.
   */
  resolve(path: string, followLast = true): { path: string; node: FileNode | undefined } {
    let links = 0;
    let pending = splitPath(path);
    const done: string[] = [];
    while (pending.length > 0) {
      const segment = pending.shift()!;
      if (segment === '.' || segment === '') continue;
      if (segment === '..') {
        done.pop();
        continue;
      }
      const candidate = [...done, segment].join('/');
      let node = this.nodes.get(candidate);
      if (node?.type === 'hardlink') node = this.nodes.get(node.linkname) ?? node;
      if (node?.type === 'symlink' && (pending.length > 0 || followLast)) {
        links += 1;
        if (links > MAX_LINKS) throw new ImageError('LINK_LOOP', `too many levels of symbolic links resolving /${path}`);
        const target = node.linkname;
        if (target.startsWith('/')) done.length = 0;
        pending = [...splitPath(target), ...pending];
        continue;
      }
      done.push(segment);
    }
    const final = done.join('/');
    const node = this.nodes.get(final);
    return { path: final, node: node?.type === 'hardlink' ? (this.nodes.get(node.linkname) ?? node) : node };
  }

  private add(entry: FileNode): void {
    const node = this.throughParentLinks(entry);
    const existing = this.nodes.get(node.path);
    // A non-directory replacing a directory hides all that was under it.
    if (existing?.type === 'directory' && node.type !== 'directory') this.remove(node.path);
    if (existing?.type === 'directory' && node.type === 'directory') {
      this.nodes.set(node.path, node);
      return;
    }
    this.ensureParents(node.path, node.layer);
    this.nodes.set(node.path, node);
    const slash = node.path.lastIndexOf('/');
    const parent = slash < 0 ? '' : node.path.slice(0, slash);
    let set = this.children.get(parent);
    if (set === undefined) this.children.set(parent, (set = new Set()));
    set.add(node.path.slice(slash + 1));
  }

  /**
   * A layer may add `lib/x` without a `lib/` entry where a lower layer has `lib -> usr/lib`
   * (merged /usr): runtimes write through the link, inside the root, so the file is `usr/lib/x`.
   */
  private throughParentLinks(node: FileNode): FileNode {
    const slash = node.path.lastIndexOf('/');
    if (slash <= 0) return node;
    const parent = node.path.slice(0, slash);
    if (this.nodes.get(parent)?.type === 'directory') return node;
    let resolved: { path: string; node: FileNode | undefined };
    try {
      resolved = this.resolve(parent);
    } catch {
      return node;
    }
    if (resolved.path === parent || resolved.node?.type !== 'directory' || resolved.path === '') return node;
    return { ...node, path: `${resolved.path}/${node.path.slice(slash + 1)}` };
  }

  /** Tars may omit directory entries; the tree still needs them to list and remove subtrees. */
  private ensureParents(path: string, layer: number): void {
    let slash = path.lastIndexOf('/');
    const missing: string[] = [];
    while (slash > 0) {
      const dir = path.slice(0, slash);
      const node = this.nodes.get(dir);
      if (node !== undefined && node.type === 'directory') break;
      if (node !== undefined) this.remove(dir); // a file where a directory is needed: replaced
      missing.push(dir);
      slash = dir.lastIndexOf('/');
    }
    for (const dir of missing.reverse()) {
      this.nodes.set(dir, { path: dir, type: 'directory', mode: 0o755, size: 0, linkname: '', uid: 0, gid: 0, layer });
      const s = dir.lastIndexOf('/');
      const parent = s < 0 ? '' : dir.slice(0, s);
      let set = this.children.get(parent);
      if (set === undefined) this.children.set(parent, (set = new Set()));
      set.add(dir.slice(s + 1));
    }
  }

  private remove(path: string): void {
    const stack = [path];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const kids = this.children.get(p);
      if (kids !== undefined) {
        for (const k of kids) stack.push(p === '' ? k : `${p}/${k}`);
        this.children.delete(p);
      }
      if (p !== '') this.nodes.delete(p);
    }
    if (path === '') return;
    const slash = path.lastIndexOf('/');
    this.children.get(slash < 0 ? '' : path.slice(0, slash))?.delete(path.slice(slash + 1));
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}
