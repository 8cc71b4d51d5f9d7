import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

export interface WeightedPartition {
  topic: string;
  partition: number;
  /** The partition's share of the traffic, as far as it can be told: its retained records. */
  weight: number;
}

/**
 * Partitions to members so that the heaviest member carries as little as it can: heaviest partition first, each to
 * the member with the least so far (fewest partitions, then member id, on a tie). Deterministic for the same input,
 * so every member would compute the same plan.
 */
export function balance(memberIds: readonly string[], partitions: readonly WeightedPartition[]): Map<string, Record<string, number[]>> {
  const members = [...memberIds].sort().map((id) => ({ id, load: 0, count: 0, assignment: Object.create(null) as Record<string, number[]> }));
  const ordered = [...partitions].sort((a, b) => b.weight - a.weight || a.topic.localeCompare(b.topic) || a.partition - b.partition);
  for (const p of ordered) {
    let least = members[0]!;
    for (const m of members) if (m.load < least.load || (m.load === least.load && m.count < least.count)) least = m;
    (least.assignment[p.topic] ??= []).push(p.partition);
    least.load += p.weight;
    least.count++;
  }
  for (const m of members) for (const list of Object.values(m.assignment)) list.sort((a, b) => a - b);
  return new Map(members.map((m) => [m.id, m.assignment]));
}

/**
 * kafkajs's round robin hands out partitions by count. Audit traffic keyed by principal is skewed: one service role
 * can carry a quarter of an account's calls, so the member with its partition runs behind while the others idle.
 * This assigner weighs each partition by its retained records (high minus low watermark: its traffic over the
 * retention period) and balances the weight. When the offsets cannot be read it falls back to weighing every
 * partition the same, which is round robin by count.
 */
export const BalancedAssigner: PartitionAssigner = ({ cluster, logger }) => ({
  name: 'AuditwatchBalanced',
  version: 1,
  async assign({ members, topics }) {
    const partitionsOf = topics.map((topic) => ({ topic, partitions: cluster.findTopicPartitionMetadata(topic).map((m) => ({ partition: m.partitionId })) }));
    const weights = new Map<string, number>();
    try {
      const [high, low] = await Promise.all([
        cluster.fetchTopicsOffset(partitionsOf.map((t) => ({ ...t, fromBeginning: false }))),
        cluster.fetchTopicsOffset(partitionsOf.map((t) => ({ ...t, fromBeginning: true }))),
      ]);
      const lowOf = new Map(low.flatMap((t) => t.partitions.map((p) => [`${t.topic}/${p.partition}`, Number(p.offset)] as const)));
      for (const t of high) for (const p of t.partitions) weights.set(`${t.topic}/${p.partition}`, Number(p.offset) - (lowOf.get(`${t.topic}/${p.partition}`) ?? 0));
    } catch (err) {
      logger.warn('could not read partition offsets; balancing by partition count', { error: (err as Error).message });
    }
    const plan = balance(members.map((m) => m.memberId), partitionsOf.flatMap(({ topic, partitions }) =>
      // One more than the records, so that empty partitions still spread by count.
      partitions.map(({ partition }) => ({ topic, partition, weight: 1 + (weights.get(`${topic}/${partition}`) ?? 0) }))));
    return [...plan].map(([memberId, assignment]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: this.version, assignment, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: this.name, metadata: AssignerProtocol.MemberMetadata.encode({ version: this.version, topics, userData: Buffer.alloc(0) }) };
  },
});
