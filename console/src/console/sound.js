// The new-alert cue: a short two-tone beep made with WebAudio (no sound file to ship).
// Browsers let a page make sound only after a user gesture: `unlock()` is called from the
// sign-in click and from the first key or click after a reload.

let context = null;
let muted = false;
let lastBeep = 0;

export function unlock() {
  try {
    if (!context) {
      const Audio = window.AudioContext || window.webkitAudioContext;
      if (!Audio) return;
      context = new Audio();
    }
    if (context.state === "suspended") context.resume().catch(() => {});
  } catch {
    context = null;
  }
}

export function setMuted(value) {
  muted = Boolean(value);
}

export function isMuted() {
  return muted;
}

/** Beep (at most twice a second, however many alerts arrive at once). */
export function beep(urgent = false) {
  if (muted || !context || context.state !== "running") return false;
  const now = context.currentTime;
  if (now - lastBeep < 0.5) return false;
  lastBeep = now;
  const tones = urgent ? [988, 740, 988] : [880, 660];
  tones.forEach((frequency, i) => {
    const start = now + i * 0.16;
    const osc = context.createOscillator();
    const gain = context.createGain();
    osc.type = "sine";
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.14);
    osc.connect(gain).connect(context.destination);
    osc.start(start);
    osc.stop(start + 0.15);
  });
  return true;
}

/** Install one-time listeners so the first gesture after a reload unlocks sound. */
export function unlockOnFirstGesture() {
  const handler = () => {
    unlock();
    if (context && context.state === "running") {
      window.removeEventListener("pointerdown", handler, true);
      window.removeEventListener("keydown", handler, true);
    }
  };
  window.addEventListener("pointerdown", handler, true);
  window.addEventListener("keydown", handler, true);
}
