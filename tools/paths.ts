import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, and the project-local state directory (git-ignored). */
export const projectRoot = fileURLToPath(new URL('../', import.meta.url));
export const localDir = path.join(projectRoot, '.local');
