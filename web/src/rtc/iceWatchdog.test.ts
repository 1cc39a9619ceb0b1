import { describe, expect, it, vi, afterEach } from 'vitest';
import { IceWatchdog } from './iceWatchdog';

function fakePc(connectionState: string, iceConnectionState: string) {
  return { connectionState, iceConnectionState } as unknown as RTCPeerConnection & {
    connectionState: string;
    iceConnectionState: string;
  };
}

afterEach(() => vi.useRealTimers());

describe('IceWatchdog', () => {
  it('restarts at once on failure', () => {
    const restart = vi.fn();
    const w = new IceWatchdog(fakePc('failed', 'failed'), restart, 4000);
    w.update();
    expect(restart).toHaveBeenCalledTimes(1);
  });

  it('restarts after a lasting disconnect, not after a blip', () => {
    vi.useFakeTimers();
    const restart = vi.fn();
    const pc = fakePc('disconnected', 'disconnected');
    const w = new IceWatchdog(pc, restart, 4000);
    w.update();
    vi.advanceTimersByTime(3000);
    (pc as { iceConnectionState: string }).iceConnectionState = 'connected';
    (pc as { connectionState: string }).connectionState = 'connected';
    w.update(); // recovered: timer cancelled
    vi.advanceTimersByTime(5000);
    expect(restart).not.toHaveBeenCalled();
    (pc as { iceConnectionState: string }).iceConnectionState = 'disconnected';
    w.update();
    w.update(); // repeated events keep one timer
    vi.advanceTimersByTime(4000);
    expect(restart).toHaveBeenCalledTimes(1);
  });

  it('stop cancels a pending restart', () => {
    vi.useFakeTimers();
    const restart = vi.fn();
    const w = new IceWatchdog(fakePc('disconnected', 'disconnected'), restart, 4000);
    w.update();
    w.stop();
    vi.advanceTimersByTime(10000);
    expect(restart).not.toHaveBeenCalled();
  });
});
