/** The bench's traffic driver lives in tools/stack/traffic.ts, shared with `npm run ops -- load`. */
export {
  commitTraffic,
  driveTraffic,
  type Traffic,
  TrafficError,
  waitApplied,
} from '../../tools/stack/traffic';
