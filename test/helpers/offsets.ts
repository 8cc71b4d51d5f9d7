import type { Admin } from 'kafkajs';

/** The sum of a group's committed offsets over a topic's partitions (a partition never committed counts 0). */
export async function committedTotal(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (committed?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

/** The sum of a topic's high watermarks: every record ever written to it. */
export async function highTotal(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
}

/**
 * `run`'s topology, all caught up: every record of the input committed by the repartition group, and every
 * re-keyed record committed by the detection group.
 */
export async function everyOffsetCommitted(admin: Admin, input: string, groupId: string): Promise<boolean> {
  const repartition = `${groupId}-repartition`;
  const [inHigh, inDone, reHigh, reDone] = await Promise.all([
    highTotal(admin, input), committedTotal(admin, repartition, input), highTotal(admin, repartition), committedTotal(admin, groupId, repartition),
  ]);
  return inDone === inHigh && reDone === reHigh && reHigh > 0;
}

/** The group settled (Stable) with exactly this many members. */
export async function groupHasMembers(admin: Admin, groupId: string, members: number): Promise<boolean> {
  const { groups } = await admin.describeGroups([groupId]);
  return groups[0]?.state === 'Stable' && groups[0].members.length === members;
}
