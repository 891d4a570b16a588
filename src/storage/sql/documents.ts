/** The documents Portcullis made of each image (see ImageDocumentStore). */
import type { Digest } from '../../oci/index.js';
import type { ImageDocumentStore } from '../metadata-store.js';
import { repoId } from './common.js';
import { isForeignKeyViolation, type SqlDb } from './db.js';

export class SqlImageDocuments implements ImageDocumentStore {
  constructor(private readonly db: SqlDb) {}

  async put(repository: string, image: Digest, kind: string, document: Digest, now: number): Promise<boolean> {
    const id = await repoId(this.db, repository);
    if (id === undefined) return false;
    try {
      await this.db.run(
        `INSERT INTO image_documents (repo_id, digest, kind, document, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (repo_id, digest, kind) DO UPDATE SET document = excluded.document, created_at = excluded.created_at`,
        [id, image, kind, document, now],
      );
    } catch (err) {
      // The image or the document is not (or no longer) stored.
      if (isForeignKeyViolation(err)) return false;
      throw err;
    }
    return true;
  }

  async get(repository: string, image: Digest, kind: string): Promise<Digest | undefined> {
    const row = await this.db.get<{ document: string }>(
      'SELECT d.document FROM image_documents d JOIN repositories r ON r.id = d.repo_id WHERE r.name = ? AND d.digest = ? AND d.kind = ?',
      [repository, image, kind],
    );
    return row?.document as Digest | undefined;
  }
}
