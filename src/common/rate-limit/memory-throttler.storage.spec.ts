import { afterEach, describe, expect, it } from 'vitest';
import { MemoryThrottlerStorage } from './memory-throttler.storage';

describe('MemoryThrottlerStorage (a fixed window per key, like the Redis storage)', () => {
  let clock = 1_000_000;
  let storage: MemoryThrottlerStorage;
  const make = () => {
    clock = 1_000_000;
    storage = new MemoryThrottlerStorage(60_000, () => clock);
    return storage;
  };
  afterEach(() => storage.onApplicationShutdown());

  it('counts hits in the window, then refuses past the limit until the window ends', async () => {
    make();
    const first = await storage.increment('default:user:1', 60_000, 2, 0);
    expect(first).toEqual({ totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 });
    clock += 15_500;
    expect(await storage.increment('default:user:1', 60_000, 2, 0)).toMatchObject({ totalHits: 2, isBlocked: false });
    const over = await storage.increment('default:user:1', 60_000, 2, 0);
    expect(over).toEqual({ totalHits: 3, timeToExpire: 45, isBlocked: true, timeToBlockExpire: 45 });

    clock += 44_500; // the window (60 s from the first hit) has ended
    expect(await storage.increment('default:user:1', 60_000, 2, 0)).toEqual({
      totalHits: 1,
      timeToExpire: 60,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
  });

  it('keeps one count per key', async () => {
    make();
    await storage.increment('default:user:1', 60_000, 1, 0);
    expect(await storage.increment('default:user:1', 60_000, 1, 0)).toMatchObject({ isBlocked: true });
    expect(await storage.increment('default:user:2', 60_000, 1, 0)).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('with a block duration, a caller over the limit waits that long, then starts afresh', async () => {
    make();
    await storage.increment('k', 60_000, 1, 0);
    expect(await storage.increment('k', 60_000, 1, 120_000)).toMatchObject({ isBlocked: true, timeToBlockExpire: 120 });
    clock += 90_000; // past the window, still blocked
    expect(await storage.increment('k', 60_000, 1, 120_000)).toMatchObject({ isBlocked: true, timeToBlockExpire: 30 });
    clock += 30_000;
    expect(await storage.increment('k', 60_000, 1, 120_000)).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('the sweep forgets ended windows and blocks only', async () => {
    make();
    await storage.increment('old', 60_000, 1, 0);
    await storage.increment('blocked', 60_000, 0, 30_000);
    clock += 59_000;
    await storage.increment('recent', 60_000, 1, 0);
    expect(storage.size).toBe(3);
    clock += 1_000;
    storage.sweep();
    expect(storage.size).toBe(1);
    expect(await storage.increment('recent', 60_000, 5, 0)).toMatchObject({ totalHits: 2 });
  });
});
