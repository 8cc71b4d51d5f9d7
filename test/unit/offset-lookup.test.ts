import { describe, expect, it } from 'vitest';
import { KafkaJSProtocolError, type Admin } from 'kafkajs';
import { offsetLookup } from '../../src/kafka/client.js';

// What kafkajs's admin throws for a topic whose partition leaders the metadata does not know yet (code 6).
const notLeader = () => new KafkaJSProtocolError({ type: 'NOT_LEADER_FOR_PARTITION', code: 6, retriable: true, message: 'This server is not the leader for that topic-partition' } as never);

function fakeAdmin() {
  const refreshed: string[][] = [];
  const admin = { fetchTopicMetadata: async ({ topics }: { topics: string[] }) => void refreshed.push(topics) } as unknown as Admin;
  return { admin, refreshed };
}

describe('offset lookups on a topic whose leaders are still settling', () => {
  it('are tried again, with the topic\'s metadata refreshed in between, until they answer', async () => {
    const { admin, refreshed } = fakeAdmin();
    let calls = 0;
    const offsets = await offsetLookup(admin, 'changelog', async () => {
      if (++calls < 3) throw notLeader();
      return [{ partition: 0, offset: '7', high: '7', low: '0' }];
    });
    expect(offsets[0]!.high).toBe('7');
    expect(calls).toBe(3);
    expect(refreshed).toEqual([['changelog'], ['changelog']]);
  });

  it('give up at once on an error that waiting cannot help', async () => {
    const { admin, refreshed } = fakeAdmin();
    let calls = 0;
    const denied = new KafkaJSProtocolError({ type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false, message: 'Not authorized to access topics' } as never);
    await expect(offsetLookup(admin, 'changelog', async () => {
      calls++;
      throw denied;
    })).rejects.toBe(denied);
    expect(calls).toBe(1);
    expect(refreshed).toEqual([]);
  });
});
