export { ProgressBar } from '../lib/ops/progress-bar';
