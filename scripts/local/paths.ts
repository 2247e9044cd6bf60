import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root, and the project-local state directory (git-ignored). */
export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
export const localDir = path.join(projectRoot, '.local');
