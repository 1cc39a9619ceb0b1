// A signaling-state model of RTCPeerConnection for unit tests of the SFU signaling
// (sfuSignaling, streamSignaling): offers, answers, rollback and restartIce, each step async.
import type { SfuPC } from '../sfuSignaling';

export const tick = () => new Promise((r) => setTimeout(r, 0));

/** Signaling-state model of RTCPeerConnection with rollback and restartIce. */
export class FakePC implements SfuPC {
  signalingState: RTCSignalingState = 'stable';
  localDescription: { type: RTCSdpType; sdp: string } | null = null;
  remoteDescription: { type: RTCSdpType; sdp?: string } | null = null;
  restarts = 0;
  private n = 0;
  async createOffer() {
    await tick();
    return { type: 'offer' as const, sdp: `offer#${++this.n}${this.restarts ? ' restart' + this.restarts : ''}` };
  }
  async createAnswer() {
    if (this.signalingState !== 'have-remote-offer') throw new Error('createAnswer in ' + this.signalingState);
    await tick();
    return { type: 'answer' as const, sdp: `answer#${++this.n}` };
  }
  async setLocalDescription(d?: { type: RTCSdpType; sdp?: string }) {
    await tick();
    if (!d) throw new Error('implicit SLD not modelled');
    if (d.type === 'rollback') {
      if (this.signalingState !== 'have-local-offer') throw new Error('rollback in ' + this.signalingState);
      this.signalingState = 'stable';
      return;
    }
    if (d.type === 'offer') {
      if (this.signalingState !== 'stable') throw new Error('SLD(offer) in ' + this.signalingState);
      this.signalingState = 'have-local-offer';
    } else {
      if (this.signalingState !== 'have-remote-offer') throw new Error('SLD(answer) in ' + this.signalingState);
      this.signalingState = 'stable';
    }
    this.localDescription = { type: d.type, sdp: d.sdp ?? '' };
  }
  async setRemoteDescription(d: { type: RTCSdpType; sdp?: string }) {
    await tick();
    if (d.type === 'offer') {
      if (this.signalingState !== 'stable') throw new Error('SRD(offer) in ' + this.signalingState);
      this.signalingState = 'have-remote-offer';
    } else {
      if (this.signalingState !== 'have-local-offer') throw new Error('SRD(answer) in ' + this.signalingState);
      this.signalingState = 'stable';
    }
    this.remoteDescription = d;
  }
  async addIceCandidate() {}
  restartIce() {
    this.restarts++;
  }
}
