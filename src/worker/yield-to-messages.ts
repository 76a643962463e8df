/**
 * Lets queued messages (pause, reset) run between steps without the 4 ms clamp of nested timers.
 */
export function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}
