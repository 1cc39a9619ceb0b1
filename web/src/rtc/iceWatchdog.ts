// When to restart ICE, shared by the P2P peers and the SFU transport: at once when the
// connection failed, or after it stayed disconnected for a while (a brief "disconnected"
// during a network blip often recovers on its own).
export const DISCONNECTED_RESTART_MS = 4000;

export class IceWatchdog {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly restart: () => void,
    private readonly disconnectedMs = DISCONNECTED_RESTART_MS,
  ) {}

  // Call on every connectionstatechange / iceconnectionstatechange.
  update() {
    const st = this.pc.connectionState;
    const ice = this.pc.iceConnectionState;
    if (st === 'failed' || ice === 'failed') {
      this.stop();
      this.restart();
    } else if (st === 'disconnected' || ice === 'disconnected') {
      if (!this.timer) {
        this.timer = setTimeout(() => {
          this.timer = null;
          if (this.pc.iceConnectionState === 'disconnected') this.restart();
        }, this.disconnectedMs);
      }
    } else {
      this.stop();
    }
  }

  stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
