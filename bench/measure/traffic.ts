/** The bench's traffic driver lives in scripts/local/traffic.ts, shared with `npm run ops -- load`. */
export {
  commitTraffic,
  driveTraffic,
  type Traffic,
  TrafficError,
  waitApplied,
} from '../../scripts/local/traffic';
