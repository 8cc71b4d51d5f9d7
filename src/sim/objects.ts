import { seedOf } from './random.js';

interface SizeRange {
  suffix: string;
  lo: number;
  hi: number;
}

/** Log-uniform size ranges by the bucket's name: backups are large, images middling, records small. */
const SIZES: SizeRange[] = [{ suffix: '-backups', lo: 1e9, hi: 6e9 }, { suffix: '-app-images', lo: 1e5, hi: 4e6 }];
const RECORD_SIZES: SizeRange = { suffix: '', lo: 2e4, hi: 4e5 };

/**
 * A simulated object's size, fixed by its bucket and key. Derived by hashing, not drawn from a traffic generator, so
 * that giving reads their sizes changed no other record of any seed.
 */
export function objectSize(bucket: string, key: string): number {
  const { lo, hi } = SIZES.find((s) => bucket.endsWith(s.suffix)) ?? RECORD_SIZES;
  return Math.round(lo * (hi / lo) ** (seedOf(bucket, key) / 2 ** 32));
}

/** What CloudTrail adds to an S3 GetObject data event: the bytes it sent (others get nothing here). */
export function transferred(name: string, params: Record<string, unknown> | null): { additionalEventData?: Record<string, unknown> } {
  if (name !== 'GetObject' || typeof params?.bucketName !== 'string' || typeof params.key !== 'string') return {};
  return { additionalEventData: { SignatureVersion: 'SigV4', bytesTransferredIn: 0, bytesTransferredOut: objectSize(params.bucketName, params.key) } };
}
